"""Whether artifacts are in use by workloads (which the workloads app owns)."""

from __future__ import annotations

from collections.abc import Iterable

from artifacts.models import Artifact
from console.errors import Conflict


def require_unused(artifacts: Iterable[Artifact]) -> None:
    """An artifact that backs a workload cannot go: 409 naming the workloads."""
    in_use = sorted(
        workload_id
        for workload_id in Artifact.objects.filter(pk__in=[a.pk for a in artifacts]).values_list(
            "workloads__id", flat=True
        )
        if workload_id is not None
    )
    if in_use:
        raise Conflict(
            f"Workload {', '.join(in_use)} runs this artifact; delete the workload first.",
            code="artifact_in_use",
        )
