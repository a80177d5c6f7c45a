"""Request statistics of a workload: recorded by the invoke proxy, summarised on demand."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Avg, Case, Count, IntegerField, Q, Value, When
from django.utils import timezone

from workloads.models import InvokeSample, Workload

# Quantiles are computed from at most this many most recent samples of the period.
QUANTILE_SAMPLE_LIMIT = 50_000


@dataclass(frozen=True)
class WorkloadStats:
    start: datetime
    end: datetime
    total: int
    user_errors: int
    server_errors: int
    p50: float
    p90: float
    p99: float

    @property
    def requests_per_minute(self) -> float:
        minutes = max((self.end - self.start).total_seconds() / 60, 1 / 60)
        return round(self.total / minutes, 3)

    @property
    def error_rate(self) -> float:
        return round((self.user_errors + self.server_errors) / self.total, 4) if self.total else 0.0


def record_invoke(workload_id: str, status_code: int, latency_ms: float) -> None:
    InvokeSample.objects.create(
        workload_id=workload_id, at=timezone.now(), status_code=status_code, latency_ms=latency_ms
    )


def stats_wipe(workload: Workload) -> None:
    """Start counting afresh (promotion, lock of the draft, or on request)."""
    InvokeSample.objects.filter(workload=workload).delete()
    workload.stats_reset_at = timezone.now()
    workload.save(update_fields=["stats_reset_at", "updated_at"])


def stats_of(workload: Workload, *, window: timedelta = timedelta(hours=24)) -> WorkloadStats:
    """Since the last reset, over at most ``window``. Three queries whatever the volume."""
    end = timezone.now()
    start = max(workload.stats_reset_at, end - window)
    samples = InvokeSample.objects.filter(workload=workload, at__gte=start, at__lte=end)
    counts = samples.aggregate(
        total=Count("id"),
        user=Count("id", filter=Q(status_code__gte=400, status_code__lt=500)),
        server=Count("id", filter=Q(status_code__gte=500)),
    )
    latencies = sorted(
        samples.order_by("-at").values_list("latency_ms", flat=True)[:QUANTILE_SAMPLE_LIMIT]
    )
    return WorkloadStats(
        start=start,
        end=end,
        total=counts["total"],
        user_errors=counts["user"],
        server_errors=counts["server"],
        p50=_quantile(latencies, 0.50),
        p90=_quantile(latencies, 0.90),
        p99=_quantile(latencies, 0.99),
    )


def _quantile(ordered: list[float], q: float) -> float:
    """Nearest-rank quantile of sorted values; 0 when there are none."""
    if not ordered:
        return 0.0
    rank = max(math.ceil(q * len(ordered)), 1)
    return round(ordered[rank - 1], 3)


@dataclass(frozen=True)
class StatsBucket:
    """One slice of a period: how many requests, how many failed, how long they took."""

    start: datetime
    end: datetime
    requests: int
    errors: int
    mean_latency_ms: float

    @property
    def requests_per_minute(self) -> float:
        return round(self.requests / ((self.end - self.start).total_seconds() / 60), 3)


# A chart of a period shorter than this per bucket would show single requests as spikes.
MIN_BUCKET = timedelta(minutes=1)


def stats_series(
    workload: Workload, *, buckets: int = 30, window: timedelta = timedelta(hours=24)
) -> list[StatsBucket]:
    """The period of ``stats_of`` cut into ``buckets`` equal slices, oldest first, in one
    query. A slice is at least a minute long, so a young period ends now and reaches
    back ``buckets`` minutes (the slices before the reset are empty)."""
    end = timezone.now()
    width = max((end - max(workload.stats_reset_at, end - window)) / buckets, MIN_BUCKET)
    start = end - width * buckets
    edges = [start + width * (i + 1) for i in range(buckets)]
    # A CASE ladder numbers the slices: portable SQL, and the (workload, at) index applies.
    slice_of = Case(
        *[When(at__lt=edge, then=Value(i)) for i, edge in enumerate(edges[:-1])],
        default=Value(buckets - 1),
        output_field=IntegerField(),
    )
    rows = (
        InvokeSample.objects.filter(workload=workload, at__gte=start, at__lte=end)
        .annotate(slice=slice_of)
        .values("slice")
        .annotate(
            requests=Count("id"),
            errors=Count("id", filter=Q(status_code__gte=400)),
            latency=Avg("latency_ms"),
        )
        .order_by()
    )
    found = {row["slice"]: row for row in rows}
    series = []
    for i, edge in enumerate(edges):
        row: Mapping[str, Any] = found.get(i, {})
        series.append(
            StatsBucket(
                start=edge - width,
                end=edge,
                requests=row.get("requests", 0),
                errors=row.get("errors", 0),
                mean_latency_ms=round(row.get("latency") or 0.0, 3),
            )
        )
    return series
