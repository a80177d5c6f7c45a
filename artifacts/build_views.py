"""Console pages for builds: upload source, start, watch the log live, cancel.

The builds list and the log poll while a build is active and stop (HTTP 286) once it has
ended, so an idle page costs nothing.
"""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET, require_POST

from artifacts import selectors
from artifacts.build_logs import build_log_text
from artifacts.builds import build_cancel, build_start
from artifacts.containers import built_from_source
from artifacts.rights import artifact_rights
from artifacts.sources import source_upload
from console.errors import Conflict, Invalid
from console.htmx import render_page, toast
from console.permissions import Action, rights, route_permission
from console.web import domain_errors_as_http

STOP_POLLING = 286  # htmx stops polling an element that gets this status


def builds_context(request: HttpRequest, artifact_id: str) -> dict[str, object]:
    """What the builds region of the artifact page shows (also used by the artifact page)."""
    artifact = selectors.artifact_get(user=request.user, artifact_id=artifact_id)
    builds = list(selectors.builds_of(user=request.user, artifact_id=artifact_id)[:20])
    return {
        "artifact": artifact,
        "builds": builds,
        "buildable": [c["name"] for _, c in built_from_source(artifact.spec)],
        "can_build": Action.EDIT in artifact_rights(artifact, rights(request.user, artifact)),
        "polling": any(build.is_active for build in builds),
    }


def _builds_region(
    request: HttpRequest, artifact_id: str, *, message: str = "", error: str = "", status: int = 200
) -> HttpResponse:
    context = {**builds_context(request, artifact_id), "message": message, "error": error}
    if status == 200 and not context["polling"] and "poll" in request.GET:
        status = STOP_POLLING
    return render_page(request, "artifacts/builds.html", context, partial="builds", status=status)


@login_required
@require_GET
@domain_errors_as_http
@route_permission(Action.VIEW, on="artifact")
def artifact_builds(request: HttpRequest, artifact_id: str) -> HttpResponse:
    return _builds_region(request, artifact_id)


@login_required
@require_POST
@domain_errors_as_http
@route_permission(Action.EDIT, on="artifact")
def artifact_source_upload(request: HttpRequest, artifact_id: str) -> HttpResponse:
    upload = request.FILES.get("file")
    if upload is None:
        return _builds_region(
            request, artifact_id, error="Choose an archive to upload.", status=422
        )
    try:
        source = source_upload(
            actor=request.user,
            artifact_id=artifact_id,
            upload=upload,
            container=request.POST.get("container") or None,
        )
    except (Invalid, Conflict) as problem:
        return _builds_region(
            request, artifact_id, error=problem.detail, status=problem.status_code
        )
    message = (
        f"Uploaded {source.filename} for {source.container_name} "
        f"({source.file_count} file{'s' if source.file_count != 1 else ''}, "
        f"sha256 {source.sha256[:12]}…)."
    )
    return toast(_builds_region(request, artifact_id, message=message), message)


@login_required
@require_POST
@domain_errors_as_http
@route_permission(Action.EDIT, on="artifact")
def artifact_build_start(request: HttpRequest, artifact_id: str) -> HttpResponse:
    try:
        builds = build_start(actor=request.user, artifact_id=artifact_id)
    except (Invalid, Conflict) as problem:
        return _builds_region(
            request, artifact_id, error=problem.detail, status=problem.status_code
        )
    names = ", ".join(build.container_name for build in builds)
    return toast(_builds_region(request, artifact_id), f"Building {names}.")


@login_required
@require_POST
@domain_errors_as_http
@route_permission(Action.EDIT, on="artifact")
def artifact_build_cancel(request: HttpRequest, artifact_id: str, build_id: str) -> HttpResponse:
    try:
        build_cancel(actor=request.user, artifact_id=artifact_id, build_id=build_id)
    except Conflict as conflict:
        return _builds_region(request, artifact_id, error=conflict.detail, status=409)
    return toast(_builds_region(request, artifact_id), "Cancelling the build.")


@login_required
@require_GET
@domain_errors_as_http
@route_permission(Action.VIEW, on="artifact")
def artifact_build_log(request: HttpRequest, artifact_id: str, build_id: str) -> HttpResponse:
    """The log page; with ``?after=N`` (polling) only the lines after chunk N."""
    build = selectors.build_get(user=request.user, artifact_id=artifact_id, build_id=build_id)
    after = int(request.GET["after"]) if request.GET.get("after", "").lstrip("-").isdigit() else -1
    text, last = build_log_text(build.id, after)
    context = {
        "artifact": build.artifact,
        "build": build,
        "records": [json.loads(line) for line in text.splitlines() if line],
        "last": last,
        "can_cancel": build.is_active and Action.EDIT in rights(request.user, build.artifact),
    }
    if "after" in request.GET:
        status = 200 if build.is_active else STOP_POLLING
        return render_page(
            request, "artifacts/build_log.html", context, partial="more", status=status
        )
    return render_page(request, "artifacts/build_log.html", context)
