"""Fixtures shared by the whole suite: personas, API clients, artifact bodies."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from django.test import Client

from console.auth import api_key_create
from console.sharing import NO_ROLE, Role, RoleChange, apply_role_changes, grant_role
from console.teams import team_add_member, team_create
from repositories.models import ArtifactRepository

# Registry, buildah and Celery worker fixtures for tests that build images; test images and
# a podman store for tests that run workloads; the guard that fails a test whose log lines
# carry a secret.
pytest_plugins = ["tests.build_fixtures", "tests.workload_fixtures", "tests.log_guard"]

ARTIFACTS = "/api/v2/artifacts"
REPOSITORIES = "/api/v2/artifactRepositories"


def primary_container(**overrides: Any) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": "web",
        "primary": True,
        "imageUri": "registry.example.com/team/web:1.0",
        "port": 8080,
        "readinessProbe": {"path": "/ready"},
    }
    container.update(overrides)
    return container


def sidecar_container(**overrides: Any) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": "proxy",
        "primary": False,
        "imageUri": "registry.example.com/team/proxy:2.0",
    }
    container.update(overrides)
    return container


def artifact_body(**overrides: Any) -> dict[str, Any]:
    """A valid two-container service artifact (primary + sidecar)."""
    body: dict[str, Any] = {
        "name": "web-service",
        "description": "A web service with a proxy sidecar",
        "type": "service",
        "spec": {
            "containerGroups": [
                {"name": "default", "containers": [primary_container(), sidecar_container()]}
            ]
        },
    }
    body.update(overrides)
    return copy.deepcopy(body)


class ApiClient:
    """A JSON client that authenticates with a real API key, as scripts do."""

    def __init__(self, user: User | None) -> None:
        self.user = user
        self.client = Client()
        self.headers: dict[str, str] = {}
        if user is not None:
            _, secret = api_key_create(actor=user, name="tests")
            self.headers["Authorization"] = f"Bearer {secret}"

    def _send(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        kwargs: dict[str, Any] = {"headers": self.headers}
        if body is not None:
            kwargs["data"] = json.dumps(body)
            kwargs["content_type"] = "application/json"
        if params:
            kwargs["query_params"] = params
        return getattr(self.client, method)(path, **kwargs)

    def get(self, path: str, **params: Any) -> Any:
        return self._send("get", path, **params)

    def post(self, path: str, body: Any = None) -> Any:
        return self._send("post", path, body if body is not None else {})

    def put(self, path: str, body: Any) -> Any:
        return self._send("put", path, body)

    def patch(self, path: str, body: Any) -> Any:
        return self._send("patch", path, body)

    def delete(self, path: str) -> Any:
        return self._send("delete", path)

    def create_artifact(self, **overrides: Any) -> dict[str, Any]:
        response = self.post(ARTIFACTS, artifact_body(**overrides))
        assert response.status_code == 201, response.content
        return response.json()


# Tests that drive the real engines (registry, buildah, podman, a Celery worker, Chromium):
# they spend their time in those engines, not in the database, so ``make test`` runs them
# once, with the PostgreSQL pass, and the SQLite pass runs everything else
# (scripts/test.sh). Marked by the fixtures they use, so no such test can be left out.
ENGINE_FIXTURES = frozenset(
    {
        "registry",
        "build_settings",
        "celery_worker_thread",
        "podman_settings",
        "podman_runtime",
        "live_server",
        "page",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if ENGINE_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.engine)


@pytest.fixture
def make_user(db: Any) -> Callable[..., User]:
    def make(username: str, **extra: Any) -> User:
        return User.objects.create_user(username=username, password="pw-" + username, **extra)

    return make


@pytest.fixture
def owner(make_user: Callable[..., User]) -> User:
    return make_user("olga")


@pytest.fixture
def stranger(make_user: Callable[..., User]) -> User:
    return make_user("sam")


@pytest.fixture
def staff(make_user: Callable[..., User]) -> User:
    return make_user("stella", is_staff=True)


@pytest.fixture
def api(owner: User) -> ApiClient:
    return ApiClient(owner)


@pytest.fixture
def stranger_api(stranger: User) -> ApiClient:
    return ApiClient(stranger)


@pytest.fixture
def staff_api(staff: User) -> ApiClient:
    return ApiClient(staff)


@pytest.fixture
def anonymous_api(db: Any) -> ApiClient:
    return ApiClient(None)


# --- sharing personas ------------------------------------------------------------------
# ``editor`` holds EDITOR directly; ``consumer`` is the team member: it holds CONSUMER only
# through ``team``. ``shared_artifact`` is the owner's draft, its repository shared so.

TEAM_NAME = "readers"


@pytest.fixture(autouse=True)
def fresh_cache() -> None:
    """Throttles count failures in the cache; each test starts with none counted."""
    cache.clear()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """MD5 instead of PBKDF2 (about a second per user here): tests make many users and
    sign in often; what they check does not depend on the hash. The hasher also tells the
    log guard every password it sees."""
    settings.PASSWORD_HASHERS = ["tests.log_guard.RecordingPasswordHasher"]


def share(repository_id: str, recipient: User | Group, role: str) -> None:
    """Give ``recipient`` exactly ``role`` (or ``NO_ROLE``) on a repository, for setup."""
    repository = ArtifactRepository.objects.get(pk=repository_id)
    if role == NO_ROLE:
        apply_role_changes(repository, [RoleChange(recipient=recipient, role=None)])
    else:
        grant_role(repository, recipient, Role(role))


@pytest.fixture
def editor(make_user: Callable[..., User]) -> User:
    return make_user("edith")


@pytest.fixture
def consumer(make_user: Callable[..., User]) -> User:
    return make_user("connor")


@pytest.fixture
def team(consumer: User) -> Group:
    """A team whose one member is ``consumer``, made through the team services."""
    group = team_create(actor=None, name=TEAM_NAME)
    team_add_member(actor=None, team=group.name, username=consumer.username)
    return group


@pytest.fixture
def editor_api(editor: User) -> ApiClient:
    return ApiClient(editor)


@pytest.fixture
def consumer_api(consumer: User) -> ApiClient:
    return ApiClient(consumer)


@pytest.fixture
def shared_artifact(api: ApiClient, editor: User, team: Group) -> dict[str, Any]:
    """The owner's draft; its repository has ``editor`` as EDITOR and ``team`` as CONSUMER."""
    artifact = api.create_artifact(name="shared-service")
    share(artifact["artifactRepositoryId"], editor, "EDITOR")
    share(artifact["artifactRepositoryId"], team, "CONSUMER")
    return artifact
