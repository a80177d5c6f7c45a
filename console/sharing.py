"""Roles, and how they map onto django-guardian permissions: the one module that knows.

A role is a set of actions (``ROLE_ACTIONS``) stored as one guardian permission row per
action on the guarded object, for a user or a team (a Django group). Reading a grant
back, the strongest role whose actions are all present is the recipient's role; when a
user holds several grants (directly and through teams) the most permissive wins, because
rights are the union of all rows.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction

from console.errors import Conflict, Invalid, Problem
from console.permissions import Action, codename, group_grants, guard_of, user_grants
from console.services import unknown_fields

MAX_ROLE_UPDATES = 100


class Role(enum.StrEnum):
    OWNER = "OWNER"
    EDITOR = "EDITOR"
    CONSUMER = "CONSUMER"


ROLE_ACTIONS: dict[Role, frozenset[Action]] = {
    Role.OWNER: frozenset({Action.VIEW, Action.EDIT, Action.DELETE, Action.SHARE}),
    Role.EDITOR: frozenset({Action.VIEW, Action.EDIT}),
    Role.CONSUMER: frozenset({Action.VIEW}),
}
# Strongest first: a grant's role is the first whose actions it holds in full.
ROLES_BY_STRENGTH = (Role.OWNER, Role.EDITOR, Role.CONSUMER)
NO_ROLE = "NO_ROLE"
ROLE_ALIASES = {
    "OWNER": Role.OWNER,
    "EDITOR": Role.EDITOR,
    "READ_WRITE": Role.EDITOR,
    "USER": Role.EDITOR,
    "CONSUMER": Role.CONSUMER,
    "READ_ONLY": Role.CONSUMER,
    "OBSERVER": Role.CONSUMER,
}


class RecipientType(enum.StrEnum):
    USER = "user"
    GROUP = "group"


@dataclass(frozen=True)
class Grant:
    """One recipient's role on a guarded object."""

    recipient_type: RecipientType
    recipient_id: int
    name: str
    role: Role


@dataclass(frozen=True)
class RoleChange:
    recipient: User | Group
    role: Role | None  # None revokes


def role_of(actions: Iterable[Action]) -> Role | None:
    held = frozenset(actions)
    for role in ROLES_BY_STRENGTH:
        if ROLE_ACTIONS[role] <= held:
            return role
    return None


def grant_role(obj: models.Model, recipient: User | Group, role: Role) -> None:
    """Give ``recipient`` exactly ``role`` on the guarded object ``obj``."""
    _set_role(obj, recipient, role)


def grants(obj: models.Model) -> list[Grant]:
    """Every user and team with a role on ``obj``, users first, each by name. Two queries."""
    guarded = _guarded_type(obj)
    by_recipient: dict[tuple[RecipientType, int, str], set[Action]] = defaultdict(set)
    actions = {codename(a, guarded): a for a in Action}
    user_rows = (
        user_grants(guarded)
        .filter(content_object_id=obj.pk)
        .values_list("user_id", "user__username", "permission__codename")
    )
    for user_id, username, perm in user_rows:
        if perm in actions:
            by_recipient[(RecipientType.USER, user_id, username)].add(actions[perm])
    group_rows = (
        group_grants(guarded)
        .filter(content_object_id=obj.pk)
        .values_list("group_id", "group__name", "permission__codename")
    )
    for group_id, group_name, perm in group_rows:
        if perm in actions:
            by_recipient[(RecipientType.GROUP, group_id, group_name)].add(actions[perm])
    result = []
    for (kind, recipient_id, name), held in by_recipient.items():
        role = role_of(held)
        if role is not None:
            result.append(Grant(kind, recipient_id, name, role))
    return sorted(result, key=lambda g: (g.recipient_type != RecipientType.USER, g.name.lower()))


# --- the last-OWNER guard ---------------------------------------------------------------
# Every object keeps an *effective* OWNER: an active user, or a team with at least one
# active member, holding the OWNER role. A deactivated user, or a team of deactivated users,
# can neither sign in nor act, so its grant must not stand in for a real owner.


def _effectively_owned(
    guarded: type[models.Model], object_ids: Iterable[Any], *, without: User | Group | None
) -> set[Any]:
    """The ids among ``object_ids`` that have an effective OWNER, not counting ``without``
    (as though it were gone: deleted or deactivated). Two queries."""
    perm = codename(Action.SHARE, guarded)
    ids = list(object_ids)
    active_users = User.objects.filter(is_active=True)
    if isinstance(without, User):
        active_users = active_users.exclude(pk=without.pk)
    active_teams = Group.objects.filter(user__in=active_users)
    if isinstance(without, Group):
        active_teams = active_teams.exclude(pk=without.pk)
    by_users = user_grants(guarded).filter(
        content_object_id__in=ids, permission__codename=perm, user__in=active_users
    )
    by_teams = group_grants(guarded).filter(
        content_object_id__in=ids, permission__codename=perm, group__in=active_teams
    )
    return set(by_users.values_list("content_object_id", flat=True)) | set(
        by_teams.values_list("content_object_id", flat=True)
    )


OwnedIds = dict[type[models.Model], set[Any]]


def owned_by(recipient: User | Group) -> OwnedIds:
    """The repositories and workloads ``recipient`` holds OWNER on, per guarded model: a
    team's own grants; a user's own and its teams' (they count on its being active)."""
    from repositories.models import ArtifactRepository
    from workloads.models import Workload

    owned: OwnedIds = {}
    for guarded in (ArtifactRepository, Workload):
        perm = codename(Action.SHARE, guarded)
        teams = group_grants(guarded).filter(permission__codename=perm)
        if isinstance(recipient, Group):
            rows = [teams.filter(group=recipient)]
        else:
            own = user_grants(guarded).filter(user=recipient, permission__codename=perm)
            rows = [own, teams.filter(group__user=recipient)]
        owned[guarded] = {
            pk for row in rows for pk in row.values_list("content_object_id", flat=True)
        }
    return owned


def left_without_owner(owned: OwnedIds, *, without: User | Group | None = None) -> list[str]:
    """Ids of the objects in ``owned`` that have no effective OWNER (besides ``without``)."""
    return [
        str(pk)
        for guarded, ids in owned.items()
        for pk in sorted(ids - _effectively_owned(guarded, ids, without=without))
    ]


def solely_owned_by(recipient: User | Group) -> list[str]:
    """Ids of the repositories and workloads that would have no effective OWNER without
    ``recipient``: deleting a team, deleting or deactivating a user must leave them one."""
    return left_without_owner(owned_by(recipient), without=recipient)


def last_owner_conflict(who: str, orphans: Sequence[str], change: str) -> Conflict:
    """The 409 for a change that would leave ``orphans`` without an active OWNER."""
    return Conflict(
        f"{who} is the only active OWNER of {', '.join(orphans)}; give those another OWNER "
        f"before {change}.",
        code="last_owner",
    )


def grant_summary(obj: models.Model) -> list[str]:
    """Who holds what, as short strings for the audit log (``user:ana=OWNER``)."""
    return [f"{g.recipient_type}:{g.name}={g.role}" for g in grants(obj)]


def parse_share_request(data: Mapping[str, Any]) -> list[RoleChange]:
    """Check a ``{"operation": "updateRoles", "roles": [...]}`` body; every problem at once."""
    problems = unknown_fields(data, ("operation", "roles"))
    if data.get("operation") != "updateRoles":
        problems.append(
            Problem(("operation",), 'The only operation is "updateRoles".', "literal_error")
        )
    try:
        changes = parse_role_updates(data.get("roles"))
    except Invalid as invalid:
        raise Invalid([*problems, *invalid.problems]) from None
    if problems:
        raise Invalid(problems)
    return changes


def parse_role_updates(entries: Any) -> list[RoleChange]:
    """Check a ``roles`` list (1 to 100 entries) and resolve its recipients.

    Every problem is reported at once, each at its path under ``roles``.
    """
    if not isinstance(entries, list) or not 1 <= len(entries) <= MAX_ROLE_UPDATES:
        raise Invalid.at(
            "roles", msg=f"Give 1 to {MAX_ROLE_UPDATES} role entries.", type="list_length"
        )
    problems: list[Problem] = []
    changes: list[RoleChange] = []
    for index, entry in enumerate(entries):
        try:
            changes.append(_parse_entry(entry))
        except Invalid as invalid:
            problems += [p.within("roles", index) for p in invalid.problems]
    if problems:
        raise Invalid(problems)
    return changes


def apply_role_changes(
    obj: models.Model, changes: Sequence[RoleChange], *, actor: User | None = None
) -> None:
    """Apply every change or none; the object must keep an effective OWNER (409).

    The caller holds the guarded row FOR UPDATE, so two updates cannot each remove a
    different last owner. Whoever loses EDIT on a repository stops running its drafts.
    """
    with transaction.atomic():
        for change in changes:
            _set_role(obj, change.recipient, change.role)
        if not _effectively_owned(_guarded_type(obj), [obj.pk], without=None):
            raise Conflict(
                "This would leave no OWNER: give another active user, or a team with an "
                "active member, the OWNER role first.",
                code="last_owner",
            )
        _stop_drafts_of_lost_editors(obj, changes, actor)


def _stop_drafts_of_lost_editors(
    obj: models.Model, changes: Sequence[RoleChange], actor: User | None
) -> None:
    """Authority follows the artifact: the workloads that recipients left without EDIT on
    a repository run on its drafts are stopped (``workloads_stop_on_lost_edit``)."""
    # Imported late: the repositories and workloads apps build on this module.
    from repositories.models import ArtifactRepository
    from workloads.services import workloads_stop_on_lost_edit

    if not isinstance(obj, ArtifactRepository):
        return
    users: list[User] = []
    for change in changes:
        if change.role is not None and Action.EDIT in ROLE_ACTIONS[change.role]:
            continue
        recipient = change.recipient
        users += list(recipient.user_set.all()) if isinstance(recipient, Group) else [recipient]
    changed_by = f"role changed by {actor.get_username()}" if actor else "role changed"
    workloads_stop_on_lost_edit(
        actor=actor, users=users, why=changed_by, repository_ids=[str(obj.pk)]
    )


def _parse_entry(entry: Any) -> RoleChange:
    if not isinstance(entry, Mapping):
        raise Invalid.at(msg="Each entry is an object.", type="model_type")
    problems: list[Problem] = []
    kind = entry.get("shareRecipientType")
    known_kind = isinstance(kind, str) and kind in set(RecipientType)
    if not known_kind:
        problems.append(Problem(("shareRecipientType",), 'Use "user" or "group".', "enum"))
    name_keys = [_NAME_KEYS[RecipientType(str(kind))]] if known_kind else list(_NAME_KEYS.values())
    allowed = {"shareRecipientType", "role", "id", *name_keys}
    problems += [
        Problem((key,), "Extra inputs are not permitted", "extra_forbidden")
        for key in entry
        if key not in allowed
    ]
    raw_role = entry.get("role")
    spelled = raw_role.upper() if isinstance(raw_role, str) else None
    if spelled != NO_ROLE and spelled not in ROLE_ALIASES:
        problems.append(
            Problem(
                ("role",),
                "Use OWNER, EDITOR (or READ_WRITE, USER), CONSUMER (or READ_ONLY, OBSERVER) "
                "or NO_ROLE.",
                "enum",
            )
        )
    recipient = None
    if known_kind:
        recipient, problem = _recipient(RecipientType(str(kind)), entry)
        if problem:
            problems.append(problem)
    if problems or recipient is None:
        raise Invalid(problems)
    return RoleChange(recipient=recipient, role=ROLE_ALIASES.get(spelled or ""))


_NAME_KEYS = {RecipientType.USER: "username", RecipientType.GROUP: "name"}


def _recipient(kind: RecipientType, entry: Mapping[str, Any]) -> tuple[Any, Problem | None]:
    """The user or team an entry names by ``id`` or by name, or the problem at that key."""
    name_key = _NAME_KEYS[kind]
    manager = (User if kind is RecipientType.USER else Group)._default_manager
    found = None
    if "id" in entry:
        key, pk = "id", _as_int(entry["id"])
        found = manager.filter(pk=pk).first() if pk is not None else None
    elif name_key in entry:
        key, name = name_key, entry[name_key]
        found = manager.filter(**{name_key: name}).first() if isinstance(name, str) else None
    else:
        return None, Problem((name_key,), f"Name the {kind} by id or {name_key}.", "missing")
    if isinstance(found, User) and not found.is_active:
        found = None
    if found is None:
        return None, Problem((key,), f"No such {kind}.", "unknown_recipient")
    return found, None


# Users and teams have 32-bit ids; a larger number names nobody.
_LARGEST_ID = 2**31 - 1


def _as_int(value: Any) -> int | None:
    """A recipient id given as a number or a string of ASCII digits ("²" is a digit to
    ``str.isdigit`` but not to ``int``), or None."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= _LARGEST_ID:
        return value
    return None


def _guarded_type(obj: models.Model) -> type[models.Model]:
    guarded, path = guard_of(type(obj))
    if path:
        raise TypeError("roles live on the guarded object itself")
    return guarded


def _set_role(obj: models.Model, recipient: User | Group, role: Role | None) -> None:
    guarded = _guarded_type(obj)
    holder: dict[str, User | Group]
    if isinstance(recipient, Group):
        rows, holder = group_grants(guarded), {"group": recipient}
    else:
        rows, holder = user_grants(guarded), {"user": recipient}
    rows.filter(content_object_id=obj.pk, **holder).delete()
    if role is None:
        return
    permissions = Permission.objects.filter(
        content_type=ContentType.objects.get_for_model(guarded),
        codename__in=[codename(a, guarded) for a in ROLE_ACTIONS[role]],
    )
    rows.model.objects.bulk_create(
        rows.model(content_object=obj, permission=permission, **holder)
        for permission in permissions
    )
