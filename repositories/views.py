"""Repository pages of the console. Each view parses, calls a selector or service, renders."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from pydantic import ValidationError

from console.htmx import render_page
from console.permissions import Audience, PageRights, route_permission
from console.sharing import role_of
from repositories.schemas import RepositoryListQuery
from repositories.selectors import repository_list

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


# PLACEHOLDERS being replaced in this session: repository pages.
@route_permission(Audience.SIGNED_IN)
def repository_detail(request: HttpRequest, repository_id: str) -> HttpResponse:
    raise Http404


@route_permission(Audience.SIGNED_IN)
def repository_edit(request: HttpRequest, repository_id: str) -> HttpResponse:
    raise Http404


@route_permission(Audience.SIGNED_IN)
def repository_delete_view(request: HttpRequest, repository_id: str) -> HttpResponse:
    raise Http404


@route_permission(Audience.SIGNED_IN)
def repository_sharing(request: HttpRequest, repository_id: str) -> HttpResponse:
    raise Http404


@route_permission(Audience.SIGNED_IN)
def recipient_search(request: HttpRequest) -> HttpResponse:
    raise Http404
