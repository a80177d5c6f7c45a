from __future__ import annotations

from django.urls import path

from workloads import views

urlpatterns = [
    path("", views.workload_list_page, name="workload-list"),
    path("new/", views.workload_new, name="workload-new"),
    path("<str:workload_id>/", views.workload_detail, name="workload-detail"),
    path("<str:workload_id>/status/", views.workload_status, name="workload-status"),
    path("<str:workload_id>/settings/", views.workload_settings, name="workload-settings"),
    path("<str:workload_id>/start/", views.workload_start_view, name="workload-start"),
    path("<str:workload_id>/stop/", views.workload_stop_view, name="workload-stop"),
    path("<str:workload_id>/promote/", views.workload_promote, name="workload-promote"),
    path("<str:workload_id>/delete/", views.workload_delete, name="workload-delete"),
    path("<str:workload_id>/stats/clear/", views.workload_stats_clear, name="workload-stats-clear"),
]
