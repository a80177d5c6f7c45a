"""URLs of the browser console."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from console import activity_views, apikey_views, team_views
from console.login_views import ThrottledLoginView
from console.permissions import Audience, route_permission
from repositories.sharing_views import recipient_search
from repositories.views import repository_list_page

public = route_permission(Audience.PUBLIC)

urlpatterns = [
    # The repository list is the console's front page.
    path("", repository_list_page, name="home"),
    path("login/", public(ThrottledLoginView.as_view()), name="login"),
    path("logout/", public(auth_views.LogoutView.as_view()), name="logout"),
    path("teams/", team_views.team_list, name="team-list"),
    path("teams/<int:team_id>/", team_views.team_detail, name="team-detail"),
    path("recipients/", recipient_search, name="recipient-search"),
    path("activity/", activity_views.activity, name="activity"),
    path("api-keys/", apikey_views.apikey_list, name="apikey-list"),
    path("api-keys/<str:key_id>/revoke/", apikey_views.apikey_revoke, name="apikey-revoke"),
]
