"""Roles and what they grant, mapped onto django-guardian permissions in one place."""

from __future__ import annotations

import enum

from django.contrib.auth.models import Group, User
from django.db import models
from guardian.shortcuts import assign_perm

from console.permissions import Action, codename, guard_of


class Role(enum.StrEnum):
    OWNER = "OWNER"
    EDITOR = "EDITOR"
    CONSUMER = "CONSUMER"


ROLE_ACTIONS: dict[Role, frozenset[Action]] = {
    Role.OWNER: frozenset({Action.VIEW, Action.EDIT, Action.DELETE, Action.SHARE}),
    Role.EDITOR: frozenset({Action.VIEW, Action.EDIT}),
    Role.CONSUMER: frozenset({Action.VIEW}),
}


def grant_role(obj: models.Model, recipient: User | Group, role: Role) -> None:
    """Give ``recipient`` every permission of ``role`` on the guarded object ``obj``."""
    guarded, path = guard_of(type(obj))
    if path:
        raise TypeError("roles are granted on the guarded object itself")
    for action in ROLE_ACTIONS[role]:
        assign_perm(codename(action, guarded), recipient, obj)
