"""Workload rules through the API, without running containers (no worker here)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ARTIFACTS, ApiClient, share
from workloads.models import Workload

pytestmark = pytest.mark.django_db
WORKLOADS = "/api/v2/workloads"


def runtime(**group: Any) -> dict[str, Any]:
    return {"containerGroups": [{"name": "default", **group}]}


def create(api: ApiClient, artifact_id: str, **body: Any) -> Any:
    return api.post(WORKLOADS, {"name": "svc", "artifactId": artifact_id, **body})


@pytest.fixture
def draft(api: ApiClient) -> dict[str, Any]:
    return api.create_artifact()


@pytest.fixture
def locked(api: ApiClient) -> dict[str, Any]:
    artifact = api.create_artifact(name="stable")
    return dict(api.patch(f"{ARTIFACTS}/{artifact['id']}", {"status": "locked"}).json())


@pytest.mark.parametrize(
    ("body", "loc", "words"),
    [
        (
            runtime(
                replicaCount=1,
                containers=[{"name": "web", "environmentVars": [{"name": "A", "value": "1"}]}],
            ),
            ["body", "runtime", "containerGroups", 0, "containers", 0, "environmentVars"],
            "belong in the artifact",
        ),
        (
            {"containerGroups": [{"name": "default", "env": {"A": "1"}}]},
            ["body", "runtime", "containerGroups", 0, "env"],
            "belong in the artifact",
        ),
        (
            runtime(containers=[{"name": "nope"}]),
            ["body", "runtime", "containerGroups", 0, "containers", 0, "name"],
            "'nope'",
        ),
        (
            {"containerGroups": [{"name": "other"}]},
            ["body", "runtime", "containerGroups", 0, "name"],
            "'other'",
        ),
        (
            runtime(
                replicaCount=2,
                autoscaling={
                    "minReplicaCount": 1,
                    "maxReplicaCount": 3,
                    "policies": [{"scalingMetric": "cpuAverageUtilization", "target": 70}],
                },
            ),
            ["body", "runtime", "containerGroups", 0, "autoscaling"],
            "not both",
        ),
        (
            runtime(
                autoscaling={
                    "minReplicaCount": 3,
                    "maxReplicaCount": 2,
                    "policies": [{"scalingMetric": "cpuAverageUtilization", "target": 70}],
                }
            ),
            ["body", "runtime", "containerGroups", 0, "autoscaling", "maxReplicaCount"],
            "at least",
        ),
        (
            runtime(
                autoscaling={
                    "minReplicaCount": 1,
                    "maxReplicaCount": 2,
                    "policies": [{"scalingMetric": "gpuCacheUtilization", "target": 0.8}],
                }
            ),
            [
                "body",
                "runtime",
                "containerGroups",
                0,
                "autoscaling",
                "policies",
                0,
                "scalingMetric",
            ],
            "GPU metric",
        ),
        (
            runtime(replicaCount=0),
            ["body", "runtime", "containerGroups", 0, "replicaCount"],
            "greater than or equal",
        ),
        (
            runtime(containers=[{"name": "web", "resourceAllocation": {"memory": "1GB"}}]),
            [
                "body",
                "runtime",
                "containerGroups",
                0,
                "containers",
                0,
                "resourceAllocation",
                "memory",
            ],
            "pattern",
        ),
    ],
    ids=[
        "env-in-container",
        "env-in-group",
        "unknown-container",
        "unknown-group",
        "replicas-and-autoscaling",
        "autoscaling-bounds",
        "gpu-metric-on-service",
        "zero-replicas",
        "memory-format",
    ],
)
def test_bad_runtimes_are_refused_at_their_path(
    api: ApiClient, locked: dict[str, Any], body: dict[str, Any], loc: list[Any], words: str
) -> None:
    response = create(api, locked["id"], runtime=body)
    assert response.status_code == 422, response.content
    problems = response.json()["detail"]
    assert loc in [p["loc"] for p in problems]
    assert any(words in p["msg"] for p in problems if p["loc"] == loc)
    assert Workload.objects.count() == 0


def test_a_valid_runtime_is_stored_with_every_group(api: ApiClient, locked: dict[str, Any]) -> None:
    response = create(
        api,
        locked["id"],
        importance="high",
        runtime=runtime(
            containers=[{"name": "web", "resourceAllocation": {"cpu": 0.5, "memory": "256Mi"}}]
        ),
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["runtime"]["containerGroups"][0]["replicaCount"] == 1
    assert body["status"] == "submitted"
    assert body["expiresAt"] is None  # a locked version does not expire
    assert body["endpoint"].endswith(f"/api/v2/endpoints/workloads/{body['id']}/")
    assert body["permissions"] == ["CAN_DELETE", "CAN_SHARE", "CAN_UPDATE", "CAN_VIEW"]


def test_a_draft_backs_one_workload_and_cannot_be_deleted_under_it(
    api: ApiClient, draft: dict[str, Any]
) -> None:
    first = create(api, draft["id"])
    assert first.status_code == 201
    assert first.json()["expiresAt"] is not None  # drafts run for 8 hours
    second = create(api, draft["id"])
    assert second.status_code == 409
    assert second.json()["code"] == "draft_in_use"
    deleted = api.delete(f"{ARTIFACTS}/{draft['id']}")
    assert deleted.status_code == 409
    assert first.json()["id"] in deleted.json()["detail"]
    repository = api.delete(f"/api/v2/artifactRepositories/{draft['artifactRepositoryId']}")
    assert repository.status_code == 409


def test_a_locked_version_backs_any_number(api: ApiClient, locked: dict[str, Any]) -> None:
    assert create(api, locked["id"]).status_code == 201
    assert create(api, locked["id"]).status_code == 201


def test_who_may_run_what(
    api: ApiClient,
    consumer_api: ApiClient,
    stranger_api: ApiClient,
    consumer: Any,
    draft: dict[str, Any],
) -> None:
    locked_version = api.create_artifact(name="v")
    api.patch(f"{ARTIFACTS}/{locked_version['id']}", {"status": "locked"})
    share(draft["artifactRepositoryId"], consumer, "CONSUMER")
    share(locked_version["artifactRepositoryId"], consumer, "CONSUMER")
    assert create(consumer_api, draft["id"]).status_code == 403  # drafts need EDITOR
    assert create(consumer_api, locked_version["id"]).status_code == 201
    assert create(stranger_api, locked_version["id"]).status_code == 404


def test_promote_locks_the_draft_wipes_stats_and_drops_the_ttl(
    api: ApiClient, draft: dict[str, Any]
) -> None:
    workload = create(api, draft["id"]).json()
    promoted = api.post(f"{WORKLOADS}/{workload['id']}/promote")
    assert promoted.status_code == 200, promoted.content
    body = promoted.json()
    assert body["expiresAt"] is None
    assert body["artifact"]["status"] == "locked"
    assert body["artifact"]["version"] == 1
    assert api.get(f"{WORKLOADS}/{workload['id']}/stats").json()["metrics"]["totalRequests"] == 0
    again = api.post(f"{WORKLOADS}/{workload['id']}/promote")
    assert again.status_code == 409
    history = api.get(f"{WORKLOADS}/{workload['id']}/history").json()["data"]
    assert [e["kind"] for e in history] == ["promotion"]


def test_settings_on_a_locked_workload_start_a_replacement_and_a_second_is_refused(
    api: ApiClient, locked: dict[str, Any]
) -> None:
    workload = create(api, locked["id"]).json()
    Workload.objects.filter(pk=workload["id"]).update(status="running")
    first = api.patch(
        f"{WORKLOADS}/{workload['id']}/settings", {"runtime": runtime(replicaCount=2)}
    )
    assert first.status_code == 202
    assert api.get(f"{WORKLOADS}/{workload['id']}").json()["replacement"]["status"] == "running"
    second = api.patch(
        f"{WORKLOADS}/{workload['id']}/settings", {"runtime": runtime(replicaCount=3)}
    )
    assert second.status_code == 409
    assert second.json()["code"] == "replacement_running"
    protons = api.get(f"{WORKLOADS}/{workload['id']}/protons").json()["data"]
    assert sorted(p["role"] for p in protons) == ["active", "candidate"]


def test_settings_on_a_draft_workload_restart_it(api: ApiClient, draft: dict[str, Any]) -> None:
    workload = create(api, draft["id"]).json()
    Workload.objects.filter(pk=workload["id"]).update(status="running")
    response = api.patch(
        f"{WORKLOADS}/{workload['id']}/settings", {"runtime": runtime(replicaCount=2)}
    )
    assert response.status_code == 200
    assert response.json()["runtime"]["containerGroups"][0]["replicaCount"] == 2
    history = api.get(f"{WORKLOADS}/{workload['id']}/history").json()["data"]
    assert [e["kind"] for e in history] == ["restart"]


def test_workloads_are_shared_like_repositories(
    api: ApiClient, stranger_api: ApiClient, stranger: Any, locked: dict[str, Any]
) -> None:
    workload = create(api, locked["id"]).json()
    assert stranger_api.get(f"{WORKLOADS}/{workload['id']}").status_code == 404
    assert stranger_api.get(WORKLOADS).json()["totalCount"] == 0
    shared = api.patch(
        f"{WORKLOADS}/{workload['id']}/sharedRoles",
        {
            "operation": "updateRoles",
            "roles": [
                {"shareRecipientType": "user", "username": stranger.username, "role": "CONSUMER"}
            ],
        },
    )
    assert shared.status_code == 204
    assert stranger_api.get(f"{WORKLOADS}/{workload['id']}").status_code == 200
    assert stranger_api.patch(f"{WORKLOADS}/{workload['id']}", {"name": "x"}).status_code == 403
    assert stranger_api.post(f"{WORKLOADS}/{workload['id']}/stop").status_code == 403
    last_owner = api.patch(
        f"{WORKLOADS}/{workload['id']}/sharedRoles",
        {
            "operation": "updateRoles",
            "roles": [{"shareRecipientType": "user", "username": "olga", "role": "NO_ROLE"}],
        },
    )
    assert last_owner.status_code == 409


def test_the_invoke_proxy_needs_credentials_and_a_visible_workload(
    api: ApiClient, stranger_api: ApiClient, anonymous_api: ApiClient, locked: dict[str, Any]
) -> None:
    workload = create(api, locked["id"]).json()
    path = f"/api/v2/endpoints/workloads/{workload['id']}/hello"
    assert anonymous_api.get(path).status_code == 401
    assert stranger_api.get(path).status_code == 404
    not_serving = api.get(path)
    assert not_serving.status_code == 503
    assert "not serving" in not_serving.json()["detail"]
