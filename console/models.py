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
