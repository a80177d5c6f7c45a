"""The API keys page: the signed-in user's own keys, created, listed and revoked."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_http_methods

from console.auth import api_key_create, api_key_get, api_key_list, api_key_revoke
from console.errors import Invalid
from console.htmx import redirect_client, render_page, toast, wants_fragment
from console.permissions import Audience, route_permission, signed_in
from console.web import domain_errors_as_http

TEMPLATE = "console/api_keys.html"


def _page(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    keys = api_key_list(user=signed_in(request.user))
    return {"nav": "api-keys", "keys": keys, **extra}


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors_as_http
@route_permission(Audience.SIGNED_IN)
def apikey_list(request: HttpRequest) -> HttpResponse:
    """GET lists the keys; POST creates one and shows its secret, this once only."""
    if request.method == "GET":
        # Only the list region asks for a fragment; htmx following a redirect gets the page.
        region = "keys" if request.headers.get("HX-Target") == "api-keys" else None
        return render_page(request, TEMPLATE, _page(request), partial=region)
    name = request.POST.get("name", "")
    try:
        key, secret = api_key_create(actor=signed_in(request.user), name=name)
    except Invalid as invalid:
        error = " ".join(problem.msg for problem in invalid.problems)
        context = _page(request, error=error, typed_name=name)
        return render_page(request, TEMPLATE, context, partial="keys", status=422)
    # Answered directly rather than redirected: the secret exists only in this response,
    # which no cache may keep.
    response = render_page(
        request, TEMPLATE, _page(request, created=key, secret=secret), partial="keys"
    )
    add_never_cache_headers(response)
    return response


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors_as_http
@route_permission(Audience.SIGNED_IN)
def apikey_revoke(request: HttpRequest, key_id: str) -> HttpResponse:
    """GET asks for confirmation (a dialog, or a page without JavaScript); POST revokes."""
    if request.method == "GET":
        key = api_key_get(user=signed_in(request.user), key_id=key_id)
        return render_page(request, TEMPLATE, _page(request, revoking=key), partial="revoke")
    key = api_key_revoke(actor=signed_in(request.user), key_id=key_id)
    message = f"Revoked the key {key.name}; it no longer authenticates."
    if not wants_fragment(request):
        messages.success(request, message)
        return redirect_client(request, reverse("apikey-list"))
    # The new list, and the dialog closed by emptying its container out of band.
    return toast(render_page(request, TEMPLATE, _page(request), partial="revoked"), message)
