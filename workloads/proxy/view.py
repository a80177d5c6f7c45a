"""The invoke endpoint: authorise, admit, relay to a ready replica, count the outcome.

Authorised like the API (bearer key, or session with CSRF for writes) and needs VIEW on the
workload (CONSUMER or more). Requests go round robin to the ready replicas of the active
proton. Every answer the workload's endpoint gives is counted in its statistics with its
status and latency: the upstream's own, and 502, 503, 504, 429, 413 and 400 from the proxy.
"""

from __future__ import annotations

import itertools
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import (
    BadHeaderError,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.middleware.csrf import CsrfViewMiddleware
from django.views.decorators.csrf import csrf_exempt

from console.auth import bearer_token, user_for_key
from console.devserver import CLOSE_CONNECTION
from console.errors import NotFound
from console.permissions import Action, route_permission
from workloads.proxy.body import BodyCutShort, BodyTooLarge, LengthRequired, request_body
from workloads.proxy.headers import downstream_response_headers, sandbox, upstream_request_headers
from workloads.proxy.slots import slot_give_back, slot_take
from workloads.proxy.target import upstream_target
from workloads.proxy.upstream import (
    ConnectFailed,
    Deadline,
    DeadlineExceeded,
    Exchange,
    UpstreamFailed,
    exchange,
)
from workloads.selectors import serving_replicas, workload_get
from workloads.stats import record_invoke

_turns: defaultdict[str, itertools.count[int]] = defaultdict(itertools.count)


class RelayBroken(Exception):
    """Raised to the WSGI server when the upstream fails after the status was sent: the
    server then closes the connection, so the client sees the answer incomplete."""


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
    started = time.monotonic()
    addresses = serving_replicas(workload)
    if not addresses:
        record_invoke(workload.id, 503, 0.0)
        return JsonResponse(
            {"detail": f"The workload is not serving (it is {workload.status})."}, status=503
        )
    if not slot_take(workload.id):
        record_invoke(workload.id, 429, (time.monotonic() - started) * 1000)
        refusal = JsonResponse(
            {
                "detail": f"The workload already has {settings.BERTH_INVOKE_MAX_CONCURRENT} "
                "requests in flight; try again shortly."
            },
            status=429,
        )
        refusal["Retry-After"] = "1"
        return refusal
    finished = False

    def finish(status: int) -> None:
        # Once per request, whichever way it ends: count it and give the slot back.
        nonlocal finished
        if not finished:
            finished = True
            slot_give_back(workload.id)
            record_invoke(workload.id, status, (time.monotonic() - started) * 1000)

    try:
        return _relay(request, workload.id, addresses, finish)
    except BaseException:
        finish(500)
        raise


def _relay(
    request: HttpRequest, workload_id: str, addresses: list[str], finish: Callable[[int], None]
) -> HttpResponseBase:
    prefix = f"/api/v2/endpoints/workloads/{workload_id}/"
    try:
        body, length = request_body(request)
    except LengthRequired as error:
        return _refusal(finish, 411, str(error))
    target = upstream_target(request.META, prefix)
    headers = upstream_request_headers(
        request, request.META.get("SCRIPT_NAME", "") + prefix.rstrip("/")
    )
    deadline = Deadline.after(settings.BERTH_INVOKE_DEADLINE_SECONDS)
    first = next(_turns[workload_id])
    upstream: Exchange | None = None
    try:
        # Another replica is tried only while nothing was sent, so the body is still unread.
        for attempt in range(len(addresses)):
            try:
                upstream = exchange(
                    addresses[(first + attempt) % len(addresses)],
                    method=request.method or "GET",
                    target=target,
                    headers=headers,
                    body=body,
                    length=length,
                    deadline=deadline,
                )
                break
            except ConnectFailed:
                continue
    except DeadlineExceeded:
        return _refusal(finish, 504, "The workload did not answer within the deadline.")
    except UpstreamFailed:
        return _refusal(finish, 502, "The workload's upstream answer is not valid HTTP.")
    except BodyTooLarge as error:
        return _refusal(finish, 413, str(error))
    except BodyCutShort:
        return _refusal(finish, 400, "The request body ended before its Content-Length.")
    if upstream is None:
        return _refusal(finish, 502, "No replica of the workload answered (upstream down).")
    return _streamed(request, upstream, finish)


def _streamed(
    request: HttpRequest, upstream: Exchange, finish: Callable[[int], None]
) -> HttpResponseBase:
    status = upstream.response.status
    response = StreamingHttpResponse(_Relay(request, upstream, finish), status=status)
    try:
        for name, value in downstream_response_headers(upstream.response.getheaders()):
            response[name] = value
    except (BadHeaderError, UnicodeError, ValueError):
        # A field Django cannot send (a name that is no token, say): a protocol error. The
        # response is dropped unsent; closing it would count the upstream's status instead.
        upstream.close()
        return _refusal(finish, 502, "The workload's upstream answer has invalid headers.")
    if upstream.content_length is not None:
        response["Content-Length"] = str(upstream.content_length)
    if upstream.response.getheader("Content-Type") is None:
        # Django gives every response text/html by default; relay the absence instead.
        del response["Content-Type"]
    sandbox(response)
    return response


class _Relay:
    """The upstream's body, piece by piece, for StreamingHttpResponse. The WSGI server
    calls ``close`` at the end, also when the client went away: the outcome is counted
    then, with the status the client was sent."""

    def __init__(self, request: HttpRequest, upstream: Exchange, finish: Callable[[int], None]):
        self.request = request
        self.upstream = upstream
        self.finish = finish

    def __iter__(self) -> _Relay:
        return self

    def __next__(self) -> bytes:
        try:
            piece = self.upstream.read()
        except DeadlineExceeded as error:
            self._broken(504)
            raise RelayBroken("the workload's answer ran past the deadline") from error
        except UpstreamFailed as error:
            self._broken(502)
            raise RelayBroken("the workload's answer broke off") from error
        if not piece:
            self.close()
            raise StopIteration
        return piece

    def close(self) -> None:
        self.upstream.close()
        self.finish(self.upstream.response.status)

    def _broken(self, status: int) -> None:
        self.upstream.close()
        self.finish(status)
        close_connection: Any = self.request.META.get(CLOSE_CONNECTION)
        if callable(close_connection):
            close_connection()


def _refusal(finish: Callable[[int], None], status: int, detail: str) -> JsonResponse:
    finish(status)
    return JsonResponse({"detail": detail}, status=status)


def _caller(request: HttpRequest) -> Any:
    token = bearer_token(request)
    if token is not None:
        return user_for_key(request, token)
    return request.user if request.user.is_authenticated else None


def _csrf_refusal(request: HttpRequest) -> HttpResponse | None:
    # The body is the workload's, so Berth's token must travel in the X-CSRFToken header.
    # Starting to read the stream (zero bytes) makes request.POST empty instead of parsed,
    # so the check below never consumes the body that is about to be relayed.
    request.read(0)
    check = CsrfViewMiddleware(lambda _request: HttpResponse())
    check.process_request(request)
    refused = check.process_view(request, lambda _request: HttpResponse(), (), {})
    return JsonResponse({"detail": "CSRF check failed."}, status=403) if refused else None
