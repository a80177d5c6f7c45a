"""PLACEHOLDER being replaced in this session: API key pages."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse

from console.permissions import Audience, route_permission


@route_permission(Audience.SIGNED_IN)
def apikey_list(request: HttpRequest) -> HttpResponse:
    raise Http404


@route_permission(Audience.SIGNED_IN)
def apikey_revoke(request: HttpRequest, key_id: str) -> HttpResponse:
    raise Http404
