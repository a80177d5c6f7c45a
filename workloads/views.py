"""The workload pages of the console: the list, a workload's page and its actions, and the
form that starts a new one.

Each view parses, calls one service or selector of ``workloads``, and renders. The page's
status region polls while something changes and stops (HTTP 286) once settled; the
settings form comes back with 422 and the problems next to their fields; promote and
delete ask first in a ``<dialog>``. Every POST also works as a plain form (303).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from pydantic import ValidationError

from artifacts.selectors import artifact_get
from console.errors import Conflict, Forbidden, Invalid, Problem
from console.htmx import redirect_client, render_page, toast, trigger, wants_fragment
from console.permissions import (
    Action,
    Audience,
    PageRights,
    may_stop,
    require,
    rights,
    route_permission,
)
from console.sharing import role_of
from console.web import domain_errors_as_http
from workloads import forms, services
from workloads.constants import LIVE_STATUSES, Importance, WorkloadStatus
from workloads.models import Workload
from workloads.schemas import WorkloadListQuery
from workloads.selectors import workload_get, workload_history, workload_list, workload_protons
from workloads.stats import stats_of, stats_series

PAGE_SIZE = 20
HISTORY_SHOWN = 20
STOP_POLLING = 286  # htmx stops polling an element that gets this status
# While containers start or stop, the status changes within seconds; a settled draft
# workload is polled only to count its time to live down.
BUSY_POLL = "2s"
COUNTDOWN_POLL = "30s"
BUSY_STATUSES = (WorkloadStatus.SUBMITTED, WorkloadStatus.PROVISIONING, WorkloadStatus.STOPPING)


def endpoint_path(workload: Workload) -> str:
    return reverse("workload-invoke", args=[workload.pk, ""])


def time_left(expires_at: datetime | None) -> str:
    """``7 h 59 min``: what remains of a draft workload's time to live; "" once it is over."""
    if expires_at is None:
        return ""
    seconds = int((expires_at - timezone.now()).total_seconds())
    if seconds <= 0:
        return ""
    hours, minutes = seconds // 3600, seconds % 3600 // 60
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min" if minutes else "less than a minute"


# --- the list -----------------------------------------------------------------------------


def _list_query(params: Any) -> WorkloadListQuery:
    """The list's query from the URL; anything unusable falls back to the defaults."""
    values = {
        "search": params.get("search") or None,
        "status": params.get("status") or None,
        "offset": params.get("offset") or 0,
        "limit": PAGE_SIZE,
        "orderBy": "-createdAt",
    }
    try:
        return WorkloadListQuery.model_validate(values)
    except ValidationError:
        return WorkloadListQuery(limit=PAGE_SIZE, order_by="-createdAt")


@login_required
@require_GET
@route_permission(Audience.SIGNED_IN)
def workload_list_page(request: HttpRequest) -> HttpResponse:
    """Search as you type, a status filter and pages; the URL holds the state."""
    query = _list_query(request.GET)
    matches = workload_list(user=request.user, query=query)
    total = matches.count()
    page = list(matches[query.offset : query.offset + PAGE_SIZE])
    params = request.GET.copy()
    params.pop("offset", None)
    context = {
        "nav": "workloads",
        "rows": [(w, endpoint_path(w), time_left(w.expires_at)) for w in page],
        "total": total,
        "query": query,
        "statuses": WorkloadStatus.choices,
        "previous_offset": max(query.offset - PAGE_SIZE, 0) if query.offset else None,
        "next_offset": query.offset + PAGE_SIZE if query.offset + PAGE_SIZE < total else None,
        "base_params": params.urlencode(),
    }
    return render_page(request, "workloads/list.html", context, partial="results")


# --- a workload's page ----------------------------------------------------------------------


def _stats_context(workload: Workload, granted: frozenset[Action]) -> dict[str, Any]:
    stats = stats_of(workload)
    series = stats_series(workload)
    return {
        "stats": stats,
        "error_percent": round(stats.error_rate * 100, 2),
        # The charts scale each slice to the busiest and the slowest.
        "series": series,
        "peak_requests": max(b.requests for b in series),
        "peak_rpm": max(b.requests_per_minute for b in series),
        "peak_latency": max(b.mean_latency_ms for b in series),
        "can_clear": Action.EDIT in granted,
    }


def _status_context(
    request: HttpRequest, workload: Workload, granted: frozenset[Action]
) -> dict[str, Any]:
    running = getattr(workload, "running_replacements", [])
    busy = workload.status in BUSY_STATUSES or bool(running)
    may_edit = Action.EDIT in granted
    return {
        "endpoint": request.build_absolute_uri(endpoint_path(workload)),
        "expires_in": time_left(workload.expires_at),
        "replacement": running[0] if running else None,
        "poll_every": BUSY_POLL if busy else COUNTDOWN_POLL if workload.expires_at else "",
        "can_start": may_edit and services.is_startable(workload),
        "can_stop": may_stop(granted) and services.is_stoppable(workload),
        "protons": list(workload_protons(user=request.user, workload_id=workload.pk)),
        "events": list(
            workload_history(user=request.user, workload_id=workload.pk)[:HISTORY_SHOWN]
        ),
    }


def _settings_context(
    workload: Workload,
    granted: frozenset[Action],
    values: dict[str, str] | None = None,
    problems: list[Problem] | None = None,
    error: str = "",
) -> dict[str, Any]:
    artifact = workload.artifact
    if values is None:
        values = forms.values_from_runtime(workload.runtime, artifact.spec, artifact.type)
    return {
        "settings": forms.SettingsForm(artifact.spec, artifact.type, values, problems or []),
        "settings_error": error,
        "can_edit": Action.EDIT in granted,
    }


def _page(request: HttpRequest, workload_id: str, **extra: Any) -> dict[str, Any]:
    """Everything the page shows; a fixed number of queries whatever the workload holds."""
    workload = workload_get(user=request.user, workload_id=workload_id)
    page_rights = PageRights(request.user, [workload])
    granted = page_rights.of(workload)
    context = {
        "nav": "workloads",
        "workload": workload,
        "artifact": workload.artifact,
        "role": role_of(granted),
        # Why Start, the settings or sharing are missing although the role would allow them.
        "authority_note": page_rights.refusal(workload),
        "can_promote": Action.EDIT in granted and not workload.artifact.is_locked,
        "can_delete": Action.DELETE in granted,
        **_status_context(request, workload, granted),
        **_settings_context(workload, granted),
        **_stats_context(workload, granted),
    }
    context.update(extra)
    return context


@login_required
@require_GET
@domain_errors_as_http
@route_permission(Action.VIEW, on="workload")
def workload_detail(request: HttpRequest, workload_id: str) -> HttpResponse:
    # The statistics' Refresh swaps that region alone; any other request gets the page.
    region = "stats" if request.headers.get("HX-Target") == "workload-stats" else None
    return render_page(
        request, "workloads/detail.html", _page(request, workload_id), partial=region
    )


def _status_region(
    request: HttpRequest, workload_id: str, *, error: str = "", status: int = 200
) -> HttpResponse:
    """The status region for htmx; the whole page, with the same message, without it."""
    if not wants_fragment(request):
        context = _page(request, workload_id, status_error=error)
    else:
        workload = workload_get(user=request.user, workload_id=workload_id)
        context = {
            "workload": workload,
            "artifact": workload.artifact,
            "status_error": error,
            # The history comes along out of band: a replacement or restart extends it.
            "history_oob": True,
            **_status_context(request, workload, rights(request.user, workload)),
        }
    if status == 200 and not context["poll_every"] and "poll" in request.GET:
        status = STOP_POLLING
    return render_page(request, "workloads/detail.html", context, partial="status", status=status)


@login_required
@require_GET
@domain_errors_as_http
@route_permission(Action.VIEW, on="workload")
def workload_status(request: HttpRequest, workload_id: str) -> HttpResponse:
    """The status region: polled while the workload changes, asked again after an action."""
    return _status_region(request, workload_id)


def _back_to_page(request: HttpRequest, workload_id: str, message: str) -> HttpResponse:
    return redirect_client(request, reverse("workload-detail", args=[workload_id]), message)


def _run_action(
    request: HttpRequest, workload_id: str, action: Callable[..., Workload], message: str
) -> HttpResponse:
    """Start or stop: the status region comes back (409 with the reason when refused, 403
    with the quota that was reached: the route already checked the permission)."""
    try:
        action(actor=request.user, workload_id=workload_id)
    except (Conflict, Forbidden) as refused:
        return _status_region(
            request, workload_id, error=refused.detail, status=refused.status_code
        )
    if not wants_fragment(request):
        return _back_to_page(request, workload_id, message)
    return toast(_status_region(request, workload_id), message)


@login_required
@require_POST
@domain_errors_as_http
@route_permission(Action.EDIT, on="workload")
def workload_start_view(request: HttpRequest, workload_id: str) -> HttpResponse:
    return _run_action(request, workload_id, services.workload_start, "Starting the workload.")


@login_required
@require_POST
@domain_errors_as_http
@route_permission(Action.DELETE, on="workload")  # EDIT or DELETE: may_stop
def workload_stop_view(request: HttpRequest, workload_id: str) -> HttpResponse:
    return _run_action(request, workload_id, services.workload_stop, "Stopping the workload.")


def _settings_region(
    request: HttpRequest, workload: Workload, *, status: int, **form: Any
) -> HttpResponse:
    """The settings form for htmx; without JavaScript, the whole page around it."""
    settings = _settings_context(workload, rights(request.user, workload), **form)
    context = (
        {"workload": workload, "artifact": workload.artifact, **settings}
        if wants_fragment(request)
        else _page(request, workload.pk, **settings)
    )
    return render_page(request, "workloads/detail.html", context, partial="settings", status=status)


@login_required
@require_POST
@domain_errors_as_http
@route_permission(Action.EDIT, on="workload")
def workload_settings(request: HttpRequest, workload_id: str) -> HttpResponse:
    """Draft artifact: saved and restarted (200). Locked version: a rolling replacement
    starts (202). Refused: the form again with the typed values (422, or 409)."""
    workload = workload_get(user=request.user, workload_id=workload_id)
    artifact = workload.artifact
    runtime = forms.runtime_from_post(request.POST, artifact.spec, artifact.type, workload.runtime)
    try:
        saved, replacing = services.workload_settings_update(
            actor=request.user, workload_id=workload_id, data={"runtime": runtime}
        )
    except (Invalid, Conflict) as refused:
        return _settings_region(
            request,
            workload,
            status=refused.status_code,
            values=forms.posted_settings(request.POST, artifact.spec, artifact.type),
            problems=list(refused.problems) if isinstance(refused, Invalid) else [],
            error=refused.detail if isinstance(refused, Conflict) else "",
        )
    if replacing:
        message = "A rolling replacement started: new replicas take traffic once ready."
    elif workload.status in LIVE_STATUSES:
        message = "Saved. The workload restarts with the new settings."
    else:
        message = "Saved. The settings apply when the workload next starts."
    if not wants_fragment(request):
        return _back_to_page(request, workload_id, message)
    response = _settings_region(request, saved, status=202 if replacing else 200)
    # The status region asks again: it shows the restart or the replacement, and polls.
    return toast(trigger(response, **{"workload:changed": {"id": workload_id}}), message)


@login_required
@require_POST
@domain_errors_as_http
@route_permission(Action.EDIT, on="workload")
def workload_stats_clear(request: HttpRequest, workload_id: str) -> HttpResponse:
    services.workload_stats_clear(actor=request.user, workload_id=workload_id)
    message = "Statistics cleared; counting starts afresh."
    if not wants_fragment(request):
        return _back_to_page(request, workload_id, message)
    workload = workload_get(user=request.user, workload_id=workload_id)
    context = {"workload": workload, **_stats_context(workload, rights(request.user, workload))}
    return toast(render_page(request, "workloads/detail.html", context, partial="stats"), message)


# --- dialogs: promote and delete ----------------------------------------------------------


def _dialog(
    request: HttpRequest, name: str, workload: Workload, status: int = 200, **extra: Any
) -> HttpResponse:
    """The dialog alone for htmx; without JavaScript, a page holding it, already open."""
    context = {
        "nav": "workloads",
        "workload": workload,
        "artifact": workload.artifact,
        "standalone": not wants_fragment(request),
        **extra,
    }
    return render_page(request, f"workloads/{name}.html", context, partial="dialog", status=status)


def _promote_dialog(
    request: HttpRequest, workload_id: str, status: int = 200, **extra: Any
) -> HttpResponse:
    workload = workload_get(user=request.user, workload_id=workload_id)
    require(request.user, Action.EDIT, workload)
    repository = workload.artifact.repository
    return _dialog(
        request,
        "promote",
        workload,
        status,
        repository=repository,
        next_version=repository.last_version_number + 1,
        **extra,
    )


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors_as_http
@route_permission(Action.EDIT, on="workload")
def workload_promote(request: HttpRequest, workload_id: str) -> HttpResponse:
    """GET: what promoting does. POST: lock the draft in place, then the page again."""
    if request.method == "GET":
        return _promote_dialog(request, workload_id)
    try:
        workload = services.workload_promote(actor=request.user, workload_id=workload_id)
    except Conflict as conflict:
        return _promote_dialog(request, workload_id, 409, error=conflict.detail)
    except Invalid as invalid:
        problems = [f"{forms.located(p.loc)}: {p.msg}" for p in invalid.problems]
        return _promote_dialog(request, workload_id, 422, problems=problems)
    # The service reads the workload back after the lock, so its artifact has the version.
    version = workload.artifact.version
    return _back_to_page(
        request, workload_id, f"Promoted: the artifact is locked as version {version}."
    )


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors_as_http
@route_permission(Action.DELETE, on="workload")
def workload_delete(request: HttpRequest, workload_id: str) -> HttpResponse:
    """GET: what deleting does. POST: stop every container, delete, back to the list."""
    workload = workload_get(user=request.user, workload_id=workload_id)
    require(request.user, Action.DELETE, workload)
    if request.method == "GET":
        return _dialog(request, "delete", workload)
    services.workload_delete(actor=request.user, workload_id=workload_id)
    return redirect_client(
        request, reverse("workload-list"), f"Deleted the workload “{workload.name}”."
    )


# --- a new workload -------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors_as_http
@route_permission(Audience.SIGNED_IN)
def workload_new(request: HttpRequest) -> HttpResponse:
    """Run an artifact (``?artifact=<id>``): name, description, importance and replicas."""
    artifact_id = request.POST.get("artifactId") or request.GET.get("artifact", "")
    artifact = artifact_get(user=request.user, artifact_id=artifact_id) if artifact_id else None
    context: dict[str, Any] = {
        "nav": "workloads",
        "artifact": artifact,
        "importances": Importance.choices,
        "form": {"name": artifact.name if artifact else "", "importance": "low", "replicas": "1"},
        "errors": {},
    }
    if request.method == "GET" or artifact is None:
        return render_page(request, "workloads/new.html", context)
    typed = {name: request.POST.get(name, "") for name in forms.NEW_FIELDS}
    body = forms.workload_body(request.POST, artifact.pk, artifact.spec)
    try:
        workload = services.workload_create(actor=request.user, data=body)
    except (Invalid, Conflict, Forbidden) as refused:
        # Forbidden: a quota reached, or EDIT missing on a draft; the message says which.
        problems = refused.problems if isinstance(refused, Invalid) else ()
        by_field = forms.ProblemsByField(problems, forms.new_field, set(forms.NEW_FIELDS))
        context.update(
            form=typed,
            errors={name: by_field.of(name) for name in forms.NEW_FIELDS},
            general=by_field.general + ([] if isinstance(refused, Invalid) else [refused.detail]),
        )
        return render_page(
            request, "workloads/new.html", context, partial="form", status=refused.status_code
        )
    return redirect_client(
        request,
        reverse("workload-detail", args=[workload.pk]),
        f"Started the workload “{workload.name}”.",
    )
