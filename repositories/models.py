"""Artifact repositories: the lineage of one artifact, its drafts and its locked versions."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from artifacts.constants import NAME_MAX_LENGTH, ArtifactType
from console.ids import new_object_id


class ArtifactRepository(models.Model):
    """A named lineage of artifacts.

    ``type`` is fixed by the first artifact. ``last_version_number`` is the highest version
    handed out by a lock; locks take this row ``FOR UPDATE`` so versions stay gapless and
    unique. Sharing (django-guardian rows below) is stored here; an artifact's rights are its
    repository's.
    """

    id = models.CharField(primary_key=True, max_length=24, default=new_object_id, editable=False)
    name = models.CharField(max_length=NAME_MAX_LENGTH)
    description = models.TextField(blank=True, default="")
    type = models.CharField(max_length=16, choices=ArtifactType.choices)
    last_version_number = models.PositiveIntegerField(default=0)
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="created_repositories",
    )
    tags = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "artifact repositories"
        ordering = ["-created_at", "id"]
        permissions = [("share_artifactrepository", "Can share artifact repository")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(type__in=ArtifactType.values),
                name="repository_type_valid",
            ),
        ]
        indexes = [models.Index(fields=["updated_at"]), models.Index(fields=["name"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class RepositoryUserPermission(UserObjectPermissionBase):
    """Guardian grant of one permission on one repository to one user (direct foreign key)."""

    content_object = models.ForeignKey(ArtifactRepository, on_delete=models.CASCADE)

    class Meta(UserObjectPermissionBase.Meta):
        abstract = False


class RepositoryGroupPermission(GroupObjectPermissionBase):
    """Guardian grant of one permission on one repository to one team (direct foreign key)."""

    content_object = models.ForeignKey(ArtifactRepository, on_delete=models.CASCADE)

    class Meta(GroupObjectPermissionBase.Meta):
        abstract = False
