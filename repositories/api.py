"""``/api/v2/artifactRepositories``: parse, call one service or selector, render."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router

from artifacts.schemas import ArtifactOut
from console.etags import etag_of, if_match
from console.listing import envelope
from console.permissions import Action, Audience, PageRights, rights, route_permission
from console.schemas import ERROR_RESPONSES, Envelope
from console.sharing_api import SharedRoleOut, SharedRolesPatch, SharedRolesQuery, shared_roles_page
from repositories import selectors, services
from repositories.schemas import (
    RepositoryListQuery,
    RepositoryOut,
    RepositoryPatch,
    VersionListQuery,
)

router = Router(tags=["artifact repositories"], by_alias=True)


@router.get("/artifactRepositories", response={200: Envelope[RepositoryOut], **ERROR_RESPONSES})
@route_permission(Audience.SIGNED_IN)
def list_repositories(request: HttpRequest, query: Query[RepositoryListQuery]) -> dict[str, Any]:
    def serialize(rows: Any) -> list[RepositoryOut]:
        page_rights = PageRights(request.user, rows)
        return [RepositoryOut.of(r, page_rights.of(r)) for r in rows]

    repositories = selectors.repository_list(user=request.user, query=query)
    return envelope(request, repositories, query, serialize)


@router.get(
    "/artifactRepositories/{repository_id}", response={200: RepositoryOut, **ERROR_RESPONSES}
)
@route_permission(Action.VIEW, on="repository")
def get_repository(
    request: HttpRequest, repository_id: str, response: HttpResponse
) -> RepositoryOut:
    repository = selectors.repository_get(user=request.user, repository_id=repository_id)
    response["ETag"] = etag_of(repository)
    return RepositoryOut.of(repository, rights(request.user, repository))


@router.patch(
    "/artifactRepositories/{repository_id}", response={200: RepositoryOut, **ERROR_RESPONSES}
)
@route_permission(Action.EDIT, on="repository")
def update_repository(
    request: HttpRequest, repository_id: str, payload: RepositoryPatch, response: HttpResponse
) -> RepositoryOut:
    services.repository_update(
        actor=request.user,
        repository_id=repository_id,
        data=payload.sent(),
        if_match=if_match(request),
    )
    return get_repository(request, repository_id, response)


@router.delete("/artifactRepositories/{repository_id}", response={204: None, **ERROR_RESPONSES})
@route_permission(Action.DELETE, on="repository")
def delete_repository(request: HttpRequest, repository_id: str) -> HttpResponse:
    services.repository_delete(
        actor=request.user, repository_id=repository_id, if_match=if_match(request)
    )
    return HttpResponse(status=204)


@router.get(
    "/artifactRepositories/{repository_id}/versions",
    response={200: Envelope[ArtifactOut], **ERROR_RESPONSES},
)
@route_permission(Action.VIEW, on="repository")
def list_versions(
    request: HttpRequest, repository_id: str, query: Query[VersionListQuery]
) -> dict[str, Any]:
    versions = selectors.repository_versions(
        user=request.user, repository_id=repository_id, query=query
    )

    def serialize(rows: Any) -> list[ArtifactOut]:
        page_rights = PageRights(request.user, rows)
        return [ArtifactOut.of(a, page_rights.of(a)) for a in rows]

    return envelope(request, versions, query, serialize)


@router.get(
    "/artifactRepositories/{repository_id}/sharedRoles",
    response={200: Envelope[SharedRoleOut], **ERROR_RESPONSES},
)
@route_permission(Action.VIEW, on="repository")
def list_shared_roles(
    request: HttpRequest, repository_id: str, query: Query[SharedRolesQuery]
) -> dict[str, Any]:
    grants = selectors.repository_grants(user=request.user, repository_id=repository_id)
    return shared_roles_page(request, grants, query)


@router.patch(
    "/artifactRepositories/{repository_id}/sharedRoles", response={204: None, **ERROR_RESPONSES}
)
@route_permission(Action.SHARE, on="repository")
def update_shared_roles(
    request: HttpRequest, repository_id: str, payload: SharedRolesPatch
) -> HttpResponse:
    services.repository_share(actor=request.user, repository_id=repository_id, data=payload.sent())
    return HttpResponse(status=204)
