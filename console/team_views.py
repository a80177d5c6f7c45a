"""Team pages: staff read teams and their members; superusers also create teams and add
and remove members (``console.teams`` decides, the pages only hide what it would refuse)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import Group
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from console import teams
from console.errors import Conflict, Invalid
from console.permissions import Audience, route_permission, signed_in
from console.web import domain_errors_as_http


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors_as_http
@route_permission(Audience.STAFF)
def team_list(request: HttpRequest) -> HttpResponse:
    teams.require_staff(signed_in(request.user))
    error, status = "", 200
    if request.method == "POST":
        try:
            team = teams.team_create(
                actor=signed_in(request.user), name=request.POST.get("name", "")
            )
            return redirect("team-detail", team_id=team.pk)
        except (Invalid, Conflict) as problem:
            error, status = problem.detail, problem.status_code
    rows = Group.objects.order_by("name").prefetch_related("user_set")
    context = {
        "teams": rows,
        "error": error,
        "can_manage": teams.may_manage_teams(signed_in(request.user)),
    }
    return render(request, "console/teams.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors_as_http
@route_permission(Audience.STAFF)
def team_detail(request: HttpRequest, team_id: int) -> HttpResponse:
    teams.require_staff(signed_in(request.user))
    team = get_object_or_404(Group, pk=team_id)
    error, status = "", 200
    if request.method == "POST":
        change = (
            teams.team_remove_member
            if request.POST.get("action") == "remove"
            else teams.team_add_member
        )
        try:
            change(
                actor=signed_in(request.user),
                team=team.pk,
                username=request.POST.get("username", ""),
            )
            return redirect("team-detail", team_id=team.pk)
        except (Invalid, Conflict) as problem:
            error, status = problem.detail, problem.status_code
    members = team.user_set.order_by("username")
    context = {
        "team": team,
        "members": members,
        "error": error,
        "can_manage": teams.may_manage_teams(signed_in(request.user)),
    }
    return render(request, "console/team.html", context, status=status)
