"""Operator paths obey the domain: the admin's sign-in is throttled like the console's, the
admin and the team pages change users and teams only through the services (last-OWNER
guard, audit) or not at all, staff stay read-only, and only active principals own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from console.accounts import user_set_flags
from console.errors import Conflict, Forbidden
from console.login_views import WAIT_MESSAGE
from console.models import AuditEvent
from console.sharing import Role, grant_role, grants
from console.teams import team_add_member, team_create, team_delete, team_remove_member
from repositories.models import ArtifactRepository
from tests.conftest import REPOSITORIES, ApiClient, share

pytestmark = pytest.mark.django_db

ADMIN_LOGIN = "/admin/login/"


def signed_in_client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def root(make_user: Callable[..., User]) -> User:
    return make_user("root", is_staff=True, is_superuser=True)


@pytest.fixture
def repository(api: ApiClient) -> ArtifactRepository:
    """The owner's (olga's) repository, with olga its only OWNER."""
    artifact = api.create_artifact(name="owned-service")
    return ArtifactRepository.objects.get(pk=artifact["artifactRepositoryId"])


def step_down(api: ApiClient, repository: ArtifactRepository, username: str) -> Any:
    entry = {"shareRecipientType": "user", "role": "NO_ROLE", "username": username}
    return api.patch(
        f"{REPOSITORIES}/{repository.pk}/sharedRoles",
        {"operation": "updateRoles", "roles": [entry]},
    )


def owners(repository: ArtifactRepository) -> list[str]:
    return [grant.name for grant in grants(repository) if grant.role is Role.OWNER]


# --- the admin's sign-in -------------------------------------------------------------


def admin_sign_in(password: str, username: str = "stella") -> tuple[Any, Client]:
    client = Client(REMOTE_ADDR="127.0.0.1")
    response = client.post(
        ADMIN_LOGIN, {"username": username, "password": password, "next": "/admin/"}
    )
    return response, client


def test_ten_wrong_admin_passwords_then_the_right_one_is_refused(staff: User) -> None:
    statuses = [admin_sign_in("wrong-password")[0].status_code for _ in range(10)]

    refused, client = admin_sign_in("pw-stella")

    assert statuses == [200] * 5 + [429] * 5
    assert refused.status_code == 429
    assert WAIT_MESSAGE in refused.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_admin_and_the_console_count_sign_in_failures_together(staff: User) -> None:
    console = Client(REMOTE_ADDR="127.0.0.1")
    for _ in range(5):
        console.post("/login/", {"username": "stella", "password": "wrong-password"})

    refused, client = admin_sign_in("pw-stella")

    assert refused.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_admin_still_signs_staff_in_and_keeps_everyone_else_out(
    staff: User, owner: User
) -> None:
    signed, client = admin_sign_in("pw-stella")
    not_staff, _ = admin_sign_in("pw-olga", username="olga")

    assert signed.status_code == 302
    assert client.session["_auth_user_id"] == str(staff.pk)
    assert not_staff.status_code == 200
    assert "staff account" in not_staff.content.decode()


# --- staff are read-only ---------------------------------------------------------------


def test_staff_read_users_and_teams_in_the_admin_but_change_nothing(
    staff: User, owner: User, shared_artifact: dict[str, Any]
) -> None:
    writers = team_create(actor=None, name="writers")
    share(shared_artifact["artifactRepositoryId"], writers, "EDITOR")
    admin = signed_in_client(staff)

    user_page = admin.get(f"/admin/auth/user/{staff.pk}/change/")
    joined = admin.post(
        f"/admin/auth/user/{staff.pk}/change/",
        {"username": "stella", "groups": [writers.pk], "is_superuser": "on", "is_active": "on"},
    )
    deleted_team = admin.post(f"/admin/auth/group/{writers.pk}/delete/", {"post": "yes"})
    deleted_user = admin.post(f"/admin/auth/user/{owner.pk}/delete/", {"post": "yes"})
    added = admin.post("/admin/auth/group/add/", {"name": "sneaky"})

    assert admin.get("/admin/auth/user/").status_code == 200
    assert admin.get("/admin/auth/group/").status_code == 200
    assert user_page.status_code == 200
    assert 'name="_save"' not in user_page.content.decode()
    assert [joined.status_code, deleted_team.status_code, deleted_user.status_code] == [403] * 3
    assert added.status_code == 403
    staff.refresh_from_db()
    assert not staff.is_superuser
    assert list(staff.groups.all()) == []
    assert Group.objects.filter(pk=writers.pk).exists()
    assert User.objects.filter(pk=owner.pk).exists()
    assert not Group.objects.filter(name="sneaky").exists()


def test_staff_cannot_join_a_team_from_the_team_pages_nor_then_edit(
    staff: User, staff_api: ApiClient, shared_artifact: dict[str, Any]
) -> None:
    writers = team_create(actor=None, name="writers")
    share(shared_artifact["artifactRepositoryId"], writers, "EDITOR")
    pages = signed_in_client(staff)

    page = pages.get(f"/teams/{writers.pk}/")
    joined = pages.post(f"/teams/{writers.pk}/", {"action": "add", "username": "stella"})
    created = pages.post("/teams/", {"name": "platform"})
    edit = staff_api.patch(f"/api/v2/artifacts/{shared_artifact['id']}", {"name": "mine-now"})

    assert page.status_code == 200
    assert "Add member" not in page.content.decode()
    assert joined.status_code == 403
    assert created.status_code == 403
    assert list(writers.user_set.all()) == []
    assert not Group.objects.filter(name="platform").exists()
    assert edit.status_code == 403


def test_team_services_refuse_staff_and_accept_superusers(staff: User, root: User) -> None:
    make = team_create(actor=root, name="platform")

    with pytest.raises(Forbidden, match="superuser"):
        team_add_member(actor=staff, team=make.name, username="stella")
    team_add_member(actor=root, team=make.name, username="stella")

    assert list(make.user_set.values_list("username", flat=True)) == ["stella"]


# --- superusers go through the services ------------------------------------------------


def test_the_admin_refuses_to_delete_the_team_that_solely_owns_a_repository(
    root: User, owner: User, repository: ArtifactRepository
) -> None:
    platform = team_create(actor=None, name="platform")
    team_add_member(actor=None, team=platform.name, username=owner.username)
    grant_role(repository, platform, Role.OWNER)
    grant_role(repository, owner, Role.CONSUMER)
    admin = signed_in_client(root)

    refused = admin.post(f"/admin/auth/group/{platform.pk}/delete/", {"post": "yes"}, follow=True)

    assert "only active OWNER of" in refused.content.decode()
    assert repository.pk in refused.content.decode()
    assert Group.objects.filter(pk=platform.pk).exists()
    assert owners(repository) == ["platform"]


def test_the_admin_deletes_a_team_through_the_service_with_an_audit_event(root: User) -> None:
    platform = team_create(actor=None, name="platform")
    admin = signed_in_client(root)

    deleted = admin.post(f"/admin/auth/group/{platform.pk}/delete/", {"post": "yes"})

    assert deleted.status_code == 302
    assert not Group.objects.filter(pk=platform.pk).exists()
    event = AuditEvent.objects.get(action="team.delete", object_id=str(platform.pk))
    assert event.actor == root


def test_the_admin_refuses_to_delete_a_repositorys_last_owner(
    root: User, owner: User, repository: ArtifactRepository
) -> None:
    admin = signed_in_client(root)

    refused = admin.post(f"/admin/auth/user/{owner.pk}/delete/", {"post": "yes"}, follow=True)

    assert "only active OWNER of" in refused.content.decode()
    assert User.objects.filter(pk=owner.pk).exists()
    assert owners(repository) == ["olga"]


def test_the_admin_deletes_a_user_through_the_service_with_an_audit_event(
    root: User, stranger: User
) -> None:
    admin = signed_in_client(root)

    deleted = admin.post(f"/admin/auth/user/{stranger.pk}/delete/", {"post": "yes"})

    assert deleted.status_code == 302
    assert not User.objects.filter(pk=stranger.pk).exists()
    event = AuditEvent.objects.get(action="user.delete", object_id=str(stranger.pk))
    assert event.actor == root


def test_the_admin_offers_no_bulk_delete_that_would_skip_the_services(root: User) -> None:
    admin = signed_in_client(root)

    for page in ("/admin/auth/user/", "/admin/auth/group/"):
        assert "delete_selected" not in admin.get(page).content.decode()


def change_form(user: User, **flags: bool) -> dict[str, Any]:
    """The admin's change form for ``user``, as a browser would post it."""
    data: dict[str, Any] = {
        "username": user.username,
        "first_name": "",
        "last_name": "",
        "email": "",
        "date_joined_0": "2024-01-01",
        "date_joined_1": "00:00:00",
    }
    data.update({name: "on" for name, on in flags.items() if on})
    return data


def test_the_admin_refuses_to_deactivate_a_repositorys_last_active_owner(
    root: User, owner: User, repository: ArtifactRepository
) -> None:
    admin = signed_in_client(root)

    refused = admin.post(f"/admin/auth/user/{owner.pk}/change/", change_form(owner))

    assert refused.status_code == 200
    assert "only active OWNER of" in refused.content.decode()
    owner.refresh_from_db()
    assert owner.is_active


def test_the_admin_changes_flags_through_the_service_with_an_audit_event(
    root: User, stranger: User
) -> None:
    admin = signed_in_client(root)

    changed = admin.post(
        f"/admin/auth/user/{stranger.pk}/change/",
        change_form(stranger, is_active=True, is_staff=True),
    )

    assert changed.status_code == 302, changed.content.decode()
    stranger.refresh_from_db()
    assert stranger.is_staff
    assert not stranger.is_superuser
    event = AuditEvent.objects.get(action="user.change_flags", object_id=str(stranger.pk))
    assert event.changes == {"is_staff": [False, True]}
    assert event.actor == root


def test_the_admin_shows_team_membership_but_changes_it_only_on_the_team_pages(
    root: User, stranger: User
) -> None:
    platform = team_create(actor=None, name="platform")
    admin = signed_in_client(root)

    form = admin.get(f"/admin/auth/user/{stranger.pk}/change/").content.decode()
    admin.post(
        f"/admin/auth/user/{stranger.pk}/change/",
        change_form(stranger, is_active=True) | {"groups": [platform.pk]},
    )

    assert "manage.py team" in form
    assert list(stranger.groups.all()) == []


# --- only active principals own --------------------------------------------------------


def test_the_last_active_owner_cannot_step_down_when_the_other_owner_is_deactivated(
    api: ApiClient, make_user: Callable[..., User], repository: ArtifactRepository
) -> None:
    ben = make_user("ben")
    grant_role(repository, ben, Role.OWNER)
    User.objects.filter(pk=ben.pk).update(is_active=False)

    refused = step_down(api, repository, "olga")

    assert refused.status_code == 409
    assert refused.json()["code"] == "last_owner"
    assert set(owners(repository)) == {"olga", "ben"}


def test_a_team_without_active_members_does_not_count_as_an_owner(
    api: ApiClient, make_user: Callable[..., User], repository: ArtifactRepository
) -> None:
    ghosts = team_create(actor=None, name="ghosts")
    team_add_member(actor=None, team=ghosts.name, username=make_user("gus").username)
    User.objects.filter(username="gus").update(is_active=False)
    grant_role(repository, ghosts, Role.OWNER)

    refused = step_down(api, repository, "olga")

    assert refused.status_code == 409
    assert refused.json()["code"] == "last_owner"


def test_a_team_with_an_active_member_counts_as_an_owner(
    api: ApiClient, make_user: Callable[..., User], repository: ArtifactRepository
) -> None:
    platform = team_create(actor=None, name="platform")
    team_add_member(actor=None, team=platform.name, username=make_user("pia").username)
    grant_role(repository, platform, Role.OWNER)

    stepped_down = step_down(api, repository, "olga")

    assert stepped_down.status_code == 204
    assert owners(repository) == ["platform"]


def test_deleting_a_team_is_refused_when_the_other_owner_is_deactivated(
    make_user: Callable[..., User], owner: User, repository: ArtifactRepository
) -> None:
    platform = team_create(actor=None, name="platform")
    team_add_member(actor=None, team=platform.name, username=make_user("pia").username)
    grant_role(repository, platform, Role.OWNER)
    User.objects.filter(pk=owner.pk).update(is_active=False)

    with pytest.raises(Conflict) as refused:
        team_delete(actor=None, team="platform")

    assert refused.value.code == "last_owner"
    assert Group.objects.filter(pk=platform.pk).exists()


def test_removing_the_last_active_member_of_the_owning_team_is_refused(
    make_user: Callable[..., User], owner: User, repository: ArtifactRepository
) -> None:
    platform = team_create(actor=None, name="platform")
    team_add_member(actor=None, team=platform.name, username=make_user("pia").username)
    grant_role(repository, platform, Role.OWNER)
    grant_role(repository, owner, Role.CONSUMER)

    with pytest.raises(Conflict) as refused:
        team_remove_member(actor=None, team="platform", username="pia")

    assert refused.value.code == "last_owner"
    assert list(platform.user_set.values_list("username", flat=True)) == ["pia"]


def test_deactivating_the_last_active_member_of_the_owning_team_is_refused(
    make_user: Callable[..., User], owner: User, repository: ArtifactRepository
) -> None:
    pia = make_user("pia")
    platform = team_create(actor=None, name="platform")
    team_add_member(actor=None, team=platform.name, username="pia")
    grant_role(repository, platform, Role.OWNER)
    grant_role(repository, owner, Role.CONSUMER)

    with pytest.raises(Conflict) as refused:
        user_set_flags(actor=None, user=pia, is_active=False)

    assert refused.value.code == "last_owner"
    pia.refresh_from_db()
    assert pia.is_active
