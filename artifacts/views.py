"""PLACEHOLDER being replaced in this session: artifact pages."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse

from console.permissions import Audience, route_permission


@route_permission(Audience.SIGNED_IN)
def artifact_detail(request: HttpRequest, artifact_id: str) -> HttpResponse:
    raise Http404


@route_permission(Audience.SIGNED_IN)
def artifact_lock_view(request: HttpRequest, artifact_id: str) -> HttpResponse:
    raise Http404


@route_permission(Audience.SIGNED_IN)
def artifact_clone_view(request: HttpRequest, artifact_id: str) -> HttpResponse:
    raise Http404


@route_permission(Audience.SIGNED_IN)
def artifact_delete_view(request: HttpRequest, artifact_id: str) -> HttpResponse:
    raise Http404
