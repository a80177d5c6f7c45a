"""``/api/v2/workloads``: parse, call one service or selector, render."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status

from console.etags import etag_of, if_match
from console.listing import ListQuery, envelope
from console.permissions import Action, Audience, PageRights, rights, route_permission
from console.schemas import ERROR_RESPONSES, Envelope
from console.sharing import grants
from console.sharing_api import SharedRoleOut, SharedRolesPatch, SharedRolesQuery, shared_roles_page
from workloads import selectors, services
from workloads.models import Workload
from workloads.schemas import (
    EventOut,
    ProtonOut,
    SettingsIn,
    SettingsOut,
    StatsOut,
    WorkloadIn,
    WorkloadListQuery,
    WorkloadOut,
    WorkloadPatch,
)
from workloads.stats import stats_of

router = Router(tags=["workloads"], by_alias=True)


def _one(
    request: HttpRequest, workload_id: str, response: HttpResponse | None = None
) -> WorkloadOut:
    """The workload as the caller sees it; ``response`` gets its ETag."""
    workload = selectors.workload_get(user=request.user, workload_id=workload_id)
    if response is not None:
        response["ETag"] = etag_of(workload)
    return WorkloadOut.of(workload, rights(request.user, workload), _base(request))


def _base(request: HttpRequest) -> str:
    return request.build_absolute_uri("/").rstrip("/")


@router.get("/workloads", response={200: Envelope[WorkloadOut], **ERROR_RESPONSES})
@route_permission(Audience.SIGNED_IN)
def list_workloads(request: HttpRequest, query: Query[WorkloadListQuery]) -> dict[str, Any]:
    def serialize(rows: Any) -> list[WorkloadOut]:
        page_rights = PageRights(request.user, rows)
        return [WorkloadOut.of(w, page_rights.of(w), _base(request)) for w in rows]

    return envelope(
        request, selectors.workload_list(user=request.user, query=query), query, serialize
    )


@router.post("/workloads", response={201: WorkloadOut, **ERROR_RESPONSES})
@route_permission(Audience.SIGNED_IN)
def create_workload(request: HttpRequest, payload: WorkloadIn) -> Status[WorkloadOut]:
    workload = services.workload_create(actor=request.user, data=payload.sent())
    return Status(201, _one(request, workload.id))


@router.get("/workloads/{workload_id}", response={200: WorkloadOut, **ERROR_RESPONSES})
@route_permission(Action.VIEW, on="workload")
def get_workload(request: HttpRequest, workload_id: str, response: HttpResponse) -> WorkloadOut:
    return _one(request, workload_id, response)


@router.patch("/workloads/{workload_id}", response={200: WorkloadOut, **ERROR_RESPONSES})
@route_permission(Action.EDIT, on="workload")
def update_workload(
    request: HttpRequest, workload_id: str, payload: WorkloadPatch, response: HttpResponse
) -> WorkloadOut:
    services.workload_update(
        actor=request.user, workload_id=workload_id, data=payload.sent(), if_match=if_match(request)
    )
    return _one(request, workload_id, response)


@router.delete("/workloads/{workload_id}", response={204: None, **ERROR_RESPONSES})
@route_permission(Action.DELETE, on="workload")
def delete_workload(request: HttpRequest, workload_id: str) -> HttpResponse:
    services.workload_delete(
        actor=request.user, workload_id=workload_id, if_match=if_match(request)
    )
    return HttpResponse(status=204)


@router.post("/workloads/{workload_id}/start", response={202: WorkloadOut, **ERROR_RESPONSES})
@route_permission(Action.EDIT, on="workload")
def start_workload(request: HttpRequest, workload_id: str) -> Status[WorkloadOut]:
    services.workload_start(actor=request.user, workload_id=workload_id)
    return Status(202, _one(request, workload_id))


@router.post("/workloads/{workload_id}/stop", response={202: WorkloadOut, **ERROR_RESPONSES})
@route_permission(Action.DELETE, on="workload")  # EDIT or DELETE: may_stop
def stop_workload(request: HttpRequest, workload_id: str) -> Status[WorkloadOut]:
    services.workload_stop(actor=request.user, workload_id=workload_id)
    return Status(202, _one(request, workload_id))


@router.get("/workloads/{workload_id}/settings", response={200: SettingsOut, **ERROR_RESPONSES})
@route_permission(Action.VIEW, on="workload")
def get_settings(request: HttpRequest, workload_id: str) -> SettingsOut:
    workload = selectors.workload_get(user=request.user, workload_id=workload_id)
    return SettingsOut(runtime=workload.runtime)


@router.patch(
    "/workloads/{workload_id}/settings",
    response={200: SettingsOut, 202: SettingsOut, **ERROR_RESPONSES},
)
@route_permission(Action.EDIT, on="workload")
def update_settings(
    request: HttpRequest, workload_id: str, payload: SettingsIn
) -> Status[SettingsOut]:
    """Draft artifact: restarts with the settings (200). Locked version: a rolling
    replacement starts (202); follow it in ``replacement`` and ``/history``."""
    workload, replacing = services.workload_settings_update(
        actor=request.user, workload_id=workload_id, data=payload.sent(), if_match=if_match(request)
    )
    return Status(202 if replacing else 200, SettingsOut(runtime=workload.runtime))


@router.post("/workloads/{workload_id}/promote", response={200: WorkloadOut, **ERROR_RESPONSES})
@route_permission(Action.EDIT, on="workload")
def promote_workload(request: HttpRequest, workload_id: str) -> WorkloadOut:
    services.workload_promote(actor=request.user, workload_id=workload_id)
    return _one(request, workload_id)


@router.get("/workloads/{workload_id}/stats", response={200: StatsOut, **ERROR_RESPONSES})
@route_permission(Action.VIEW, on="workload")
def get_stats(request: HttpRequest, workload_id: str) -> StatsOut:
    workload = selectors.workload_get(user=request.user, workload_id=workload_id)
    return StatsOut.of(stats_of(workload))


@router.delete("/workloads/{workload_id}/stats", response={204: None, **ERROR_RESPONSES})
@route_permission(Action.EDIT, on="workload")
def clear_stats(request: HttpRequest, workload_id: str) -> HttpResponse:
    services.workload_stats_clear(actor=request.user, workload_id=workload_id)
    return HttpResponse(status=204)


@router.get(
    "/workloads/{workload_id}/history", response={200: Envelope[EventOut], **ERROR_RESPONSES}
)
@route_permission(Action.VIEW, on="workload")
def get_history(request: HttpRequest, workload_id: str, query: Query[ListQuery]) -> dict[str, Any]:
    events = selectors.workload_history(user=request.user, workload_id=workload_id)
    return envelope(request, events, query, lambda rows: [EventOut.of(e) for e in rows])


@router.get(
    "/workloads/{workload_id}/protons", response={200: Envelope[ProtonOut], **ERROR_RESPONSES}
)
@route_permission(Action.VIEW, on="workload")
def get_protons(request: HttpRequest, workload_id: str, query: Query[ListQuery]) -> dict[str, Any]:
    protons = selectors.workload_protons(user=request.user, workload_id=workload_id)
    return envelope(request, protons, query, lambda rows: [ProtonOut.of(p) for p in rows])


@router.get(
    "/workloads/{workload_id}/sharedRoles",
    response={200: Envelope[SharedRoleOut], **ERROR_RESPONSES},
)
@route_permission(Action.VIEW, on="workload")
def list_shared_roles(
    request: HttpRequest, workload_id: str, query: Query[SharedRolesQuery]
) -> dict[str, Any]:
    workload: Workload = selectors.workload_get(user=request.user, workload_id=workload_id)
    return shared_roles_page(request, grants(workload), query)


@router.patch("/workloads/{workload_id}/sharedRoles", response={204: None, **ERROR_RESPONSES})
@route_permission(Action.SHARE, on="workload")
def update_shared_roles(
    request: HttpRequest, workload_id: str, payload: SharedRolesPatch
) -> HttpResponse:
    services.workload_share(actor=request.user, workload_id=workload_id, data=payload.sent())
    return HttpResponse(status=204)
