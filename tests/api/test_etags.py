"""Optimistic concurrency: ETag on reads, If-Match on writes, 412 when stale."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ARTIFACTS, REPOSITORIES, ApiClient

pytestmark = pytest.mark.django_db


def test_two_clients_patching_with_the_same_etag_one_wins_nothing_is_lost(
    api: ApiClient, owner: Any
) -> None:
    artifact = api.create_artifact()
    path = f"{ARTIFACTS}/{artifact['id']}"
    first_read = api.get(path)
    tag = first_read["ETag"]
    assert tag.startswith('"')
    other = ApiClient(owner)

    api.headers["If-Match"] = tag
    other.headers["If-Match"] = tag
    won = api.patch(path, {"description": "from client A"})
    lost = other.patch(path, {"name": "renamed by client B"})

    assert won.status_code == 200
    assert won["ETag"] != tag
    assert lost.status_code == 412
    assert "changed this since you loaded it" in lost.json()["detail"]
    del api.headers["If-Match"]
    now = api.get(path).json()
    assert now["description"] == "from client A"
    assert now["name"] == artifact["name"]
    # With the fresh tag, client B's change goes through.
    other.headers["If-Match"] = won["ETag"]
    assert other.patch(path, {"name": "renamed by client B"}).status_code == 200


@pytest.mark.parametrize("method", ["put", "delete"])
def test_stale_put_and_delete_are_refused(api: ApiClient, method: str) -> None:
    artifact = api.create_artifact()
    path = f"{ARTIFACTS}/{artifact['id']}"
    stale = api.get(path)["ETag"]
    api.patch(path, {"description": "moved on"})
    api.headers["If-Match"] = stale
    response = (
        api.put(path, {"name": "x", "spec": artifact["spec"]})
        if method == "put"
        else api.delete(path)
    )
    assert response.status_code == 412
    del api.headers["If-Match"]
    assert api.get(path).json()["description"] == "moved on"


def test_repositories_carry_etags_too(api: ApiClient) -> None:
    artifact = api.create_artifact()
    path = f"{REPOSITORIES}/{artifact['artifactRepositoryId']}"
    tag = api.get(path)["ETag"]
    api.headers["If-Match"] = '"not-it"'
    assert api.patch(path, {"name": "x"}).status_code == 412
    api.headers["If-Match"] = tag
    assert api.patch(path, {"name": "x"}).status_code == 200
    api.headers["If-Match"] = "*"
    assert api.patch(path, {"name": "y"}).status_code == 200


def test_without_if_match_writes_are_unconditional(api: ApiClient) -> None:
    artifact = api.create_artifact()
    path = f"{ARTIFACTS}/{artifact['id']}"
    assert api.patch(path, {"description": "a"}).status_code == 200
    assert api.patch(path, {"description": "b"}).status_code == 200
