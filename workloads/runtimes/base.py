"""What every workload runtime engine offers, and the plan it is given.

A *proton* is one running instance of (artifact, runtime settings): ``replicas`` copies of
the artifact's container group. The services build a ``ProtonPlan`` from the artifact's
spec and the workload's runtime; an engine turns it into running containers (podman) or
cluster objects (Kubernetes), reports where the replicas answer, and removes them again.
Engines hold no state of their own: everything they need to find their containers again
is in the labels they put on them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

ShouldStop = Callable[[], bool]


class StartRefused(RuntimeError):
    """The engine will not run the plan as given (an image that would run as root, a value
    it cannot pass safely). The message is for the workload's owner and becomes the
    workload's status message as it is; it never carries environment values."""


@dataclass(frozen=True)
class ProbePlan:
    path: str
    port: int
    initial_delay_seconds: int = 0
    period_seconds: int = 10
    timeout_seconds: int = 1
    failure_threshold: int = 3


@dataclass(frozen=True)
class Resources:
    cpu: float | None = None  # cores
    memory: str | None = None  # e.g. "512Mi", "1Gi"
    gpu: int | None = None


@dataclass(frozen=True)
class ContainerPlan:
    name: str
    image: str
    primary: bool
    port: int | None = None  # the primary's HTTP port; sidecars have none
    entrypoint: tuple[str, ...] | None = None
    env: tuple[tuple[str, str], ...] = ()
    readiness: ProbePlan | None = None
    liveness: ProbePlan | None = None
    startup: ProbePlan | None = None
    resources: Resources = field(default_factory=Resources)


@dataclass(frozen=True)
class Autoscaling:
    min_replicas: int
    max_replicas: int
    policies: tuple[tuple[str, float], ...]  # (scalingMetric, target)


@dataclass(frozen=True)
class ProtonPlan:
    workload_id: str
    proton_id: str
    replicas: int
    containers: tuple[ContainerPlan, ...]  # the primary first
    autoscaling: Autoscaling | None = None
    artifact_type: str = "service"

    @property
    def primary(self) -> ContainerPlan:
        return self.containers[0]


@dataclass(frozen=True)
class ReplicaState:
    name: str
    status: str  # "starting" | "ready" | "failed" | "stopped"
    address: str  # "host:port" where the primary answers HTTP, "" when unknown
    started_at: datetime | None = None


@dataclass(frozen=True)
class ReadyResult:
    ready: bool
    replicas: tuple[ReplicaState, ...]
    reason: str = ""  # why not ready, for people
    log_tail: str = ""  # the last lines the containers printed, when not ready


class Runtime(Protocol):
    def start(self, plan: ProtonPlan) -> tuple[ReplicaState, ...]:
        """Create and start every replica; returns at once (replicas are "starting")."""

    def wait_ready(self, plan: ProtonPlan, should_stop: ShouldStop) -> ReadyResult:
        """Poll the primary's readiness probe of every replica per its settings
        (initialDelaySeconds, periodSeconds, timeoutSeconds, failureThreshold) until all
        are ready, one exhausts its failures, a container exits, or ``should_stop()``."""

    def serve(self, workload_id: str, proton_id: str) -> None:
        """Send the workload's traffic to ``proton_id`` (and only to it): called whenever a
        proton becomes the workload's active one, after its first start is ready, at a
        replacement's switch and at a rollback. Idempotent; the other protons keep running
        until they are stopped."""

    def replicas(self, workload_id: str, proton_id: str) -> tuple[ReplicaState, ...]:
        """The proton's replicas as they are now."""

    def stop(self, workload_id: str, proton_id: str | None = None) -> None:
        """Stop and remove the proton's replicas (all of the workload's when no proton);
        removing what is already gone is not an error."""

    def running(self) -> set[tuple[str, str]]:
        """(workload id, proton id) of everything this engine runs, found by label;
        the orphan sweep stops what the database no longer knows."""
