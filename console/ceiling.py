"""The benchmark ceiling: the cheapest JSON answer the server can give through Berth's own
middleware, so the harness in ``tests/perf`` can say how far each real endpoint is from it.

Routed only when ``BERTH_BENCH_CEILING`` is set (see the end of ``console/urls.py``).
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from console.permissions import Audience, route_permission


@require_GET
@route_permission(Audience.PUBLIC)
def ceiling_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})
