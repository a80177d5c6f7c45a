"""Users' flags and removal: what the admin changes about a user, checked and audited.

Activating, deactivating and raising a user to staff or superuser change what the user may
do everywhere, and deleting or deactivating one may leave a repository or workload without
an active OWNER (``console.sharing.solely_owned_by``). So these go through here, for
superusers only (and operators at the command line, ``actor=None``).
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction

from console import audit
from console.errors import Conflict, Forbidden
from console.sharing import last_owner_conflict, solely_owned_by

USER_FLAGS = ("is_active", "is_staff", "is_superuser")


def require_superuser(actor: User | None) -> None:
    if actor is not None and not (actor.is_active and actor.is_superuser):
        raise Forbidden("Only superusers change users' flags or delete users.")


def removal_refusal(user: User, change: str) -> Conflict | None:
    """Why deactivating or deleting ``user`` (``change`` says which) must not happen: it is
    the last active OWNER of something. ``None`` when nothing stands in the way."""
    orphans = solely_owned_by(user)
    return last_owner_conflict(f"User {user.username}", orphans, change) if orphans else None


DEACTIVATING = "deactivating them"
DELETING = "deleting them"


def user_set_flags(
    *,
    actor: User | None,
    user: User,
    is_active: bool | None = None,
    is_staff: bool | None = None,
    is_superuser: bool | None = None,
) -> None:
    """Set the flags given (``None`` leaves one as it is); 409 ``last_owner`` when
    deactivating would leave something without an active OWNER."""
    require_superuser(actor)
    wanted = {
        name: value
        for name, value in zip(USER_FLAGS, (is_active, is_staff, is_superuser), strict=True)
        if value is not None
    }
    with transaction.atomic():
        # Locked so that two deactivations of co-owners cannot each see the other active.
        locked = User.objects.select_for_update().get(pk=user.pk)
        before = audit.snapshot(locked, USER_FLAGS)
        if locked.is_active and wanted.get("is_active") is False:
            refusal = removal_refusal(locked, DEACTIVATING)
            if refusal:
                raise refusal
        for name, value in wanted.items():
            setattr(locked, name, value)
        changes = audit.changed(before, audit.snapshot(locked, USER_FLAGS))
        if not changes:
            return
        locked.save(update_fields=list(changes))
        _record(actor, "user.change_flags", locked, changes)
        if changes.get("is_active") == [True, False]:
            # An inactive user holds no rights: what they run on drafts stops with them.
            from workloads.services import workloads_stop_on_lost_edit

            workloads_stop_on_lost_edit(actor=actor, users=[locked], why="the user was deactivated")


def user_delete(*, actor: User | None, user: User) -> None:
    """Delete ``user`` and its grants; 409 ``last_owner`` when that would leave something
    without an active OWNER."""
    require_superuser(actor)
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        refusal = removal_refusal(locked, DELETING)
        if refusal:
            raise refusal
        _record(actor, "user.delete", locked, {})
        locked.delete()


def _record(actor: User | None, action: str, user: User, changes: dict[str, list[bool]]) -> None:
    audit.record(
        actor=actor, kind="" if actor else "operator", action=action, obj=user, changes=changes
    )
