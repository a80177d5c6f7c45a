"""The API's shared conventions: list envelopes, search/filter/order, slashes, auth, visibility."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.staticfiles import finders
from django.test import Client
from django.utils import timezone

from artifacts.models import Artifact
from artifacts.services import artifact_create, artifact_lock
from console.auth import api_key_create
from console.models import ApiKey
from repositories.models import ArtifactRepository
from repositories.services import repository_update
from tests.conftest import ARTIFACTS, REPOSITORIES, ApiClient, artifact_body, primary_container

MISSING_ID = "0" * 24


def make(user: User, **overrides: Any) -> Artifact:
    """A draft created through the service, as the API would."""
    return artifact_create(actor=user, data=artifact_body(**overrides))


def nim(user: User, **overrides: Any) -> Artifact:
    spec = {"containerGroups": [{"containers": [primary_container(name="nim")]}]}
    return make(user, **({"name": "llm", "type": "nim", "spec": spec} | overrides))


def ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["data"]]


def names(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["name"] for row in response.json()["data"]]


def locs(response: Any) -> list[list[Any]]:
    return [problem["loc"] for problem in response.json()["detail"]]


# --- envelope and paging ---------------------------------------------------------------


def test_envelope_and_absolute_links_over_25_artifacts(api: ApiClient, owner: User) -> None:
    created = {make(owner, name=f"item-{i:02d}").id for i in range(25)}

    first = api.get(ARTIFACTS, limit=10)
    page1 = first.json()
    assert first.status_code == 200
    assert set(page1) == {"count", "totalCount", "next", "previous", "data"}
    assert page1["count"] == 10
    assert page1["totalCount"] == 25
    assert page1["previous"] is None
    link = urlsplit(page1["next"])
    assert (link.scheme, link.netloc, link.path) == ("http", "testserver", ARTIFACTS)
    assert parse_qs(link.query) == {"limit": ["10"], "offset": ["10"]}

    page2 = api.get(page1["next"]).json()
    assert page2["count"] == 10
    assert page2["totalCount"] == 25
    assert parse_qs(urlsplit(page2["next"]).query) == {"limit": ["10"], "offset": ["20"]}
    assert page2["previous"].startswith("http://testserver/api/v2/artifacts?")
    assert parse_qs(urlsplit(page2["previous"]).query) == {"limit": ["10"], "offset": ["0"]}

    page3 = api.get(page2["next"]).json()
    assert page3["count"] == 5
    assert page3["next"] is None
    assert parse_qs(urlsplit(page3["previous"]).query) == {"limit": ["10"], "offset": ["10"]}

    seen = [row["id"] for page in (page1, page2, page3) for row in page["data"]]
    assert len(seen) == 25
    assert set(seen) == created


def test_default_limit_is_10(api: ApiClient, owner: User) -> None:
    for i in range(12):
        make(owner, name=f"item-{i}")

    page = api.get(ARTIFACTS).json()

    assert page["count"] == 10
    assert page["totalCount"] == 12
    assert parse_qs(urlsplit(page["next"]).query) == {"limit": ["10"], "offset": ["10"]}


def test_links_keep_the_filters(api: ApiClient, owner: User) -> None:
    for i in range(7):
        make(owner, name=f"item-{i}")

    page = api.get(ARTIFACTS, status="draft", search="item", limit=3, offset=3).json()

    assert page["count"] == 3
    for link in (page["next"], page["previous"]):
        query = parse_qs(urlsplit(link).query)
        assert query["status"] == ["draft"]
        assert query["search"] == ["item"]
    assert parse_qs(urlsplit(page["next"]).query)["offset"] == ["6"]
    assert parse_qs(urlsplit(page["previous"]).query)["offset"] == ["0"]


def test_an_offset_past_the_end_is_an_empty_page(api: ApiClient, owner: User) -> None:
    make(owner)

    page = api.get(ARTIFACTS, offset=5).json()

    assert page["count"] == 0
    assert page["data"] == []
    assert page["totalCount"] == 1
    assert page["next"] is None
    assert page["previous"] is not None


@pytest.mark.parametrize("path", [ARTIFACTS, REPOSITORIES])
@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"limit": 0}, ["query", "limit"]),
        ({"limit": 101}, ["query", "limit"]),
        ({"limit": -5}, ["query", "limit"]),
        ({"offset": -1}, ["query", "offset"]),
    ],
)
def test_out_of_range_paging_is_422(
    api: ApiClient, path: str, params: dict[str, int], loc: list[str]
) -> None:
    response = api.get(path, **params)

    assert response.status_code == 422, response.content
    assert locs(response) == [loc]


@pytest.mark.parametrize("path", [ARTIFACTS, REPOSITORIES])
def test_limit_bounds_1_and_100_are_accepted(api: ApiClient, owner: User, path: str) -> None:
    make(owner, name="a")
    make(owner, name="b")

    assert api.get(path, limit=1).json()["count"] == 1
    assert api.get(path, limit=100).json()["count"] == 2


def test_versions_paging_bounds_are_422(api: ApiClient, owner: User) -> None:
    repository_id = make(owner).repository_id

    response = api.get(f"{REPOSITORIES}/{repository_id}/versions", limit=101)

    assert response.status_code == 422
    assert locs(response) == [["query", "limit"]]


# --- search ----------------------------------------------------------------------------


@pytest.fixture
def catalogue(owner: User) -> dict[str, Artifact]:
    return {
        "alpha": make(owner, name="alpha-gateway", description="Routes external traffic"),
        "beta": make(owner, name="beta-Worker", description="Consumes the job QUEUE"),
        "gamma": make(owner, name="gamma", description="Nightly reports"),
    }


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("worker", ["beta"]),
        ("WORKER", ["beta"]),
        ("Gate", ["alpha"]),
        ("queue", ["beta"]),  # description
        ("EXTERNAL", ["alpha"]),
        ("a", ["alpha", "beta", "gamma"]),
        ("no-such-thing", []),
    ],
)
def test_search_matches_name_and_description_case_insensitively(
    api: ApiClient, catalogue: dict[str, Artifact], term: str, expected: list[str]
) -> None:
    found = set(ids(api.get(ARTIFACTS, search=term)))

    assert found == {catalogue[key].id for key in expected}


def test_search_matches_an_id_prefix(api: ApiClient, catalogue: dict[str, Artifact]) -> None:
    target = catalogue["gamma"]

    assert ids(api.get(ARTIFACTS, search=target.id[:16])) == [target.id]
    assert ids(api.get(ARTIFACTS, search=target.id[:16].upper())) == [target.id]
    assert ids(api.get(ARTIFACTS, search=target.id)) == [target.id]


def test_search_of_repositories(
    api: ApiClient, owner: User, catalogue: dict[str, Artifact]
) -> None:
    beta_repository = catalogue["beta"].repository_id
    repository_update(actor=owner, repository_id=beta_repository, data={"description": "Async"})

    assert ids(api.get(REPOSITORIES, search="GATEWAY")) == [catalogue["alpha"].repository_id]
    assert ids(api.get(REPOSITORIES, search="async")) == [beta_repository]
    assert ids(api.get(REPOSITORIES, search=beta_repository[:16])) == [beta_repository]
    assert ids(api.get(REPOSITORIES, search="nothing-here")) == []


# --- filters ---------------------------------------------------------------------------


@pytest.fixture
def mixed(owner: User, stranger: User) -> dict[str, Artifact]:
    """alpha (draft) and bravo (locked v1) share a repository; charlie is nim; sam has delta."""
    alpha = make(owner, name="alpha")
    bravo = make(owner, name="bravo", artifactRepositoryId=alpha.repository_id)
    bravo = artifact_lock(actor=owner, artifact_id=bravo.id)
    charlie = nim(owner, name="charlie")
    delta = make(stranger, name="delta")
    return {"alpha": alpha, "bravo": bravo, "charlie": charlie, "delta": delta}


def test_filter_by_status(api: ApiClient, mixed: dict[str, Artifact]) -> None:
    assert set(ids(api.get(ARTIFACTS, status="locked"))) == {mixed["bravo"].id}
    assert set(ids(api.get(ARTIFACTS, status="draft"))) == {mixed["alpha"].id, mixed["charlie"].id}


def test_filter_by_type(api: ApiClient, mixed: dict[str, Artifact]) -> None:
    assert set(ids(api.get(ARTIFACTS, type="nim"))) == {mixed["charlie"].id}
    assert set(ids(api.get(ARTIFACTS, type="service"))) == {mixed["alpha"].id, mixed["bravo"].id}


def test_filter_by_repository(api: ApiClient, mixed: dict[str, Artifact]) -> None:
    shared = mixed["alpha"].repository_id

    assert set(ids(api.get(ARTIFACTS, repositoryId=shared))) == {
        mixed["alpha"].id,
        mixed["bravo"].id,
    }
    assert ids(api.get(ARTIFACTS, repositoryId=mixed["charlie"].repository_id)) == [
        mixed["charlie"].id
    ]
    # Another user's repository: nothing, as if it did not exist.
    assert ids(api.get(ARTIFACTS, repositoryId=mixed["delta"].repository_id)) == []


def test_filter_by_creator(
    api: ApiClient, staff_api: ApiClient, mixed: dict[str, Artifact]
) -> None:
    assert len(ids(api.get(ARTIFACTS, createdBy="olga"))) == 3
    assert ids(api.get(ARTIFACTS, createdBy="sam")) == []  # invisible to olga
    assert ids(staff_api.get(ARTIFACTS, createdBy="sam")) == [mixed["delta"].id]
    assert len(ids(staff_api.get(ARTIFACTS, createdBy="olga"))) == 3
    assert ids(staff_api.get(ARTIFACTS, createdBy="nobody")) == []


@pytest.mark.parametrize(("field", "value"), [("status", "archived"), ("type", "batch")])
def test_an_unknown_filter_value_is_422(api: ApiClient, field: str, value: str) -> None:
    response = api.get(ARTIFACTS, **{field: value})

    assert response.status_code == 422
    assert locs(response) == [["query", field]]


def test_repository_filters_by_type_and_creator(
    api: ApiClient, staff_api: ApiClient, mixed: dict[str, Artifact]
) -> None:
    assert ids(api.get(REPOSITORIES, type="nim")) == [mixed["charlie"].repository_id]
    assert ids(api.get(REPOSITORIES, type="service")) == [mixed["alpha"].repository_id]
    assert len(ids(api.get(REPOSITORIES, createdBy="olga"))) == 2
    assert ids(api.get(REPOSITORIES, createdBy="sam")) == []
    assert ids(staff_api.get(REPOSITORIES, createdBy="sam")) == [mixed["delta"].repository_id]
    assert set(ids(staff_api.get(REPOSITORIES, type="service"))) == {
        mixed["alpha"].repository_id,
        mixed["delta"].repository_id,
    }


# --- ordering --------------------------------------------------------------------------


def test_order_by_name_both_ways(api: ApiClient, owner: User) -> None:
    for name in ("mike", "alpha", "zulu", "kilo"):
        make(owner, name=name)

    assert names(api.get(ARTIFACTS, orderBy="name")) == ["alpha", "kilo", "mike", "zulu"]
    assert names(api.get(ARTIFACTS, orderBy="-name")) == ["zulu", "mike", "kilo", "alpha"]


def test_order_by_version_both_ways(api: ApiClient, owner: User) -> None:
    first = make(owner, name="v-first")
    drafts = [make(owner, name=f"v{i}", artifactRepositoryId=first.repository_id) for i in range(3)]
    for artifact in (drafts[1], first, drafts[2]):
        artifact_lock(actor=owner, artifact_id=artifact.id)

    ascending = api.get(ARTIFACTS, status="locked", orderBy="version").json()["data"]
    descending = api.get(ARTIFACTS, status="locked", orderBy="-version").json()["data"]

    assert [(a["name"], a["version"]) for a in ascending] == [("v1", 1), ("v-first", 2), ("v2", 3)]
    assert [a["version"] for a in descending] == [3, 2, 1]


def test_default_order_is_newest_first(api: ApiClient, owner: User) -> None:
    for i in range(4):
        make(owner, name=f"item-{i}")

    created = [row["createdAt"] for row in api.get(ARTIFACTS).json()["data"]]

    assert created == sorted(created, reverse=True)


@pytest.mark.parametrize("path", [ARTIFACTS, REPOSITORIES])
@pytest.mark.parametrize("order", ["size", "-size", "id", "--name", "name-", "Name"])
def test_an_unknown_order_is_422(api: ApiClient, path: str, order: str) -> None:
    response = api.get(path, orderBy=order)

    assert response.status_code == 422, response.content
    assert locs(response) == [["query", "orderBy"]]


def test_repositories_order_by_name_and_last_version(api: ApiClient, owner: User) -> None:
    mike = make(owner, name="mike")
    make(owner, name="alpha")
    zulu = make(owner, name="zulu")
    artifact_lock(actor=owner, artifact_id=zulu.id)
    second = make(owner, name="zulu-2", artifactRepositoryId=zulu.repository_id)
    artifact_lock(actor=owner, artifact_id=second.id)
    artifact_lock(actor=owner, artifact_id=mike.id)

    assert names(api.get(REPOSITORIES, orderBy="name")) == ["alpha", "mike", "zulu"]
    assert names(api.get(REPOSITORIES, orderBy="-name")) == ["zulu", "mike", "alpha"]
    by_version = api.get(REPOSITORIES, orderBy="-lastVersionNumber").json()["data"]
    assert [r["lastVersionNumber"] for r in by_version] == [2, 1, 0]


# --- trailing slash --------------------------------------------------------------------


def test_routes_work_with_and_without_a_trailing_slash(api: ApiClient) -> None:
    without = api.post(ARTIFACTS, artifact_body(name="no-slash"))
    with_slash = api.post(ARTIFACTS + "/", artifact_body(name="slash"))
    assert without.status_code == 201, without.content
    assert with_slash.status_code == 201, with_slash.content
    artifact = with_slash.json()
    one = f"{ARTIFACTS}/{artifact['id']}"
    repository = f"{REPOSITORIES}/{artifact['artifactRepositoryId']}"

    assert api.get(ARTIFACTS).json()["totalCount"] == 2
    assert api.get(ARTIFACTS + "/").json()["totalCount"] == 2
    assert api.get(one).status_code == 200
    assert api.get(one + "/").json()["id"] == artifact["id"]
    assert api.patch(one + "/", {"name": "patched"}).json()["name"] == "patched"
    assert api.put(one + "/", artifact_body(name="put")).json()["name"] == "put"
    assert api.post(one + "/clone/", {"name": "cloned"}).status_code == 201
    assert api.get(REPOSITORIES + "/").json()["totalCount"] == 2
    assert api.get(repository + "/").status_code == 200
    assert api.get(repository + "/versions/").status_code == 200
    assert api.patch(repository + "/", {"name": "renamed"}).json()["name"] == "renamed"
    assert api.delete(one + "/").status_code == 204
    assert api.get(one).status_code == 404


# --- authentication --------------------------------------------------------------------


@pytest.fixture
def owned(api: ApiClient) -> dict[str, Any]:
    """One of olga's artifacts, locked as v1, plus a draft in the same repository."""
    artifact = api.create_artifact()
    assert api.patch(f"{ARTIFACTS}/{artifact['id']}", {"status": "locked"}).status_code == 200
    draft = api.create_artifact(name="draft", artifactRepositoryId=artifact["artifactRepositoryId"])
    return {
        "artifact": f"{ARTIFACTS}/{artifact['id']}",
        "draft": f"{ARTIFACTS}/{draft['id']}",
        "repository": f"{REPOSITORIES}/{artifact['artifactRepositoryId']}",
        "artifact_id": artifact["id"],
        "draft_id": draft["id"],
        "repository_id": artifact["artifactRepositoryId"],
    }


def send(client: ApiClient, method: str, path: str) -> Any:
    """One request with a plausible body for the route."""
    if method in ("get", "delete"):
        return getattr(client, method)(path)
    if path.endswith("/clone"):
        return client.post(path, {"name": "hijack"})
    if method == "patch":
        return client.patch(path, {"name": "hijack"})
    return getattr(client, method)(path, artifact_body(name="hijack"))


# Single-object routes: (method, which object, suffix).
SINGLE_ROUTES = [
    ("get", "draft", ""),
    ("put", "draft", ""),
    ("patch", "draft", ""),
    ("delete", "draft", ""),
    ("post", "draft", "/clone"),
    ("get", "artifact", ""),
    ("post", "artifact", "/clone"),
    ("get", "repository", ""),
    ("patch", "repository", ""),
    ("delete", "repository", ""),
    ("get", "repository", "/versions"),
]
ALL_ROUTES = [("get", None, ARTIFACTS), ("post", None, ARTIFACTS), ("get", None, REPOSITORIES)]
ALL_ROUTES += SINGLE_ROUTES


def route_path(owned: dict[str, Any], target: str | None, suffix: str) -> str:
    return suffix if target is None else owned[target] + suffix


def assert_untouched(api: ApiClient, owned: dict[str, Any]) -> None:
    draft = api.get(owned["draft"])
    assert draft.status_code == 200
    assert draft.json()["name"] == "draft"
    repository = api.get(owned["repository"]).json()
    assert repository["name"] == "web-service"
    assert repository["numArtifacts"] == 2
    assert Artifact.objects.count() == 2
    assert ArtifactRepository.objects.count() == 1


@pytest.mark.parametrize(("method", "target", "suffix"), ALL_ROUTES)
def test_anonymous_is_401_on_every_route(
    api: ApiClient,
    anonymous_api: ApiClient,
    owned: dict[str, Any],
    method: str,
    target: str | None,
    suffix: str,
) -> None:
    response = send(anonymous_api, method, route_path(owned, target, suffix))

    assert response.status_code == 401, response.content
    body = response.json()
    assert set(body) == {"detail"}
    assert isinstance(body["detail"], str)
    assert_untouched(api, owned)


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer berth_this-key-was-never-issued",
        "Bearer not-even-a-berth-key",
        "Bearer ",
        "Token berth_abc",
        "Basic b2xnYTpwdy1vbGdh",
    ],
)
def test_a_bad_api_key_is_401(owner: User, authorization: str) -> None:
    client = Client()

    response = client.get(ARTIFACTS, headers={"Authorization": authorization})

    assert response.status_code == 401
    assert isinstance(response.json()["detail"], str)


def test_a_revoked_api_key_is_401(owner: User) -> None:
    key, secret = api_key_create(actor=owner, name="short-lived")
    client = Client()
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get(ARTIFACTS, headers=headers).status_code == 200

    ApiKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())

    assert client.get(ARTIFACTS, headers=headers).status_code == 401
    assert (
        client.post(
            ARTIFACTS, json.dumps(artifact_body()), content_type="application/json", headers=headers
        ).status_code
        == 401
    )
    assert Artifact.objects.count() == 0


def test_the_key_of_a_deactivated_user_is_401(owner: User) -> None:
    _, secret = api_key_create(actor=owner, name="k")
    owner.is_active = False
    owner.save()

    response = Client().get(ARTIFACTS, headers={"Authorization": f"Bearer {secret}"})

    assert response.status_code == 401


def test_an_api_key_records_its_last_use(owner: User) -> None:
    key, secret = api_key_create(actor=owner, name="k")
    assert key.last_used_at is None

    Client().get(ARTIFACTS, headers={"Authorization": f"Bearer {secret}"})

    key.refresh_from_db()
    assert key.last_used_at is not None
    assert key.digest != secret  # only a digest is stored


@pytest.fixture
def session(owner: User) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    return client


def test_session_auth_reads(session: Client, api: ApiClient) -> None:
    artifact = api.create_artifact()

    listed = session.get(ARTIFACTS)
    one = session.get(f"{ARTIFACTS}/{artifact['id']}")

    assert listed.status_code == 200
    assert [row["id"] for row in listed.json()["data"]] == [artifact["id"]]
    assert one.status_code == 200
    assert one.json()["id"] == artifact["id"]


def test_session_write_without_csrf_token_is_403(session: Client) -> None:
    response = session.post(ARTIFACTS, json.dumps(artifact_body()), content_type="application/json")

    assert response.status_code == 403
    assert isinstance(response.json()["detail"], str)
    assert Artifact.objects.count() == 0


def test_session_write_with_csrf_token_is_201(session: Client) -> None:
    session.get("/login/")  # any page with a form hands out the CSRF cookie
    token = session.cookies[settings.CSRF_COOKIE_NAME].value

    response = session.post(
        ARTIFACTS,
        json.dumps(artifact_body()),
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )

    assert response.status_code == 201, response.content
    assert response.json()["creator"] == "olga"
    assert Artifact.objects.count() == 1


# --- visibility: strangers and staff ---------------------------------------------------


def test_a_stranger_sees_nothing_in_lists(
    stranger_api: ApiClient, owned: dict[str, Any], stranger: User
) -> None:
    make(stranger, name="mine")

    artifacts = stranger_api.get(ARTIFACTS).json()
    repositories = stranger_api.get(REPOSITORIES).json()

    assert artifacts["totalCount"] == 1
    assert [row["name"] for row in artifacts["data"]] == ["mine"]
    assert repositories["totalCount"] == 1
    assert [row["name"] for row in repositories["data"]] == ["mine"]
    for params in (
        {"search": owned["artifact_id"]},
        {"repositoryId": owned["repository_id"]},
        {"createdBy": "olga"},
        {"status": "locked"},
    ):
        assert stranger_api.get(ARTIFACTS, **params).json()["totalCount"] == 0, params
    assert stranger_api.get(REPOSITORIES, search=owned["repository_id"]).json()["totalCount"] == 0
    assert stranger_api.get(REPOSITORIES, createdBy="olga").json()["totalCount"] == 0


def test_a_stranger_with_nothing_of_their_own_sees_zero(
    stranger_api: ApiClient, owned: dict[str, Any]
) -> None:
    for path in (ARTIFACTS, REPOSITORIES):
        page = stranger_api.get(path).json()
        assert page["totalCount"] == 0
        assert page["count"] == 0
        assert page["data"] == []


@pytest.mark.parametrize(("method", "target", "suffix"), SINGLE_ROUTES)
def test_a_stranger_gets_the_same_404_as_for_a_missing_id(
    api: ApiClient,
    stranger_api: ApiClient,
    owned: dict[str, Any],
    method: str,
    target: str,
    suffix: str,
) -> None:
    missing = (ARTIFACTS if target != "repository" else REPOSITORIES) + f"/{MISSING_ID}"

    response = send(stranger_api, method, owned[target] + suffix)
    absent = send(stranger_api, method, missing + suffix)

    assert response.status_code == 404, response.content
    assert absent.status_code == 404, absent.content
    assert response.json() == absent.json()
    assert response.json() == {"detail": "Not found."}
    assert_untouched(api, owned)


def test_staff_see_the_owners_objects(staff_api: ApiClient, owned: dict[str, Any]) -> None:
    artifacts = staff_api.get(ARTIFACTS).json()
    repositories = staff_api.get(REPOSITORIES).json()
    one = staff_api.get(owned["artifact"])
    repository = staff_api.get(owned["repository"])
    versions = staff_api.get(owned["repository"] + "/versions")

    assert artifacts["totalCount"] == 2
    assert {row["id"] for row in artifacts["data"]} == {owned["artifact_id"], owned["draft_id"]}
    assert [row["id"] for row in repositories["data"]] == [owned["repository_id"]]
    assert one.status_code == 200
    assert one.json()["permissions"] == ["CAN_VIEW"]
    assert repository.status_code == 200
    assert repository.json()["numArtifacts"] == 2
    assert repository.json()["permissions"] == ["CAN_VIEW"]
    assert [row["version"] for row in versions.json()["data"]] == [1]


@pytest.mark.parametrize(
    ("method", "target", "suffix"),
    [
        ("patch", "draft", ""),
        ("put", "draft", ""),
        ("delete", "draft", ""),
        ("post", "artifact", "/clone"),
        ("patch", "repository", ""),
        ("delete", "repository", ""),
    ],
)
def test_staff_may_not_change_the_owners_objects(
    api: ApiClient,
    staff_api: ApiClient,
    owned: dict[str, Any],
    method: str,
    target: str,
    suffix: str,
) -> None:
    response = send(staff_api, method, owned[target] + suffix)

    assert response.status_code == 403, response.content
    assert isinstance(response.json()["detail"], str)
    assert_untouched(api, owned)


def test_staff_may_not_lock_the_owners_draft(
    api: ApiClient, staff_api: ApiClient, owned: dict[str, Any]
) -> None:
    response = staff_api.patch(owned["draft"], {"status": "locked"})

    assert response.status_code == 403
    assert api.get(owned["draft"]).json()["status"] == "draft"


# --- API document and docs -------------------------------------------------------------


def find_schema(node: Any, title: str) -> dict[str, Any] | None:
    """The first schema object titled ``title`` anywhere in an OpenAPI document."""
    if isinstance(node, dict):
        if node.get("title") == title and "properties" in node:
            return node
        children: list[Any] = list(node.values())
    elif isinstance(node, list):
        children = node
    else:
        return None
    for child in children:
        found = find_schema(child, title)
        if found is not None:
            return found
    return None


def test_openapi_document_is_served_and_documents_artifact_spec(api: ApiClient) -> None:
    response = api.get("/api/v2/openapi.json")

    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"].startswith("3.")
    for path in (
        "/api/v2/artifacts",
        "/api/v2/artifacts/{artifact_id}",
        "/api/v2/artifacts/{artifact_id}/clone",
        "/api/v2/artifactRepositories",
        "/api/v2/artifactRepositories/{repository_id}",
        "/api/v2/artifactRepositories/{repository_id}/versions",
    ):
        assert path in doc["paths"], path
    schemas = doc["components"]["schemas"]
    spec = schemas.get("ArtifactSpec") or find_schema(doc, "ArtifactSpec")
    assert spec is not None
    assert "containerGroups" in spec["properties"]
    group = spec["properties"]["containerGroups"]["items"]
    group = schemas[group["$ref"].rsplit("/", 1)[-1]] if "$ref" in group else group
    container = group["properties"]["containers"]["items"]
    container = schemas[container["$ref"].rsplit("/", 1)[-1]] if "$ref" in container else container
    assert {"name", "primary", "imageUri", "imageBuildConfig", "port", "readinessProbe"} <= set(
        container["properties"]
    )
    assert "ArtifactSpec" in json.dumps(schemas["ArtifactIn"])


STATIC_OR_EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)


def test_docs_page_loads_nothing_from_another_host(api: ApiClient) -> None:
    response = api.get("/api/v2/docs")

    assert response.status_code == 200
    html = response.content.decode()
    urls = STATIC_OR_EXTERNAL.findall(html)
    assert any(u.endswith(".js") for u in urls), urls  # the page does load its scripts
    for target in urls:
        parts = urlsplit(target)
        assert parts.netloc in ("", "testserver"), target
    assert not re.search(r"""["'(]\s*(?:https?:)?//(?!testserver)""", html)
    # The assets it names are shipped with the server.
    for target in urls:
        if target.startswith(settings.STATIC_URL) or target.startswith("/" + settings.STATIC_URL):
            relative = target.split(settings.STATIC_URL, 1)[1]
            assert finders.find(relative), target
