"""Teams (Django groups) and their members. Staff manage them; roles are shared with them.

``actor=None`` is an operator at the command line, who already holds the machine.
Membership is read on every permission check, so a change applies from the next request.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, User
from django.db import IntegrityError, transaction

from console import audit
from console.errors import Conflict, Forbidden, Invalid, NotFound
from console.sharing import solely_owned_by

TEAM_NAME_MAX_LENGTH = 150


def require_staff(actor: User | None) -> None:
    """Teams are managed by staff (and operators at the command line, ``actor=None``)."""
    if actor is not None and not (actor.is_active and (actor.is_staff or actor.is_superuser)):
        raise Forbidden("Only staff manage teams.")


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
    require_staff(actor)
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


def team_delete(*, actor: User | None, team: str | int) -> None:
    require_staff(actor)
    with transaction.atomic():
        found = _team(team)
        # Its grants would vanish with it; an object must never be left without an OWNER.
        orphans = solely_owned_by(found)
        if orphans:
            raise Conflict(
                f"Team {found.name} is the only OWNER of {', '.join(orphans)}; give those "
                "another OWNER before deleting the team.",
                code="last_owner",
            )
        _record(actor, "team.delete", found)
        found.delete()


def team_add_member(*, actor: User | None, team: str | int, username: str) -> None:
    require_staff(actor)
    with transaction.atomic():
        found = _team(team)
        found.user_set.add(_user(username))
        _record(actor, "team.add_member", found, {"member": [None, username]})


def team_remove_member(*, actor: User | None, team: str | int, username: str) -> None:
    require_staff(actor)
    with transaction.atomic():
        found = _team(team)
        found.user_set.remove(_user(username))
        _record(actor, "team.remove_member", found, {"member": [username, None]})


def _record(
    actor: User | None, action: str, team: Group, changes: dict[str, Any] | None = None
) -> None:
    audit.record(
        actor=actor, kind="" if actor else "operator", action=action, obj=team, changes=changes
    )
