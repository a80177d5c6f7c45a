"""Build logs: JSON lines ``{time, level, message, buildId}``, stored in chunks as they come."""

from __future__ import annotations

import json
import time

from django.db.models import Max
from django.utils import timezone

from artifacts.models import BuildLogChunk

# Flush at least this often, so people watching a build see it move.
FLUSH_SECONDS = 0.5
FLUSH_LINES = 200


class BuildLog:
    """Collects lines in memory and writes them as one row per flush."""

    def __init__(self, build_id: str) -> None:
        self.build_id = build_id
        last = BuildLogChunk.objects.filter(build_id=build_id).aggregate(seq=Max("seq"))["seq"]
        self.seq = -1 if last is None else last
        self.pending: list[str] = []
        self.flushed_at = time.monotonic()

    def line(self, message: str) -> None:
        """A line of the builder's own output."""
        self._add("info", message)

    def info(self, message: str) -> None:
        self._add("info", message)

    def warning(self, message: str) -> None:
        self._add("warning", message)

    def error(self, message: str) -> None:
        self._add("error", message)

    def _add(self, level: str, message: str) -> None:
        record = {
            "time": timezone.now().isoformat(),
            "level": level,
            "message": message,
            "buildId": self.build_id,
        }
        self.pending.append(json.dumps(record))
        if len(self.pending) >= FLUSH_LINES or time.monotonic() - self.flushed_at >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        self.flushed_at = time.monotonic()
        if not self.pending:
            return
        self.seq += 1
        BuildLogChunk.objects.create(
            build_id=self.build_id, seq=self.seq, text="\n".join(self.pending) + "\n"
        )
        self.pending = []


def build_log_text(build_id: str, after: int = -1) -> tuple[str, int]:
    """The log from chunk ``after + 1`` on, and the last chunk's number (for pollers)."""
    chunks = list(
        BuildLogChunk.objects.filter(build_id=build_id, seq__gt=after)
        .order_by("seq")
        .values_list("seq", "text")
    )
    last = chunks[-1][0] if chunks else after
    return "".join(text for _, text in chunks), last
