"""Workloads: how an artifact runs (runtime settings), its protons, history and statistics."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from artifacts.models import Artifact
from console.ids import new_object_id
from workloads.constants import (
    NAME_MAX_LENGTH,
    EventKind,
    EventStatus,
    Importance,
    ProtonRole,
    ProtonStatus,
    WorkloadStatus,
)


class Workload(models.Model):
    """A running (or stopped) artifact with deployment-time settings in ``runtime``.

    Shared by role like repositories (guardian rows below). A workload on a draft artifact
    expires at ``expires_at``; statistics count from ``stats_reset_at``.
    """

    id = models.CharField(primary_key=True, max_length=24, default=new_object_id, editable=False)
    name = models.CharField(max_length=NAME_MAX_LENGTH)
    description = models.TextField(blank=True, default="")
    importance = models.CharField(max_length=16, choices=Importance.choices, default=Importance.LOW)
    status = models.CharField(
        max_length=16, choices=WorkloadStatus.choices, default=WorkloadStatus.SUBMITTED
    )
    status_message = models.TextField(blank=True, default="")
    # PROTECT: an artifact that backs a workload is refused deletion by the services with a
    # 409 that names the workloads; the database refuses it too.
    artifact = models.ForeignKey(Artifact, on_delete=models.PROTECT, related_name="workloads")
    runtime = models.JSONField(default=dict)
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    stats_reset_at = models.DateTimeField(auto_now_add=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "id"]
        permissions = [("share_workload", "Can share workload")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=WorkloadStatus.values), name="workload_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(importance__in=Importance.values),
                name="workload_importance_valid",
            ),
        ]
        indexes = [models.Index(fields=["status", "expires_at"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class Proton(models.Model):
    """One running instance of (artifact, runtime): the replicas that serve (or will)."""

    id = models.CharField(primary_key=True, max_length=24, default=new_object_id, editable=False)
    workload = models.ForeignKey(Workload, on_delete=models.CASCADE, related_name="protons")
    artifact = models.ForeignKey(Artifact, on_delete=models.PROTECT, related_name="+")
    runtime = models.JSONField(default=dict)
    role = models.CharField(max_length=16, choices=ProtonRole.choices)
    status = models.CharField(
        max_length=16, choices=ProtonStatus.choices, default=ProtonStatus.SUBMITTED
    )
    message = models.TextField(blank=True, default="")
    log_tail = models.TextField(blank=True, default="")
    replicas = models.JSONField(default=list)  # as last reported by the runtime engine
    running_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "id"]
        indexes = [models.Index(fields=["workload", "role"])]

    def __str__(self) -> str:
        return f"proton {self.id} of {self.workload_id} ({self.role}, {self.status})"


class WorkloadEvent(models.Model):
    """History: replacements, restarts and promotions, with how they ended."""

    id = models.CharField(primary_key=True, max_length=24, default=new_object_id, editable=False)
    workload = models.ForeignKey(Workload, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    status = models.CharField(
        max_length=16, choices=EventStatus.choices, default=EventStatus.RUNNING
    )
    message = models.TextField(blank=True, default="")
    from_proton = models.ForeignKey(
        Proton, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_proton = models.ForeignKey(
        Proton, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} of {self.workload_id} ({self.status})"


class InvokeSample(models.Model):
    """One request through the invoke proxy: when, how it ended, how long it took."""

    workload = models.ForeignKey(Workload, on_delete=models.CASCADE, related_name="samples")
    at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField()
    latency_ms = models.FloatField()

    class Meta:
        indexes = [models.Index(fields=["workload", "at"])]

    def __str__(self) -> str:
        return f"{self.status_code} in {self.latency_ms:.1f} ms"


class WorkloadUserPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Workload, on_delete=models.CASCADE)

    class Meta(UserObjectPermissionBase.Meta):
        abstract = False


class WorkloadGroupPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Workload, on_delete=models.CASCADE)

    class Meta(GroupObjectPermissionBase.Meta):
        abstract = False
