"""Teams (Django groups) and their members. Superusers manage them, staff read them; roles
are shared with them.

A member gets every role its teams hold, so whoever changes membership can raise anyone's
rights, their own included: that is a superuser's power, and staff (who only read
everything) must not have it. ``actor=None`` is an operator at the command line, who
already holds the machine.
Membership is read on every permission check, so a change applies from the next request.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, User
from django.db import IntegrityError, transaction

from console import audit
from console.errors import Conflict, Forbidden, Invalid, NotFound
from console.sharing import last_owner_conflict, left_without_owner, owned_by, solely_owned_by

TEAM_NAME_MAX_LENGTH = 150


def require_staff(actor: User | None) -> None:
    """Staff read teams (and operators at the command line, ``actor=None``)."""
    if actor is not None and not (actor.is_active and (actor.is_staff or actor.is_superuser)):
        raise Forbidden("Only staff see teams.")


def may_manage_teams(actor: User | None) -> bool:
    """Whether ``actor`` may create and delete teams and change their members."""
    return actor is None or bool(actor.is_active and actor.is_superuser)


def require_team_manager(actor: User | None) -> None:
    if not may_manage_teams(actor):
        raise Forbidden("Only superusers manage teams: members get the team's roles.")


def _team(name_or_id: str | int) -> Group:
    lookup = {"pk": int(name_or_id)} if str(name_or_id).isdigit() else {"name": name_or_id}
    team = Group.objects.filter(**lookup).first()
    if team is None:
        raise NotFound(f"No team {name_or_id!r}.")
    return team


def _user(username: str) -> User:
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise Invalid.at("username", msg=f"No active user {username!r}.", type="unknown_user")
    return user


def team_create(*, actor: User | None, name: str) -> Group:
    require_team_manager(actor)
    name = name.strip()
    if not name or len(name) > TEAM_NAME_MAX_LENGTH or name.isdigit():
        raise Invalid.at(
            "name",
            msg=f"Use 1 to {TEAM_NAME_MAX_LENGTH} characters, not only digits (ids are digits).",
        )
    try:
        with transaction.atomic():
            team = Group.objects.create(name=name)
            _record(actor, "team.create", team)
            return team
    except IntegrityError:
        raise Conflict(f"A team named {name!r} exists already.", code="team_exists") from None


def team_delete_refusal(team: Group) -> Conflict | None:
    """Why ``team`` must not be deleted: its grants would vanish with it, and an object must
    never be left without an active OWNER. ``None`` when nothing stands in the way."""
    orphans = solely_owned_by(team)
    if not orphans:
        return None
    return last_owner_conflict(f"Team {team.name}", orphans, "deleting the team")


def team_delete(*, actor: User | None, team: str | int) -> None:
    require_team_manager(actor)
    with transaction.atomic():
        found = _team(team)
        refusal = team_delete_refusal(found)
        if refusal:
            raise refusal
        _record(actor, "team.delete", found)
        members = list(found.user_set.all())
        found.delete()
        _stop_drafts_of(actor, members, f"team {found.name} was deleted")


def team_add_member(*, actor: User | None, team: str | int, username: str) -> None:
    require_team_manager(actor)
    with transaction.atomic():
        found = _team(team)
        found.user_set.add(_user(username))
        _record(actor, "team.add_member", found, {"member": [None, username]})


def team_remove_member(*, actor: User | None, team: str | int, username: str) -> None:
    require_team_manager(actor)
    with transaction.atomic():
        found = _team(team)
        member = _user(username)
        owned = owned_by(found)
        found.user_set.remove(member)
        # Checked after the change: the team owns only while an active member is left.
        orphans = left_without_owner(owned)
        if orphans:
            raise last_owner_conflict(
                f"Team {found.name}", orphans, f"removing its last active member {username}"
            )
        _record(actor, "team.remove_member", found, {"member": [username, None]})
        _stop_drafts_of(actor, [member], f"removed from team {found.name}")


def _stop_drafts_of(actor: User | None, members: list[User], why: str) -> None:
    """Authority follows the artifact: what the team's EDIT let its members run on a
    repository's drafts stops with it (``workloads_stop_on_lost_edit``)."""
    # Imported late: the workloads app builds on the console.
    from workloads.services import workloads_stop_on_lost_edit

    workloads_stop_on_lost_edit(actor=actor, users=members, why=why)


def _record(
    actor: User | None, action: str, team: Group, changes: dict[str, Any] | None = None
) -> None:
    audit.record(
        actor=actor, kind="" if actor else "operator", action=action, obj=team, changes=changes
    )
