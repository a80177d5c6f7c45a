from __future__ import annotations

from django.urls import path

from repositories import views

urlpatterns = [
    path("", views.repository_list_page, name="repository-list"),
]
