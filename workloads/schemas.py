"""Request and response bodies of the workload API."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from django.urls import reverse
from pydantic import ConfigDict

from artifacts.validators import ArtifactName, Description
from console.listing import ListQuery
from console.permissions import Action
from console.wire import DomainCheckedBody, WireModel, checked_by_domain, documented_as
from workloads.models import Proton, Workload, WorkloadEvent
from workloads.stats import WorkloadStats
from workloads.validators import WorkloadRuntime

ImportanceName = Literal["low", "moderate", "high", "critical"]
StatusName = Literal[
    "submitted", "provisioning", "running", "stopping", "stopped", "errored", "terminated"
]


class WorkloadIn(DomainCheckedBody):
    model_config = ConfigDict(
        json_schema_extra={"additionalProperties": False, "required": ["name", "artifactId"]}
    )

    name: checked_by_domain(ArtifactName) = None  # type: ignore[valid-type]
    artifact_id: checked_by_domain(str) = None  # type: ignore[valid-type]
    description: checked_by_domain(Description) = None  # type: ignore[valid-type]
    importance: checked_by_domain(ImportanceName) = None  # type: ignore[valid-type]
    runtime: checked_by_domain(WorkloadRuntime) = None  # type: ignore[valid-type]


class WorkloadPatch(DomainCheckedBody):
    name: checked_by_domain(ArtifactName) = None  # type: ignore[valid-type]
    description: checked_by_domain(Description) = None  # type: ignore[valid-type]
    importance: checked_by_domain(ImportanceName) = None  # type: ignore[valid-type]


class SettingsIn(DomainCheckedBody):
    model_config = ConfigDict(
        json_schema_extra={"additionalProperties": False, "required": ["runtime"]}
    )

    runtime: checked_by_domain(WorkloadRuntime) = None  # type: ignore[valid-type]


class SettingsOut(WireModel):
    runtime: documented_as(WorkloadRuntime)  # type: ignore[valid-type]


class ArtifactSummary(WireModel):
    id: str
    name: str
    status: Literal["draft", "locked"]
    version: int | None
    artifact_repository_id: str


class ReplacementOut(WireModel):
    id: str
    status: Literal["running", "completed", "errored"]
    started_at: datetime
    message: str


class WorkloadOut(WireModel):
    id: str
    name: str
    description: str
    importance: ImportanceName
    status: StatusName
    status_message: str
    artifact_id: str
    artifact: ArtifactSummary
    runtime: documented_as(WorkloadRuntime)  # type: ignore[valid-type]
    endpoint: str
    expires_at: datetime | None
    replacement: ReplacementOut | None
    creator: str | None
    permissions: list[str]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, workload: Workload, rights: frozenset[Action], base_url: str) -> WorkloadOut:
        artifact = workload.artifact
        running: list[WorkloadEvent] = getattr(workload, "running_replacements", [])
        return cls(
            id=workload.id,
            name=workload.name,
            description=workload.description,
            importance=workload.importance,
            status=workload.status,
            status_message=workload.status_message,
            artifact_id=artifact.id,
            artifact=ArtifactSummary(
                id=artifact.id,
                name=artifact.name,
                status=artifact.status,
                version=artifact.version,
                artifact_repository_id=artifact.repository_id,
            ),
            runtime=workload.runtime,
            endpoint=base_url + reverse("workload-invoke", args=[workload.id, ""]),
            expires_at=workload.expires_at,
            replacement=(
                ReplacementOut(
                    id=running[0].id,
                    status=running[0].status,
                    started_at=running[0].started_at,
                    message=running[0].message,
                )
                if running
                else None
            ),
            creator=workload.creator.username if workload.creator else None,
            permissions=sorted(action.api_name for action in rights),
            created_at=workload.created_at,
            updated_at=workload.updated_at,
        )


class ReplicaOut(WireModel):
    name: str
    status: str
    address: str
    started_at: datetime | None


class ProtonOut(WireModel):
    id: str
    artifact_id: str
    role: Literal["active", "candidate"]
    status: str
    message: str
    replicas: list[ReplicaOut]
    running_since: datetime | None

    @classmethod
    def of(cls, proton: Proton) -> ProtonOut:
        return cls(
            id=proton.id,
            artifact_id=proton.artifact_id,
            role=proton.role,
            status=proton.status,
            message=proton.message,
            replicas=[ReplicaOut.model_validate(r) for r in proton.replicas],
            running_since=proton.running_since,
        )


class EventOut(WireModel):
    id: str
    kind: Literal["replacement", "restart", "promotion"]
    status: Literal["running", "completed", "errored"]
    message: str
    from_proton_id: str | None
    to_proton_id: str | None
    actor: str | None
    started_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, event: WorkloadEvent) -> EventOut:
        return cls(
            id=event.id,
            kind=event.kind,
            status=event.status,
            message=event.message,
            from_proton_id=event.from_proton_id,
            to_proton_id=event.to_proton_id,
            actor=event.actor.username if event.actor else None,
            started_at=event.started_at,
            finished_at=event.finished_at,
        )


class Period(WireModel):
    start: datetime
    end: datetime


class ResponseTime(WireModel):
    p50: float
    p90: float
    p99: float


class Metrics(WireModel):
    total_requests: int
    requests_per_minute: float
    user_errors: int
    server_errors: int
    error_rate: float
    response_time: ResponseTime


class StatsOut(WireModel):
    period: Period
    metrics: Metrics

    @classmethod
    def of(cls, stats: WorkloadStats) -> StatsOut:
        return cls(
            period=Period(start=stats.start, end=stats.end),
            metrics=Metrics(
                total_requests=stats.total,
                requests_per_minute=stats.requests_per_minute,
                user_errors=stats.user_errors,
                server_errors=stats.server_errors,
                error_rate=stats.error_rate,
                response_time=ResponseTime(p50=stats.p50, p90=stats.p90, p99=stats.p99),
            ),
        )


class WorkloadListQuery(ListQuery):
    ORDER_FIELDS: ClassVar = {
        "name": "name",
        "createdAt": "created_at",
        "updatedAt": "updated_at",
        "importance": "importance",
        "status": "status",
    }

    status: StatusName | None = None
    artifact_id: str | None = None
    repository_id: str | None = None
    importance: ImportanceName | None = None
