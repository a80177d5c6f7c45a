"""Every rule of a workload's runtime settings, checked against the artifact it runs.

Like the artifact validators: typed schemas for the shape and single-field rules, then the
rules that need the artifact (group and container names, GPU metrics only for NIM). All
problems are reported together, each at its JSON path into the request body.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

import pydantic
from django.conf import settings
from pydantic import Field, TypeAdapter

from artifacts.constants import ArtifactType
from console.errors import Invalid, Problem
from console.wire import WireModel, problems_from_pydantic, strict_json_validate
from workloads import constants as c
from workloads.plans import cores, memory_bytes

ScalingMetric = Literal[
    "cpuAverageUtilization",
    "httpRequestsConcurrency",
    "gpuCacheUtilization",
    "gpuRequestQueueDepth",
]


class ScalingPolicy(WireModel):
    scaling_metric: ScalingMetric
    target: Annotated[float, Field(gt=0)]


class Autoscaling(WireModel):
    enabled: bool = True
    min_replica_count: Annotated[int, Field(ge=1, le=c.MAX_REPLICAS)]
    max_replica_count: Annotated[int, Field(ge=1, le=c.MAX_REPLICAS)]
    policies: Annotated[list[ScalingPolicy], Field(min_length=1)]


class ResourceAllocation(WireModel):
    cpu: (
        Annotated[float, Field(gt=0, le=256)] | Annotated[str, Field(pattern=c.CPU_PATTERN)] | None
    ) = None
    memory: Annotated[str, Field(pattern=c.MEMORY_PATTERN)] | None = None
    gpu: Annotated[int, Field(ge=0, le=16)] | None = None


class RuntimeContainer(WireModel):
    name: str
    resource_allocation: ResourceAllocation | None = None


class RuntimeGroup(WireModel):
    name: str = "default"
    replica_count: Annotated[int, Field(ge=1, le=c.MAX_REPLICAS)] | None = None
    autoscaling: Autoscaling | None = None
    containers: list[RuntimeContainer] = Field(default_factory=list)
    resource_bundles: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list
    )


class WorkloadRuntime(WireModel):
    """How the artifact runs: replicas or autoscaling, and resources per container."""

    container_groups: list[RuntimeGroup] = Field(default_factory=list)


_RUNTIME = TypeAdapter(WorkloadRuntime)


def runtime_problems(runtime: Any, spec: Mapping[str, Any], artifact_type: str) -> list[Problem]:
    """Every problem of ``runtime`` for an artifact with ``spec``, paths under ``runtime``."""
    problems = _environment_problems(runtime)
    reported = {p.loc for p in problems}
    try:
        strict_json_validate(_RUNTIME, runtime)
    except pydantic.ValidationError as error:
        problems += [
            p
            for p in problems_from_pydantic(error, "runtime")
            if p.loc[:-1] not in reported and p.loc not in reported
        ]
    reported = {p.loc for p in problems}
    problems += [p for p in _artifact_rules(runtime, spec, artifact_type) if p.loc not in reported]
    reported = {p.loc for p in problems}
    problems += [p for p in _resource_maxima(runtime) if p.loc not in reported]
    return problems


def runtime_normalized(runtime: Any, spec: Mapping[str, Any], artifact_type: str) -> dict[str, Any]:
    """The valid runtime with every artifact group present (1 replica when not given)."""
    problems = runtime_problems(runtime, spec, artifact_type)
    if problems:
        raise Invalid(problems)
    typed: WorkloadRuntime = strict_json_validate(_RUNTIME, runtime)
    given = {group.name for group in typed.container_groups}
    for group in spec.get("containerGroups", []):
        if group["name"] not in given:
            typed.container_groups.append(RuntimeGroup(name=group["name"], replica_count=1))
    for group in typed.container_groups:
        if group.replica_count is None and group.autoscaling is None:
            group.replica_count = 1
    return typed.model_dump(by_alias=True, exclude_none=True)


def _environment_problems(runtime: Any) -> list[Problem]:
    """Environment variables are part of what runs, so they live in the artifact."""
    problems = []
    groups = runtime.get("containerGroups") if isinstance(runtime, Mapping) else None
    places: list[tuple[tuple[str | int, ...], Any]] = [(("runtime",), runtime)]
    for gi, group in enumerate(groups if isinstance(groups, list) else []):
        places.append((("runtime", "containerGroups", gi), group))
        containers = group.get("containers") if isinstance(group, Mapping) else None
        for ci, container in enumerate(containers if isinstance(containers, list) else []):
            places.append((("runtime", "containerGroups", gi, "containers", ci), container))
    for loc, place in places:
        if not isinstance(place, Mapping):
            continue
        for key in c.ENVIRONMENT_KEYS:
            if key in place:
                problems.append(
                    Problem(
                        (*loc, key),
                        "A workload takes no environment variables: they belong in the "
                        "artifact (spec.containerGroups[].containers[].environmentVars).",
                        "environment_not_allowed",
                    )
                )
    return problems


def _artifact_rules(runtime: Any, spec: Mapping[str, Any], artifact_type: str) -> list[Problem]:
    if not isinstance(runtime, Mapping) or not isinstance(runtime.get("containerGroups"), list):
        return []
    artifact_groups = {
        group["name"]: {container["name"] for container in group["containers"]}
        for group in spec.get("containerGroups", [])
    }
    problems: list[Problem] = []
    seen: set[str] = set()
    for gi, group in enumerate(runtime["containerGroups"]):
        if not isinstance(group, Mapping):
            continue
        here = ("runtime", "containerGroups", gi)
        name = group.get("name", "default")
        if name in seen:
            problems.append(
                Problem((*here, "name"), f"Group {name!r} is given twice.", "duplicate_name")
            )
        seen.add(name)
        if name not in artifact_groups:
            problems.append(
                Problem(
                    (*here, "name"),
                    f"The artifact has no container group {name!r} "
                    f"(it has: {', '.join(sorted(artifact_groups))}).",
                    "unknown_group",
                )
            )
        elif isinstance(group.get("containers"), list):
            problems += _container_names(here, group["containers"], artifact_groups[name])
        if group.get("replicaCount") is not None and group.get("autoscaling") is not None:
            problems.append(
                Problem(
                    (*here, "autoscaling"),
                    "Give replicaCount or autoscaling, not both.",
                    "replicas_conflict",
                )
            )
        problems += _autoscaling_rules(here, group.get("autoscaling"), artifact_type)
    return problems


def _resource_maxima(runtime: Any) -> list[Problem]:
    """Above the installation's maxima a workload is refused, whichever engine runs it (the
    defaults for what it leaves out are the engines', see ``workloads.plans.limited``)."""
    problems: list[Problem] = []
    groups = runtime.get("containerGroups") if isinstance(runtime, Mapping) else None
    for gi, group in enumerate(groups if isinstance(groups, list) else []):
        containers = group.get("containers") if isinstance(group, Mapping) else None
        for ci, container in enumerate(containers if isinstance(containers, list) else []):
            allocation = (
                container.get("resourceAllocation") if isinstance(container, Mapping) else None
            )
            if not isinstance(allocation, Mapping):
                continue
            here = ("runtime", "containerGroups", gi, "containers", ci, "resourceAllocation")
            problems += _over_maximum(here, allocation)
    return problems


def _over_maximum(here: tuple[str | int, ...], allocation: Mapping[str, Any]) -> list[Problem]:
    problems = []
    cpu, memory = allocation.get("cpu"), allocation.get("memory")
    try:
        # Shapes the schema refuses are reported there; only well-formed amounts count here.
        asked_cpu = cores(cpu) if isinstance(cpu, int | float | str) else None
    except ValueError:
        asked_cpu = None
    maximum_cpu: float = settings.BERTH_WORKLOAD_MAX_CPU
    if asked_cpu is not None and asked_cpu > maximum_cpu:
        problems.append(
            Problem(
                (*here, "cpu"),
                f"At most {maximum_cpu:g} CPU cores per container (BERTH_WORKLOAD_MAX_CPU).",
                "resource_limit",
            )
        )
    try:
        asked_memory = memory_bytes(memory) if isinstance(memory, str) else None
    except ValueError:
        asked_memory = None
    maximum_memory: str = settings.BERTH_WORKLOAD_MAX_MEMORY
    if asked_memory is not None and asked_memory > memory_bytes(maximum_memory):
        problems.append(
            Problem(
                (*here, "memory"),
                f"At most {maximum_memory} of memory per container (BERTH_WORKLOAD_MAX_MEMORY).",
                "resource_limit",
            )
        )
    return problems


def _container_names(
    here: tuple[str | int, ...], containers: list[Any], known: set[str]
) -> list[Problem]:
    problems = []
    for ci, container in enumerate(containers):
        name = container.get("name") if isinstance(container, Mapping) else None
        if isinstance(name, str) and name not in known:
            problems.append(
                Problem(
                    (*here, "containers", ci, "name"),
                    f"The artifact has no container {name!r} in this group "
                    f"(it has: {', '.join(sorted(known))}).",
                    "unknown_container",
                )
            )
    return problems


def _autoscaling_rules(
    here: tuple[str | int, ...], autoscaling: Any, artifact_type: str
) -> list[Problem]:
    if not isinstance(autoscaling, Mapping):
        return []
    problems = []
    low, high = autoscaling.get("minReplicaCount"), autoscaling.get("maxReplicaCount")
    if isinstance(low, int) and isinstance(high, int) and low > high:
        problems.append(
            Problem(
                (*here, "autoscaling", "maxReplicaCount"),
                "maxReplicaCount must be at least minReplicaCount.",
                "bounds",
            )
        )
    policies = autoscaling.get("policies")
    for pi, policy in enumerate(policies if isinstance(policies, list) else []):
        metric = policy.get("scalingMetric") if isinstance(policy, Mapping) else None
        if metric in c.GPU_SCALING_METRICS and artifact_type != ArtifactType.NIM:
            problems.append(
                Problem(
                    (*here, "autoscaling", "policies", pi, "scalingMetric"),
                    f"{metric} is a GPU metric, only for nim artifacts.",
                    "metric_not_allowed",
                )
            )
    return problems
