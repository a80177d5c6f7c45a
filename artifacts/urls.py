from __future__ import annotations

from django.urls import path

from artifacts import build_views, editor_views, views

urlpatterns = [
    path("new/", editor_views.artifact_new, name="artifact-new"),
    path("<str:artifact_id>/", views.artifact_detail, name="artifact-detail"),
    path("<str:artifact_id>/edit/", editor_views.artifact_edit, name="artifact-edit"),
    path("<str:artifact_id>/lock/", views.artifact_lock_view, name="artifact-lock"),
    path("<str:artifact_id>/clone/", views.artifact_clone_view, name="artifact-clone"),
    path("<str:artifact_id>/delete/", views.artifact_delete_view, name="artifact-delete"),
    path(
        "<str:artifact_id>/source/",
        build_views.artifact_source_upload,
        name="artifact-source-upload",
    ),
    path("<str:artifact_id>/builds/", build_views.artifact_builds, name="artifact-builds"),
    path(
        "<str:artifact_id>/builds/start/",
        build_views.artifact_build_start,
        name="artifact-build-start",
    ),
    path(
        "<str:artifact_id>/builds/<str:build_id>/",
        build_views.artifact_build_log,
        name="artifact-build-log",
    ),
    path(
        "<str:artifact_id>/builds/<str:build_id>/cancel/",
        build_views.artifact_build_cancel,
        name="artifact-build-cancel",
    ),
]
