"""Artifacts: what a workload runs, as a group of containers described by ``spec``."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from artifacts.constants import (
    ACTIVE_BUILD_STATUSES,
    NAME_MAX_LENGTH,
    ArtifactStatus,
    ArtifactType,
    BuildStatus,
)
from console.ids import new_object_id
from repositories.models import ArtifactRepository


class Artifact(models.Model):
    """A draft (mutable) or locked (immutable, numbered) artifact in one repository.

    ``spec`` is stored as JSON in its camelCase wire shape; ``artifacts.validators`` is the
    only gate it passes through. The database enforces what it can: status values,
    a version exactly when locked, and unique versions per repository.
    """

    id = models.CharField(primary_key=True, max_length=24, default=new_object_id, editable=False)
    repository = models.ForeignKey(
        ArtifactRepository, on_delete=models.CASCADE, related_name="artifacts"
    )
    name = models.CharField(max_length=NAME_MAX_LENGTH)
    description = models.TextField(blank=True, default="")
    type = models.CharField(max_length=16, choices=ArtifactType.choices)
    status = models.CharField(
        max_length=16, choices=ArtifactStatus.choices, default=ArtifactStatus.DRAFT
    )
    version = models.PositiveIntegerField(null=True, blank=True)
    spec = models.JSONField(default=dict)
    tags = models.JSONField(default=list, blank=True)
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="created_artifacts",
    )
    locked_at = models.DateTimeField(null=True, blank=True)
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="locked_artifacts",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["repository", "version"], name="artifact_version_unique_per_repository"
            ),
            models.CheckConstraint(
                condition=Q(status__in=ArtifactStatus.values), name="artifact_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(type__in=ArtifactType.values), name="artifact_type_valid"
            ),
            models.CheckConstraint(
                condition=(
                    Q(status=ArtifactStatus.DRAFT, version__isnull=True)
                    | Q(
                        status=ArtifactStatus.LOCKED, version__isnull=False, locked_at__isnull=False
                    )
                ),
                name="artifact_version_iff_locked",
            ),
        ]
        indexes = [
            models.Index(fields=["repository", "status"]),
            models.Index(fields=["updated_at"]),
            models.Index(fields=["name"]),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"

    @property
    def is_locked(self) -> bool:
        return self.status == ArtifactStatus.LOCKED


class ExecutionEnvironment(models.Model):
    """A named family of base images that generated Dockerfiles build on (e.g. Python 3.12)."""

    id = models.CharField(primary_key=True, max_length=24, default=new_object_id, editable=False)
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ExecutionEnvironmentVersion(models.Model):
    """One base image of an environment; generated Dockerfiles start ``FROM base_image``."""

    id = models.CharField(primary_key=True, max_length=24, default=new_object_id, editable=False)
    environment = models.ForeignKey(
        ExecutionEnvironment, on_delete=models.CASCADE, related_name="versions"
    )
    label = models.CharField(max_length=100)
    base_image = models.CharField(max_length=2048)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["environment", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["environment", "label"], name="environment_label_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.environment.name} {self.label}"


class SourceArchive(models.Model):
    """Uploaded source for one container's image build, checked and stored at upload.

    The container's ``imageBuildConfig.codeRef`` holds this row's id.
    """

    id = models.CharField(primary_key=True, max_length=24, default=new_object_id, editable=False)
    artifact = models.ForeignKey(Artifact, on_delete=models.CASCADE, related_name="sources")
    container_name = models.CharField(max_length=63)
    file = models.FileField(upload_to="sources/%Y/%m/")
    filename = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    file_count = models.PositiveIntegerField()
    unpacked_size = models.PositiveBigIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.sha256[:12]})"


class ImageBuild(models.Model):
    """One image build of one container of a draft, run by a Celery worker.

    ``PENDING → IN_PROGRESS → BUILT → COMPLETED`` or ``FAILED``/``CANCELLED``. The worker
    beats ``heartbeat_at`` while it works; a sweep fails builds whose worker went silent.
    ``config_fingerprint`` records the container's build config at the start, so a result
    is not written over a container that was edited during the build.
    """

    id = models.CharField(primary_key=True, max_length=24, default=new_object_id, editable=False)
    artifact = models.ForeignKey(Artifact, on_delete=models.CASCADE, related_name="builds")
    container_name = models.CharField(max_length=63)
    status = models.CharField(
        max_length=16, choices=BuildStatus.choices, default=BuildStatus.PENDING
    )
    image_uri = models.CharField(max_length=2048, blank=True, default="")
    message = models.TextField(blank=True, default="")
    config_fingerprint = models.CharField(max_length=64)
    cancel_requested = models.BooleanField(default=False)
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=BuildStatus.values), name="build_status_valid"
            ),
        ]
        indexes = [models.Index(fields=["status", "heartbeat_at"])]

    def __str__(self) -> str:
        return f"build {self.id} of {self.container_name} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_BUILD_STATUSES


class BuildLogChunk(models.Model):
    """A batch of a build's log lines (JSON lines), written as the builder prints them.

    Stored in the database so that any web process can serve a running build's log and
    pollers can ask for what came after the chunk they last saw.
    """

    build = models.ForeignKey(ImageBuild, on_delete=models.CASCADE, related_name="log_chunks")
    seq = models.PositiveIntegerField()
    text = models.TextField()

    class Meta:
        ordering = ["build", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["build", "seq"], name="build_log_chunk_unique")
        ]

    def __str__(self) -> str:
        return f"log chunk {self.seq} of build {self.build_id}"
