"""Who may call what: one table of every API route and console page, for every persona.

Personas: ``owner`` (OWNER, created the repository), ``editor`` (EDITOR, granted directly),
``consumer`` (CONSUMER only through the team ``readers``: the team-member persona),
``stranger`` (no role), ``anonymous`` (no credentials), ``staff`` (is_staff: reads everything,
writes nothing it was not given).

Each case runs against a fresh world, so a write (delete, lock) never consumes another
case's objects. A refused call must leave the world exactly as it was; an accepted write
must change it. Both tables must name every route served (API operations as ninja binds them,
console URL patterns as Django resolves them), so a new route cannot ship without someone
deciding who may use it.
"""

from __future__ import annotations

import io
import re
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import get_resolver

from artifacts.models import Artifact, ImageBuild, SourceArchive
from console.auth import api_key_create
from console.models import ApiKey
from console.permissions import group_grants, user_grants
from console.sharing import Role, grant_role
from repositories.models import (
    ArtifactRepository,
    RepositoryGroupPermission,
    RepositoryUserPermission,
)
from tests.conftest import (
    ARTIFACTS,
    TEAM_NAME,
    ApiClient,
    artifact_body,
    primary_container,
    share,
)
from tests.console.test_route_permissions import api_operations, walk
from workloads.constants import WorkloadStatus
from workloads.models import Proton, Workload, WorkloadEvent

API_PREFIX = "/api/v2"
WORKLOADS = "/api/v2/workloads"
PERSONAS = ("owner", "editor", "consumer", "stranger", "anonymous", "staff")


# --- expectations -----------------------------------------------------------------------


def read(ok: int = 200) -> dict[str, int]:
    """Anyone with a role, and staff, may read; a stranger learns nothing."""
    return {
        "owner": ok,
        "editor": ok,
        "consumer": ok,
        "stranger": 404,
        "anonymous": 401,
        "staff": ok,
    }


def edit(ok: int) -> dict[str, int]:
    """EDITOR and OWNER edit, clone, lock and delete drafts; staff only read."""
    return read(ok) | {"consumer": 403, "staff": 403}


def owner_only(ok: int) -> dict[str, int]:
    """Sharing and deleting the repository itself."""
    return edit(ok) | {"editor": 403}


def signed_in(ok: int) -> dict[str, int]:
    """Routes about no object (lists, creating a new repository): anyone signed in."""
    return dict.fromkeys(PERSONAS, ok) | {"anonymous": 401}


# --- the world each case runs in ---------------------------------------------------------


@dataclass
class World:
    """The owner's repository ``repository`` holds a draft, a locked version, a draft built
    from source with its source uploaded (``buildable``) and one whose build is queued
    (``building``, build ``build``); ``drafts_only`` holds one draft. Both repositories are
    shared with ``editor`` (EDITOR) and the team (CONSUMER)."""

    users: dict[str, User | None]
    team: Group
    ids: dict[str, str] = field(default_factory=dict)


class Multipart(dict[str, Any]):
    """A form body (file upload) rather than JSON."""


def source_upload() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        dockerfile = tarfile.TarInfo("Dockerfile")
        content = b"FROM scratch\n"
        dockerfile.size = len(content)
        archive.addfile(dockerfile, io.BytesIO(content))
    return SimpleUploadedFile("src.tar.gz", buffer.getvalue(), "application/gzip")


def built_from_source(api: ApiClient, name: str, repository_id: str) -> str:
    """A draft whose one container is built from source, with its source uploaded."""
    web = primary_container(imageBuildConfig={"dockerfile": {"source": "provided"}})
    del web["imageUri"]
    draft = api.create_artifact(
        name=name,
        artifactRepositoryId=repository_id,
        spec={"containerGroups": [{"name": "default", "containers": [web]}]},
    )
    uploaded = api.client.post(
        f"{ARTIFACTS}/{draft['id']}/source", {"file": source_upload()}, headers=api.headers
    )
    assert uploaded.status_code == 201, uploaded.content
    return str(draft["id"])


def run(api: ApiClient, name: str, artifact_id: str) -> str:
    """A workload of ``artifact_id``; submitted, never started (no worker in these tests)."""
    created = api.post(WORKLOADS, {"name": name, "artifactId": artifact_id})
    assert created.status_code == 201, created.content
    return str(created.json()["id"])


@pytest.fixture
def world(
    owner: User,
    editor: User,
    consumer: User,
    stranger: User,
    staff: User,
    team: Group,
    api: ApiClient,
    settings: Any,
    tmp_path: Any,
) -> World:
    settings.MEDIA_ROOT = tmp_path  # uploaded source goes here, not into var/
    draft = api.create_artifact(name="matrix-draft")
    repository_id = draft["artifactRepositoryId"]
    to_lock = api.create_artifact(name="matrix-version", artifactRepositoryId=repository_id)
    locked = api.patch(f"{ARTIFACTS}/{to_lock['id']}", {"status": "locked"})
    assert locked.status_code == 200, locked.content
    buildable = built_from_source(api, "matrix-buildable", repository_id)
    building = built_from_source(api, "matrix-building", repository_id)
    started = api.post(f"{ARTIFACTS}/{building}/builds")
    assert started.status_code == 202, started.content
    lonely = api.create_artifact(name="matrix-drafts-only")
    owner_key, _ = api_key_create(actor=owner, name="matrix")
    for shared in (repository_id, lonely["artifactRepositoryId"]):
        share(shared, editor, "EDITOR")
        share(shared, team, "CONSUMER")
    # Workloads carry their own roles; the owner's are shared the same way.
    running_draft = api.create_artifact(name="matrix-running", artifactRepositoryId=repository_id)
    workloads = {
        "workload": run(api, "matrix-workload", to_lock["id"]),
        "stopped_workload": run(api, "matrix-stopped", to_lock["id"]),
        "draft_workload": run(api, "matrix-on-draft", running_draft["id"]),
    }
    Workload.objects.filter(pk=workloads["stopped_workload"]).update(status=WorkloadStatus.STOPPED)
    for workload in Workload.objects.filter(pk__in=workloads.values()):
        grant_role(workload, editor, Role.EDITOR)
        grant_role(workload, team, Role.CONSUMER)
    return World(
        users={
            "owner": owner,
            "editor": editor,
            "consumer": consumer,
            "stranger": stranger,
            "anonymous": None,
            "staff": staff,
        },
        team=team,
        ids={
            "draft": draft["id"],
            "locked": to_lock["id"],
            "buildable": buildable,
            "building": building,
            "build": started.json()["buildIds"][0],
            "repository": repository_id,
            "drafts_only": lonely["artifactRepositoryId"],
            "team": str(team.pk),
            "owner_key": owner_key.pk,
            "running_draft": running_draft["id"],
            **workloads,
        },
    )


def snapshot() -> tuple[Any, ...]:
    """Everything a write could change (timestamps aside)."""
    return (
        sorted(
            Artifact.objects.values_list(
                "id", "repository_id", "name", "description", "status", "version", "spec"
            )
        ),
        sorted(
            ArtifactRepository.objects.values_list(
                "id", "name", "description", "tags", "last_version_number"
            )
        ),
        sorted(
            RepositoryUserPermission.objects.values_list(
                "content_object_id", "user_id", "permission_id"
            )
        ),
        sorted(
            RepositoryGroupPermission.objects.values_list(
                "content_object_id", "group_id", "permission_id"
            )
        ),
        sorted(ImageBuild.objects.values_list("id", "artifact_id", "status", "cancel_requested")),
        sorted(SourceArchive.objects.values_list("id", "artifact_id")),
        sorted(ApiKey.objects.values_list("id", "revoked_at")),
        sorted(
            Workload.objects.values_list(
                "id",
                "name",
                "description",
                "importance",
                "status",
                "runtime",
                "expires_at",
                "stats_reset_at",
                "artifact_id",
            )
        ),
        sorted(Proton.objects.values_list("id", "workload_id", "role", "status")),
        sorted(WorkloadEvent.objects.values_list("id", "workload_id", "kind")),
        sorted(user_grants(Workload).values_list("content_object_id", "user_id", "permission_id")),
        sorted(
            group_grants(Workload).values_list("content_object_id", "group_id", "permission_id")
        ),
        sorted(Group.objects.values_list("name", flat=True)),
        sorted(Group.objects.values_list("name", "user__username")),
    )


# --- the API table ----------------------------------------------------------------------


@dataclass(frozen=True)
class ApiCase:
    """One call of a route: ``route`` is ``"METHOD /path"`` exactly as the API serves it;
    ``on`` says which world object fills each ``{...}`` of the path."""

    route: str
    label: str
    expect: dict[str, int]
    on: dict[str, str] = field(default_factory=dict)
    body: Callable[[World], Any] | None = None
    # For lists: totalCount each persona that gets 200 must see.
    total: dict[str, int] | None = None

    @property
    def method(self) -> str:
        return self.route.split(" ", 1)[0]

    def url(self, world: World) -> str:
        template = self.route.split(" ", 1)[1]
        return API_PREFIX + template.format(**{k: world.ids[v] for k, v in self.on.items()})


def _roles_body(world: World) -> dict[str, Any]:
    return {
        "operation": "updateRoles",
        "roles": [{"shareRecipientType": "group", "name": world.team.name, "role": "EDITOR"}],
    }


ART = {"artifact_id": "draft"}
LOCKED = {"artifact_id": "locked"}
REPO = {"repository_id": "repository"}
DRAFTS_ONLY = {"repository_id": "drafts_only"}
BUILD = {"artifact_id": "building", "build_id": "build"}
RUN = {"workload_id": "workload"}
REPLICAS_2 = {"containerGroups": [{"name": "default", "replicaCount": 2}]}
ALL_SEE = {"owner": 1, "editor": 1, "consumer": 1, "stranger": 0, "staff": 1}

API_CASES = [
    ApiCase(
        "GET /artifacts",
        "list",
        signed_in(200),
        # draft, version, buildable, building, running draft, and the drafts-only one
        total={k: 6 * v for k, v in ALL_SEE.items()},
    ),
    ApiCase(
        "POST /artifacts",
        "in a new repository",
        signed_in(201),
        body=lambda w: artifact_body(name="brand-new"),
    ),
    ApiCase(
        "POST /artifacts",
        "in the shared repository",
        edit(201),
        body=lambda w: artifact_body(name="joined", artifactRepositoryId=w.ids["repository"]),
    ),
    ApiCase("GET /artifacts/{artifact_id}", "draft", read(), ART),
    ApiCase("GET /artifacts/{artifact_id}", "locked version", read(), LOCKED),
    ApiCase(
        "PUT /artifacts/{artifact_id}",
        "replace the draft",
        edit(200),
        ART,
        body=lambda w: artifact_body(name="replaced"),
    ),
    ApiCase(
        "PATCH /artifacts/{artifact_id}",
        "edit the draft",
        edit(200),
        ART,
        body=lambda w: {"description": "edited"},
    ),
    ApiCase(
        "PATCH /artifacts/{artifact_id}",
        "lock the draft",
        edit(200),
        ART,
        body=lambda w: {"status": "locked"},
    ),
    ApiCase(
        "PATCH /artifacts/{artifact_id}",
        "edit a locked version",
        edit(409),
        LOCKED,
        body=lambda w: {"description": "edited"},
    ),
    ApiCase("DELETE /artifacts/{artifact_id}", "delete the draft", edit(204), ART),
    ApiCase(
        "POST /artifacts/{artifact_id}/clone",
        "clone the locked version",
        edit(201),
        LOCKED,
        body=lambda w: {"name": "cloned"},
    ),
    ApiCase(
        "POST /artifacts/{artifact_id}/clone",
        "clone the draft",
        edit(201),
        ART,
        body=lambda w: {},
    ),
    ApiCase("GET /artifacts/{artifact_id}/sharedRoles", "roles", read(), ART),
    ApiCase(
        "PATCH /artifacts/{artifact_id}/sharedRoles",
        "share",
        owner_only(204),
        ART,
        body=_roles_body,
    ),
    ApiCase(
        "GET /artifactRepositories",
        "list",
        signed_in(200),
        total={k: 2 * v for k, v in ALL_SEE.items()},  # the shared one and drafts-only
    ),
    ApiCase("GET /artifactRepositories/{repository_id}", "one", read(), REPO),
    ApiCase(
        "PATCH /artifactRepositories/{repository_id}",
        "describe",
        edit(200),
        REPO,
        body=lambda w: {"description": "described", "tags": [{"name": "env", "value": "dev"}]},
    ),
    ApiCase(
        "DELETE /artifactRepositories/{repository_id}",
        "drafts only",
        owner_only(204),
        DRAFTS_ONLY,
    ),
    ApiCase(
        "DELETE /artifactRepositories/{repository_id}",
        "holding a locked version",
        owner_only(409),
        REPO,
    ),
    ApiCase("GET /artifactRepositories/{repository_id}/versions", "versions", read(), REPO),
    ApiCase("GET /artifactRepositories/{repository_id}/sharedRoles", "roles", read(), REPO),
    ApiCase(
        "PATCH /artifactRepositories/{repository_id}/sharedRoles",
        "share",
        owner_only(204),
        REPO,
        body=_roles_body,
    ),
    ApiCase(
        "POST /artifacts/{artifact_id}/source",
        "upload source",
        edit(201),
        {"artifact_id": "buildable"},
        body=lambda w: Multipart(file=source_upload()),
    ),
    ApiCase(
        "POST /artifacts/{artifact_id}/builds",
        "start builds",
        edit(202),
        {"artifact_id": "buildable"},
        body=lambda w: {},
    ),
    ApiCase("GET /artifacts/{artifact_id}/builds", "builds", read(), {"artifact_id": "building"}),
    ApiCase("GET /artifacts/{artifact_id}/builds/{build_id}", "one build", read(), BUILD),
    ApiCase("GET /artifacts/{artifact_id}/builds/{build_id}/logs", "its log", read(), BUILD),
    ApiCase("DELETE /artifacts/{artifact_id}/builds/{build_id}", "cancel", edit(202), BUILD),
    ApiCase("GET /workloads", "list", signed_in(200), total={k: 3 * v for k, v in ALL_SEE.items()}),
    ApiCase(
        "POST /workloads",
        "run a locked version",
        # CONSUMER runs versions; staff see (so may run) every version.
        signed_in(201) | {"stranger": 404},
        body=lambda w: {"name": "run", "artifactId": w.ids["locked"]},
    ),
    ApiCase(
        "POST /workloads",
        "run a draft",
        edit(201),
        body=lambda w: {"name": "run", "artifactId": w.ids["draft"]},
    ),
    ApiCase("GET /workloads/{workload_id}", "one", read(), RUN),
    ApiCase(
        "PATCH /workloads/{workload_id}",
        "describe",
        edit(200),
        RUN,
        body=lambda w: {"description": "described", "importance": "high"},
    ),
    ApiCase("DELETE /workloads/{workload_id}", "stop and delete", owner_only(204), RUN),
    ApiCase(
        "POST /workloads/{workload_id}/start",
        "start a stopped one",
        edit(202),
        {"workload_id": "stopped_workload"},
        body=lambda w: {},
    ),
    ApiCase("POST /workloads/{workload_id}/stop", "stop", edit(202), RUN, body=lambda w: {}),
    ApiCase("GET /workloads/{workload_id}/settings", "settings", read(), RUN),
    ApiCase(
        "PATCH /workloads/{workload_id}/settings",
        "replace a version's replicas",
        edit(202),
        RUN,
        body=lambda w: {"runtime": REPLICAS_2},
    ),
    ApiCase(
        "PATCH /workloads/{workload_id}/settings",
        "restart a draft's",
        edit(200),
        {"workload_id": "draft_workload"},
        body=lambda w: {"runtime": REPLICAS_2},
    ),
    ApiCase(
        "POST /workloads/{workload_id}/promote",
        "promote a draft",
        edit(200),
        {"workload_id": "draft_workload"},
        body=lambda w: {},
    ),
    ApiCase(
        "POST /workloads/{workload_id}/promote",
        "promote a version",
        edit(409),
        RUN,
        body=lambda w: {},
    ),
    ApiCase("GET /workloads/{workload_id}/stats", "stats", read(), RUN),
    ApiCase("DELETE /workloads/{workload_id}/stats", "clear stats", edit(204), RUN),
    ApiCase("GET /workloads/{workload_id}/history", "history", read(), RUN),
    ApiCase("GET /workloads/{workload_id}/protons", "protons", read(), RUN),
    ApiCase("GET /workloads/{workload_id}/sharedRoles", "roles", read(), RUN),
    ApiCase(
        "PATCH /workloads/{workload_id}/sharedRoles",
        "share",
        owner_only(204),
        RUN,
        body=_roles_body,
    ),
    ApiCase("GET /auditEvents", "audit log", signed_in(200)),
]


def _client(world: World, persona: str) -> ApiClient:
    return ApiClient(world.users[persona])


@pytest.mark.parametrize(
    ("case", "persona"),
    [(case, persona) for case in API_CASES for persona in PERSONAS],
    ids=[f"{case.route} [{case.label}] as {persona}" for case in API_CASES for persona in PERSONAS],
)
def test_api(world: World, case: ApiCase, persona: str) -> None:
    client = _client(world, persona)
    before = snapshot()
    body = case.body(world) if case.body else None
    url = case.url(world)

    if case.method == "GET":
        response = client.get(url)
    elif case.method == "DELETE":
        response = client.delete(url)
    elif isinstance(body, Multipart):
        response = client.client.post(url, dict(body), headers=client.headers)
    else:
        response = getattr(client, case.method.lower())(url, body)

    expected = case.expect[persona]
    assert response.status_code == expected, response.content
    if expected in (401, 403, 404, 409):
        assert isinstance(response.json()["detail"], str)
    if case.method == "GET" or expected >= 400:
        assert snapshot() == before, "a read or a refused call changed something"
    else:
        assert snapshot() != before, "an accepted write changed nothing"
    if case.total is not None and expected == 200:
        assert response.json()["totalCount"] == case.total[persona]


def test_the_api_table_names_every_served_route() -> None:
    served = {name for name, _ in api_operations()}
    tabled = {case.route for case in API_CASES}

    assert sorted(served - tabled) == [], "add these routes to API_CASES"
    assert sorted(tabled - served) == [], "API_CASES names routes the API does not serve"


def test_every_api_case_decides_for_every_persona() -> None:
    undecided = [
        f"{case.route} [{case.label}]" for case in API_CASES if set(case.expect) != set(PERSONAS)
    ]
    assert undecided == []
    assert all(case.expect["anonymous"] == 401 for case in API_CASES)
    assert all(case.expect["stranger"] in (200, 201, 404) for case in API_CASES)


# --- the console table ------------------------------------------------------------------


@dataclass(frozen=True)
class PageCase:
    """One request to a console page; ``path`` is filled from the world's ids (and
    ``{team}``). A POST that ``writes`` must change the world exactly when accepted."""

    route: str  # the URL pattern as Django's resolver spells it
    label: str
    method: str
    path: str
    expect: dict[str, int]
    data: dict[str, Any] | Callable[[], dict[str, Any]] | None = None
    writes: bool = True


LOGIN_REDIRECT = r"^/login/\?next=/"


def page(ok: int) -> dict[str, int]:
    """Pages about no object: anyone signed in; the anonymous are sent to sign in."""
    return dict.fromkeys(PERSONAS, ok) | {"anonymous": 302}


def view_page(ok: int = 200) -> dict[str, int]:
    return page(ok) | {"stranger": 404}


def edit_page(ok: int) -> dict[str, int]:
    return view_page(ok) | {"consumer": 403, "staff": 403}


def owner_page(ok: int) -> dict[str, int]:
    return edit_page(ok) | {"editor": 403}


def staff_page(ok: int) -> dict[str, int]:
    return dict.fromkeys(PERSONAS, 403) | {"staff": ok, "anonymous": 302}


def superuser_page() -> dict[str, int]:
    """Team changes: superusers only (tested apart), so staff stay read-only."""
    return staff_page(403)


def own_key_page(ok: int) -> dict[str, int]:
    """Someone's API key: theirs alone, staff included."""
    return dict.fromkeys(PERSONAS, 404) | {"owner": ok, "anonymous": 302}


REPO_PAGE = "repositories/<str:repository_id>/"
ARTIFACT_PAGE = "artifacts/<str:artifact_id>/"
BUILD_PAGE = "artifacts/<str:artifact_id>/builds/<str:build_id>/"
WORKLOAD_PAGE = "workloads/<str:workload_id>/"
INVOKE = r"^api/v2/endpoints/workloads/(?P<workload_id>[0-9a-f]{24})/(?P<path>.*)$"

PAGE_CASES = [
    PageCase("", "home", "GET", "/", page(200)),
    PageCase("login/", "sign-in form", "GET", "/login/", dict.fromkeys(PERSONAS, 200)),
    PageCase("logout/", "sign out", "POST", "/logout/", dict.fromkeys(PERSONAS, 302), writes=False),
    PageCase("teams/", "team list", "GET", "/teams/", staff_page(200)),
    PageCase(
        "teams/", "create a team", "POST", "/teams/", superuser_page(), data={"name": "platform"}
    ),
    PageCase("teams/<int:team_id>/", "a team", "GET", "/teams/{team}/", staff_page(200)),
    PageCase(
        "teams/<int:team_id>/",
        "add a member",
        "POST",
        "/teams/{team}/",
        superuser_page(),
        data={"action": "add", "username": "sam"},
    ),
    PageCase(
        "teams/<int:team_id>/",
        "remove a member",
        "POST",
        "/teams/{team}/",
        superuser_page(),
        data={"action": "remove", "username": "connor"},
    ),
    PageCase("teams/<int:team_id>/", "a missing team", "GET", "/teams/987654/", staff_page(404)),
    PageCase("repositories/", "repository list", "GET", "/repositories/", page(200)),
    PageCase(REPO_PAGE, "a repository", "GET", "/repositories/{repository}/", view_page()),
    PageCase(
        REPO_PAGE + "sharing/",
        "sharing tab",
        "GET",
        "/repositories/{repository}/sharing/",
        view_page(),
    ),
    PageCase(
        REPO_PAGE + "sharing/",
        "share with a team",
        "POST",
        "/repositories/{repository}/sharing/",
        owner_page(303),
        data={"operation": "add", "recipient_type": "group", "q": TEAM_NAME, "role": "EDITOR"},
    ),
    PageCase(
        REPO_PAGE + "edit/", "edit form", "GET", "/repositories/{repository}/edit/", edit_page(200)
    ),
    PageCase(
        REPO_PAGE + "edit/",
        "rename",
        "POST",
        "/repositories/{repository}/edit/",
        edit_page(303),
        data={"name": "renamed", "description": "described"},
    ),
    PageCase(
        REPO_PAGE + "delete/",
        "delete dialog",
        "GET",
        "/repositories/{drafts_only}/delete/",
        owner_page(200),
    ),
    PageCase(
        REPO_PAGE + "delete/",
        "delete",
        "POST",
        "/repositories/{drafts_only}/delete/",
        owner_page(303),
        data={},
    ),
    PageCase("recipients/", "recipient lookup", "GET", "/recipients/?q=ed", page(200)),
    PageCase("artifacts/new/", "new draft form", "GET", "/artifacts/new/", page(200)),
    PageCase(ARTIFACT_PAGE, "a draft", "GET", "/artifacts/{draft}/", view_page()),
    PageCase(ARTIFACT_PAGE, "a version", "GET", "/artifacts/{locked}/", view_page()),
    PageCase(ARTIFACT_PAGE + "edit/", "editor", "GET", "/artifacts/{draft}/edit/", edit_page(200)),
    PageCase(
        ARTIFACT_PAGE + "lock/", "lock dialog", "GET", "/artifacts/{draft}/lock/", edit_page(200)
    ),
    PageCase(
        ARTIFACT_PAGE + "lock/",
        "lock",
        "POST",
        "/artifacts/{draft}/lock/",
        edit_page(303),
        data={},
    ),
    PageCase(
        ARTIFACT_PAGE + "clone/",
        "clone dialog",
        "GET",
        "/artifacts/{locked}/clone/",
        edit_page(200),
    ),
    PageCase(
        ARTIFACT_PAGE + "clone/",
        "clone",
        "POST",
        "/artifacts/{locked}/clone/",
        edit_page(303),
        data={"name": "cloned"},
    ),
    PageCase(
        ARTIFACT_PAGE + "delete/",
        "delete dialog",
        "GET",
        "/artifacts/{draft}/delete/",
        edit_page(200),
    ),
    PageCase(
        ARTIFACT_PAGE + "delete/",
        "delete",
        "POST",
        "/artifacts/{draft}/delete/",
        edit_page(303),
        data={},
    ),
    PageCase(
        ARTIFACT_PAGE + "source/",
        "upload source",
        "POST",
        "/artifacts/{buildable}/source/",
        edit_page(200),
        data=lambda: {"file": source_upload()},
    ),
    PageCase(
        ARTIFACT_PAGE + "builds/", "builds", "GET", "/artifacts/{building}/builds/", view_page()
    ),
    PageCase(
        ARTIFACT_PAGE + "builds/start/",
        "start builds",
        "POST",
        "/artifacts/{buildable}/builds/start/",
        edit_page(200),
        data={},
    ),
    PageCase(
        BUILD_PAGE, "a build's log", "GET", "/artifacts/{building}/builds/{build}/", view_page()
    ),
    PageCase(
        BUILD_PAGE + "cancel/",
        "cancel a build",
        "POST",
        "/artifacts/{building}/builds/{build}/cancel/",
        edit_page(200),
        data={},
    ),
    PageCase("workloads/", "workload list", "GET", "/workloads/", page(200)),
    PageCase("workloads/new/", "run form", "GET", "/workloads/new/", page(200)),
    PageCase(
        "workloads/new/",
        "run form for a version",
        "GET",
        "/workloads/new/?artifact={locked}",
        view_page(),
    ),
    PageCase(
        "workloads/new/",
        "run a version",
        "POST",
        "/workloads/new/",
        view_page(303),
        data={"artifactId": "{locked}", "name": "run", "importance": "low", "replicas": "1"},
    ),
    PageCase(WORKLOAD_PAGE, "a workload", "GET", "/workloads/{workload}/", view_page()),
    PageCase(
        WORKLOAD_PAGE + "status/", "its status", "GET", "/workloads/{workload}/status/", view_page()
    ),
    PageCase(
        WORKLOAD_PAGE + "settings/",
        "change replicas",
        "POST",
        "/workloads/{workload}/settings/",
        edit_page(303),
        data={"g0-replicaCount": "2"},
    ),
    PageCase(
        WORKLOAD_PAGE + "start/",
        "start",
        "POST",
        "/workloads/{stopped_workload}/start/",
        edit_page(303),
        data={},
    ),
    PageCase(
        WORKLOAD_PAGE + "stop/",
        "stop",
        "POST",
        "/workloads/{workload}/stop/",
        edit_page(303),
        data={},
    ),
    PageCase(
        WORKLOAD_PAGE + "promote/",
        "promote dialog",
        "GET",
        "/workloads/{draft_workload}/promote/",
        edit_page(200),
    ),
    PageCase(
        WORKLOAD_PAGE + "promote/",
        "promote",
        "POST",
        "/workloads/{draft_workload}/promote/",
        edit_page(303),
        data={},
    ),
    PageCase(
        WORKLOAD_PAGE + "delete/",
        "delete dialog",
        "GET",
        "/workloads/{workload}/delete/",
        owner_page(200),
    ),
    PageCase(
        WORKLOAD_PAGE + "delete/",
        "delete",
        "POST",
        "/workloads/{workload}/delete/",
        owner_page(303),
        data={},
    ),
    PageCase(
        WORKLOAD_PAGE + "stats/clear/",
        "clear stats",
        "POST",
        "/workloads/{workload}/stats/clear/",
        edit_page(303),
        data={},
    ),
    PageCase(
        INVOKE,
        "invoke a workload that is not serving",
        "GET",
        "/api/v2/endpoints/workloads/{workload}/ready",
        # Authorised like the API: 401 rather than a redirect to the sign-in page.
        view_page(503) | {"anonymous": 401},
        writes=False,
    ),
    PageCase("activity/", "audit log", "GET", "/activity/", page(200)),
    PageCase("api-keys/", "own keys", "GET", "/api-keys/", page(200)),
    PageCase("api-keys/", "create a key", "POST", "/api-keys/", page(200), data={"name": "ci"}),
    PageCase(
        "api-keys/<str:key_id>/revoke/",
        "revoke dialog",
        "GET",
        "/api-keys/{owner_key}/revoke/",
        own_key_page(200),
    ),
    PageCase(
        "api-keys/<str:key_id>/revoke/",
        "revoke",
        "POST",
        "/api-keys/{owner_key}/revoke/",
        own_key_page(303),
        data={},
    ),
]


def _browser(world: World, persona: str) -> Client:
    client = Client()
    user = world.users[persona]
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("case", "persona"),
    [(case, persona) for case in PAGE_CASES for persona in PERSONAS],
    ids=[f"{c.method} /{c.route} [{c.label}] as {p}" for c in PAGE_CASES for p in PERSONAS],
)
def test_console(world: World, case: PageCase, persona: str) -> None:
    client = _browser(world, persona)
    url = case.path.format(**world.ids)
    before = snapshot()

    if case.method == "GET":
        response = client.get(url)
    else:
        data = case.data() if callable(case.data) else dict(case.data or {})
        for key, value in data.items():
            if isinstance(value, str):
                data[key] = value.format(**world.ids)
        response = client.post(url, data)

    expected = case.expect[persona]
    assert response.status_code == expected
    if case.route == "logout/":
        assert response["Location"] == "/login/"
    elif expected == 401:
        assert response.json() == {"detail": "Unauthorized"}
    elif persona == "anonymous" and expected == 302:
        assert re.search(LOGIN_REDIRECT, response["Location"]), response["Location"]
    accepted = case.method == "POST" and case.writes and persona != "anonymous" and expected < 400
    if accepted:
        assert snapshot() != before, "an accepted write changed nothing"
    else:
        assert snapshot() == before, "a read or a refused call changed something"


def test_the_team_pages_change_what_they_say_for_superusers_only(world: World) -> None:
    root = Client()
    root.force_login(User.objects.create_user("root", is_staff=True, is_superuser=True))
    created = root.post("/teams/", {"name": "platform"})
    team = Group.objects.get(name="platform")
    root.post(f"/teams/{team.pk}/", {"action": "add", "username": "sam"})

    assert created["Location"] == f"/teams/{team.pk}/"
    assert list(team.user_set.values_list("username", flat=True)) == ["sam"]
    assert TEAM_NAME in root.get("/teams/").content.decode()
    assert "sam" in _browser(world, "staff").get(f"/teams/{team.pk}/").content.decode()


def test_every_console_route_is_in_the_table() -> None:
    routes = {
        route
        for namespace, route, _ in walk(get_resolver().url_patterns)
        if namespace not in ("admin", "api")
    }
    tabled = {case.route for case in PAGE_CASES}

    assert sorted(routes - tabled) == [], "add these console routes to PAGE_CASES"
    assert sorted(tabled - routes) == [], "PAGE_CASES names routes the console does not serve"


def test_every_page_case_decides_for_every_persona() -> None:
    assert [c.label for c in PAGE_CASES if set(c.expect) != set(PERSONAS)] == []
    assert all(c.expect["anonymous"] in (200, 302) for c in PAGE_CASES if c.route != INVOKE)
