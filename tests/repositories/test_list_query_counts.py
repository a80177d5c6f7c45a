"""The repository list costs the same number of queries whatever the caller may see.

The caller is ``consumer``: some repositories are granted to it directly, some only to its
team, a few both ways. First it sees all 10 of 10 repositories; then 1,990 more arrive, 40
of them visible to it, the rest owned by someone else and shared with a team it is not in:
it sees 50 of 2,000. Rows are bulk-created (guardian rows from the sharing module's own
role table), so the world builds in about a second.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from itertools import cycle
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from artifacts.models import Artifact
from console.permissions import codename
from console.sharing import ROLE_ACTIONS, Role
from repositories.models import (
    ArtifactRepository,
    RepositoryGroupPermission,
    RepositoryUserPermission,
)
from tests.conftest import REPOSITORIES, ApiClient

# API key lookup + COUNT + one page (artifact counts are subqueries of it)
# + the caller's direct grants on the page + its teams' grants on the page.
REPOSITORY_LIST_QUERIES = 5


class Builder:
    """Bulk-creates repositories, one draft in each, and role rows as the sharing module
    would write them (one guardian row per action of the role)."""

    def __init__(self) -> None:
        content_type = ContentType.objects.get_for_model(ArtifactRepository)
        self.permissions = {
            p.codename: p for p in Permission.objects.filter(content_type=content_type)
        }
        self.user_rows: list[RepositoryUserPermission] = []
        self.group_rows: list[RepositoryGroupPermission] = []

    def repositories(self, count: int, creator: User, prefix: str) -> list[ArtifactRepository]:
        made = ArtifactRepository.objects.bulk_create(
            ArtifactRepository(name=f"{prefix}-{i:04d}", type="service", creator=creator)
            for i in range(count)
        )
        Artifact.objects.bulk_create(
            Artifact(repository=r, name=r.name, type="service", spec={}, creator=creator)
            for r in made
        )
        return made

    def _rows(self, role: Role) -> Iterable[Permission]:
        return (self.permissions[codename(a, ArtifactRepository)] for a in ROLE_ACTIONS[role])

    def grant(
        self, repositories: Iterable[ArtifactRepository], to: User | Group, roles: Iterable[Role]
    ) -> None:
        for repository, role in zip(repositories, cycle(roles), strict=False):
            for permission in self._rows(role):
                if isinstance(to, Group):
                    self.group_rows.append(
                        RepositoryGroupPermission(
                            content_object=repository, group=to, permission=permission
                        )
                    )
                else:
                    self.user_rows.append(
                        RepositoryUserPermission(
                            content_object=repository, user=to, permission=permission
                        )
                    )

    def save(self) -> None:
        RepositoryUserPermission.objects.bulk_create(self.user_rows, batch_size=1000)
        RepositoryGroupPermission.objects.bulk_create(self.group_rows, batch_size=1000)
        self.user_rows, self.group_rows = [], []


def add_visible(
    builder: Builder, count: int, *, caller: User, team: Group, creator: User, prefix: str
) -> None:
    """``count`` repositories the caller sees: 3 in 5 directly, the rest through its team,
    and every fifth directly as well as through the team."""
    made = builder.repositories(count, creator, prefix)
    direct = [r for i, r in enumerate(made) if i % 5 < 3]
    via_team = [r for i, r in enumerate(made) if i % 5 >= 3]
    builder.grant(made, creator, [Role.OWNER])
    builder.grant(direct, caller, [Role.CONSUMER, Role.EDITOR, Role.OWNER])
    builder.grant(via_team, team, [Role.EDITOR, Role.CONSUMER])
    builder.grant(made[::5], team, [Role.CONSUMER])  # direct and through the team
    builder.save()


def add_hidden(
    builder: Builder, count: int, *, creator: User, other_team: Group, prefix: str
) -> None:
    """``count`` repositories the caller may not see, some shared with another team."""
    made = builder.repositories(count, creator, prefix)
    builder.grant(made, creator, [Role.OWNER])
    builder.grant(made[::4], other_team, [Role.CONSUMER, Role.EDITOR])
    builder.save()


@pytest.fixture
def world(make_user: Callable[..., User], consumer: User, team: Group) -> dict[str, Any]:
    return {
        "builder": Builder(),
        "caller": consumer,
        "team": team,
        "sharer": make_user("sharer"),
        "hoarder": make_user("hoarder"),
        "other_team": Group.objects.create(name="others"),
    }


def grow_to_2000(world: dict[str, Any]) -> None:
    """From 10 of 10 visible to 50 of 2,000."""
    add_visible(
        world["builder"],
        40,
        caller=world["caller"],
        team=world["team"],
        creator=world["sharer"],
        prefix="more",
    )
    add_hidden(
        world["builder"],
        1950,
        creator=world["hoarder"],
        other_team=world["other_team"],
        prefix="hidden",
    )


def api_list(django_assert_num_queries: Callable[..., Any], client: ApiClient) -> dict[str, Any]:
    with django_assert_num_queries(REPOSITORY_LIST_QUERIES):
        response = client.get(REPOSITORIES, limit=100)
    assert response.status_code == 200, response.content
    return response.json()


def console_list_queries(client: Client) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/", {"search": ""})
    assert response.status_code == 200
    return len(captured.captured_queries), response.content.decode()


def test_the_repository_list_costs_the_same_for_10_of_10_and_50_of_2000(
    django_assert_num_queries: Callable[..., Any],
    world: dict[str, Any],
    consumer_api: ApiClient,
) -> None:
    add_visible(
        world["builder"],
        10,
        caller=world["caller"],
        team=world["team"],
        creator=world["sharer"],
        prefix="first",
    )
    assert consumer_api.get(REPOSITORIES).status_code == 200  # records the key's first use

    small = api_list(django_assert_num_queries, consumer_api)

    grow_to_2000(world)
    assert ArtifactRepository.objects.count() == 2000
    large = api_list(django_assert_num_queries, consumer_api)

    assert (small["totalCount"], small["count"]) == (10, 10)
    assert (large["totalCount"], large["count"]) == (50, 50)
    assert {row["name"].split("-")[0] for row in large["data"]} == {"first", "more"}
    assert len({row["id"] for row in large["data"]}) == 50
    assert all(row["numArtifacts"] == 1 for row in large["data"])


def test_each_row_carries_its_own_rights_at_that_cost(
    django_assert_num_queries: Callable[..., Any],
    world: dict[str, Any],
    consumer_api: ApiClient,
) -> None:
    add_visible(
        world["builder"],
        10,
        caller=world["caller"],
        team=world["team"],
        creator=world["sharer"],
        prefix="first",
    )
    grow_to_2000(world)
    consumer_api.get(REPOSITORIES)

    rows = api_list(django_assert_num_queries, consumer_api)["data"]

    rights = sorted(tuple(row["permissions"]) for row in rows)
    owner = ("CAN_DELETE", "CAN_SHARE", "CAN_UPDATE", "CAN_VIEW")
    editor = ("CAN_UPDATE", "CAN_VIEW")
    # Of each 5: direct CONSUMER (+ team CONSUMER), direct EDITOR, direct OWNER,
    # team EDITOR, team CONSUMER; the direct roles cycle over CONSUMER, EDITOR, OWNER.
    assert set(rights) == {("CAN_VIEW",), editor, owner}
    assert rights.count(owner) == 10
    assert rights.count(editor) == 20


def test_staff_list_of_2000_costs_the_same(
    django_assert_num_queries: Callable[..., Any],
    world: dict[str, Any],
    staff_api: ApiClient,
) -> None:
    add_visible(
        world["builder"],
        10,
        caller=world["caller"],
        team=world["team"],
        creator=world["sharer"],
        prefix="first",
    )
    grow_to_2000(world)
    staff_api.get(REPOSITORIES)

    body = api_list(django_assert_num_queries, staff_api)

    assert (body["totalCount"], body["count"]) == (2000, 100)
    assert {tuple(row["permissions"]) for row in body["data"]} == {("CAN_VIEW",)}


def test_the_console_list_costs_the_same_for_10_of_10_and_50_of_2000(
    world: dict[str, Any],
) -> None:
    add_visible(
        world["builder"],
        10,
        caller=world["caller"],
        team=world["team"],
        creator=world["sharer"],
        prefix="first",
    )
    browser = Client()
    browser.force_login(world["caller"])
    browser.get("/")

    small_queries, small_page = console_list_queries(browser)
    grow_to_2000(world)
    large_queries, large_page = console_list_queries(browser)

    assert large_queries == small_queries
    assert "first-0000" in small_page
    assert re.search(r"more-\d{4}", large_page)
    assert not re.search(r"hidden-\d{4}", large_page)
