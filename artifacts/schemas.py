"""Request and response bodies of the artifact API (camelCase on the wire)."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import ConfigDict

from artifacts.models import Artifact
from artifacts.rights import artifact_rights
from artifacts.validators import ArtifactName, ArtifactSpec, Description, Tag, Tags
from console.listing import ListQuery
from console.permissions import Action
from console.wire import DomainCheckedBody, WireModel, checked_by_domain, documented_as


class ArtifactIn(DomainCheckedBody):
    """POST and PUT body. Checked in full by the domain validators (every problem at once)."""

    model_config = ConfigDict(
        json_schema_extra={"additionalProperties": False, "required": ["name", "spec"]}
    )

    name: checked_by_domain(ArtifactName) = None  # type: ignore[valid-type]
    description: checked_by_domain(Description) = None  # type: ignore[valid-type]
    type: checked_by_domain(Literal["service", "nim"]) = None  # type: ignore[valid-type]
    spec: checked_by_domain(ArtifactSpec) = None  # type: ignore[valid-type]
    tags: checked_by_domain(Tags) = None  # type: ignore[valid-type]
    artifact_repository_id: checked_by_domain(str | None) = None  # type: ignore[valid-type]


class ArtifactPatch(DomainCheckedBody):
    """PATCH body: any of the fields; ``status: "locked"`` locks (one-way)."""

    name: checked_by_domain(ArtifactName) = None  # type: ignore[valid-type]
    description: checked_by_domain(Description) = None  # type: ignore[valid-type]
    spec: checked_by_domain(ArtifactSpec) = None  # type: ignore[valid-type]
    tags: checked_by_domain(Tags) = None  # type: ignore[valid-type]
    status: checked_by_domain(Literal["locked"]) = None  # type: ignore[valid-type]


class CloneIn(DomainCheckedBody):
    name: checked_by_domain(ArtifactName) = None  # type: ignore[valid-type]


class ArtifactOut(WireModel):
    id: str
    name: str
    description: str
    type: Literal["service", "nim"]
    status: Literal["draft", "locked"]
    version: int | None
    artifact_repository_id: str
    spec: documented_as(ArtifactSpec)  # type: ignore[valid-type]
    creator: str | None
    tags: list[Tag]
    permissions: list[str]
    locked_at: datetime | None
    locked_by: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, artifact: Artifact, rights: frozenset[Action]) -> ArtifactOut:
        """``rights`` are the caller's on the repository; the field lists what is left of
        them for this artifact (a locked version cannot be updated or deleted)."""
        return cls(
            id=artifact.id,
            name=artifact.name,
            description=artifact.description,
            type=artifact.type,
            status=artifact.status,
            version=artifact.version,
            artifact_repository_id=artifact.repository_id,
            spec=artifact.spec,
            creator=artifact.creator.username if artifact.creator else None,
            tags=[Tag.model_validate(tag) for tag in artifact.tags],
            permissions=sorted(action.api_name for action in artifact_rights(artifact, rights)),
            locked_at=artifact.locked_at,
            locked_by=artifact.locked_by.username if artifact.locked_by else None,
            created_at=artifact.created_at,
            updated_at=artifact.updated_at,
        )


class ArtifactListQuery(ListQuery):
    ORDER_FIELDS: ClassVar = {
        "name": "name",
        "createdAt": "created_at",
        "updatedAt": "updated_at",
        "version": "version",
    }

    status: Literal["draft", "locked"] | None = None
    type: Literal["service", "nim"] | None = None
    repository_id: str | None = None
    created_by: str | None = None
