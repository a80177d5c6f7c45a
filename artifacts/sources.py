"""Uploading source for a container's image build: checked, stored, referenced by codeRef."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from artifacts.archives import ArchiveRejected, Limits, inspect_archive
from artifacts.constants import DEFAULT_DOCKERFILE_PATH
from artifacts.containers import build_container, find_container
from artifacts.models import Artifact, SourceArchive
from artifacts.services import lock_artifact_rows, require_draft
from console import audit
from console.errors import Invalid
from console.permissions import Action, Actor, get_for_user, signed_in


def source_limits() -> Limits:
    return Limits(
        max_files=settings.BERTH_SOURCE_MAX_FILES,
        max_unpacked_bytes=settings.BERTH_SOURCE_MAX_UNPACKED_BYTES,
    )


def source_upload(
    *, actor: Actor, artifact_id: str, upload: UploadedFile, container: str | None = None
) -> SourceArchive:
    """Store ``upload`` as the source of one container of a draft and point codeRef at it.

    The container is the one named, or the only one built from source. A new source makes
    the container's earlier build result stale, so its ``imageUri`` is cleared.
    """
    artifact = get_for_user(actor, Artifact.objects.all(), Action.EDIT, pk=artifact_id)
    require_draft(artifact)
    name, config = build_container(artifact.spec, container)
    if upload.size is not None and upload.size > settings.BERTH_SOURCE_MAX_BYTES:
        raise Invalid.at(
            "file",
            msg=f"The upload is larger than {settings.BERTH_SOURCE_MAX_BYTES // 2**20} MiB.",
            type="too_large",
        )
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "upload"
        digest = hashlib.sha256()
        with path.open("wb") as sink:
            for chunk in upload.chunks():
                digest.update(chunk)
                sink.write(chunk)
        try:
            summary = inspect_archive(path, upload.name or "", source_limits())
        except ArchiveRejected as rejected:
            raise Invalid.at("file", msg=str(rejected), type="archive_rejected") from None
        dockerfile = config.get("dockerfile", {})
        if dockerfile.get("source", "provided") == "provided":
            wanted = Path(dockerfile.get("path", DEFAULT_DOCKERFILE_PATH)).as_posix()
            wanted = str(Path(wanted))  # "./Dockerfile" -> "Dockerfile"
            if wanted not in summary.files:
                raise Invalid.at(
                    "file",
                    msg=f"The archive has no {wanted} (imageBuildConfig.dockerfile.path).",
                    type="dockerfile_missing",
                )
        with transaction.atomic():
            repository, artifact = lock_artifact_rows(artifact)
            require_draft(artifact)
            with path.open("rb") as stored:
                source = SourceArchive.objects.create(
                    artifact=artifact,
                    container_name=name,
                    file=File(stored, name=Path(upload.name or "source").name),
                    filename=Path(upload.name or "source").name,
                    sha256=digest.hexdigest(),
                    size=path.stat().st_size,
                    file_count=summary.file_count,
                    unpacked_size=summary.unpacked_size,
                    uploaded_by=signed_in(actor),
                )
            _, fresh_config = build_container(artifact.spec, name)
            fresh_config["codeRef"] = source.id
            built = find_container(artifact.spec, name)
            if built is not None:
                built.pop("imageUri", None)
            artifact.save(update_fields=["spec", "updated_at"])
            repository.save(update_fields=["updated_at"])
            audit.record(
                actor=actor,
                action="artifact.source_upload",
                obj=artifact,
                guard=repository,
                changes={
                    "container": [None, name],
                    "codeRef": [None, source.id],
                    "sha256": [None, source.sha256],
                },
            )
    return source
