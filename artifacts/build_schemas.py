"""Bodies of the source and build endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from artifacts.models import ImageBuild, SourceArchive
from console.listing import ListQuery
from console.wire import WireModel

BuildStatusName = Literal["PENDING", "IN_PROGRESS", "BUILT", "COMPLETED", "FAILED", "CANCELLED"]


class SourceOut(WireModel):
    id: str
    artifact_id: str
    container_name: str
    code_ref: str
    filename: str
    sha256: str
    size: int
    file_count: int
    unpacked_size: int
    created_at: datetime

    @classmethod
    def of(cls, source: SourceArchive) -> SourceOut:
        return cls(
            id=source.id,
            artifact_id=source.artifact_id,
            container_name=source.container_name,
            code_ref=source.id,
            filename=source.filename,
            sha256=source.sha256,
            size=source.size,
            file_count=source.file_count,
            unpacked_size=source.unpacked_size,
            created_at=source.created_at,
        )


class BuildIdsOut(WireModel):
    build_ids: list[str]


class BuildOut(WireModel):
    id: str
    artifact_id: str
    container_name: str
    status: BuildStatusName
    image_uri: str | None
    message: str
    creator: str | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, build: ImageBuild) -> BuildOut:
        return cls(
            id=build.id,
            artifact_id=build.artifact_id,
            container_name=build.container_name,
            status=build.status,
            image_uri=build.image_uri or None,
            message=build.message,
            creator=build.creator.username if build.creator else None,
            created_at=build.created_at,
            updated_at=build.updated_at,
            started_at=build.started_at,
            finished_at=build.finished_at,
        )


class BuildListQuery(ListQuery):
    """Builds are listed newest first."""
