"""The audit log: one event per mutating service, readable only where the object is."""

from __future__ import annotations

import ast
import inspect
from types import ModuleType
from typing import Any

import pytest

import artifacts.builds
import artifacts.environments
import artifacts.services
import artifacts.sources
import console.accounts
import console.auth
import console.teams
import repositories.services
import workloads.services
from console.models import AuditEvent
from tests.conftest import (
    ARTIFACTS,
    REPOSITORIES,
    ApiClient,
    artifact_body,
    primary_container,
)

SERVICE_MODULES: list[ModuleType] = [
    artifacts.services,
    artifacts.builds,
    artifacts.sources,
    artifacts.environments,
    repositories.services,
    workloads.services,
    console.auth,
    console.teams,
    console.accounts,
]
# Public functions of those modules that change nothing, each with the reason.
READS_AND_CHECKS = {
    "lock_artifact_rows": "takes row locks for a caller that records",
    "require_draft": "a state check",
    "require_unused": "a state check",
    "config_fingerprint": "a pure function",
    "builds_sweep": "fails builds through _end_with, which records",
    "build_execute": "the worker; its ends are recorded by _end_with and _record_end",
    "source_limits": "reads settings",
    "api_key_authenticate": "a lookup (its last-used stamp is bookkeeping, not a change)",
    "api_key_for_request": "a throttled lookup",
    "user_for_key": "authentication: a throttled lookup",
    "require_staff": "a permission check",
    "require_team_manager": "a permission check",
    "may_manage_teams": "a permission predicate",
    "require_superuser": "a permission check",
    "team_delete_refusal": "a last-OWNER predicate",
    "removal_refusal": "a last-OWNER predicate",
    "dockerfile_problems": "a check of a Dockerfile, asked before a build and by its worker",
    "api_key_list": "a read",
    "bearer_token": "reads a request header",
    "is_startable": "a state predicate",
    "is_stoppable": "a state predicate",
    "api_key_get": "a read",
    "repository_open": "records repository.create itself; listed for the AST check below",
}
EVENTS = "/api/v2/auditEvents"


def _records(function: Any) -> bool:
    tree = ast.parse(inspect.getsource(function).lstrip())
    calls = {
        node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
    }
    return bool(
        calls
        & {
            "record",
            "_record",
            "_record_end",
            "_end_with",
            "artifact_lock",
            "_edit_draft",
            "_lock_in_place",
            "repository_open",
        }
    )


def test_every_mutating_service_writes_an_event() -> None:
    checked = []
    silent = []
    for module in SERVICE_MODULES:
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if name.startswith("_") or function.__module__ != module.__name__:
                continue
            if name in READS_AND_CHECKS and name != "repository_open":
                continue
            checked.append(name)
            if not _records(function):
                silent.append(f"{module.__name__}.{name}")
    assert silent == []
    assert len(checked) >= 30  # the enumeration found the services, not nothing


def test_artifact_changes_are_recorded_with_actor_key_request_and_masked_secrets(
    api: ApiClient,
) -> None:
    web = primary_container(environmentVars=[{"name": "DB_PASSWORD", "value": "hunter2"}])
    artifact = api.create_artifact(
        spec={"containerGroups": [{"name": "default", "containers": [web]}]}
    )
    api.headers["X-Request-ID"] = "trace-42"
    api.patch(f"{ARTIFACTS}/{artifact['id']}", {"description": "now with notes"})
    api.patch(f"{ARTIFACTS}/{artifact['id']}", {"status": "locked"})

    events = api.get(EVENTS, objectId=artifact["id"]).json()["data"]
    assert [e["action"] for e in events] == ["artifact.lock", "artifact.update", "artifact.create"]
    update = events[1]
    assert update["actor"] == "olga"
    assert update["actorKind"] == "api_key"
    assert update["apiKeyId"]
    assert update["requestId"] == "trace-42"
    assert update["changes"] == {
        "description": ["A web service with a proxy sidecar", "now with notes"]
    }
    assert events[0]["changes"]["version"] == [None, 1]
    stored = str(
        AuditEvent.objects.filter(object_id=artifact["id"]).values_list("changes", flat=True)[::1]
    )
    assert "hunter2" not in stored
    assert "DB_PASSWORD" in stored


def test_events_are_visible_only_where_the_object_is(
    api: ApiClient, stranger_api: ApiClient, consumer_api: ApiClient, consumer: Any
) -> None:
    artifact = api.create_artifact()

    def about_others(client: ApiClient) -> list[str]:
        # Everyone sees the creation of their own API key, and nothing else of theirs here.
        events = client.get(EVENTS).json()["data"]
        return [e["action"] for e in events if e["objectType"] != "api_key"]

    assert about_others(stranger_api) == []
    assert about_others(consumer_api) == []
    shared = api.patch(
        f"{REPOSITORIES}/{artifact['artifactRepositoryId']}/sharedRoles",
        {
            "operation": "updateRoles",
            "roles": [
                {"shareRecipientType": "user", "username": consumer.username, "role": "CONSUMER"}
            ],
        },
    )
    assert shared.status_code == 204
    seen = {e["action"] for e in consumer_api.get(EVENTS).json()["data"]}
    assert {"artifact.create", "repository.create", "repository.share"} <= seen
    assert stranger_api.get(EVENTS, objectId=artifact["id"]).json()["totalCount"] == 0


def test_events_outlive_a_deleted_repository_for_staff(
    api: ApiClient, staff_api: ApiClient
) -> None:
    artifact = api.create_artifact(**artifact_body(name="short-lived"))
    repository_id = artifact["artifactRepositoryId"]
    assert api.delete(f"{REPOSITORIES}/{repository_id}").status_code == 204
    events = staff_api.get(EVENTS, objectId=repository_id).json()["data"]
    actions = [e["action"] for e in events]
    assert actions[0] == "repository.delete"
    assert "artifact.create" in actions
    assert events[0]["changes"]["drafts"] == [["short-lived"], None]


@pytest.mark.parametrize("field", ["action", "actor"])
def test_filters(api: ApiClient, field: str) -> None:
    api.create_artifact()
    value = {"action": "artifact.create", "actor": "olga"}[field]
    data = api.get(EVENTS, **{field: value}).json()["data"]
    assert data
    assert all((e["action"] if field == "action" else e["actor"]) == value for e in data)
