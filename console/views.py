"""The console's first pages: the shell and the repository list."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from console.permissions import Audience, PageRights, route_permission
from repositories.schemas import RepositoryListQuery
from repositories.selectors import repository_list

PAGE_SIZE = 25


@login_required
@route_permission(Audience.SIGNED_IN)
def home(request: HttpRequest) -> HttpResponse:
    """The repositories the signed-in user can see, newest first."""
    query = RepositoryListQuery(search=request.GET.get("search") or None, limit=PAGE_SIZE)
    repositories = list(repository_list(user=request.user, query=query)[:PAGE_SIZE])
    page_rights = PageRights(request.user, repositories)
    rows = [(repo, sorted(a.api_name for a in page_rights.of(repo))) for repo in repositories]
    return render(request, "console/home.html", {"rows": rows, "search": query.search or ""})
