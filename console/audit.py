"""The audit log: every mutating service records one event in its own transaction.

``record`` is called by services only. Who acted comes from the ``actor`` argument and
from the request context (an API key, the request id), which middleware and the API-key
authentication put in context variables; workers and operators pass ``actor=None`` with
their kind. Secrets never reach the log: environment variable values are masked and
credentials are not passed in at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import models
from django.http import HttpRequest, HttpResponse

from console.models import AuditEvent

MASK = "••••••"
current_request_id: ContextVar[str] = ContextVar("berth_request_id", default="")
current_api_key_id: ContextVar[str] = ContextVar("berth_api_key_id", default="")


def record(
    *,
    actor: User | AnonymousUser | None,
    action: str,
    obj: models.Model,
    guard: models.Model | None = None,
    changes: Mapping[str, Any] | None = None,
    kind: str = "",
    name: str = "",
) -> AuditEvent:
    """Write one event. ``guard`` is the repository or workload whose viewers may read it
    (the object itself when it is one); ``kind`` overrides "user"/"api_key" for workers
    ("worker") and operators at the command line ("operator")."""
    user = actor if isinstance(actor, User) else None
    api_key_id = current_api_key_id.get() if user is not None else ""
    guard = guard if guard is not None else obj
    return AuditEvent.objects.create(
        actor=user,
        actor_name=user.get_username() if user else kind or "system",
        actor_kind=kind or ("api_key" if api_key_id else "user"),
        api_key_id=api_key_id,
        action=action,
        object_type=_type(obj),
        object_id=str(obj.pk),
        object_name=name or str(getattr(obj, "name", "") or getattr(obj, "username", ""))[:500],
        guard_type=_type(guard),
        guard_id=str(guard.pk),
        changes=mask(dict(changes or {})),
        request_id=current_request_id.get(),
    )


def changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """``{field: [before, after]}`` for the fields whose value differs."""
    return {
        key: [before.get(key), after.get(key)]
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


def snapshot(obj: models.Model, fields: tuple[str, ...]) -> dict[str, Any]:
    return {field: _plain(getattr(obj, field)) for field in fields}


def mask(value: Any) -> Any:
    """Environment variable values are secrets more often than not; keep only names."""
    if isinstance(value, dict):
        if set(value) >= {"name", "value"} and len(value) == 2:
            return {"name": value["name"], "value": MASK}
        return {key: mask(item) for key, item in value.items()}
    if isinstance(value, list):
        return [mask(item) for item in value]
    return value


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _type(obj: models.Model) -> str:
    return {"artifactrepository": "repository", "group": "team", "apikey": "api_key"}.get(
        obj._meta.model_name or "", obj._meta.model_name or ""
    )


class RequestIdMiddleware:
    """A request id for every request (the caller's ``X-Request-ID`` when it sends a sane
    one), put in context for the audit log and echoed in the response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        offered = request.headers.get("X-Request-ID", "")
        request_id = offered if 0 < len(offered) <= 64 and offered.isprintable() else ""
        request_token = current_request_id.set(request_id or uuid.uuid4().hex)
        key_token = current_api_key_id.set("")
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = current_request_id.get()
            return response
        finally:
            current_request_id.reset(request_token)
            current_api_key_id.reset(key_token)
