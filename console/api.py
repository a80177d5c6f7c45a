"""The JSON API at ``/api/v2/``: one NinjaAPI, a router per app, one error vocabulary."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from ninja import NinjaAPI
from ninja.errors import HttpError, ValidationError

from artifacts.api import router as artifacts_router
from artifacts.build_api import router as builds_router
from console.audit_api import router as audit_router
from console.auth import API_AUTH
from console.errors import BerthError, Conflict, Invalid
from repositories.api import router as repositories_router
from workloads.api import router as workloads_router

api = NinjaAPI(
    title="Berth API",
    version="2",
    description="Artifact registry and workload console. Authenticate with "
    "`Authorization: Bearer <api key>` (create one with `manage.py createapikey`).",
    auth=API_AUTH,
    urls_namespace="api",
)
api.add_router("", artifacts_router)
api.add_router("", repositories_router)
api.add_router("", builds_router)
api.add_router("", workloads_router)
api.add_router("", audit_router)


@api.exception_handler(BerthError)
def domain_error(request: HttpRequest, exc: BerthError) -> HttpResponse:
    body: dict[str, Any] = {"detail": exc.detail}
    if isinstance(exc, Invalid):
        body["detail"] = [
            {"loc": ["body", *p.loc], "msg": p.msg, "type": p.type} for p in exc.problems
        ]
    if isinstance(exc, Conflict):
        body["code"] = exc.code
    return api.create_response(request, body, status=exc.status_code)


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 400:
        # Ninja's answer to a body that is not JSON; for callers it is one more invalid input.
        problem = {"loc": ["body"], "msg": "The body is not valid JSON.", "type": "json_invalid"}
        return api.create_response(request, {"detail": [problem]}, status=422)
    return api.create_response(request, {"detail": str(exc)}, status=exc.status_code)


@api.exception_handler(ValidationError)
def schema_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    """Ninja's own checks (query, path, JSON shape) in the same body as the domain's."""
    problems = []
    for error in exc.errors:
        loc = list(error["loc"])
        # Ninja names the body parameter in the path (``body.payload.name``); the caller
        # sent no such level.
        if loc[:1] == ["body"] and len(loc) > 1 and loc[1] == "payload":
            del loc[1]
        if loc[:1] == ["query"] and len(loc) > 1 and loc[1] == "query":
            del loc[1]
        problems.append({"loc": loc, "msg": error["msg"], "type": error["type"]})
    return api.create_response(request, {"detail": problems}, status=422)


@api.exception_handler(MultiPartParserError)
def unreadable_form(request: HttpRequest, exc: MultiPartParserError) -> HttpResponse:
    """A multipart body Django cannot split (no boundary, broken framing) is bad input."""
    problem = Invalid.at(msg=f"The body is not valid multipart/form-data: {exc}", type="multipart")
    return domain_error(request, problem)


@api.exception_handler(RequestDataTooBig)
def body_too_large(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    """A JSON or form body over Django's in-memory limit (uploaded files are not counted)."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    detail = f"The request body is over the limit of {limit} bytes for JSON and form fields."
    return api.create_response(request, {"detail": detail}, status=413)
