"""``/api/v2/auditEvents``: the audit log, filtered to what the caller may see."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from django.db.models import Q, QuerySet
from django.http import HttpRequest
from ninja import Query, Router
from pydantic import field_validator
from pydantic_core import PydanticCustomError

from console.listing import ListQuery, envelope, ordered
from console.models import AuditEvent
from console.permissions import Actor, Audience, route_permission, visible
from console.schemas import ERROR_RESPONSES, Envelope
from console.wire import WireModel

router = Router(tags=["audit"], by_alias=True)
MAX_UTC_OFFSET = timedelta(hours=14)


class AuditEventOut(WireModel):
    id: str
    at: datetime
    actor: str
    actor_kind: str
    api_key_id: str | None
    action: str
    object_type: str
    object_id: str
    object_name: str
    changes: dict[str, Any]
    request_id: str

    @classmethod
    def of(cls, event: AuditEvent) -> AuditEventOut:
        return cls(
            id=event.id,
            at=event.at,
            actor=event.actor_name,
            actor_kind=event.actor_kind,
            api_key_id=event.api_key_id or None,
            action=event.action,
            object_type=event.object_type,
            object_id=event.object_id,
            object_name=event.object_name,
            changes=event.changes,
            request_id=event.request_id,
        )


class AuditQuery(ListQuery):
    ORDER_FIELDS: ClassVar = {"at": "at"}
    DEFAULT_ORDER: ClassVar = "-at"

    object_type: str | None = None
    object_id: str | None = None
    actor: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    @field_validator("since", "until", mode="before")
    @classmethod
    def _iso_only(cls, value: object) -> object:
        # Pydantic would also take numbers as Unix times; the API documents ISO 8601.
        if not isinstance(value, str) or not value:
            return value
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise PydanticCustomError(
                "datetime_from_date_parsing", "Use an ISO 8601 date and time."
            ) from None
        offset = moment.utcoffset()
        if offset is None:
            return moment.replace(tzinfo=UTC)  # no offset given: UTC, like every time here
        if abs(offset) > MAX_UTC_OFFSET:
            # Python accepts offsets up to a day; real ones (and PostgreSQL) stop at 14 h.
            raise PydanticCustomError(
                "timezone_offset", "Use a UTC offset between -14:00 and +14:00."
            )
        return moment


def audit_events(*, user: Actor, query: AuditQuery | None = None) -> QuerySet[AuditEvent]:
    """Events about repositories and workloads the user can see now, and their own API-key
    events; staff see every event, including those of deleted objects."""
    from repositories.models import ArtifactRepository
    from workloads.models import Workload

    events = AuditEvent.objects.all()
    if not user.is_authenticated:
        return events.none()
    if not (user.is_staff or user.is_superuser):
        repositories = visible(user, ArtifactRepository.objects.all()).values("pk")
        workloads = visible(user, Workload.objects.all()).values("pk")
        events = events.filter(
            Q(guard_type="repository", guard_id__in=repositories)
            | Q(guard_type="workload", guard_id__in=workloads)
            | Q(guard_type="api_key", actor_id=user.pk)
        )
    if query is None:
        return events.order_by("-at", "-id")
    if query.search:
        term = query.search.strip()
        events = events.filter(
            Q(object_name__icontains=term) | Q(action__icontains=term) | Q(object_id=term)
        )
    if query.object_type:
        events = events.filter(object_type=query.object_type)
    if query.object_id:
        events = events.filter(Q(object_id=query.object_id) | Q(guard_id=query.object_id))
    if query.actor:
        events = events.filter(actor_name=query.actor)
    if query.action:
        events = events.filter(action=query.action)
    if query.since:
        events = events.filter(at__gte=query.since)
    if query.until:
        events = events.filter(at__lte=query.until)
    return ordered(events, query)


@router.get("/auditEvents", response={200: Envelope[AuditEventOut], **ERROR_RESPONSES})
@route_permission(Audience.SIGNED_IN)
def list_audit_events(request: HttpRequest, query: Query[AuditQuery]) -> dict[str, Any]:
    events = audit_events(user=request.user, query=query)
    return envelope(request, events, query, lambda rows: [AuditEventOut.of(e) for e in rows])
