"""Sharing from the repository page, and the recipient search its form uses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group, User

from console.sharing import Grant, RecipientType, Role, grants
from console.teams import team_create
from repositories.models import ArtifactRepository
from tests.repositories.test_repository_pages import (
    HTMX,
    client_for,
    draft_in,
    roles_of,
    share_with,
)


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    """Users without a password (hashing one is slow): these tests sign in with
    ``force_login``. Overrides the suite's fixture, and so ``owner``."""

    def make(username: str, **extra: Any) -> User:
        return User.objects.create(username=username, **extra)

    return make


@pytest.fixture
def repository(owner: User) -> ArtifactRepository:
    return draft_in(None, owner, "payments-api").repository


# --- sharing -----------------------------------------------------------------------------------


def share_form(user: User, repository: ArtifactRepository, **fields: str) -> Any:
    return client_for(user).post(f"/repositories/{repository.pk}/sharing/", fields, headers=HTMX)


def grant_of(repository: ArtifactRepository, name: str) -> Grant:
    return next(grant for grant in grants(repository) if grant.name == name)


def test_the_owner_adds_changes_and_removes_a_user(
    owner: User, repository: ArtifactRepository, make_user: Callable[..., User]
) -> None:
    make_user("ana")

    added = share_form(
        owner, repository, operation="add", q=" ana ", recipient_type="user", role="CONSUMER"
    )
    assert added.status_code == 200
    assert 'aria-label="Role of ana"' in added.content.decode()
    assert "Shared with ana as Consumer." in added["HX-Trigger"]
    assert roles_of(repository)["ana"] is Role.CONSUMER

    ana = grant_of(repository, "ana")
    changed = share_form(
        owner,
        repository,
        operation="change",
        recipient_type="user",
        recipient_id=str(ana.recipient_id),
        role="EDITOR",
    )
    assert changed.status_code == 200
    assert roles_of(repository)["ana"] is Role.EDITOR

    removed = share_form(
        owner,
        repository,
        operation="remove",
        recipient_type="user",
        recipient_id=str(ana.recipient_id),
        role="NO_ROLE",
    )
    assert removed.status_code == 200
    assert "ana" not in roles_of(repository)
    assert 'aria-label="Role of ana"' not in removed.content.decode()


def test_the_owner_shares_with_a_team(owner: User, repository: ArtifactRepository) -> None:
    team_create(actor=None, name="analytics")

    response = share_form(
        owner, repository, operation="add", q="analytics", recipient_type="group", role="EDITOR"
    )

    assert response.status_code == 200
    grant = grant_of(repository, "analytics")
    assert (grant.recipient_type, grant.role) == (RecipientType.GROUP, Role.EDITOR)


def test_the_last_owner_cannot_step_down_and_is_told_why(
    owner: User, repository: ArtifactRepository
) -> None:
    me = grant_of(repository, "olga")

    for role in ("CONSUMER", "NO_ROLE"):
        response = share_form(
            owner,
            repository,
            operation="change",
            recipient_type="user",
            recipient_id=str(me.recipient_id),
            role=role,
        )
        body = response.content.decode()
        assert response.status_code == 409
        assert "This would leave no OWNER" in body
        # Next to the change: inside the owner's row, before the add form.
        row = body[body.index('aria-label="Role of olga"') : body.index('class="card share-add"')]
        assert "This would leave no OWNER" in row
        assert roles_of(repository)["olga"] is Role.OWNER


def test_an_unknown_user_is_422_next_to_the_input(
    owner: User, repository: ArtifactRepository
) -> None:
    response = share_form(
        owner, repository, operation="add", q="nobody", recipient_type="user", role="EDITOR"
    )

    body = response.content.decode()
    assert response.status_code == 422
    form = body[body.index('class="card share-add"') :]
    assert 'id="share-error" role="alert">No such user.</p>' in form
    assert 'value="nobody"' in form
    assert '<option value="EDITOR" selected>' in form
    assert set(roles_of(repository)) == {"olga"}


def test_sharing_without_javascript_redirects_to_the_tab(
    owner: User, repository: ArtifactRepository, make_user: Callable[..., User]
) -> None:
    make_user("ana")

    response = client_for(owner).post(
        f"/repositories/{repository.pk}/sharing/",
        {"operation": "add", "q": "ana", "recipient_type": "user", "role": "CONSUMER"},
    )

    assert response.status_code == 303
    assert response["Location"] == f"/repositories/{repository.pk}/?tab=sharing"
    assert roles_of(repository)["ana"] is Role.CONSUMER


def test_an_owner_who_removes_themselves_goes_back_to_the_list(
    owner: User, repository: ArtifactRepository, make_user: Callable[..., User]
) -> None:
    make_user("ana")
    share_with(owner, repository, "ana", "OWNER")

    response = share_form(
        owner,
        repository,
        operation="remove",
        recipient_type="user",
        recipient_id=str(owner.pk),
        role="NO_ROLE",
    )

    assert response.status_code == 204
    assert response["HX-Redirect"] == "/repositories/"
    assert set(roles_of(repository)) == {"ana"}


# --- recipient search ------------------------------------------------------------------------


@pytest.fixture
def people(make_user: Callable[..., User]) -> None:
    for name in ("ana", "Anabel", "bob"):
        make_user(name)
    make_user("anastasia", is_active=False)
    Group.objects.create(name="analytics")
    Group.objects.create(name="banana-team")


def suggestions(user: User | None, term: str) -> Any:
    return client_for(user).get("/recipients/", {"q": term}, headers=HTMX)


def test_recipient_search_suggests_active_users_and_teams_by_prefix(
    owner: User, people: None
) -> None:
    body = suggestions(owner, "AN").content.decode()

    assert body.count('class="suggestion"') == 3
    assert 'data-fill-q="ana" data-fill-recipient_type="user"' in body
    assert 'data-fill-q="Anabel" data-fill-recipient_type="user"' in body
    assert 'data-fill-q="analytics" data-fill-recipient_type="group"' in body
    assert "anastasia" not in body  # inactive
    assert "banana" not in body  # a prefix, not anywhere in the name
    assert body.index('"ana"') < body.index('"Anabel"') < body.index('"analytics"')


def test_recipient_search_stops_at_the_first_ten_by_name(
    owner: User, make_user: Callable[..., User]
) -> None:
    for number in range(12):
        make_user(f"x{number:02}")
    make_user("Xz")  # first by code point, last by name

    body = suggestions(owner, "x").content.decode()

    assert body.count('class="suggestion"') == 10
    assert "x09" in body
    assert "x10" not in body
    assert "Xz" not in body


def test_recipient_search_without_a_match_or_a_term(owner: User, people: None) -> None:
    assert "No user or team name starts with “zz”." in suggestions(owner, "zz").content.decode()
    assert 'class="suggestion"' not in suggestions(owner, "  ").content.decode()


def test_recipient_search_is_for_signed_in_users(people: None) -> None:
    response = suggestions(None, "an")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
