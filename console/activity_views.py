"""The console's Activity page: the audit log, as far as the user may see it."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from console.audit_api import audit_events
from console.htmx import render_page
from console.permissions import Audience, route_permission

PAGE_SIZE = 50


@login_required
@require_GET
@route_permission(Audience.SIGNED_IN)
def activity(request: HttpRequest) -> HttpResponse:
    """Newest first; ``?search=`` narrows by action or object, the URL keeps the state."""
    events = audit_events(user=request.user)
    search = request.GET.get("search", "").strip()
    if search:
        events = events.filter(Q(action__icontains=search) | Q(object_name__icontains=search))
    offset = int(request.GET["offset"]) if request.GET.get("offset", "").isdigit() else 0
    total = events.count()
    context = {
        "nav": "activity",
        "events": list(events[offset : offset + PAGE_SIZE]),
        "search": search,
        "total": total,
        "previous_offset": max(offset - PAGE_SIZE, 0) if offset else None,
        "next_offset": offset + PAGE_SIZE if offset + PAGE_SIZE < total else None,
    }
    return render_page(request, "console/activity.html", context, partial="events")
