"""Bodies of the ``sharedRoles`` endpoints, shared by every shareable object's router."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from pydantic import Field

from console.listing import ListQuery, envelope
from console.sharing import Grant
from console.wire import DomainCheckedBody, WireModel, checked_by_domain


class RoleEntry(WireModel):
    """One recipient and its new role: a user by ``id`` or ``username``, a team by ``id`` or
    ``name``. Roles take any letter case and the aliases READ_WRITE, USER (EDITOR),
    READ_ONLY, OBSERVER (CONSUMER); NO_ROLE revokes."""

    share_recipient_type: Literal["user", "group"]
    role: str
    id: str | int | None = None
    username: str | None = None
    name: str | None = None


class SharedRolesPatch(DomainCheckedBody):
    operation: checked_by_domain(Literal["updateRoles"]) = None  # type: ignore[valid-type]
    roles: checked_by_domain(  # type: ignore[valid-type]
        Annotated[list[RoleEntry], Field(min_length=1, max_length=100)]
    ) = None


class SharedRoleOut(WireModel):
    id: str
    name: str
    share_recipient_type: Literal["user", "group"]
    role: Literal["OWNER", "EDITOR", "CONSUMER"]


class SharedRolesQuery(ListQuery):
    """Roles are listed users first, then teams, each by name."""


def shared_roles_page(request: HttpRequest, grants: Sequence[Grant], query: ListQuery) -> Any:
    def serialize(rows: Sequence[Grant]) -> list[SharedRoleOut]:
        return [
            SharedRoleOut(
                id=str(grant.recipient_id),
                name=grant.name,
                share_recipient_type=grant.recipient_type.value,
                role=grant.role.value,
            )
            for grant in rows
        ]

    return envelope(request, grants, query, serialize)
