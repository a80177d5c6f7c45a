"""Optimistic concurrency: an ETag per object version, checked against ``If-Match``.

The tag changes whenever the row is saved (``updated_at``), so a client that read the
object and sends its tag back learns (412) that someone else saved in between instead of
silently overwriting them. Services check it with the row held FOR UPDATE.
"""

from __future__ import annotations

import hashlib

from django.db import models
from django.http import HttpRequest

from console.errors import PreconditionFailed


def etag_of(obj: models.Model) -> str:
    version = getattr(obj, "updated_at").isoformat()  # noqa: B009 (every tagged model has it)
    digest = hashlib.sha256(f"{obj._meta.label}:{obj.pk}:{version}".encode()).hexdigest()
    return f'"{digest[:20]}"'


def require_fresh(obj: models.Model, if_match: str | None) -> None:
    """Raise 412 when ``if_match`` names none of the object's current version."""
    if if_match is None or not if_match.strip():
        return
    offered = {tag.strip().removeprefix("W/") for tag in if_match.split(",")}
    if "*" in offered or etag_of(obj) in offered:
        return
    raise PreconditionFailed(
        "Someone else changed this since you loaded it; reload it and make your change again."
    )


def if_match(request: HttpRequest) -> str | None:
    return request.headers.get("If-Match")
