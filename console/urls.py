from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path

from console.api import api
from console.ceiling import ceiling_view
from workloads.proxy import invoke

urlpatterns = [
    path("admin/", admin.site.urls),
    re_path(
        r"^api/v2/endpoints/workloads/(?P<workload_id>[0-9a-f]{24})/(?P<path>.*)$",
        invoke,
        name="workload-invoke",
    ),
    path("api/v2/", api.urls),
    path("repositories/", include("repositories.urls")),
    path("artifacts/", include("artifacts.urls")),
    path("workloads/", include("workloads.urls")),
    path("", include("console.pages")),
]

# Benchmarks only (tests/perf): the ceiling every endpoint is compared against.
if settings.BERTH_BENCH_CEILING:
    urlpatterns.append(path("bench/ceiling", ceiling_view))
