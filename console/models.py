"""Models of the shell: API keys."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from console.ids import new_object_id


class ApiKey(models.Model):
    """A revocable bearer key for scripts.

    Only the SHA-256 digest of the secret is stored: the secret is random (256 bits), so a
    fast digest is enough to make a stolen database useless, and it can be looked up by
    an index. ``prefix`` lets people tell their keys apart without exposing them.
    """

    id = models.CharField(primary_key=True, max_length=24, default=new_object_id, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=200)
    prefix = models.CharField(max_length=16)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class AuditEvent(models.Model):
    """One change made by a service: who, what, to which object, before/after, when.

    Written in the same transaction as the change. Events keep copies of names and ids,
    never foreign keys to the changed object, so they outlive it. ``guard_type`` and
    ``guard_id`` name the repository or workload whose viewers may read the event.
    """

    id = models.CharField(primary_key=True, max_length=24, default=new_object_id, editable=False)
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True, default="")
    actor_kind = models.CharField(max_length=16)  # user | api_key | worker | operator
    api_key_id = models.CharField(max_length=24, blank=True, default="")
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=32)
    object_id = models.CharField(max_length=64)
    object_name = models.CharField(max_length=500, blank=True, default="")
    guard_type = models.CharField(max_length=32, blank=True, default="")
    guard_id = models.CharField(max_length=64, blank=True, default="")
    changes = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["object_type", "object_id"]),
            models.Index(fields=["guard_type", "guard_id", "at"]),
            models.Index(fields=["action"]),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type} {self.object_id} by {self.actor_name}"
