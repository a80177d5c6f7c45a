"""API keys: creation, verification, and the bearer authentication the API accepts."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer, django_auth

from console.errors import Invalid
from console.models import ApiKey

KEY_PREFIX = "berth_"
# Recording every use would turn each read into a write; once a minute is precise enough
# for "last used" and keeps reads cheap.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_key_create(*, actor: User, name: str) -> tuple[ApiKey, str]:
    """Create a key for ``actor``; returns the row and the secret, which is never stored."""
    name = name.strip()
    if not name or len(name) > 200:
        raise Invalid.at("name", msg="Give the key a name of 1 to 200 characters.")
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        key = ApiKey.objects.create(
            user=actor, name=name, prefix=secret[: len(KEY_PREFIX) + 6], digest=_digest(secret)
        )
    return key, secret


def api_key_authenticate(secret: str) -> ApiKey | None:
    """The active key for ``secret`` (and its user), or None."""
    if not secret.startswith(KEY_PREFIX):
        return None
    key = (
        ApiKey.objects.select_related("user")
        .filter(digest=_digest(secret), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if key is None:
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


class ApiKeyBearer(HttpBearer):
    """``Authorization: Bearer <key>``; sets ``request.user`` to the key's owner."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        key = api_key_authenticate(token)
        if key is None:
            return None
        request.user = key.user
        request.api_key = key  # type: ignore[attr-defined]
        return key.user


# Scripts use a bearer key; the browser uses its session cookie, which ninja checks for CSRF.
API_AUTH = [ApiKeyBearer(), django_auth]
