"""Request and response bodies of the repository API."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from artifacts.validators import ArtifactName, Description, Tag, Tags
from console.listing import ListQuery
from console.permissions import Action
from console.wire import DomainCheckedBody, WireModel, checked_by_domain
from repositories.models import ArtifactRepository


class RepositoryPatch(DomainCheckedBody):
    name: checked_by_domain(ArtifactName) = None  # type: ignore[valid-type]
    description: checked_by_domain(Description) = None  # type: ignore[valid-type]
    tags: checked_by_domain(Tags) = None  # type: ignore[valid-type]


class RepositoryOut(WireModel):
    id: str
    name: str
    description: str
    type: Literal["service", "nim"]
    last_version_number: int
    num_artifacts: int
    creator: str | None
    tags: list[Tag]
    permissions: list[str]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, repository: ArtifactRepository, rights: frozenset[Action]) -> RepositoryOut:
        return cls(
            id=repository.id,
            name=repository.name,
            description=repository.description,
            type=repository.type,
            last_version_number=repository.last_version_number,
            num_artifacts=repository.num_artifacts,  # type: ignore[attr-defined]
            creator=repository.creator.username if repository.creator else None,
            tags=[Tag.model_validate(tag) for tag in repository.tags],
            permissions=sorted(action.api_name for action in rights),
            created_at=repository.created_at,
            updated_at=repository.updated_at,
        )


class RepositoryListQuery(ListQuery):
    ORDER_FIELDS: ClassVar = {
        "name": "name",
        "createdAt": "created_at",
        "updatedAt": "updated_at",
        "lastVersionNumber": "last_version_number",
    }

    type: Literal["service", "nim"] | None = None
    created_by: str | None = None


class VersionListQuery(ListQuery):
    ORDER_FIELDS: ClassVar = {"version": "version"}
    DEFAULT_ORDER: ClassVar = "-version"
