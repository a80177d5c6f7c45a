"""Reads of workloads, permission-filtered, with what pages and lists show prefetched."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from console.listing import ordered, searched
from console.permissions import Action, Actor, get_for_user, visible
from workloads.constants import EventKind, EventStatus, ProtonRole
from workloads.models import Proton, Workload, WorkloadEvent
from workloads.schemas import WorkloadListQuery


def _workloads() -> QuerySet[Workload]:
    running = WorkloadEvent.objects.filter(kind=EventKind.REPLACEMENT, status=EventStatus.RUNNING)
    return Workload.objects.select_related("artifact", "creator").prefetch_related(
        Prefetch("events", queryset=running, to_attr="running_replacements")
    )


def workload_list(*, user: Actor, query: WorkloadListQuery) -> QuerySet[Workload]:
    workloads = visible(user, _workloads())
    if query.status:
        workloads = workloads.filter(status=query.status)
    if query.artifact_id:
        workloads = workloads.filter(artifact_id=query.artifact_id)
    if query.repository_id:
        workloads = workloads.filter(artifact__repository_id=query.repository_id)
    if query.importance:
        workloads = workloads.filter(importance=query.importance)
    return ordered(searched(workloads, query.search), query)


def workload_get(*, user: Actor, workload_id: str) -> Workload:
    return get_for_user(user, _workloads(), Action.VIEW, pk=workload_id)


def workload_protons(*, user: Actor, workload_id: str) -> QuerySet[Proton]:
    """The instances that serve or are about to: the active proton and any candidate."""
    workload = workload_get(user=user, workload_id=workload_id)
    return workload.protons.exclude(role=ProtonRole.RETIRED).order_by("role", "-created_at")


def workload_history(*, user: Actor, workload_id: str) -> QuerySet[WorkloadEvent]:
    workload = workload_get(user=user, workload_id=workload_id)
    return workload.events.select_related("actor").order_by("-started_at", "-id")


def serving_replicas(workload: Workload) -> list[str]:
    """Addresses of the ready replicas of the active proton, for the invoke proxy."""
    proton = workload.protons.filter(role=ProtonRole.ACTIVE, status="running").first()
    if proton is None:
        return []
    return [
        r["address"] for r in proton.replicas if r.get("address") and r.get("status") == "ready"
    ]
