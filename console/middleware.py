"""Request plumbing that every route shares."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from console.throttle import TooManyAttempts

API_PREFIX = "/api/v2/"
INVOKE_PREFIX = "/api/v2/endpoints/"


class ApiTrailingSlashMiddleware:
    """The API's paths work with and without a trailing slash.

    Routes are declared without one; redirecting a POST or PATCH would drop its body, so
    the slash is removed before routing instead.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        # Invoke paths belong to the workload, which may care about the slash.
        if path.startswith(INVOKE_PREFIX):
            return self.get_response(request)
        if path.startswith(API_PREFIX) and path.endswith("/") and len(path) > len(API_PREFIX):
            request.path_info = path.rstrip("/")
        return self.get_response(request)


class RequestLimitsMiddleware:
    """Limits on what one request may cost, answered in the API's ``{"detail"}`` shape.

    A body whose declared ``Content-Length`` exceeds ``BERTH_MAX_REQUEST_BYTES`` is refused
    with 413 before anything reads it, so an oversized upload is never spooled to disk.
    A view that raises ``TooManyAttempts`` (the invoke proxy's key check) answers 429, as
    the API does for the same exception.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        declared = request.META.get("CONTENT_LENGTH", "")
        # A missing or malformed length is read as no body by Django itself.
        if declared.isdigit() and int(declared) > settings.BERTH_MAX_REQUEST_BYTES:
            refusal = JsonResponse(
                {
                    "detail": f"The request body is {int(declared)} bytes; the limit is "
                    f"{settings.BERTH_MAX_REQUEST_BYTES} bytes."
                },
                status=413,
            )
            # Answered above CommonMiddleware, which would add it: without a length the
            # client reads until the connection closes, which may wait for the unread body.
            refusal["Content-Length"] = str(len(refusal.content))
            return refusal
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, TooManyAttempts):
            return JsonResponse({"detail": exception.message}, status=exception.status_code)
        return None


class NulCharacterMiddleware:
    """Refuse NUL characters in paths and query strings before any view looks them up.

    PostgreSQL cannot compare text holding NUL, so such an id or filter would reach the
    database as an error (500). No object's id contains one: a path with NUL names nothing
    (404); a query value with NUL is invalid input (422, like any other bad parameter).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path_info:
            return JsonResponse({"detail": "Not found."}, status=404)
        for name, values in request.GET.lists():
            if "\x00" in name or any("\x00" in value for value in values):
                problem = {
                    "loc": ["query", name.replace("\x00", "")],
                    "msg": "Text must not contain NUL characters.",
                    "type": "nul_character",
                }
                return JsonResponse({"detail": [problem]}, status=422)
        return self.get_response(request)


class HeadAsGetMiddleware:
    """``HEAD`` wherever ``GET`` is allowed: the request runs as GET and answers its status
    and headers without the body (``Content-Length`` still that of the body). The invoke
    endpoints relay ``HEAD`` to the workload as it is."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method != "HEAD" or request.path_info.startswith(INVOKE_PREFIX):
            return self.get_response(request)
        request.method = "GET"
        response = self.get_response(request)
        if response.streaming:
            response.close()
            bodiless = HttpResponse(status=response.status_code, headers=response.headers)
            bodiless.cookies = response.cookies
            return bodiless
        response.headers.setdefault("Content-Length", str(len(response.content)))
        response.content = b""
        return response


class ApiEdgesMiddleware:
    """Under ``/api/v2/``, an unknown path answers 404 and a method the path does not take
    405 (with ``Allow``, HEAD listed beside GET) in the API's ``{"detail"}`` shape, not as
    Django's HTML pages. The invoke endpoints answer as their workload does."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        path = request.path_info
        if not path.startswith(API_PREFIX) or path.startswith(INVOKE_PREFIX):
            return response
        if response.status_code == 405:
            allowed = {method.strip() for method in response.get("Allow", "").split(",")}
            if "GET" in allowed:
                allowed.add("HEAD")
            refusal = JsonResponse({"detail": "Method not allowed."}, status=405)
            refusal["Allow"] = ", ".join(sorted(allowed - {""}))
            return refusal
        if response.status_code == 404 and "json" not in response.get("Content-Type", ""):
            return JsonResponse({"detail": "Not found."}, status=404)
        return response
