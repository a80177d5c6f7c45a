"""List endpoints cost a fixed number of queries, whatever the page holds.

Each request is: the API key lookup, then the endpoint's own queries. The key's
``last_used_at`` write happens at most once a minute, so a warm-up request makes it
before measuring. Pinned numbers below are exact: a new query per row (N+1) or a new
query per request shows up as a failure here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User

from artifacts.models import Artifact
from artifacts.services import artifact_create, artifact_lock
from repositories.models import ArtifactRepository
from tests.conftest import ARTIFACTS, REPOSITORIES, ApiClient, artifact_body

# key lookup + COUNT + page + user grants + group grants
ARTIFACT_LIST_QUERIES = 5
# key lookup + COUNT + page (artifact counts in a subquery) + user grants + group grants
REPOSITORY_LIST_QUERIES = 5
# key lookup + the repository (visibility) + COUNT + page + user grants + group grants
VERSION_LIST_QUERIES = 6

SMALL = 3
LARGE = 30


@pytest.fixture(params=["api", "staff_api"])
def reader(request: pytest.FixtureRequest) -> ApiClient:
    """The owner (permission-filtered lists) and staff (unfiltered lists)."""
    return request.getfixturevalue(request.param)


def measure(
    assert_num_queries: Callable[..., Any], reader: ApiClient, path: str, expected: int
) -> tuple[int, dict[str, Any]]:
    with assert_num_queries(expected) as captured:
        response = reader.get(path, limit=100)
    assert response.status_code == 200, response.content
    return len(captured.captured_queries), response.json()


def add_artifacts(owner: User, until: int) -> None:
    """Grow to ``until`` artifacts: pairs of a draft and a locked version per repository."""
    while Artifact.objects.count() < until:
        draft = artifact_create(actor=owner, data=artifact_body(name="draft"))
        if Artifact.objects.count() < until:
            version = artifact_create(
                actor=owner,
                data=artifact_body(name="version", artifactRepositoryId=draft.repository_id),
            )
            artifact_lock(actor=owner, artifact_id=version.id)


def add_repositories(owner: User, until: int) -> None:
    """Grow to ``until`` repositories, each with two artifacts, one of them locked."""
    while ArtifactRepository.objects.count() < until:
        first = artifact_create(actor=owner, data=artifact_body(name="repo"))
        artifact_lock(actor=owner, artifact_id=first.id)
        artifact_create(
            actor=owner, data=artifact_body(name="draft", artifactRepositoryId=first.repository_id)
        )


def add_versions(owner: User, repository_id: str, until: int) -> None:
    while Artifact.objects.filter(repository_id=repository_id, status="locked").count() < until:
        draft = artifact_create(
            actor=owner, data=artifact_body(name="v", artifactRepositoryId=repository_id)
        )
        artifact_lock(actor=owner, artifact_id=draft.id)


def test_artifact_list_costs_the_same_for_3_and_30_rows(
    django_assert_num_queries: Callable[..., Any], owner: User, reader: ApiClient
) -> None:
    add_artifacts(owner, SMALL)
    reader.get(ARTIFACTS)  # warm-up: records the key's last use

    small, small_page = measure(django_assert_num_queries, reader, ARTIFACTS, ARTIFACT_LIST_QUERIES)
    add_artifacts(owner, LARGE)
    large, large_page = measure(django_assert_num_queries, reader, ARTIFACTS, ARTIFACT_LIST_QUERIES)

    assert small_page["count"] == SMALL
    assert large_page["count"] == LARGE
    assert {a["status"] for a in large_page["data"]} == {"draft", "locked"}
    assert all(a["lockedBy"] == "olga" for a in large_page["data"] if a["status"] == "locked")
    assert small == large


def test_repository_list_costs_the_same_for_3_and_30_rows(
    django_assert_num_queries: Callable[..., Any], owner: User, reader: ApiClient
) -> None:
    add_repositories(owner, SMALL)
    reader.get(REPOSITORIES)

    small, small_page = measure(
        django_assert_num_queries, reader, REPOSITORIES, REPOSITORY_LIST_QUERIES
    )
    add_repositories(owner, LARGE)
    large, large_page = measure(
        django_assert_num_queries, reader, REPOSITORIES, REPOSITORY_LIST_QUERIES
    )

    assert small_page["count"] == SMALL
    assert large_page["count"] == LARGE
    assert all(r["numArtifacts"] == 2 for r in large_page["data"])
    assert all(r["lastVersionNumber"] == 1 for r in large_page["data"])
    assert small == large


def test_version_list_costs_the_same_for_3_and_30_rows(
    django_assert_num_queries: Callable[..., Any], owner: User, reader: ApiClient
) -> None:
    repository_id = artifact_create(actor=owner, data=artifact_body(name="draft")).repository_id
    path = f"{REPOSITORIES}/{repository_id}/versions"
    add_versions(owner, repository_id, SMALL)
    reader.get(path)

    small, small_page = measure(django_assert_num_queries, reader, path, VERSION_LIST_QUERIES)
    add_versions(owner, repository_id, LARGE)
    large, large_page = measure(django_assert_num_queries, reader, path, VERSION_LIST_QUERIES)

    assert small_page["count"] == SMALL
    assert large_page["count"] == LARGE
    assert [a["version"] for a in large_page["data"]] == list(range(LARGE, 0, -1))
    assert small == large
