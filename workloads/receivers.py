"""Reactions to other apps' events."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from artifacts.models import Artifact
from artifacts.signals import artifact_locked
from workloads.stats import stats_wipe


@receiver(artifact_locked, sender=Artifact)
def reset_stats_of_the_drafts_workload(
    sender: type[Artifact], artifact: Artifact, **_: Any
) -> None:
    """Figures gathered on a draft describe a different artifact than the locked version."""
    for workload in artifact.workloads.all():
        stats_wipe(workload)
