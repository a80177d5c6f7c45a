from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from console.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v2/", api.urls),
    path("repositories/", include("repositories.urls")),
    path("artifacts/", include("artifacts.urls")),
    path("", include("console.pages")),
]
