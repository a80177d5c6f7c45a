"""Celery tasks of workloads: ids in, the operations do the work."""

from __future__ import annotations

from celery import shared_task

from workloads import operations
from workloads.services import workloads_expire


@shared_task(acks_late=True)
def provision_proton(proton_id: str) -> None:
    operations.proton_provision(proton_id)


@shared_task(acks_late=True)
def stop_proton(proton_id: str) -> None:
    operations.proton_stop(proton_id)


@shared_task(acks_late=True)
def stop_workload(workload_id: str) -> None:
    operations.workload_stop_now(workload_id)


@shared_task(acks_late=True)
def run_replacement(event_id: str) -> None:
    operations.replacement_run(event_id)


@shared_task
def expire_workloads() -> int:
    """Stop and remove draft workloads past their TTL (scheduled by Celery beat)."""
    return workloads_expire()


@shared_task
def sweep_orphan_containers() -> int:
    """Remove containers that belong to no known proton (scheduled by Celery beat)."""
    return operations.orphans_sweep()
