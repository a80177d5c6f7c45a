"""The invoke proxy: ``/api/v2/endpoints/workloads/{id}/{path}`` to a ready replica.

Authorised like the API (bearer key, or session with CSRF for writes) and needs VIEW on
the workload (CONSUMER or more). Requests go round robin to the ready replicas of the
active proton; the response is streamed back, and every forwarded request is counted
into the workload's statistics with its status and latency.
"""

from __future__ import annotations

import http.client
import itertools
import time
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.middleware.csrf import CsrfViewMiddleware
from django.views.decorators.csrf import csrf_exempt

from console.auth import user_for_key
from console.errors import NotFound
from console.permissions import Action, route_permission
from workloads.selectors import serving_replicas, workload_get
from workloads.stats import record_invoke

# Headers that describe one hop, not the message (RFC 9110 §7.6.1), and our credentials,
# which are for Berth and must never reach the workload.
DROPPED_REQUEST_HEADERS = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "authorization",
    "cookie",
    "x-csrftoken",
    "content-length",
}
DROPPED_RESPONSE_HEADERS = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "server",
    "date",
}
UPSTREAM_TIMEOUT_SECONDS = 60
CHUNK = 64 * 1024
_turns: defaultdict[str, itertools.count[int]] = defaultdict(itertools.count)


@csrf_exempt  # CSRF is checked below for cookie-authenticated callers only
@route_permission(Action.VIEW, on="workload")
def invoke(request: HttpRequest, workload_id: str, path: str) -> HttpResponseBase:
    user = _caller(request)
    if user is None:
        return JsonResponse({"detail": "Unauthorized"}, status=401)
    if request.user.is_authenticated and not hasattr(request, "api_key"):
        refused = _csrf_refusal(request)
        if refused is not None:
            return refused
    try:
        workload = workload_get(user=user, workload_id=workload_id)
    except NotFound as error:
        return JsonResponse({"detail": error.detail}, status=404)
    addresses = serving_replicas(workload)
    if not addresses:
        return JsonResponse(
            {"detail": f"The workload is not serving (it is {workload.status})."}, status=503
        )
    start = next(_turns[workload.id])
    # Try each ready replica once if the connection itself fails (nothing was sent yet).
    for attempt in range(len(addresses)):
        address = addresses[(start + attempt) % len(addresses)]
        try:
            return _forward(request, workload.id, address, path)
        except (ConnectionError, TimeoutError, OSError):
            continue
    record_invoke(workload.id, 502, 0.0)
    return JsonResponse({"detail": "No replica of the workload answered."}, status=502)


def _caller(request: HttpRequest) -> Any:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return user_for_key(request, header.removeprefix("Bearer ").strip())
    return request.user if request.user.is_authenticated else None


def _csrf_refusal(request: HttpRequest) -> HttpResponse | None:
    check = CsrfViewMiddleware(lambda _request: HttpResponse())
    check.process_request(request)
    refused = check.process_view(request, lambda _request: HttpResponse(), (), {})
    return JsonResponse({"detail": "CSRF check failed."}, status=403) if refused else None


def _forward(request: HttpRequest, workload_id: str, address: str, path: str) -> HttpResponseBase:
    host, port = address.rsplit(":", 1)
    target = (
        "/"
        + path
        + (f"?{request.META['QUERY_STRING']}" if request.META.get("QUERY_STRING") else "")
    )
    headers = {
        name: value
        for name, value in request.headers.items()
        if name.lower() not in DROPPED_REQUEST_HEADERS
    }
    headers["X-Forwarded-For"] = request.META.get("REMOTE_ADDR", "")
    started = time.monotonic()
    connection = http.client.HTTPConnection(host, int(port), timeout=UPSTREAM_TIMEOUT_SECONDS)
    connection.request(request.method or "GET", target, body=request.body or None, headers=headers)
    upstream = connection.getresponse()

    def stream() -> Iterator[bytes]:
        try:
            while chunk := upstream.read(CHUNK):
                yield chunk
        finally:
            connection.close()
            record_invoke(workload_id, upstream.status, (time.monotonic() - started) * 1000)

    response = StreamingHttpResponse(stream(), status=upstream.status)
    for name, value in upstream.getheaders():
        if name.lower() not in DROPPED_RESPONSE_HEADERS:
            response[name] = value
    return response
