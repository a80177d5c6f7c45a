from __future__ import annotations

from django.urls import path

from repositories import sharing_views, views

urlpatterns = [
    path("", views.repository_list_page, name="repository-list"),
    path("<str:repository_id>/", views.repository_detail, name="repository-detail"),
    path("<str:repository_id>/edit/", views.repository_edit, name="repository-edit"),
    path("<str:repository_id>/delete/", views.repository_delete_view, name="repository-delete"),
    path(
        "<str:repository_id>/sharing/", sharing_views.repository_sharing, name="repository-sharing"
    ),
]
