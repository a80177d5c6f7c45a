"""Request plumbing that every route shares."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

API_PREFIX = "/api/v2/"


class ApiTrailingSlashMiddleware:
    """The API's paths work with and without a trailing slash.

    Routes are declared without one; redirecting a POST or PATCH would drop its body, so
    the slash is removed before routing instead.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path.startswith(API_PREFIX) and path.endswith("/") and len(path) > len(API_PREFIX):
            request.path_info = path.rstrip("/")
        return self.get_response(request)
