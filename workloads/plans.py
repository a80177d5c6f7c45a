"""From an artifact's spec and a workload's runtime to the plan an engine runs."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings as django_settings

from workloads.runtimes.base import (
    Autoscaling,
    ContainerPlan,
    ProbePlan,
    ProtonPlan,
    Resources,
)

MEMORY = re.compile(r"(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?")
MEMORY_UNITS = {
    "": 1,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
}


def proton_plan(
    *,
    workload_id: str,
    proton_id: str,
    spec: dict[str, Any],
    runtime: dict[str, Any],
    artifact_type: str,
) -> ProtonPlan:
    """The plan of the artifact's first container group (the one that serves traffic)."""
    group = spec["containerGroups"][0]
    settings: dict[str, Any] = next(
        (g for g in runtime.get("containerGroups", []) if g.get("name") == group["name"]), {}
    )
    resources = {c["name"]: c.get("resourceAllocation", {}) for c in settings.get("containers", [])}
    containers = sorted(group["containers"], key=lambda c: not c.get("primary"))
    autoscaling = settings.get("autoscaling")
    return ProtonPlan(
        workload_id=workload_id,
        proton_id=proton_id,
        replicas=settings.get("replicaCount") or (autoscaling or {}).get("minReplicaCount") or 1,
        containers=tuple(_container(c, resources.get(c["name"], {})) for c in containers),
        autoscaling=_autoscaling(autoscaling)
        if autoscaling and autoscaling.get("enabled", True)
        else None,
        artifact_type=artifact_type,
    )


def _container(container: dict[str, Any], allocation: dict[str, Any]) -> ContainerPlan:
    port = container.get("port")
    return ContainerPlan(
        name=container["name"],
        image=container["imageUri"],
        primary=bool(container.get("primary")),
        port=port,
        entrypoint=tuple(container["entrypoint"]) if container.get("entrypoint") else None,
        env=tuple((v["name"], v.get("value", "")) for v in container.get("environmentVars", [])),
        readiness=_probe(container.get("readinessProbe"), port),
        liveness=_probe(container.get("livenessProbe"), port),
        startup=_probe(container.get("startupProbe"), port),
        resources=Resources(
            cpu=cores(allocation.get("cpu")),
            memory=allocation.get("memory"),
            gpu=allocation.get("gpu"),
        ),
    )


def limited(resources: Resources) -> Resources:
    """``resources`` with the installation's default CPU and memory wherever the workload
    gave none: every engine applies this, so no container runs without a limit (the
    maxima are enforced when the runtime is validated, see ``workloads.validators``)."""
    return Resources(
        cpu=resources.cpu
        if resources.cpu is not None
        else django_settings.BERTH_WORKLOAD_DEFAULT_CPU,
        memory=resources.memory or django_settings.BERTH_WORKLOAD_DEFAULT_MEMORY,
        gpu=resources.gpu,
    )


def memory_bytes(quantity: str) -> int:
    """A Kubernetes memory quantity ("512Mi", "1Gi", "0.5Gi", "1G") in bytes."""
    match = MEMORY.fullmatch(quantity.strip())
    if match is None:
        raise ValueError(f"Unsupported memory quantity {quantity!r}; use e.g. 512Mi or 1Gi.")
    return int(float(match[1]) * MEMORY_UNITS[match[2] or ""])


def cores(cpu: float | str | None) -> float | None:
    """``1``, ``0.5`` or ``"500m"`` as cores."""
    if cpu is None:
        return None
    if isinstance(cpu, str):
        return float(cpu[:-1]) / 1000 if cpu.endswith("m") else float(cpu)
    return float(cpu)


def _probe(probe: dict[str, Any] | None, port: int | None) -> ProbePlan | None:
    if not probe:
        return None
    return ProbePlan(
        path=probe["path"],
        port=probe.get("port") or port or 0,
        initial_delay_seconds=probe.get("initialDelaySeconds", 0),
        period_seconds=probe.get("periodSeconds", 10),
        timeout_seconds=probe.get("timeoutSeconds", 1),
        failure_threshold=probe.get("failureThreshold", 3),
    )


def _autoscaling(autoscaling: dict[str, Any]) -> Autoscaling:
    return Autoscaling(
        min_replicas=autoscaling["minReplicaCount"],
        max_replicas=autoscaling["maxReplicaCount"],
        policies=tuple((p["scalingMetric"], float(p["target"])) for p in autoscaling["policies"]),
    )
