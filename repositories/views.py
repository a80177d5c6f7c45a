"""Repository pages of the console. Each view parses, calls a selector or service, renders."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods
from pydantic import ValidationError

from artifacts.models import Artifact
from artifacts.schemas import ArtifactListQuery
from artifacts.selectors import artifact_list
from console.audit_api import audit_events
from console.errors import Conflict, Forbidden, Invalid
from console.htmx import redirect_client, render_page, toast
from console.permissions import Action, Audience, PageRights, rights, route_permission
from console.sharing import ROLES_BY_STRENGTH, grants, role_of
from console.web import domain_errors_as_http
from repositories.models import ArtifactRepository
from repositories.schemas import RepositoryListQuery
from repositories.selectors import repository_get, repository_list
from repositories.services import repository_delete, repository_update
from workloads.schemas import WorkloadListQuery
from workloads.selectors import workload_list

PAGE_SIZE = 20
SCOPES = {"all": "All I can see", "mine": "Created by me", "shared": "Shared with me"}
SORTS = {
    "-updatedAt": "Recently updated",
    "name": "Name",
    "-createdAt": "Newest",
    "-lastVersionNumber": "Most versions",
}


def _list_query(params: Any) -> RepositoryListQuery:
    """The list's query from the URL; anything unusable falls back to the defaults."""
    values = {
        "search": params.get("search") or None,
        "type": params.get("type") or None,
        "orderBy": params.get("sort") if params.get("sort") in SORTS else "-updatedAt",
        "offset": params.get("offset") or 0,
        "limit": PAGE_SIZE,
    }
    try:
        return RepositoryListQuery.model_validate(values)
    except ValidationError:
        return RepositoryListQuery(order_by="-updatedAt", limit=PAGE_SIZE)


@login_required
@require_GET
@route_permission(Audience.SIGNED_IN)
def repository_list_page(request: HttpRequest) -> HttpResponse:
    """Search as you type, filters, sort and pages; the URL always holds the state."""
    query = _list_query(request.GET)
    scope = request.GET.get("scope", "all")
    scope = scope if scope in SCOPES else "all"
    matches = repository_list(user=request.user, query=query, scope=scope)
    total = matches.count()
    page = list(matches[query.offset : query.offset + PAGE_SIZE])
    page_rights = PageRights(request.user, page)
    rows = [(repository, role_of(page_rights.of(repository))) for repository in page]
    params = request.GET.copy()
    params.pop("offset", None)
    context = {
        "nav": "repositories",
        "rows": rows,
        "total": total,
        "query": query,
        "scope": scope,
        "scopes": SCOPES,
        "sorts": SORTS,
        "sort": query.order_by,
        "previous_offset": max(query.offset - PAGE_SIZE, 0) if query.offset else None,
        "next_offset": query.offset + PAGE_SIZE if query.offset + PAGE_SIZE < total else None,
        "base_params": params.urlencode(),
    }
    return render_page(request, "repositories/list.html", context, partial="results")


TABS = {
    "versions": "Locked versions",
    "drafts": "Drafts",
    "workloads": "Workloads",
    "sharing": "Sharing",
    "activity": "Activity",
}
TAB_PAGE_SIZE = 25
# Enough hex digits to tell images apart at a glance; the full reference is in the title.
DIGEST_SHOWN = 12
# The delete dialog names the drafts that go with the repository, up to this many.
DRAFTS_NAMED = 50


@dataclass(frozen=True)
class ImageRef:
    """One container's image as the page shows it."""

    container: str
    uri: str
    label: str


def image_refs(spec: dict[str, Any]) -> list[ImageRef]:
    """The image of every container; pinned images show their digest, shortened."""
    refs = []
    for group in spec.get("containerGroups", []):
        for container in group.get("containers", []):
            uri = container.get("imageUri") or ""
            refs.append(ImageRef(container.get("name", ""), uri, _image_label(uri)))
    return refs


def _image_label(uri: str) -> str:
    if not uri:
        return "built from source"
    _, at, digest = uri.partition("@")
    if at and digest.startswith("sha256:"):
        return f"@sha256:{digest.removeprefix('sha256:')[:DIGEST_SHOWN]}…"
    return uri.rsplit("/", 1)[-1]


def _artifacts_of(
    request: HttpRequest, repository: ArtifactRepository, status: str, order_by: str, offset: int
) -> list[Artifact]:
    query = ArtifactListQuery(repository_id=repository.pk, status=status, order_by=order_by)
    return list(artifact_list(user=request.user, query=query)[offset : offset + TAB_PAGE_SIZE])


def _offset(request: HttpRequest) -> int:
    value = request.GET.get("offset", "")
    return int(value) if value.isdigit() else 0


def repository_page(
    request: HttpRequest, repository_id: str, tab: str = "versions", **extra: Any
) -> dict[str, Any]:
    """Everything the repository page shows: the head, the tabs and the chosen tab's rows.

    A fixed number of queries whatever the repository holds: the repository with its
    counts, the caller's rights, and one page of the chosen tab.
    """
    repository = repository_get(user=request.user, repository_id=repository_id)
    granted = rights(request.user, repository)
    num_drafts: int = repository.num_drafts  # type: ignore[attr-defined]
    num_versions: int = repository.num_artifacts - num_drafts  # type: ignore[attr-defined]
    tab = tab if tab in TABS else "versions"
    offset = _offset(request) if tab != "sharing" else 0
    context: dict[str, Any] = {
        "nav": "repositories",
        "repository": repository,
        "role": role_of(granted),
        "can_edit": Action.EDIT in granted,
        "can_delete": Action.DELETE in granted,
        "can_share": Action.SHARE in granted,
        "tab": tab,
        "tabs": [
            (key, label, {"versions": num_versions, "drafts": num_drafts}.get(key))
            for key, label in TABS.items()
        ],
        "num_versions": num_versions,
    }
    total = 0
    if tab == "activity":
        events = audit_events(user=request.user).filter(
            guard_type="repository", guard_id=repository.pk
        )
        total = events.count()
        context["events"] = list(events[offset : offset + TAB_PAGE_SIZE])
    elif tab == "versions":
        total = num_versions
        versions = _artifacts_of(request, repository, "locked", "-version", offset)
        context["rows"] = [(artifact, image_refs(artifact.spec)) for artifact in versions]
        context["shows_creation"] = offset + TAB_PAGE_SIZE >= total
    elif tab == "drafts":
        total = num_drafts
        drafts = _artifacts_of(request, repository, "draft", "-updatedAt", offset)
        context["rows"] = [(artifact, image_refs(artifact.spec)) for artifact in drafts]
    elif tab == "workloads":
        # Those the caller may see, of every artifact of the repository.
        query = WorkloadListQuery(repository_id=repository.pk)
        workloads = workload_list(user=request.user, query=query)
        total = workloads.count()
        context["workloads"] = list(workloads[offset : offset + TAB_PAGE_SIZE])
    else:
        # Each grant with the key of its row, where a refused change is explained.
        context["grants"] = [
            (grant, f"{grant.recipient_type}:{grant.recipient_id}") for grant in grants(repository)
        ]
        context["roles"] = [(role.value, role.value.capitalize()) for role in ROLES_BY_STRENGTH]
    context["previous_offset"] = max(offset - TAB_PAGE_SIZE, 0) if offset else None
    context["next_offset"] = offset + TAB_PAGE_SIZE if offset + TAB_PAGE_SIZE < total else None
    context.update(extra)
    return context


def _region(request: HttpRequest) -> str | None:
    """The region an htmx request swaps: the head (rename, cancel) or the tabs. Anything
    else, such as htmx following a redirect to this page, gets the whole page."""
    return {"repository-head": "head", "repository-tabs": "tabs"}.get(
        request.headers.get("HX-Target", "")
    )


@login_required
@require_GET
@domain_errors_as_http
@route_permission(Action.VIEW, on="repository")
def repository_detail(request: HttpRequest, repository_id: str) -> HttpResponse:
    """The repository with its tabs; ``?tab=`` picks one, so every tab has its own URL."""
    context = repository_page(request, repository_id, request.GET.get("tab", "versions"))
    return render_page(request, "repositories/detail.html", context, partial=_region(request))


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors_as_http
@route_permission(Action.EDIT, on="repository")
def repository_edit(request: HttpRequest, repository_id: str) -> HttpResponse:
    """Rename and describe in place: the page head becomes a form, errors shown inline."""
    if request.method == "GET":
        context = repository_page(request, repository_id, editing=True)
        if not context["can_edit"]:
            raise Forbidden()
        repository = context["repository"]
        context["form"] = {"name": repository.name, "description": repository.description}
        return render_page(request, "repositories/detail.html", context, partial="head")
    data = {
        "name": request.POST.get("name", ""),
        "description": request.POST.get("description", ""),
    }
    try:
        repository = repository_update(actor=request.user, repository_id=repository_id, data=data)
    except Invalid as invalid:
        errors = {str(problem.loc[0]): problem.msg for problem in invalid.problems if problem.loc}
        context = repository_page(request, repository_id, editing=True, form=data, errors=errors)
        return render_page(request, "repositories/detail.html", context, partial="head", status=422)
    if request.headers.get("HX-Request") != "true":
        return redirect_client(
            request, reverse("repository-detail", args=[repository.pk]), "Saved."
        )
    context = repository_page(request, repository_id)
    return toast(
        render_page(request, "repositories/detail.html", context, partial="head"), "Saved."
    )


def _delete_context(request: HttpRequest, repository_id: str) -> dict[str, Any]:
    repository = repository_get(user=request.user, repository_id=repository_id)
    if Action.DELETE not in rights(request.user, repository):
        raise Forbidden()
    query = ArtifactListQuery(repository_id=repository.pk, status="draft", order_by="name")
    drafts = artifact_list(user=request.user, query=query).values_list("name", flat=True)
    num_drafts: int = repository.num_drafts  # type: ignore[attr-defined]
    return {
        "nav": "repositories",
        "repository": repository,
        "draft_names": list(drafts[:DRAFTS_NAMED]),
        "num_drafts": num_drafts,
        "more_drafts": max(num_drafts - DRAFTS_NAMED, 0),
        "num_versions": repository.num_artifacts - num_drafts,  # type: ignore[attr-defined]
    }


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors_as_http
@route_permission(Action.DELETE, on="repository")
def repository_delete_view(request: HttpRequest, repository_id: str) -> HttpResponse:
    """GET: a dialog saying what goes with the repository; POST: delete it."""
    context = _delete_context(request, repository_id)
    if request.method == "POST":
        try:
            repository_delete(actor=request.user, repository_id=repository_id)
        except Conflict as conflict:
            context["error"] = conflict.detail
            return render_page(
                request, "repositories/delete.html", context, partial="dialog", status=409
            )
        name = context["repository"].name
        return redirect_client(
            request, reverse("repository-list"), f"Deleted the repository {name}."
        )
    return render_page(request, "repositories/delete.html", context, partial="dialog")
