"""Artifacts: what a workload runs, as a group of containers described by ``spec``."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from artifacts.constants import NAME_MAX_LENGTH, ArtifactStatus, ArtifactType
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
