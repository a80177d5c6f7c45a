"""Workloads end to end: real podman, a real Celery worker, traffic through the proxy."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.conf import settings

from tests.build_fixtures import wait_for
from tests.conftest import ApiClient, artifact_body, primary_container
from workloads.runtimes.podman import PodmanRuntime

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("celery_worker_thread", "podman_settings"),
]
WORKLOADS = "/api/v2/workloads"


def http_artifact(api: ApiClient, image: str, **probe: Any) -> dict[str, Any]:
    web = primary_container(
        imageUri=image,
        port=8080,
        readinessProbe={"path": "/ready", "periodSeconds": 1, "failureThreshold": 3, **probe},
    )
    body = artifact_body(spec={"containerGroups": [{"name": "default", "containers": [web]}]})
    return api.create_artifact(**body)


def settled(api: ApiClient, workload_id: str, timeout: float = 60) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        body = api.get(f"{WORKLOADS}/{workload_id}").json()
        return body if body["status"] in ("running", "errored", "stopped") else None

    return dict(wait_for(done, timeout=timeout))


def invoke(api: ApiClient, workload_id: str, path: str = "index.html") -> Any:
    """One request through the proxy, read to the end as any HTTP client would."""
    response = api.get(f"/api/v2/endpoints/workloads/{workload_id}/{path}")
    response.body = b"".join(response) if response.streaming else response.content
    response.close()
    return response


def primary_containers(workload_id: str) -> list[dict[str, Any]]:
    """What podman runs for the workload: id and start time of each primary container
    (read through the engine's own listing, the same one its orphan sweep uses)."""
    listed = PodmanRuntime()._ps(
        "--filter", f"label=berth.workload={workload_id}", "--filter", "label=berth.role=primary"
    )
    return [{"id": c["Id"], "started": c["StartedAt"]} for c in listed if c["State"] == "running"]


def test_run_invoke_promote_then_replace_without_dropping_a_request(
    api: ApiClient, http_image: str, podman_cleanup: set[str]
) -> None:
    artifact = http_artifact(api, http_image)
    created = api.post(WORKLOADS, {"name": "shop", "artifactId": artifact["id"]})
    assert created.status_code == 201, created.content
    workload_id = created.json()["id"]
    podman_cleanup.add(workload_id)
    assert created.json()["expiresAt"] is not None

    assert settled(api, workload_id)["status"] == "running"
    for _ in range(5):
        response = invoke(api, workload_id)
        assert response.status_code == 200
        assert b"berth test page" in response.body
    assert invoke(api, workload_id, "missing.html").status_code == 404
    metrics = api.get(f"{WORKLOADS}/{workload_id}/stats").json()["metrics"]
    assert metrics["totalRequests"] == 6
    assert metrics["userErrors"] == 1
    assert metrics["responseTime"]["p50"] > 0
    before = primary_containers(workload_id)
    assert len(before) == 1

    promoted = api.post(f"{WORKLOADS}/{workload_id}/promote")
    assert promoted.status_code == 200, promoted.content
    assert promoted.json()["artifact"]["status"] == "locked"
    assert promoted.json()["artifact"]["version"] == 1
    assert promoted.json()["expiresAt"] is None
    assert api.get(f"{WORKLOADS}/{workload_id}/stats").json()["metrics"]["totalRequests"] == 0
    assert primary_containers(workload_id) == before  # not restarted

    # Replicas 1 -> 2 on the locked workload: a rolling replacement while traffic flows.
    failures: list[int] = []
    served = 0
    stop = threading.Event()

    def traffic() -> None:
        nonlocal served
        client = ApiClient(None)
        client.headers = api.headers
        while not stop.is_set():
            status = invoke(client, workload_id).status_code
            served += 1
            if status != 200:
                failures.append(status)

    sender = threading.Thread(target=traffic)
    sender.start()
    try:
        changed = api.patch(
            f"{WORKLOADS}/{workload_id}/settings",
            {"runtime": {"containerGroups": [{"name": "default", "replicaCount": 2}]}},
        )
        assert changed.status_code == 202, changed.content
        again = api.patch(
            f"{WORKLOADS}/{workload_id}/settings",
            {"runtime": {"containerGroups": [{"name": "default", "replicaCount": 3}]}},
        )
        assert again.status_code == 409
        wait_for(
            lambda: api.get(f"{WORKLOADS}/{workload_id}").json()["replacement"] is None,
            timeout=60,
        )
    finally:
        stop.set()
        sender.join(timeout=30)

    assert failures == []
    assert served > 10
    # The settings that replaced are the workload's settings now, in the API and console.
    kept = api.get(f"{WORKLOADS}/{workload_id}/settings").json()["runtime"]
    assert kept["containerGroups"][0]["replicaCount"] == 2
    history = api.get(f"{WORKLOADS}/{workload_id}/history").json()["data"]
    assert (history[0]["kind"], history[0]["status"]) == ("replacement", "completed")
    protons = api.get(f"{WORKLOADS}/{workload_id}/protons").json()["data"]
    assert [p["role"] for p in protons] == ["active"]
    assert len(protons[0]["replicas"]) == 2
    after = primary_containers(workload_id)
    assert len(after) == 2
    assert not {c["id"] for c in before} & {c["id"] for c in after}  # the old one is gone

    assert api.delete(f"{WORKLOADS}/{workload_id}").status_code == 204
    assert primary_containers(workload_id) == []


def test_a_probe_that_never_passes_errors_and_leaves_nothing_running(
    api: ApiClient, broken_image: str, podman_cleanup: set[str]
) -> None:
    artifact = http_artifact(api, broken_image)
    workload_id = api.post(WORKLOADS, {"name": "broken", "artifactId": artifact["id"]}).json()["id"]
    podman_cleanup.add(workload_id)
    body = settled(api, workload_id)
    assert body["status"] == "errored"
    assert "404" in body["statusMessage"]
    protons = api.get(f"{WORKLOADS}/{workload_id}/protons").json()["data"]
    assert protons[0]["status"] == "errored"
    assert primary_containers(workload_id) == []
    assert invoke(api, workload_id).status_code == 503


def test_stop_and_start_again(api: ApiClient, http_image: str, podman_cleanup: set[str]) -> None:
    artifact = http_artifact(api, http_image)
    workload_id = api.post(WORKLOADS, {"name": "toggle", "artifactId": artifact["id"]}).json()["id"]
    podman_cleanup.add(workload_id)
    assert settled(api, workload_id)["status"] == "running"
    assert api.post(f"{WORKLOADS}/{workload_id}/stop").status_code == 202
    assert settled(api, workload_id)["status"] == "stopped"
    assert primary_containers(workload_id) == []
    assert api.post(f"{WORKLOADS}/{workload_id}/start").status_code == 202
    assert settled(api, workload_id)["status"] == "running"
    assert invoke(api, workload_id).status_code == 200
    assert settings.BERTH_RUNTIME == "podman"
