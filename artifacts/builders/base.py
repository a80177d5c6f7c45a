"""What every builder engine offers, and the subprocess runner they share."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol, cast

LogLine = Callable[[str], None]
ShouldStop = Callable[[], bool]
STOP_GRACE_SECONDS = 3.0


class BuildFailed(Exception):
    """The builder reported an error; the message is for the person reading the build."""


class BuildCancelled(Exception):
    """The build was stopped on request."""


@dataclass(frozen=True)
class BuildJob:
    """Everything an engine needs: where the source is, which Dockerfile, what to push."""

    build_id: str
    context_dir: Path
    dockerfile: Path
    image: str  # registry/name:tag to push to
    work_dir: Path  # scratch space the engine may use (auth files, metadata)


@dataclass(frozen=True)
class ImageFacts:
    """What the built image declares, for the container requirements checks."""

    user: str
    exposed_ports: frozenset[int] = field(default_factory=frozenset)


class Builder(Protocol):
    def build(self, job: BuildJob, log: LogLine, should_stop: ShouldStop) -> ImageFacts:
        """Build ``job.image`` locally (or remotely); raise BuildFailed / BuildCancelled."""

    def push(self, job: BuildJob, log: LogLine, should_stop: ShouldStop) -> str:
        """Push the built image; return its reference pinned by digest (``name@sha256:…``)."""


def run_streaming(
    command: Sequence[str],
    log: LogLine,
    should_stop: ShouldStop,
    *,
    timeout: float,
    env: dict[str, str] | None = None,
    shown_as: str | None = None,
    name: str | None = None,
) -> None:
    """Run ``command``, passing each output line to ``log`` as it comes.

    The command runs in its own process group so that stopping it (on request or on
    timeout) also stops everything it started. ``shown_as`` replaces the command line in
    the log when it carries something that must not be shown; ``name`` is what failure
    messages call the command (its first two words by default).
    """
    log(f"$ {shown_as or ' '.join(command)}")
    process = subprocess.Popen(  # noqa: S603 (fixed argument lists, no shell)
        list(command),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, **(env or {})},
    )
    stdout = cast(IO[bytes], process.stdout)  # PIPE was requested above
    deadline = time.monotonic() + timeout
    pending = b""
    with selectors.DefaultSelector() as watcher:
        watcher.register(stdout, selectors.EVENT_READ)
        while True:
            if watcher.select(timeout=0.5):
                data = os.read(stdout.fileno(), 65536)
                if not data:
                    break
                *lines, pending = (pending + data).split(b"\n")
                for line in lines:
                    log(line.decode(errors="replace").rstrip("\r"))
            if should_stop():
                stop_process_group(process)
                raise BuildCancelled("The build was cancelled.")
            if time.monotonic() > deadline:
                stop_process_group(process)
                raise BuildFailed(f"The build took longer than {timeout:.0f} s and was stopped.")
    if pending:
        log(pending.decode(errors="replace"))
    if process.wait() != 0:
        raise BuildFailed(
            f"{name or ' '.join(command[:2])} exited with status {process.returncode}."
        )


def stop_process_group(process: subprocess.Popen[bytes]) -> None:
    """TERM the whole group, give it a moment, then KILL whatever is left of it."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=STOP_GRACE_SECONDS)
    # Children can outlive the group's leader; the group id still reaches them.
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
