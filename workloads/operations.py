"""The worker side of workloads: bring protons up, switch traffic, take them down.

Each step claims its row with a conditional UPDATE, so a task delivered twice does its
work once; containers are only started after the claim and always removed on failure, so
nothing is left running that the database does not know about.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from workloads.constants import (
    EventStatus,
    ProtonRole,
    ProtonStatus,
    WorkloadStatus,
)
from workloads.models import Proton, Workload, WorkloadEvent
from workloads.plans import proton_plan
from workloads.runtimes import configured_runtime
from workloads.runtimes.base import ProtonPlan, ReadyResult, StartRefused

logger = logging.getLogger(__name__)


def plan_for(proton: Proton) -> ProtonPlan:
    return proton_plan(
        workload_id=proton.workload_id,
        proton_id=proton.id,
        spec=proton.artifact.spec,
        runtime=proton.runtime,
        artifact_type=proton.artifact.type,
    )


def proton_provision(proton_id: str) -> bool:
    """Start a proton's replicas and wait until they are ready; True when it runs."""
    claimed = Proton.objects.filter(pk=proton_id, status=ProtonStatus.SUBMITTED).update(
        status=ProtonStatus.PROVISIONING, updated_at=timezone.now()
    )
    if claimed != 1:
        return False
    proton = Proton.objects.select_related("artifact").get(pk=proton_id)
    if proton.role == ProtonRole.ACTIVE:
        _set_workload(proton, WorkloadStatus.PROVISIONING)
    runtime = configured_runtime()
    plan = plan_for(proton)
    try:
        runtime.start(plan)
        result = runtime.wait_ready(plan, should_stop=lambda: _abandoned(proton_id))
        if result.ready and proton.role == ProtonRole.ACTIVE:
            runtime.serve(proton.workload_id, proton.id)  # a first start: traffic to it
    except StartRefused as refused:  # a rule of the engine, not a failure: say which
        logger.info("proton %s refused: %s", proton_id, refused)
        result = ReadyResult(ready=False, replicas=(), reason=str(refused))
    except Exception as error:  # the engine failed: report it, leave nothing behind
        logger.exception("proton %s failed to start", proton_id)
        result = ReadyResult(ready=False, replicas=(), reason=f"The runtime failed: {error}")
    if not result.ready:
        runtime.stop(proton.workload_id, proton.id)
        Proton.objects.filter(pk=proton_id).update(
            status=ProtonStatus.ERRORED,
            message=result.reason,
            log_tail=result.log_tail,
            replicas=[],
            updated_at=timezone.now(),
        )
        if proton.role == ProtonRole.ACTIVE:
            _set_workload(proton, WorkloadStatus.ERRORED, result.reason)
        return False
    now = timezone.now()
    updated = Proton.objects.filter(pk=proton_id, status=ProtonStatus.PROVISIONING).update(
        status=ProtonStatus.RUNNING,
        replicas=[_replica(r) for r in result.replicas],
        running_since=now,
        updated_at=now,
    )
    if not updated:  # stopped while starting: the stop task owns it now
        runtime.stop(proton.workload_id, proton.id)
        return False
    if proton.role == ProtonRole.ACTIVE:
        _set_workload(proton, WorkloadStatus.RUNNING)
    return True


def proton_stop(proton_id: str) -> None:
    proton = Proton.objects.filter(pk=proton_id).first()
    if proton is None:
        return
    configured_runtime().stop(proton.workload_id, proton.id)
    Proton.objects.filter(pk=proton_id).update(
        status=ProtonStatus.STOPPED, replicas=[], updated_at=timezone.now()
    )


def workload_stop_now(workload_id: str) -> None:
    """Stop every proton of a workload that is stopping."""
    workload = Workload.objects.filter(pk=workload_id).first()
    if workload is None:
        return
    configured_runtime().stop(workload_id)
    now = timezone.now()
    workload.protons.exclude(status=ProtonStatus.ERRORED).update(
        status=ProtonStatus.STOPPED, replicas=[], updated_at=now
    )
    workload.protons.filter(role=ProtonRole.CANDIDATE).update(role=ProtonRole.RETIRED)
    Workload.objects.filter(pk=workload_id, status=WorkloadStatus.STOPPING).update(
        status=WorkloadStatus.STOPPED, updated_at=now
    )


def replacement_run(event_id: str) -> None:
    """Rolling replacement: the candidate comes up and becomes ready, traffic switches to
    it, and only then is the old proton stopped. On failure the old one keeps serving."""
    event = (
        WorkloadEvent.objects.select_related("to_proton")
        .filter(pk=event_id, status=EventStatus.RUNNING)
        .first()
    )
    if event is None or event.to_proton is None:
        return
    candidate = event.to_proton
    if not proton_provision(candidate.id):
        candidate.refresh_from_db()
        _end_event(
            event, EventStatus.ERRORED, candidate.message or "The replacement did not start."
        )
        return
    try:
        configured_runtime().serve(event.workload_id, candidate.id)
    except Exception as error:  # traffic could not move: the old proton keeps serving
        logger.exception("replacement %s could not switch traffic", event_id)
        proton_stop(candidate.id)
        _end_event(event, EventStatus.ERRORED, f"Traffic could not move to it: {error}")
        return
    with transaction.atomic():
        workload = Workload.objects.select_for_update().get(pk=event.workload_id)
        old = list(workload.protons.filter(role=ProtonRole.ACTIVE).exclude(pk=candidate.pk))
        workload.protons.filter(pk__in=[p.pk for p in old]).update(role=ProtonRole.RETIRED)
        Proton.objects.filter(pk=candidate.pk).update(role=ProtonRole.ACTIVE)
        # What serves now is the workload's artifact and runtime; a replacement that
        # failed or was cancelled never gets here, so the old settings stay.
        workload.artifact_id = candidate.artifact_id
        workload.runtime = candidate.runtime
        workload.status = WorkloadStatus.RUNNING
        workload.save(update_fields=["artifact", "runtime", "status", "updated_at"])
    # Requests already sent to the old replicas finish before they go away.
    time.sleep(settings.BERTH_DRAIN_SECONDS)
    for proton in old:
        proton_stop(proton.id)
    _end_event(event, EventStatus.COMPLETED, "Traffic moved to the new proton.")


def _end_event(event: WorkloadEvent, status: EventStatus, message: str) -> None:
    WorkloadEvent.objects.filter(pk=event.pk).update(
        status=status, message=message, finished_at=timezone.now()
    )


def _abandoned(proton_id: str) -> bool:
    """The proton was stopped or its workload deleted while it was starting."""
    status = Proton.objects.filter(pk=proton_id).values_list("status", flat=True).first()
    return status != ProtonStatus.PROVISIONING


def _set_workload(proton: Proton, status: WorkloadStatus, message: str = "") -> None:
    # Only while the workload is not being stopped: a stop wins over a late start.
    Workload.objects.filter(pk=proton.workload_id).exclude(
        status__in=(WorkloadStatus.STOPPING, WorkloadStatus.STOPPED)
    ).update(status=status, status_message=message, updated_at=timezone.now())


def _replica(state: Any) -> dict[str, Any]:
    data = asdict(state)
    data["started_at"] = state.started_at.isoformat() if state.started_at else None
    return data


def orphans_sweep() -> int:
    """Stop containers the database no longer knows (a worker died, a row was deleted)."""
    runtime = configured_runtime()
    running = runtime.running()
    live = set(
        Proton.objects.filter(
            status__in=(ProtonStatus.PROVISIONING, ProtonStatus.RUNNING),
        ).values_list("workload_id", "id")
    )
    orphans = running - live
    for workload_id, proton_id in orphans:
        runtime.stop(workload_id, proton_id)
    return len(orphans)
