"""Sharing a repository from its page, and the recipient autocomplete the form uses."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from console.errors import Conflict, Invalid, NotFound
from console.htmx import redirect_client, render_page, toast, wants_fragment
from console.permissions import Action, Audience, route_permission
from console.sharing import NO_ROLE
from console.web import domain_errors_as_http
from repositories.selectors import recipients_matching
from repositories.services import repository_share
from repositories.views import repository_page

# The row of the sharing table a problem is shown next to: the add form, or one grant.
ADD_ROW = "add"


def _role_change(form: QueryDict) -> tuple[dict[str, Any], str, str]:
    """The ``roles`` entry a sharing form asks for, the row it concerns and what to say.

    The add form names its recipient (``q``, typed or picked from the suggestions);
    the rows of the table name theirs by id.
    """
    kind = form.get("recipient_type", "user")
    role = form.get("role", "")
    if form.get("operation") == "add":
        name = form.get("q", "").strip()
        key = "username" if kind == "user" else "name"
        entry = {"shareRecipientType": kind, "role": role, key: name}
        return entry, ADD_ROW, f"Shared with {name} as {role.capitalize()}."
    recipient_id = form.get("recipient_id", "")
    entry = {"shareRecipientType": kind, "role": role, "id": recipient_id}
    said = "Access removed." if role == NO_ROLE else f"Role changed to {role.capitalize()}."
    return entry, f"{kind}:{recipient_id}", said


def _sharing_tab(
    request: HttpRequest, repository_id: str, status: int = 200, **extra: Any
) -> HttpResponse:
    context = repository_page(request, repository_id, "sharing", **extra)
    return render_page(
        request, "repositories/detail.html", context, partial="sharing", status=status
    )


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors_as_http
@route_permission(Action.VIEW, on="repository")
def repository_sharing(request: HttpRequest, repository_id: str) -> HttpResponse:
    """Who holds which role; OWNERs add, change and remove roles (SHARE, checked by the
    service). Every change is one ``updateRoles`` call, so the last-owner rule applies."""
    if request.method == "GET":
        return _sharing_tab(request, repository_id)
    entry, row, message = _role_change(request.POST)
    try:
        repository_share(
            actor=request.user,
            repository_id=repository_id,
            data={"operation": "updateRoles", "roles": [entry]},
        )
    except (Invalid, Conflict) as problem:
        detail = (
            " ".join(p.msg for p in problem.problems)
            if isinstance(problem, Invalid)
            else problem.detail
        )
        # The add form keeps what was typed; a row shows its role as it still is.
        typed = (
            {
                "typed": request.POST.get("q", ""),
                "typed_kind": request.POST.get("recipient_type", "user"),
                "typed_role": request.POST.get("role", ""),
            }
            if row == ADD_ROW
            else {}
        )
        return _sharing_tab(
            request,
            repository_id,
            status=problem.status_code,
            problem_row=row,
            problem=detail,
            **typed,
        )
    detail_url = reverse("repository-detail", args=[repository_id]) + "?tab=sharing"
    if not wants_fragment(request):
        return redirect_client(request, detail_url, message)
    try:
        return toast(_sharing_tab(request, repository_id), message)
    except NotFound:
        # The owner removed their own access (another OWNER remains): nothing left to show.
        return redirect_client(request, reverse("repository-list"), message)


@login_required
@require_GET
@domain_errors_as_http
@route_permission(Audience.SIGNED_IN)
def recipient_search(request: HttpRequest) -> HttpResponse:
    """Suggestions for the sharing form: users and teams whose name starts with ``q``."""
    term = request.GET.get("q", "")
    recipients = recipients_matching(user=request.user, term=term)
    return render(
        request, "repositories/recipients.html", {"recipients": recipients, "term": term.strip()}
    )
