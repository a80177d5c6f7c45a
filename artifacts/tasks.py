"""Celery tasks of the artifacts app: ids in, the service does the work."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from artifacts.builds import build_execute, builds_sweep


@shared_task(
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
    acks_late=True,
)
def run_build(build_id: str) -> None:
    """Run one build. Retries only when the database was briefly unreachable before the
    build was claimed; a claimed build is never run twice (the claim is conditional)."""
    build_execute(build_id)


@shared_task
def sweep_stale_builds() -> int:
    """Fail builds whose worker stopped responding (scheduled by Celery beat)."""
    return builds_sweep()
