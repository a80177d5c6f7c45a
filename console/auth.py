"""API keys: creation, verification, and the bearer authentication the API accepts."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer, django_auth

from console import audit
from console.audit import current_api_key_id
from console.errors import Invalid, NotFound
from console.models import ApiKey
from console.throttle import API_KEY_FAILURES, client_ip

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
        # The secret never reaches the log; the prefix tells keys apart.
        audit.record(
            actor=actor, action="api_key.create", obj=key, changes={"prefix": [None, key.prefix]}
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


def api_key_for_request(request: HttpRequest, secret: str) -> ApiKey | None:
    """``api_key_authenticate`` for a caller, who gets 20 bad keys a minute per address:
    each bad one is counted, and past the limit this raises ``TooManyAttempts`` (429)
    without looking the key up."""
    address = client_ip(request)
    API_KEY_FAILURES.check(address)
    key = api_key_authenticate(secret)
    if key is None:
        API_KEY_FAILURES.failed(address)
    return key


def user_for_key(request: HttpRequest, secret: str) -> User | None:
    """The owner of the key ``secret``, made the request's user (throttled, recorded for
    the audit log); None for a bad key. The API and the invoke proxy both use it."""
    key = api_key_for_request(request, secret)
    if key is None:
        return None
    request.user = key.user
    request.api_key = key  # type: ignore[attr-defined]
    current_api_key_id.set(key.id)
    return key.user


def bearer_token(request: HttpRequest) -> str | None:
    """The key of an ``Authorization: Bearer <key>`` header (the scheme in any case), or
    None. Whatever the scheme, the header may carry a secret: nothing here logs it."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


class ApiKeyBearer(HttpBearer):
    """``Authorization: Bearer <key>``; sets ``request.user`` to the key's owner."""

    def __call__(self, request: HttpRequest) -> User | None:
        # Not ninja's own parsing: under DEBUG it logs a header of another scheme in full.
        token = bearer_token(request)
        return None if token is None else self.authenticate(request, token)

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        return user_for_key(request, token)


# Scripts use a bearer key; the browser uses its session cookie, which ninja checks for CSRF.
API_AUTH = [ApiKeyBearer(), django_auth]


def api_key_list(*, user: User) -> QuerySet[ApiKey]:
    """``user``'s own keys, newest first, revoked ones included (they say when)."""
    return ApiKey.objects.filter(user=user).order_by("-created_at", "id")


def api_key_get(*, user: User, key_id: str) -> ApiKey:
    """One of ``user``'s keys; anyone else's is missing (404), not forbidden."""
    key = api_key_list(user=user).filter(pk=key_id).first()
    if key is None:
        raise NotFound()
    return key


def api_key_revoke(*, actor: User, key_id: str) -> ApiKey:
    """Revoke one of ``actor``'s keys: it stops authenticating at once. Revoking twice is
    harmless; someone else's key is 404, as if it did not exist."""
    with transaction.atomic():
        key = api_key_list(user=actor).select_for_update().filter(pk=key_id).first()
        if key is None:
            raise NotFound()
        if key.revoked_at is None:
            key.revoked_at = timezone.now()
            key.save(update_fields=["revoked_at"])
            audit.record(actor=actor, action="api_key.revoke", obj=key)
    return key
