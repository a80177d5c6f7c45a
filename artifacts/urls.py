from __future__ import annotations

from django.urls import path

from artifacts import editor_views, views

urlpatterns = [
    path("new/", editor_views.artifact_new, name="artifact-new"),
    path("<str:artifact_id>/", views.artifact_detail, name="artifact-detail"),
    path("<str:artifact_id>/edit/", editor_views.artifact_edit, name="artifact-edit"),
    path("<str:artifact_id>/lock/", views.artifact_lock_view, name="artifact-lock"),
    path("<str:artifact_id>/clone/", views.artifact_clone_view, name="artifact-clone"),
    path("<str:artifact_id>/delete/", views.artifact_delete_view, name="artifact-delete"),
]
