"""``/api/v2/artifacts``: parse, call one service or selector, render. Nothing else."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status

from artifacts import selectors, services
from artifacts.schemas import ArtifactIn, ArtifactListQuery, ArtifactOut, ArtifactPatch, CloneIn
from console.listing import envelope
from console.permissions import PageRights, rights
from console.schemas import Envelope, ErrorOut

router = Router(tags=["artifacts"], by_alias=True)
ERRORS: dict[int, Any] = dict.fromkeys((401, 403, 404, 409, 422), ErrorOut)


def _one(request: HttpRequest, artifact: Any) -> ArtifactOut:
    return ArtifactOut.of(artifact, rights(request.user, artifact))


@router.get("/artifacts", response={200: Envelope[ArtifactOut], **ERRORS})
def list_artifacts(request: HttpRequest, query: Query[ArtifactListQuery]) -> dict[str, Any]:
    def serialize(rows: Any) -> list[ArtifactOut]:
        page_rights = PageRights(request.user, rows)
        return [ArtifactOut.of(a, page_rights.of(a)) for a in rows]

    return envelope(
        request, selectors.artifact_list(user=request.user, query=query), query, serialize
    )


@router.post("/artifacts", response={201: ArtifactOut, **ERRORS})
def create_artifact(request: HttpRequest, payload: ArtifactIn) -> Status[ArtifactOut]:
    artifact = services.artifact_create(actor=request.user, data=payload.sent())
    return Status(
        201, _one(request, selectors.artifact_get(user=request.user, artifact_id=artifact.id))
    )


@router.get("/artifacts/{artifact_id}", response={200: ArtifactOut, **ERRORS})
def get_artifact(request: HttpRequest, artifact_id: str) -> ArtifactOut:
    return _one(request, selectors.artifact_get(user=request.user, artifact_id=artifact_id))


@router.put("/artifacts/{artifact_id}", response={200: ArtifactOut, **ERRORS})
def replace_artifact(request: HttpRequest, artifact_id: str, payload: ArtifactIn) -> ArtifactOut:
    services.artifact_replace(actor=request.user, artifact_id=artifact_id, data=payload.sent())
    return _one(request, selectors.artifact_get(user=request.user, artifact_id=artifact_id))


@router.patch("/artifacts/{artifact_id}", response={200: ArtifactOut, **ERRORS})
def update_artifact(request: HttpRequest, artifact_id: str, payload: ArtifactPatch) -> ArtifactOut:
    services.artifact_update(actor=request.user, artifact_id=artifact_id, data=payload.sent())
    return _one(request, selectors.artifact_get(user=request.user, artifact_id=artifact_id))


@router.delete("/artifacts/{artifact_id}", response={204: None, **ERRORS})
def delete_artifact(request: HttpRequest, artifact_id: str) -> HttpResponse:
    services.artifact_delete(actor=request.user, artifact_id=artifact_id)
    return HttpResponse(status=204)


@router.post("/artifacts/{artifact_id}/clone", response={201: ArtifactOut, **ERRORS})
def clone_artifact(request: HttpRequest, artifact_id: str, payload: CloneIn) -> Status[ArtifactOut]:
    clone = services.artifact_clone(
        actor=request.user, artifact_id=artifact_id, data=payload.sent()
    )
    return Status(
        201, _one(request, selectors.artifact_get(user=request.user, artifact_id=clone.id))
    )
