"""PLACEHOLDER being replaced in this session: draft editor."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse

from console.permissions import Audience, route_permission


@route_permission(Audience.SIGNED_IN)
def artifact_new(request: HttpRequest) -> HttpResponse:
    raise Http404


@route_permission(Audience.SIGNED_IN)
def artifact_edit(request: HttpRequest, artifact_id: str) -> HttpResponse:
    raise Http404
