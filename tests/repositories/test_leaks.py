"""A repository someone cannot see tells them nothing: not its name, not its id, not a count.

The hidden repository is olga's (the ``owner``), holding a draft and a locked version.
Two outsiders look for it: ``stranger`` (no role anywhere) and ``consumer`` (CONSUMER,
through its team, of another user's repository). Each query is also run by the owner,
who must find the hidden repository with it, so a query that finds nothing for anyone
proves nothing. The strongest check: every list answer an outsider gets is identical
with and without the hidden repository in the database.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from repositories.models import ArtifactRepository
from tests.conftest import ARTIFACTS, REPOSITORIES, ApiClient, artifact_body, share
from workloads.models import Workload

HIDDEN_NAME = "zephyr-hidden-service"
HIDDEN_DESCRIPTION = "Quarterly numbers that nobody else may see"
MISSING_ID = "ffffffffffffffffffffffff"
WORKLOADS = "/api/v2/workloads"
AUDIT = "/api/v2/auditEvents"


@pytest.fixture
def hidden(api: ApiClient) -> dict[str, str]:
    draft = api.create_artifact(name=HIDDEN_NAME, description=HIDDEN_DESCRIPTION)
    repository_id = draft["artifactRepositoryId"]
    version = api.create_artifact(name=f"{HIDDEN_NAME}-v1", artifactRepositoryId=repository_id)
    locked = api.patch(f"{ARTIFACTS}/{version['id']}", {"status": "locked"})
    assert locked.status_code == 200, locked.content
    described = api.patch(f"{REPOSITORIES}/{repository_id}", {"description": HIDDEN_DESCRIPTION})
    assert described.status_code == 200, described.content
    workload = api.post(WORKLOADS, {"name": f"{HIDDEN_NAME}-run", "artifactId": version["id"]})
    assert workload.status_code == 201, workload.content
    return {
        "repository": repository_id,
        "draft": draft["id"],
        "locked": version["id"],
        "workload": workload.json()["id"],
    }


def delete_hidden(hidden: dict[str, str]) -> None:
    """Remove the hidden repository (and the workload that keeps its version in use)."""
    Workload.objects.filter(pk=hidden["workload"]).delete()
    ArtifactRepository.objects.filter(pk=hidden["repository"]).delete()


@pytest.fixture
def elsewhere(make_user: Callable[..., User], team: Group) -> dict[str, str]:
    """Another user's repository, shared with ``consumer``'s team as CONSUMER."""
    bob = ApiClient(make_user("bob"))
    artifact = bob.create_artifact(name="visible-elsewhere", description="Nothing to hide")
    share(artifact["artifactRepositoryId"], team, "CONSUMER")
    return {"repository": artifact["artifactRepositoryId"], "draft": artifact["id"]}


@pytest.fixture(params=["stranger", "consumer of another repository"])
def outsider(
    request: pytest.FixtureRequest,
    stranger_api: ApiClient,
    consumer_api: ApiClient,
    elsewhere: dict[str, str],
) -> ApiClient:
    return stranger_api if request.param == "stranger" else consumer_api


def sees_elsewhere(outsider: ApiClient) -> bool:
    return outsider.user is not None and outsider.user.username == "connor"


# --- lists ------------------------------------------------------------------------------

# (list, query, what the consumer of another repository finds: 1 for its own repository's
# row, 0, or None where the count is not the point, the audit log of its own doings)
# — the stranger finds 0 (None likewise for the audit log). "{repository}", "{prefix}",
# "{artifact_prefix}" and "{workload}" are filled in with the hidden objects' values.
LIST_QUERIES: list[tuple[str, dict[str, str], int | None]] = [
    (REPOSITORIES, {}, 1),
    (REPOSITORIES, {"limit": "1"}, 1),
    (REPOSITORIES, {"orderBy": "name", "limit": "1"}, 1),
    (REPOSITORIES, {"search": HIDDEN_NAME}, 0),
    (REPOSITORIES, {"search": HIDDEN_NAME.upper()}, 0),
    (REPOSITORIES, {"search": "zephyr"}, 0),
    (REPOSITORIES, {"search": "{repository}"}, 0),
    (REPOSITORIES, {"search": "{prefix}"}, 0),
    (REPOSITORIES, {"search": "{prefix_upper}"}, 0),
    (REPOSITORIES, {"search": "quarterly numbers"}, 0),
    (REPOSITORIES, {"createdBy": "olga"}, 0),
    (REPOSITORIES, {"type": "service"}, 1),
    (REPOSITORIES, {"type": "service", "search": HIDDEN_NAME}, 0),
    (ARTIFACTS, {}, 1),
    (ARTIFACTS, {"limit": "1"}, 1),
    (ARTIFACTS, {"search": HIDDEN_NAME}, 0),
    (ARTIFACTS, {"search": "{artifact_prefix}"}, 0),
    (ARTIFACTS, {"search": "quarterly"}, 0),
    (ARTIFACTS, {"repositoryId": "{repository}"}, 0),
    (ARTIFACTS, {"repositoryId": "{repository}", "status": "locked"}, 0),
    (ARTIFACTS, {"createdBy": "olga"}, 0),
    (ARTIFACTS, {"status": "locked"}, 0),
    (ARTIFACTS, {"orderBy": "-version", "status": "locked"}, 0),
    (ARTIFACTS, {"type": "service", "status": "draft"}, 1),
    (WORKLOADS, {}, 0),
    (WORKLOADS, {"search": HIDDEN_NAME}, 0),
    (WORKLOADS, {"search": "{workload}"}, 0),
    (WORKLOADS, {"repositoryId": "{repository}"}, 0),
    (WORKLOADS, {"artifactId": "{locked}"}, 0),
    (AUDIT, {}, None),
    (AUDIT, {"search": HIDDEN_NAME}, 0),
    (AUDIT, {"search": "zephyr"}, 0),
    (AUDIT, {"objectId": "{repository}"}, 0),
    (AUDIT, {"objectId": "{locked}"}, 0),
    (AUDIT, {"objectId": "{workload}"}, 0),
    (AUDIT, {"actor": "olga"}, 0),
    (AUDIT, {"action": "repository.create", "search": "zephyr"}, 0),
]
QUERY_IDS = [f"{path.rsplit('/', 1)[1]}?{params}" for path, params, _ in LIST_QUERIES]
HIDES_ONLY_THE_HIDDEN = [q for q in LIST_QUERIES if q[2] is not None]


def filled(params: dict[str, str], hidden: dict[str, str]) -> dict[str, str]:
    values = {
        "repository": hidden["repository"],
        # Ids start with a 4-byte timestamp shared by everything made in the same second;
        # 16 characters reach well into the random part.
        "prefix": hidden["repository"][:16],
        "prefix_upper": hidden["repository"][:16].upper(),
        "artifact_prefix": hidden["draft"][:16],
        "locked": hidden["locked"],
        "workload": hidden["workload"],
    }
    return {key: value.format(**values) for key, value in params.items()}


@pytest.mark.parametrize(
    ("path", "params", "for_consumer"),
    HIDES_ONLY_THE_HIDDEN,
    ids=[f"{path.rsplit('/', 1)[1]}?{params}" for path, params, _ in HIDES_ONLY_THE_HIDDEN],
)
def test_a_list_counts_and_shows_nothing_hidden(
    api: ApiClient,
    outsider: ApiClient,
    hidden: dict[str, str],
    path: str,
    params: dict[str, str],
    for_consumer: int,
) -> None:
    query = filled(params, hidden)
    expected = for_consumer if sees_elsewhere(outsider) else 0

    body = outsider.get(path, **query).json()

    assert body["totalCount"] == expected
    assert body["count"] == expected
    assert body["next"] is None
    assert not set(hidden.values()) & {row["id"] for row in body["data"]}
    assert HIDDEN_NAME not in str(body["data"])
    # The query does find the hidden objects for someone who may see them.
    assert api.get(path, **query).json()["totalCount"] >= 1


def test_the_audit_log_names_nothing_hidden(outsider: ApiClient, hidden: dict[str, str]) -> None:
    events = outsider.get(AUDIT, limit=100).json()["data"]

    # Its own doings (its API key), and for the consumer what bob did to the repository
    # shared with it; nothing of olga's.
    assert events
    assert {e["actor"] for e in events} <= {outsider.user.username, "bob"}
    assert not set(hidden.values()) & {e["objectId"] for e in events}
    assert HIDDEN_NAME not in str(events)
    assert "olga" not in str(events)


def test_every_list_answer_is_the_same_without_the_hidden_repository(
    outsider: ApiClient, hidden: dict[str, str]
) -> None:
    queries = [(path, filled(params, hidden)) for path, params, _ in LIST_QUERIES]
    with_it = [outsider.get(path, **query).json() for path, query in queries]

    delete_hidden(hidden)
    without_it = [outsider.get(path, **query).json() for path, query in queries]

    assert with_it == without_it


def test_an_outsider_sees_its_own_repository_and_nothing_else(
    outsider: ApiClient, hidden: dict[str, str], elsewhere: dict[str, str]
) -> None:
    repositories = outsider.get(REPOSITORIES).json()
    artifacts = outsider.get(ARTIFACTS).json()

    expected_repositories = [elsewhere["repository"]] if sees_elsewhere(outsider) else []
    expected_artifacts = [elsewhere["draft"]] if sees_elsewhere(outsider) else []
    assert [row["id"] for row in repositories["data"]] == expected_repositories
    assert [row["id"] for row in artifacts["data"]] == expected_artifacts


# --- one object and its sub-resources ---------------------------------------------------

# (method, path with {repository} / {artifact} / {locked}, valid body, invalid body)
OBJECT_ROUTES: list[tuple[str, str, Any, Any]] = [
    ("get", REPOSITORIES + "/{repository}", None, None),
    ("get", REPOSITORIES + "/{repository}/versions", None, None),
    ("get", REPOSITORIES + "/{repository}/sharedRoles", None, None),
    ("patch", REPOSITORIES + "/{repository}", {"description": "mine now"}, {"name": ""}),
    ("delete", REPOSITORIES + "/{repository}", None, None),
    (
        "patch",
        REPOSITORIES + "/{repository}/sharedRoles",
        {
            "operation": "updateRoles",
            "roles": [{"shareRecipientType": "user", "username": "sam", "role": "OWNER"}],
        },
        {"operation": "nope", "roles": []},
    ),
    ("get", ARTIFACTS + "/{artifact}", None, None),
    ("get", ARTIFACTS + "/{locked}", None, None),
    ("get", ARTIFACTS + "/{artifact}/sharedRoles", None, None),
    ("put", ARTIFACTS + "/{artifact}", artifact_body(name="mine"), {"name": 5}),
    ("patch", ARTIFACTS + "/{artifact}", {"description": "mine now"}, {"bogus": True}),
    ("patch", ARTIFACTS + "/{artifact}", {"status": "locked"}, {"status": "draft"}),
    ("delete", ARTIFACTS + "/{artifact}", None, None),
    ("post", ARTIFACTS + "/{locked}/clone", {"name": "mine"}, {"name": "", "extra": 1}),
    ("get", ARTIFACTS + "/{artifact}/builds", None, None),
    ("post", ARTIFACTS + "/{artifact}/builds", {}, {"bogus": 1}),
    ("get", ARTIFACTS + "/{artifact}/builds/" + MISSING_ID, None, None),
    ("get", ARTIFACTS + "/{artifact}/builds/" + MISSING_ID + "/logs", None, None),
    ("delete", ARTIFACTS + "/{artifact}/builds/" + MISSING_ID, None, None),
    ("upload", ARTIFACTS + "/{artifact}/source", "src.tar.gz", "notes.txt"),
    ("get", WORKLOADS + "/{workload}", None, None),
    ("patch", WORKLOADS + "/{workload}", {"description": "mine"}, {"importance": "urgent"}),
    ("delete", WORKLOADS + "/{workload}", None, None),
    ("post", WORKLOADS + "/{workload}/start", {}, None),
    ("post", WORKLOADS + "/{workload}/stop", {}, None),
    ("post", WORKLOADS + "/{workload}/promote", {}, None),
    ("get", WORKLOADS + "/{workload}/settings", None, None),
    ("patch", WORKLOADS + "/{workload}/settings", {"runtime": {}}, {"runtime": "x"}),
    ("get", WORKLOADS + "/{workload}/stats", None, None),
    ("delete", WORKLOADS + "/{workload}/stats", None, None),
    ("get", WORKLOADS + "/{workload}/history", None, None),
    ("get", WORKLOADS + "/{workload}/protons", None, None),
    ("get", WORKLOADS + "/{workload}/sharedRoles", None, None),
    (
        "patch",
        WORKLOADS + "/{workload}/sharedRoles",
        {
            "operation": "updateRoles",
            "roles": [{"shareRecipientType": "user", "username": "sam", "role": "OWNER"}],
        },
        {"operation": "nope"},
    ),
    ("get", "/api/v2/endpoints/workloads/{workload}/ready", None, None),
    ("post", "/api/v2/endpoints/workloads/{workload}/", {"q": 1}, None),
    (
        "patch",
        ARTIFACTS + "/{artifact}/sharedRoles",
        {
            "operation": "updateRoles",
            "roles": [{"shareRecipientType": "user", "username": "sam", "role": "OWNER"}],
        },
        {"roles": "everyone"},
    ),
]
OBJECT_CALLS = [
    (method, path, body, kind)
    for method, path, valid, invalid in OBJECT_ROUTES
    for body, kind in ((valid, "valid"), (invalid, "invalid"))
    if kind == "valid" or invalid is not None
]
CALL_IDS = [
    f"{method.upper()} {path.split('/v2')[1]} ({kind})" for method, path, _, kind in OBJECT_CALLS
]


def call(client: ApiClient, method: str, url: str, body: Any) -> Any:
    if method in ("get", "delete"):
        return getattr(client, method)(url)
    if method == "upload":  # multipart: ``body`` names the file
        upload = SimpleUploadedFile(body, b"not really an archive")
        return client.client.post(url, {"file": upload}, headers=client.headers)
    return getattr(client, method)(url, body)


@pytest.mark.parametrize(("method", "path", "body", "kind"), OBJECT_CALLS, ids=CALL_IDS)
def test_a_hidden_object_answers_exactly_like_a_missing_one(
    api: ApiClient,
    outsider: ApiClient,
    hidden: dict[str, str],
    method: str,
    path: str,
    body: Any,
    kind: str,
) -> None:
    hidden_url = path.format(
        repository=hidden["repository"],
        artifact=hidden["draft"],
        locked=hidden["locked"],
        workload=hidden["workload"],
    )
    missing_url = path.format(
        repository=MISSING_ID, artifact=MISSING_ID, locked=MISSING_ID, workload=MISSING_ID
    )

    missing = call(outsider, method, missing_url, body)
    found = call(outsider, method, hidden_url, body)

    assert missing.status_code == 404, missing.content
    assert (found.status_code, found.json()) == (404, missing.json())
    assert found.headers["Content-Type"] == missing.headers["Content-Type"]
    assert api.get(f"{REPOSITORIES}/{hidden['repository']}").status_code == 200
    assert api.get(f"{ARTIFACTS}/{hidden['draft']}").status_code == 200
    assert api.get(f"{WORKLOADS}/{hidden['workload']}").status_code == 200


def test_the_hidden_repository_is_untouched_after_every_attempt(
    api: ApiClient, outsider: ApiClient, hidden: dict[str, str]
) -> None:
    before = (
        api.get(f"{REPOSITORIES}/{hidden['repository']}").json(),
        api.get(f"{REPOSITORIES}/{hidden['repository']}/sharedRoles").json(),
        api.get(ARTIFACTS, repositoryId=hidden["repository"]).json(),
        api.get(f"{WORKLOADS}/{hidden['workload']}").json(),
        api.get(f"{WORKLOADS}/{hidden['workload']}/sharedRoles").json(),
    )
    for method, path, valid, _ in OBJECT_ROUTES:
        url = path.format(
            repository=hidden["repository"],
            artifact=hidden["draft"],
            locked=hidden["locked"],
            workload=hidden["workload"],
        )
        assert call(outsider, method, url, valid).status_code == 404

    after = (
        api.get(f"{REPOSITORIES}/{hidden['repository']}").json(),
        api.get(f"{REPOSITORIES}/{hidden['repository']}/sharedRoles").json(),
        api.get(ARTIFACTS, repositoryId=hidden["repository"]).json(),
        api.get(f"{WORKLOADS}/{hidden['workload']}").json(),
        api.get(f"{WORKLOADS}/{hidden['workload']}/sharedRoles").json(),
    )
    assert after == before


def test_creating_an_artifact_in_a_hidden_repository_is_404(
    outsider: ApiClient, hidden: dict[str, str]
) -> None:
    missing = outsider.get(f"{REPOSITORIES}/{MISSING_ID}")

    response = outsider.post(ARTIFACTS, artifact_body(artifactRepositoryId=hidden["repository"]))
    invalid = outsider.post(
        ARTIFACTS, {"name": "", "spec": {}, "artifactRepositoryId": hidden["repository"]}
    )

    assert (response.status_code, response.json()) == (404, missing.json())
    assert (invalid.status_code, invalid.json()) == (404, missing.json())


def test_the_sub_resources_answer_the_owner(api: ApiClient, hidden: dict[str, str]) -> None:
    """The control for the 404s above: the same URLs do answer someone who may see them."""
    versions = api.get(f"{REPOSITORIES}/{hidden['repository']}/versions").json()
    roles = api.get(f"{REPOSITORIES}/{hidden['repository']}/sharedRoles").json()

    assert [row["id"] for row in versions["data"]] == [hidden["locked"]]
    assert [row["name"] for row in roles["data"]] == ["olga"]


# --- the console ------------------------------------------------------------------------


def browser(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.parametrize("path", ["/", "/repositories/"])
@pytest.mark.parametrize("htmx", [False, True])
def test_the_console_list_shows_nothing_hidden(
    owner: User,
    outsider: ApiClient,
    hidden: dict[str, str],
    elsewhere: dict[str, str],
    path: str,
    htmx: bool,
) -> None:
    headers = {"HX-Request": "true"} if htmx else {}

    page = browser(outsider.user).get(path, headers=headers)
    by_name = browser(outsider.user).get(path, {"search": HIDDEN_NAME}, headers=headers)
    by_id = browser(outsider.user).get(path, {"search": hidden["repository"][:16]}, headers=headers)

    assert page.status_code == by_name.status_code == by_id.status_code == 200
    text = page.content.decode()
    assert HIDDEN_NAME not in text
    assert hidden["repository"] not in text
    assert ("visible-elsewhere" in text) is sees_elsewhere(outsider)
    # A search echoes its own term; it must not show the other half of the hidden row.
    assert hidden["repository"] not in by_name.content.decode()
    assert HIDDEN_NAME not in by_id.content.decode()
    # The control: its owner does see it on the same page.
    assert HIDDEN_NAME in browser(owner).get(path, headers=headers).content.decode()


def test_the_console_list_is_the_same_without_the_hidden_repository(
    stranger: User, hidden: dict[str, str]
) -> None:
    client = browser(stranger)
    fragment = {"HX-Request": "true", "HX-Target": "results"}
    with_it = client.get("/", {"search": ""}, headers=fragment).content

    delete_hidden(hidden)

    assert client.get("/", {"search": ""}, headers=fragment).content == with_it


@pytest.mark.parametrize("path", ["/activity/", "/workloads/", "/api-keys/"])
def test_the_other_console_lists_show_nothing_hidden(
    owner: User, outsider: ApiClient, hidden: dict[str, str], path: str
) -> None:
    page = browser(outsider.user).get(path)

    assert page.status_code == 200
    text = page.content.decode()
    assert HIDDEN_NAME not in text
    assert not any(value in text for value in hidden.values())
    if path != "/api-keys/":  # the control: its owner does see it there
        assert HIDDEN_NAME in browser(owner).get(path).content.decode()
