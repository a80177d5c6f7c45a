"""Writes to workloads: create, update, delete, start, stop, settings, promote, share.

Each service checks permission, state and input, writes in one transaction (the workload
row, and the artifact row where a rule depends on it, held FOR UPDATE), and hands the
slow part — starting and stopping containers — to a worker task after commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import partial
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from artifacts.constants import ArtifactStatus
from artifacts.containers import containers
from artifacts.image_access import require_pullable
from artifacts.models import Artifact
from artifacts.services import artifact_lock
from artifacts.validators import field_problems
from console import audit
from console.errors import Conflict, Forbidden, Invalid, Problem
from console.etags import require_fresh
from console.ids import is_object_id
from console.permissions import (
    Action,
    Actor,
    get_for_user,
    may_stop,
    own_grants,
    require,
    rights,
    signed_in,
    visible,
)
from console.services import missing_fields, unknown_fields
from console.sharing import (
    Role,
    apply_role_changes,
    grant_role,
    grant_summary,
    parse_share_request,
)
from repositories.models import ArtifactRepository
from workloads.constants import (
    DRAFT_TTL,
    LIVE_STATUSES,
    EventKind,
    EventStatus,
    Importance,
    ProtonRole,
    ProtonStatus,
    WorkloadStatus,
)
from workloads.models import Proton, Workload, WorkloadEvent
from workloads.runtimes import configured_runtime
from workloads.stats import stats_wipe
from workloads.validators import runtime_normalized, runtime_problems

CREATE_FIELDS = ("name", "artifactId", "description", "importance", "runtime")
PATCH_FIELDS = ("name", "description", "importance")
AUDITED_FIELDS = ("name", "description", "importance", "artifact_id", "runtime")


def workload_create(*, actor: Actor, data: Mapping[str, Any]) -> Workload:
    """Run an artifact: EDIT on its repository for a draft, VIEW (CONSUMER) for a version."""
    user = signed_in(actor)
    problems = unknown_fields(data, CREATE_FIELDS) + missing_fields(data, ("name", "artifactId"))
    problems += _field_problems(data)
    artifact_id = data.get("artifactId")
    if artifact_id is not None and not is_object_id(artifact_id):
        problems.append(
            Problem(("artifactId",), "Use an id of 24 lowercase hex characters.", "object_id")
        )
    if not is_object_id(artifact_id):
        raise Invalid(problems)
    artifact = get_for_user(actor, Artifact.objects.all(), Action.VIEW, pk=artifact_id)
    if not artifact.is_locked:
        require(actor, Action.EDIT, artifact)
    with transaction.atomic():
        # Holding the artifact row serialises creates on one draft and its lock.
        artifact = Artifact.objects.select_for_update().get(pk=artifact.pk)
        problems += runtime_problems(data.get("runtime", {}), artifact.spec, artifact.type)
        if problems:
            raise Invalid(problems)
        if not artifact.is_locked:
            _require_draft_free(artifact)
        _require_group_sizes(artifact)
        _require_images_pullable(actor, artifact)
        _require_workload_quota(holder=user, actor=user)
        runtime = runtime_normalized(data.get("runtime", {}), artifact.spec, artifact.type)
        workload = Workload.objects.create(
            name=data["name"].strip(),
            description=data.get("description") or "",
            importance=data.get("importance") or Importance.LOW,
            artifact=artifact,
            runtime=runtime,
            creator=user,
            expires_at=None if artifact.is_locked else timezone.now() + DRAFT_TTL,
        )
        grant_role(workload, user, Role.OWNER)
        _start_proton(workload, ProtonRole.ACTIVE)
        audit.record(
            actor=user,
            action="workload.create",
            obj=workload,
            changes=audit.changed({}, audit.snapshot(workload, AUDITED_FIELDS)),
        )
    return workload


def workload_update(
    *, actor: Actor, workload_id: str, data: Mapping[str, Any], if_match: str | None = None
) -> Workload:
    """Rename, describe, or change importance."""
    workload = get_for_user(actor, Workload.objects.all(), Action.EDIT, pk=workload_id)
    problems = unknown_fields(data, PATCH_FIELDS) + _field_problems(data)
    if problems:
        raise Invalid(problems)
    with transaction.atomic():
        workload = Workload.objects.select_for_update().get(pk=workload.pk)
        require_fresh(workload, if_match)
        before = audit.snapshot(workload, AUDITED_FIELDS)
        for field in PATCH_FIELDS:
            if data.get(field) is not None:
                value = data[field]
                setattr(workload, field, value.strip() if field == "name" else value)
        workload.save()
        audit.record(
            actor=actor,
            action="workload.update",
            obj=workload,
            changes=audit.changed(before, audit.snapshot(workload, AUDITED_FIELDS)),
        )
    return workload


def workload_delete(*, actor: Actor, workload_id: str, if_match: str | None = None) -> None:
    """Stop every container of the workload, then remove it (its history goes with it)."""
    workload = get_for_user(actor, Workload.objects.all(), Action.DELETE, pk=workload_id)
    require_fresh(workload, if_match)
    configured_runtime().stop(workload.id)
    with transaction.atomic():
        audit.record(actor=actor, action="workload.delete", obj=workload)
        Workload.objects.filter(pk=workload.pk).delete()


def workload_start(*, actor: Actor, workload_id: str) -> Workload:
    """Start a stopped or errored workload with a new proton; restarts reset the TTL."""
    workload = get_for_user(actor, Workload.objects.all(), Action.EDIT, pk=workload_id)
    with transaction.atomic():
        workload = _held(workload)
        if not is_startable(workload):
            raise Conflict(f"The workload is already {workload.status}.", code="workload_running")
        if not workload.artifact.is_locked:
            _require_draft_free(workload.artifact, other_than=workload)
            workload.expires_at = timezone.now() + DRAFT_TTL
        _require_group_sizes(workload.artifact)
        _require_images_pullable(actor, workload.artifact)
        _require_workload_quota(holder=workload.creator or signed_in(actor), actor=actor)
        _start_proton(workload, ProtonRole.ACTIVE)
        audit.record(actor=actor, action="workload.start", obj=workload)
    return workload


def workload_stop(*, actor: Actor, workload_id: str) -> Workload:
    workload = get_for_user(actor, Workload.objects.all(), Action.VIEW, pk=workload_id)
    if not may_stop(rights(actor, workload)):
        raise Forbidden()
    with transaction.atomic():
        workload = _held(workload)
        if not is_stoppable(workload):
            raise Conflict(f"The workload is {workload.status}.", code="workload_not_running")
        _stop(workload)
        audit.record(actor=actor, action="workload.stop", obj=workload)
    return workload


def workloads_stop_on_lost_edit(
    *,
    actor: User | None,
    users: Iterable[User],
    why: str,
    repository_ids: Iterable[str] | None = None,
) -> list[str]:
    """Stop the live workloads on drafts that ``users`` run, wherever they no longer hold
    EDIT on the draft's repository; ``why`` they lost it goes into the workloads' status
    and the audit log. Returns the ids of those stopped.

    Called, in their transaction, by the services that take EDIT away (a role lowered or
    revoked, a team left). "Run" is wide on purpose: the workloads a user created and
    those it may restart through its own grants, since either way it could go on running
    edits of the draft it may no longer see; whoever still holds EDIT may start them
    again. Workloads on locked versions keep running: a version cannot change under them.
    """
    stopped: list[str] = []
    for user in users:
        may_restart = own_grants(user, Workload.objects.all(), Action.EDIT).values("pk")
        candidates = (
            Workload.objects.filter(Q(creator=user) | Q(pk__in=may_restart))
            .filter(artifact__status=ArtifactStatus.DRAFT, status__in=LIVE_STATUSES)
            .exclude(status=WorkloadStatus.STOPPING)
        )
        if repository_ids is not None:
            candidates = candidates.filter(artifact__repository_id__in=list(repository_ids))
        # The workload rows only: the draft itself stays free to edit meanwhile.
        held = list(candidates.select_for_update(of=("self",)).select_related("artifact"))
        editable = set(
            visible(
                user,
                ArtifactRepository.objects.filter(pk__in={w.artifact.repository_id for w in held}),
                Action.EDIT,
            ).values_list("pk", flat=True)
        )
        for workload in held:
            if workload.artifact.repository_id not in editable:
                reason = (
                    f"Stopped because {user.get_username()} no longer holds EDIT on the "
                    f"repository of this draft ({why})."
                )
                _stop(workload, reason=reason)
                audit.record(
                    actor=actor,
                    kind="" if actor else "operator",
                    action="workload.stop",
                    obj=workload,
                    changes={"reason": reason},
                )
                stopped.append(workload.pk)
    return stopped


def workload_settings_update(
    *, actor: Actor, workload_id: str, data: Mapping[str, Any], if_match: str | None = None
) -> tuple[Workload, bool]:
    """New runtime settings. Draft artifact: restart with them (False: done). Locked
    version: a rolling replacement starts (True: accepted, still running)."""
    workload = get_for_user(actor, Workload.objects.all(), Action.EDIT, pk=workload_id)
    problems = unknown_fields(data, ("runtime",)) + missing_fields(data, ("runtime",))
    with transaction.atomic():
        workload = _held(workload)
        require_fresh(workload, if_match)
        artifact = workload.artifact
        problems += runtime_problems(data.get("runtime"), artifact.spec, artifact.type)
        if problems:
            raise Invalid(problems)
        if _running_replacement(workload) is not None:
            raise Conflict(
                "A replacement is running; wait for it to finish.", code="replacement_running"
            )
        before = {"runtime": workload.runtime}
        workload.runtime = runtime_normalized(data["runtime"], artifact.spec, artifact.type)
        audit.record(
            actor=actor,
            action="workload.settings",
            obj=workload,
            changes=audit.changed(before, {"runtime": workload.runtime}),
        )
        if not artifact.is_locked or workload.status not in LIVE_STATUSES:
            workload.save(update_fields=["runtime", "updated_at"])
            if workload.status in LIVE_STATUSES:
                _restart(workload, actor)
            return workload, False
        candidate = Proton.objects.create(
            workload=workload,
            artifact=artifact,
            runtime=workload.runtime,
            role=ProtonRole.CANDIDATE,
        )
        event = WorkloadEvent.objects.create(
            workload=workload,
            kind=EventKind.REPLACEMENT,
            from_proton=_active(workload),
            to_proton=candidate,
            actor=signed_in(actor),
        )
        _enqueue("run_replacement", event.id)
    return workload, True


def workload_promote(*, actor: Actor, workload_id: str) -> Workload:
    """Lock the running draft in place: no restart, statistics wiped, TTL removed."""
    workload = get_for_user(actor, Workload.objects.all(), Action.EDIT, pk=workload_id)
    if workload.artifact.is_locked:
        raise Conflict(
            f"The artifact is already locked as version {workload.artifact.version}.",
            code="artifact_already_locked",
        )
    with transaction.atomic():
        # The same lock as the API's; its signal wipes this workload's statistics.
        artifact_lock(actor=actor, artifact_id=workload.artifact_id)
        workload = _held(workload)
        workload.expires_at = None
        workload.save(update_fields=["expires_at", "updated_at"])
        WorkloadEvent.objects.create(
            workload=workload,
            kind=EventKind.PROMOTION,
            status=EventStatus.COMPLETED,
            finished_at=timezone.now(),
            message=f"Locked as version {Artifact.objects.get(pk=workload.artifact_id).version}.",
            actor=signed_in(actor),
        )
        audit.record(
            actor=actor,
            action="workload.promote",
            obj=workload,
            changes={"expiresAt": ["set", None], "stats": ["kept", "wiped"]},
        )
    return workload


def workload_stats_clear(*, actor: Actor, workload_id: str) -> None:
    workload = get_for_user(actor, Workload.objects.all(), Action.EDIT, pk=workload_id)
    with transaction.atomic():
        stats_wipe(workload)
        audit.record(actor=actor, action="workload.stats_clear", obj=workload)


def workload_share(*, actor: Actor, workload_id: str, data: Mapping[str, Any]) -> None:
    """The same roles and rules as repositories: OWNERs only, never without an OWNER."""
    workload = get_for_user(actor, Workload.objects.all(), Action.SHARE, pk=workload_id)
    changes = parse_share_request(data)
    with transaction.atomic():
        workload = Workload.objects.select_for_update().get(pk=workload.pk)
        before = grant_summary(workload)
        apply_role_changes(workload, changes)
        audit.record(
            actor=actor,
            action="workload.share",
            obj=workload,
            changes={"roles": [before, grant_summary(workload)]},
        )


def workloads_expire() -> int:
    """Stop and remove workloads on drafts whose TTL passed (run by Celery beat)."""
    expired = Workload.objects.filter(expires_at__lt=timezone.now())
    runtime = configured_runtime()
    count = 0
    for workload in expired:
        runtime.stop(workload.id)
        with transaction.atomic():
            gone = Workload.objects.filter(pk=workload.pk, expires_at__lt=timezone.now())
            if gone.exists():
                audit.record(actor=None, kind="worker", action="workload.expire", obj=workload)
                gone.delete()
                count += 1
    return count


def _field_problems(data: Mapping[str, Any]) -> list[Problem]:
    plain = {k: data[k] for k in ("name", "description") if data.get(k) is not None}
    problems = field_problems(plain)
    importance = data.get("importance")
    if importance is not None and importance not in Importance.values:
        problems.append(
            Problem(("importance",), f"Use one of: {', '.join(Importance.values)}.", "enum")
        )
    return problems


def _require_draft_free(artifact: Artifact, other_than: Workload | None = None) -> None:
    """A draft backs at most one workload: two would run different things under one name."""
    others = artifact.workloads.exclude(pk=other_than.pk if other_than else None)
    taken = list(others.values_list("id", flat=True))
    if taken:
        raise Conflict(
            f"The draft already backs workload {', '.join(taken)}; lock it to run it more "
            "than once, or stop and delete that workload.",
            code="draft_in_use",
        )


def _require_group_sizes(artifact: Artifact) -> None:
    """Checked when a workload is to run, not when the artifact is written: the limit is
    about what this installation runs, and an artifact stays valid (storable, shareable,
    runnable elsewhere) whatever it is set to. Every group counts, since a group not run
    today is one settings change away."""
    limit: int = settings.BERTH_MAX_CONTAINERS_PER_GROUP
    for group in artifact.spec.get("containerGroups", []):
        count = len(group.get("containers", []))
        if count > limit:
            raise Forbidden(
                f"The artifact's container group {group.get('name')!r} has {count} "
                f"containers; the limit is {limit} per group "
                "(BERTH_MAX_CONTAINERS_PER_GROUP)."
            )


def _require_images_pullable(actor: Actor, artifact: Artifact) -> None:
    """The runtime pulls with Berth's registry credentials, so an artifact naming another
    repository's image would run what its author may not read: the one rule builds use
    decides for workloads too, for whoever starts it (sharing may have changed since the
    artifact was written)."""
    for path, container in containers(artifact.spec):
        if container.get("imageUri"):
            try:
                require_pullable(actor=actor, reference=container["imageUri"])
            except Invalid as error:
                raise Invalid.at(
                    *path, "imageUri", msg=error.detail, type="invalid_reference"
                ) from None


def _require_workload_quota(*, holder: User, actor: Actor) -> None:
    """Live workloads count against the user who created them, whoever starts them: the
    quota is on what one account keeps running. The holder's row is held FOR UPDATE so
    that two concurrent starts cannot both take the last place."""
    limit: int = settings.BERTH_MAX_WORKLOADS_PER_USER
    User.objects.select_for_update().filter(pk=holder.pk).first()
    live = Workload.objects.filter(creator_id=holder.pk, status__in=LIVE_STATUSES).count()
    if live >= limit:
        who = "You have" if holder.pk == actor.pk else f"Its creator {holder} has"
        raise Forbidden(
            f"{who} reached the limit of {limit} running workloads (BERTH_MAX_WORKLOADS_PER_USER)."
        )


def is_startable(workload: Workload) -> bool:
    """Whether the workload's state lets it start now (the Start button asks here too)."""
    return workload.status not in LIVE_STATUSES


def is_stoppable(workload: Workload) -> bool:
    """Whether the workload's state lets it stop now (the Stop button asks here too)."""
    return workload.status in LIVE_STATUSES and workload.status != WorkloadStatus.STOPPING


def _stop(workload: Workload, reason: str = "") -> None:
    """Mark the held row stopping, with ``reason`` in its status, and have the worker stop
    its containers through the stop task."""
    workload.status = WorkloadStatus.STOPPING
    workload.status_message = reason
    workload.save(update_fields=["status", "status_message", "updated_at"])
    _enqueue("stop_workload", workload.id)


def _held(workload: Workload) -> Workload:
    return Workload.objects.select_for_update().select_related("artifact").get(pk=workload.pk)


def _active(workload: Workload) -> Proton | None:
    return workload.protons.filter(role=ProtonRole.ACTIVE).first()


def _running_replacement(workload: Workload) -> WorkloadEvent | None:
    return workload.events.filter(kind=EventKind.REPLACEMENT, status=EventStatus.RUNNING).first()


def _start_proton(workload: Workload, role: ProtonRole) -> Proton:
    proton = Proton.objects.create(
        workload=workload, artifact=workload.artifact, runtime=workload.runtime, role=role
    )
    workload.status = WorkloadStatus.SUBMITTED
    workload.status_message = ""
    workload.save()
    _enqueue("provision_proton", proton.id)
    return proton


def _restart(workload: Workload, actor: Actor) -> None:
    """Draft workloads apply new settings by stopping the old proton and starting anew."""
    old = _active(workload)
    if old is not None:
        old.role = ProtonRole.RETIRED
        old.status = ProtonStatus.STOPPING
        old.save(update_fields=["role", "status", "updated_at"])
    new = _start_proton(workload, ProtonRole.ACTIVE)
    workload.expires_at = timezone.now() + DRAFT_TTL
    workload.save(update_fields=["expires_at", "updated_at"])
    WorkloadEvent.objects.create(
        workload=workload,
        kind=EventKind.RESTART,
        status=EventStatus.COMPLETED,
        from_proton=old,
        to_proton=new,
        finished_at=timezone.now(),
        message="Restarted with new settings.",
        actor=signed_in(actor),
    )
    if old is not None:
        _enqueue("stop_proton", old.id)


def _enqueue(task_name: str, object_id: str) -> None:
    """Send a workloads task once the transaction commits (the worker must see the rows)."""
    # Imported here: the task module imports this one.
    task = import_module("workloads.tasks").__dict__[task_name]
    transaction.on_commit(partial(task.delay, object_id))
