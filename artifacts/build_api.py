"""``/api/v2/artifacts/{id}/source`` and ``/builds``: upload, build, watch, cancel."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import File, Form, Query, Router, Status
from ninja.files import UploadedFile

from artifacts import selectors
from artifacts.build_logs import build_log_text
from artifacts.build_schemas import BuildIdsOut, BuildListQuery, BuildOut, SourceOut
from artifacts.builds import build_cancel, build_start
from artifacts.sources import source_upload
from console.listing import envelope
from console.permissions import Action, route_permission
from console.schemas import ERROR_RESPONSES, Envelope

router = Router(tags=["builds"], by_alias=True)


@router.post("/artifacts/{artifact_id}/source", response={201: SourceOut, **ERROR_RESPONSES})
@route_permission(Action.EDIT, on="artifact")
def upload_source(
    request: HttpRequest,
    artifact_id: str,
    file: File[UploadedFile],
    container: Form[str | None] = None,
) -> Status[SourceOut]:
    source = source_upload(
        actor=request.user, artifact_id=artifact_id, upload=file, container=container
    )
    return Status(201, SourceOut.of(source))


@router.post("/artifacts/{artifact_id}/builds", response={202: BuildIdsOut, **ERROR_RESPONSES})
@route_permission(Action.EDIT, on="artifact")
def start_builds(request: HttpRequest, artifact_id: str) -> Status[BuildIdsOut]:
    builds = build_start(actor=request.user, artifact_id=artifact_id)
    return Status(202, BuildIdsOut(build_ids=[b.id for b in builds]))


@router.get(
    "/artifacts/{artifact_id}/builds", response={200: Envelope[BuildOut], **ERROR_RESPONSES}
)
@route_permission(Action.VIEW, on="artifact")
def list_builds(
    request: HttpRequest, artifact_id: str, query: Query[BuildListQuery]
) -> dict[str, Any]:
    builds = selectors.builds_of(user=request.user, artifact_id=artifact_id)
    return envelope(request, builds, query, lambda rows: [BuildOut.of(b) for b in rows])


@router.get(
    "/artifacts/{artifact_id}/builds/{build_id}", response={200: BuildOut, **ERROR_RESPONSES}
)
@route_permission(Action.VIEW, on="artifact")
def get_build(request: HttpRequest, artifact_id: str, build_id: str) -> BuildOut:
    return BuildOut.of(
        selectors.build_get(user=request.user, artifact_id=artifact_id, build_id=build_id)
    )


@router.get(
    "/artifacts/{artifact_id}/builds/{build_id}/logs",
    response={200: str, **ERROR_RESPONSES},
    openapi_extra={"responses": {200: {"content": {"text/plain": {"schema": {"type": "string"}}}}}},
)
@route_permission(Action.VIEW, on="artifact")
def get_build_logs(request: HttpRequest, artifact_id: str, build_id: str) -> HttpResponse:
    build = selectors.build_get(user=request.user, artifact_id=artifact_id, build_id=build_id)
    text, _ = build_log_text(build.id)
    return HttpResponse(text, content_type="text/plain; charset=utf-8")


@router.delete(
    "/artifacts/{artifact_id}/builds/{build_id}", response={202: BuildOut, **ERROR_RESPONSES}
)
@route_permission(Action.EDIT, on="artifact")
def cancel_build(request: HttpRequest, artifact_id: str, build_id: str) -> Status[BuildOut]:
    build = build_cancel(actor=request.user, artifact_id=artifact_id, build_id=build_id)
    return Status(202, BuildOut.of(build))
