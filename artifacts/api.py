"""``/api/v2/artifacts``: parse, call one service or selector, render. Nothing else."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status

from artifacts import selectors, services
from artifacts.schemas import ArtifactIn, ArtifactListQuery, ArtifactOut, ArtifactPatch, CloneIn
from console.etags import etag_of, if_match
from console.listing import envelope
from console.permissions import Action, Audience, PageRights, rights, route_permission
from console.schemas import ERROR_RESPONSES, Envelope
from console.sharing_api import SharedRoleOut, SharedRolesPatch, SharedRolesQuery, shared_roles_page
from repositories.selectors import repository_grants
from repositories.services import repository_share

router = Router(tags=["artifacts"], by_alias=True)


def _one(request: HttpRequest, artifact: Any, response: HttpResponse | None = None) -> ArtifactOut:
    """The artifact as the caller sees it; ``response`` gets its ETag."""
    if response is not None:
        response["ETag"] = etag_of(artifact)
    return ArtifactOut.of(artifact, rights(request.user, artifact))


@router.get("/artifacts", response={200: Envelope[ArtifactOut], **ERROR_RESPONSES})
@route_permission(Audience.SIGNED_IN)
def list_artifacts(request: HttpRequest, query: Query[ArtifactListQuery]) -> dict[str, Any]:
    def serialize(rows: Any) -> list[ArtifactOut]:
        page_rights = PageRights(request.user, rows)
        return [ArtifactOut.of(a, page_rights.of(a)) for a in rows]

    return envelope(
        request, selectors.artifact_list(user=request.user, query=query), query, serialize
    )


@router.post("/artifacts", response={201: ArtifactOut, **ERROR_RESPONSES})
@route_permission(Audience.SIGNED_IN)
def create_artifact(request: HttpRequest, payload: ArtifactIn) -> Status[ArtifactOut]:
    artifact = services.artifact_create(actor=request.user, data=payload.sent())
    return Status(
        201, _one(request, selectors.artifact_get(user=request.user, artifact_id=artifact.id))
    )


@router.get("/artifacts/{artifact_id}", response={200: ArtifactOut, **ERROR_RESPONSES})
@route_permission(Action.VIEW, on="artifact")
def get_artifact(request: HttpRequest, artifact_id: str, response: HttpResponse) -> ArtifactOut:
    artifact = selectors.artifact_get(user=request.user, artifact_id=artifact_id)
    return _one(request, artifact, response)


@router.put("/artifacts/{artifact_id}", response={200: ArtifactOut, **ERROR_RESPONSES})
@route_permission(Action.EDIT, on="artifact")
def replace_artifact(
    request: HttpRequest, artifact_id: str, payload: ArtifactIn, response: HttpResponse
) -> ArtifactOut:
    services.artifact_replace(
        actor=request.user, artifact_id=artifact_id, data=payload.sent(), if_match=if_match(request)
    )
    artifact = selectors.artifact_get(user=request.user, artifact_id=artifact_id)
    return _one(request, artifact, response)


@router.patch("/artifacts/{artifact_id}", response={200: ArtifactOut, **ERROR_RESPONSES})
@route_permission(Action.EDIT, on="artifact")
def update_artifact(
    request: HttpRequest, artifact_id: str, payload: ArtifactPatch, response: HttpResponse
) -> ArtifactOut:
    services.artifact_update(
        actor=request.user, artifact_id=artifact_id, data=payload.sent(), if_match=if_match(request)
    )
    artifact = selectors.artifact_get(user=request.user, artifact_id=artifact_id)
    return _one(request, artifact, response)


@router.delete("/artifacts/{artifact_id}", response={204: None, **ERROR_RESPONSES})
@route_permission(Action.EDIT, on="artifact")
def delete_artifact(request: HttpRequest, artifact_id: str) -> HttpResponse:
    services.artifact_delete(
        actor=request.user, artifact_id=artifact_id, if_match=if_match(request)
    )
    return HttpResponse(status=204)


@router.post("/artifacts/{artifact_id}/clone", response={201: ArtifactOut, **ERROR_RESPONSES})
@route_permission(Action.EDIT, on="artifact")
def clone_artifact(request: HttpRequest, artifact_id: str, payload: CloneIn) -> Status[ArtifactOut]:
    clone = services.artifact_clone(
        actor=request.user, artifact_id=artifact_id, data=payload.sent()
    )
    return Status(
        201, _one(request, selectors.artifact_get(user=request.user, artifact_id=clone.id))
    )


@router.get(
    "/artifacts/{artifact_id}/sharedRoles",
    response={200: Envelope[SharedRoleOut], **ERROR_RESPONSES},
)
@route_permission(Action.VIEW, on="artifact")
def list_shared_roles(
    request: HttpRequest, artifact_id: str, query: Query[SharedRolesQuery]
) -> dict[str, Any]:
    """The roles of the artifact's repository: an artifact's rights are its repository's."""
    artifact = selectors.artifact_get(user=request.user, artifact_id=artifact_id)
    grants = repository_grants(user=request.user, repository_id=artifact.repository_id)
    return shared_roles_page(request, grants, query)


@router.patch("/artifacts/{artifact_id}/sharedRoles", response={204: None, **ERROR_RESPONSES})
@route_permission(Action.SHARE, on="artifact")
def update_shared_roles(
    request: HttpRequest, artifact_id: str, payload: SharedRolesPatch
) -> HttpResponse:
    artifact = selectors.artifact_get(user=request.user, artifact_id=artifact_id)
    repository_share(actor=request.user, repository_id=artifact.repository_id, data=payload.sent())
    return HttpResponse(status=204)
