"""htmx plumbing for the console: partial or whole page, client events, redirects.

A page template marks each region that htmx swaps with ``{% partialdef name inline %}``;
``render_page`` answers an htmx request with that region alone and any other request
(first load, no JavaScript, history restore after the back button) with the whole page.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers


def wants_fragment(request: HttpRequest) -> bool:
    """True for htmx requests that swap a region; history restores need the whole page."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
        and request.headers.get("HX-Boosted") != "true"
    )


def render_page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    partial: str | None = None,
    status: int = 200,
) -> HttpResponse:
    name = f"{template}#{partial}" if partial and wants_fragment(request) else template
    response = render(request, name, context, status=status)
    # Caches must not serve a fragment for a full-page request or the other way round.
    patch_vary_headers(response, ["HX-Request"])
    return response


def trigger(response: HttpResponse, **events: Any) -> HttpResponse:
    """Add client events to ``HX-Trigger``, e.g. ``trigger(r, **{"artifact:changed": {}})``."""
    existing = json.loads(response.headers.get("HX-Trigger", "{}") or "{}")
    existing.update(events)
    response.headers["HX-Trigger"] = json.dumps(existing)
    return response


def toast(response: HttpResponse, message: str, level: str = "success") -> HttpResponse:
    return trigger(response, toast={"message": message, "level": level})


def redirect_client(request: HttpRequest, url: str, message: str = "") -> HttpResponse:
    """After create/delete: go to ``url`` as a whole page, which shows ``message``.

    htmx gets ``HX-Redirect`` (a full load) rather than ``HX-Location``, which would fetch
    ``url`` as an htmx request and get that page's fragment instead of the page; a plain
    form follows a 303. Either way the message travels in the session.
    """
    if message:
        messages.success(request, message)
    if request.headers.get("HX-Request") == "true":
        response = HttpResponse(status=204)
        response.headers["HX-Redirect"] = url
        return response
    response = HttpResponse(status=303)
    response.headers["Location"] = url
    return response
