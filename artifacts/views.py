"""The artifact page and its dialogs (lock, clone, delete).

Each view parses, calls one selector or service, and renders. Dialogs are server-rendered
``<dialog data-open>`` fragments for htmx and whole pages without JavaScript; every
mutation is a POST that also works as a plain form (303 back to a page).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import yaml
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from artifacts.build_views import builds_context
from artifacts.constants import DEFAULT_GROUP_NAME
from artifacts.diff import Change, artifact_diff, comparable, path_label
from artifacts.models import Artifact
from artifacts.rights import artifact_rights
from artifacts.selectors import artifact_page_get, previous_version
from artifacts.services import artifact_clone, artifact_delete, artifact_lock
from artifacts.validators import lock_problems
from console.errors import Conflict, Invalid, Problem
from console.htmx import redirect_client, render_page, toast, trigger, wants_fragment
from console.permissions import Action, require, rights, route_permission
from console.web import domain_errors_as_http

TABS = {
    "containers": "Containers",
    "builds": "Builds",
    "json": "JSON",
    "yaml": "YAML",
    "changes": "Changes",
}
PROBES = (
    ("readinessProbe", "Readiness"),
    ("livenessProbe", "Liveness"),
    ("startupProbe", "Startup"),
)


@login_required
@require_GET
@domain_errors_as_http
@route_permission(Action.VIEW, on="artifact")
def artifact_detail(request: HttpRequest, artifact_id: str) -> HttpResponse:
    """Header with status and actions, then tabs: containers, JSON, YAML, changes."""
    artifact = artifact_page_get(user=request.user, artifact_id=artifact_id)
    tab = request.GET.get("tab", "")
    tab = tab if tab in TABS else "containers"
    context = {
        **_header_context(request, artifact),
        "tabs": TABS,
        "tab": tab,
        "tab_label": TABS[tab],
        **(
            builds_context(request, artifact.id) if tab == "builds" else _tab_context(artifact, tab)
        ),
    }
    # Only the tab links swap the panel alone; other htmx requests for this page (the
    # HX-Location after a clone) replace the whole body and need the whole page.
    partial = "panel" if request.headers.get("HX-Target") == "tab-panel" else None
    return render_page(request, "artifacts/detail.html", context, partial=partial)


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors_as_http
@route_permission(Action.EDIT, on="artifact")
def artifact_lock_view(request: HttpRequest, artifact_id: str) -> HttpResponse:
    """GET: the confirmation dialog. POST: lock, then update the page's header in place."""
    if request.method == "GET":
        artifact = _editable(request, artifact_id)
        return _lock_dialog(request, artifact, _lock_blockers(artifact))
    try:
        artifact_lock(actor=request.user, artifact_id=artifact_id)
    except Invalid as invalid:
        artifact = artifact_page_get(user=request.user, artifact_id=artifact_id)
        return _lock_dialog(request, artifact, _labelled(invalid.problems, artifact), status=422)
    except Conflict as conflict:
        artifact = artifact_page_get(user=request.user, artifact_id=artifact_id)
        return _lock_dialog(request, artifact, [], error=conflict.detail, status=409)
    locked = artifact_page_get(user=request.user, artifact_id=artifact_id)
    message = f"Locked as version {locked.version}"
    if not wants_fragment(request):
        return _redirect(request, reverse("artifact-detail", args=[locked.pk]), message)
    # The dialog's form targets the dialog itself: this empty main answer removes it, and
    # the header (status, version, actions) is swapped out of band.
    context = {**_header_context(request, locked), "oob": True}
    response = render(request, "artifacts/detail.html#header", context)
    trigger(response, **{"artifact:changed": {"id": locked.pk}})
    return toast(response, message)


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors_as_http
@route_permission(Action.EDIT, on="artifact")
def artifact_clone_view(request: HttpRequest, artifact_id: str) -> HttpResponse:
    """GET: ask for the new draft's name. POST: clone and go to the new draft."""
    if request.method == "GET":
        artifact = _editable(request, artifact_id)
        return _dialog(request, "clone", artifact, {"name": artifact.name})
    name = request.POST.get("name", "")
    try:
        clone = artifact_clone(actor=request.user, artifact_id=artifact_id, data={"name": name})
    except Invalid as invalid:
        artifact = artifact_page_get(user=request.user, artifact_id=artifact_id)
        context = {
            "name": name,
            "name_errors": [p.msg for p in invalid.problems if p.loc[:1] == ("name",)],
            "errors": [p.msg for p in invalid.problems if p.loc[:1] != ("name",)],
        }
        return _dialog(request, "clone", artifact, context, status=422)
    url = reverse("artifact-detail", args=[clone.pk])
    return _redirect(request, url, f"Cloned into a new draft “{clone.name}”")


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors_as_http
@route_permission(Action.EDIT, on="artifact")
def artifact_delete_view(request: HttpRequest, artifact_id: str) -> HttpResponse:
    """GET: what deleting does, or why a locked version cannot go. POST: delete the draft."""
    if request.method == "GET":
        artifact = _editable(request, artifact_id)
        return _dialog(request, "delete", artifact, {})
    # Read first: after the delete there is nothing left to name the repository by.
    artifact = artifact_page_get(user=request.user, artifact_id=artifact_id)
    try:
        artifact_delete(actor=request.user, artifact_id=artifact_id)
    except Conflict as conflict:
        return _dialog(request, "delete", artifact, {"error": conflict.detail}, status=409)
    url = reverse("repository-detail", args=[artifact.repository_id])
    return _redirect(request, url, f"Deleted the draft “{artifact.name}”")


def _editable(request: HttpRequest, artifact_id: str) -> Artifact:
    """The artifact for a dialog that leads to a change: only for those who may edit."""
    artifact = artifact_page_get(user=request.user, artifact_id=artifact_id)
    require(request.user, Action.EDIT, artifact)
    return artifact


def _header_context(request: HttpRequest, artifact: Artifact) -> dict[str, Any]:
    held = rights(request.user, artifact)
    may_edit = Action.EDIT in held
    return {
        "nav": "repositories",
        "artifact": artifact,
        "repository": artifact.repository,
        "can_clone": may_edit,
        # Editing, locking and deleting apply to drafts only; locked versions are permanent.
        "can_change": Action.EDIT in artifact_rights(artifact, held),
        # Who may run it: editors run drafts; anyone who sees a locked version runs it.
        "can_run": may_edit or artifact.is_locked,
    }


def _tab_context(artifact: Artifact, tab: str) -> dict[str, Any]:
    """What one tab shows; each tab computes only its own content."""
    spec = artifact.spec
    if tab == "json":
        return {"spec_text": json.dumps(spec, indent=2, ensure_ascii=False)}
    if tab == "yaml":
        return {"spec_text": yaml.safe_dump(spec, sort_keys=False, allow_unicode=True)}
    if tab == "changes":
        previous = previous_version(artifact=artifact)
        changes = artifact_diff(previous, artifact) if previous else []
        return {"previous": previous, "changes": [_change_row(c) for c in changes]}
    return {"groups": _groups(spec), "storage": spec.get("storage")}


def _groups(spec: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The spec's groups, each container with its probes gathered for one table."""
    return [
        {
            "name": group.get("name", DEFAULT_GROUP_NAME),
            "containers": [
                {
                    **container,
                    "probes": [
                        (label, container[field]) for field, label in PROBES if container.get(field)
                    ],
                }
                for container in group.get("containers", [])
            ],
        }
        for group in spec.get("containerGroups", [])
    ]


def _change_row(change: Change) -> dict[str, Any]:
    """A change with its values as JSON, so an empty string or a list reads unambiguously."""
    return {
        "path": change.path,
        # Long paths wrap between their parts, never inside a name.
        "path_parts": change.path.split("."),
        "kind": change.kind,
        "before": "" if change.kind == "added" else _as_json(change.before),
        "after": "" if change.kind == "removed" else _as_json(change.after),
    }


def _as_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _lock_blockers(artifact: Artifact) -> list[tuple[str, str]]:
    """Why a draft cannot be locked yet, said before anyone presses the button."""
    if artifact.is_locked:
        return []
    return _labelled(lock_problems(artifact.spec, artifact_type=artifact.type), artifact)


def _labelled(problems: Iterable[Problem], artifact: Artifact) -> list[tuple[str, str]]:
    """Problems with their location named (``spec.containerGroups[default]...``)."""
    return [(path_label(p.loc, comparable(artifact)), p.msg) for p in problems]


def _lock_dialog(
    request: HttpRequest,
    artifact: Artifact,
    blockers: list[tuple[str, str]],
    *,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    context = {
        "next_version": artifact.repository.last_version_number + 1,
        "blockers": blockers,
        "error": error,
        "can_lock": not artifact.is_locked and not blockers,
    }
    return _dialog(request, "lock", artifact, context, status=status)


def _dialog(
    request: HttpRequest,
    name: str,
    artifact: Artifact,
    context: dict[str, Any],
    *,
    status: int = 200,
) -> HttpResponse:
    """The dialog alone for htmx; without JavaScript, a page holding it, already open."""
    context = {
        "nav": "repositories",
        "artifact": artifact,
        "repository": artifact.repository,
        "standalone": not wants_fragment(request),
        **context,
    }
    return render_page(
        request, f"artifacts/dialogs/{name}.html", context, partial="dialog", status=status
    )


def _redirect(request: HttpRequest, url: str, message: str) -> HttpResponse:
    """Go to ``url`` with ``message``: a toast for htmx, a session message for a plain form."""
    if request.headers.get("HX-Request") == "true":
        return redirect_client(request, url, message)
    messages.success(request, message)
    return redirect_client(request, url)
