"""The workload forms: runtime settings and a new workload, to and from wire-shaped bodies.

No rule is checked here. ``runtime_from_post`` and ``workload_body`` only parse what the
browser sends into the body the JSON API takes (numbers as numbers, anything else as
typed so that the validators name the problem); the services validate it, and the forms
put each problem next to the input its JSON path points at.

Settings field names, per artifact group ``i`` and container ``j`` (the artifact's order,
which is also the order of the runtime sent, so a problem's indexes name the field):
``g<i>-mode`` (``replicas`` | ``autoscaling``), ``g<i>-replicaCount``,
``g<i>-minReplicaCount``, ``g<i>-maxReplicaCount``, ``g<i>-scalingMetric``,
``g<i>-target`` and ``g<i>-c<j>-cpu``, ``-memory``, ``-gpu`` (NIM artifacts only).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from artifacts.constants import DEFAULT_GROUP_NAME, ArtifactType
from console.errors import Loc, Problem
from workloads.constants import GPU_SCALING_METRICS, SCALING_METRICS

AUTOSCALING = "autoscaling"
METRIC_LABELS = {
    "cpuAverageUtilization": "Average CPU utilization",
    "httpRequestsConcurrency": "Concurrent HTTP requests",
    "gpuCacheUtilization": "GPU cache utilization",
    "gpuRequestQueueDepth": "GPU request queue depth",
}


@dataclass(frozen=True)
class Input:
    """One form field as the template draws it."""

    name: str
    value: str
    errors: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"settings-{self.name}"


@dataclass(frozen=True)
class ContainerInputs:
    name: str
    cpu: Input
    memory: Input
    gpu: Input | None


@dataclass(frozen=True)
class GroupInputs:
    name: str
    autoscaled: bool
    mode: Input
    replica_count: Input
    min_replicas: Input
    max_replicas: Input
    metric: Input
    target: Input
    containers: tuple[ContainerInputs, ...]

    @property
    def metric_label(self) -> str:
        return METRIC_LABELS.get(self.metric.value, self.metric.value)


def _groups(spec: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(spec.get("containerGroups", []))


def _by_name(items: Any) -> dict[str, dict[str, Any]]:
    return {
        item.get("name", DEFAULT_GROUP_NAME): item
        for item in (items if isinstance(items, list) else [])
        if isinstance(item, dict)
    }


def _resources(artifact_type: str) -> tuple[str, ...]:
    # GPUs are asked for on NIM artifacts; a service keeps whatever the API set.
    return ("cpu", "memory", "gpu") if artifact_type == ArtifactType.NIM else ("cpu", "memory")


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _number(text: str | None) -> int | float | str | None:
    """``"3"`` → 3, ``"0.5"`` → 0.5, ``""`` → None; anything else as typed."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return text
    return value if math.isfinite(value) else text


def _put(target: dict[str, Any], key: str, value: Any) -> None:
    """Set ``key``, or leave it out when the field was left empty."""
    if value is None or value == "":
        target.pop(key, None)
    else:
        target[key] = value


def values_from_runtime(
    runtime: Mapping[str, Any], spec: Mapping[str, Any], artifact_type: str
) -> dict[str, str]:
    """The settings form's values for a stored runtime."""
    stored = _by_name(runtime.get("containerGroups"))
    values: dict[str, str] = {}
    for gi, group in enumerate(_groups(spec)):
        p = f"g{gi}"
        kept = stored.get(group.get("name", DEFAULT_GROUP_NAME), {})
        autoscaling = kept.get("autoscaling") or {}
        policy = (autoscaling.get("policies") or [{}])[0]
        values[f"{p}-mode"] = AUTOSCALING if autoscaling else "replicas"
        values[f"{p}-replicaCount"] = _text(kept.get("replicaCount", 1))
        values[f"{p}-minReplicaCount"] = _text(autoscaling.get("minReplicaCount"))
        values[f"{p}-maxReplicaCount"] = _text(autoscaling.get("maxReplicaCount"))
        values[f"{p}-scalingMetric"] = _text(policy.get("scalingMetric", SCALING_METRICS[0]))
        values[f"{p}-target"] = _text(policy.get("target"))
        containers = _by_name(kept.get("containers"))
        for ci, container in enumerate(group.get("containers", [])):
            allocation = containers.get(container["name"], {}).get("resourceAllocation") or {}
            for key in _resources(artifact_type):
                values[f"{p}-c{ci}-{key}"] = _text(allocation.get(key))
    return values


def runtime_from_post(
    data: Mapping[str, str],
    spec: Mapping[str, Any],
    artifact_type: str,
    stored: Mapping[str, Any],
) -> dict[str, Any]:
    """The ``runtime`` the form holds. What the form does not show (resource bundles, more
    scaling policies, a service's GPUs) is carried over from the stored runtime."""
    stored_groups = _by_name(stored.get("containerGroups"))
    groups = []
    for gi, group in enumerate(_groups(spec)):
        p, name = f"g{gi}", group.get("name", DEFAULT_GROUP_NAME)
        kept = stored_groups.get(name, {})
        out = {k: v for k, v in kept.items() if k not in ("replicaCount", "autoscaling")}
        out["name"] = name
        if data.get(f"{p}-mode") == AUTOSCALING:
            autoscaling = dict(kept.get("autoscaling") or {})
            for key in ("minReplicaCount", "maxReplicaCount"):
                _put(autoscaling, key, _number(data.get(f"{p}-{key}")))
            policy: dict[str, Any] = {}
            _put(policy, "scalingMetric", data.get(f"{p}-scalingMetric", "").strip())
            _put(policy, "target", _number(data.get(f"{p}-target")))
            autoscaling["policies"] = [policy, *(autoscaling.get("policies") or [])[1:]]
            out["autoscaling"] = autoscaling
        else:
            _put(out, "replicaCount", _number(data.get(f"{p}-replicaCount")))
        kept_containers = _by_name(kept.get("containers"))
        out["containers"] = []
        for ci, container in enumerate(group.get("containers", [])):
            kept_container = kept_containers.get(container["name"], {})
            allocation = dict(kept_container.get("resourceAllocation") or {})
            for key in _resources(artifact_type):
                typed = data.get(f"{p}-c{ci}-{key}", "").strip()
                _put(allocation, key, _number(typed) if key == "gpu" else typed)
            entry = {**kept_container, "name": container["name"]}
            _put(entry, "resourceAllocation", allocation or None)
            out["containers"].append(entry)
        groups.append(out)
    return {"containerGroups": groups}


def settings_field(loc: Loc) -> str | None:
    """The settings field a problem at ``loc`` concerns; None for the form as a whole."""
    if loc[:2] != ("runtime", "containerGroups") or len(loc) < 4 or not isinstance(loc[2], int):
        return None
    p = f"g{loc[2]}"
    match loc[3:]:
        case ("replicaCount", *_):
            return f"{p}-replicaCount"
        case ("autoscaling", ("minReplicaCount" | "maxReplicaCount") as key, *_):
            return f"{p}-{key}"
        case ("autoscaling", "policies", 0, ("scalingMetric" | "target") as key, *_):
            return f"{p}-{key}"
        case ("autoscaling", *_):
            return f"{p}-mode"
        case ("containers", int() as ci, "resourceAllocation", str() as key, *_):
            return f"{p}-c{ci}-{key}"
    return None


def located(loc: Loc) -> str:
    """``runtime.containerGroups[0].name``: a problem's place, for problems shown apart."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text


class ProblemsByField:
    """Problems sorted to the fields ``field_of`` names; the rest are the form's own."""

    def __init__(self, problems: Sequence[Problem], field_of: Any, known: set[str]) -> None:
        self._by_field: dict[str, list[str]] = defaultdict(list)
        self.general: list[str] = []
        for problem in problems:
            name = field_of(problem.loc)
            if name in known:
                if problem.msg not in self._by_field[name]:
                    self._by_field[name].append(problem.msg)
            else:
                self.general.append(f"{located(problem.loc)}: {problem.msg}")

    def of(self, name: str) -> tuple[str, ...]:
        return tuple(self._by_field.get(name, ()))


class SettingsForm:
    """The runtime settings form: one fieldset per artifact group, its containers inside."""

    def __init__(
        self,
        spec: Mapping[str, Any],
        artifact_type: str,
        values: Mapping[str, str],
        problems: Sequence[Problem] = (),
    ) -> None:
        self.values = values
        self.metrics = [
            (metric, METRIC_LABELS[metric])
            for metric in SCALING_METRICS
            + (GPU_SCALING_METRICS if artifact_type == ArtifactType.NIM else ())
        ]
        self._problems = ProblemsByField(problems, settings_field, set(values))
        self.errors = self._problems.general
        self.groups = [
            self._group(gi, group, artifact_type) for gi, group in enumerate(_groups(spec))
        ]

    def _input(self, name: str) -> Input:
        return Input(name, self.values.get(name, ""), self._problems.of(name))

    def _group(self, gi: int, group: Mapping[str, Any], artifact_type: str) -> GroupInputs:
        p = f"g{gi}"
        containers = tuple(
            ContainerInputs(
                name=container["name"],
                cpu=self._input(f"{p}-c{ci}-cpu"),
                memory=self._input(f"{p}-c{ci}-memory"),
                gpu=self._input(f"{p}-c{ci}-gpu") if "gpu" in _resources(artifact_type) else None,
            )
            for ci, container in enumerate(group.get("containers", []))
        )
        return GroupInputs(
            name=group.get("name", DEFAULT_GROUP_NAME),
            autoscaled=self.values.get(f"{p}-mode") == AUTOSCALING,
            mode=self._input(f"{p}-mode"),
            replica_count=self._input(f"{p}-replicaCount"),
            min_replicas=self._input(f"{p}-minReplicaCount"),
            max_replicas=self._input(f"{p}-maxReplicaCount"),
            metric=self._input(f"{p}-scalingMetric"),
            target=self._input(f"{p}-target"),
            containers=containers,
        )


def posted_settings(
    data: Mapping[str, str], spec: Mapping[str, Any], artifact_type: str
) -> dict[str, str]:
    """The typed values of the settings form, to show again after a refused save."""
    known = values_from_runtime({}, spec, artifact_type)
    return {name: data.get(name, "") for name in known}


# --- a new workload ---------------------------------------------------------------------

NEW_FIELDS = ("name", "description", "importance", "replicas")


def workload_body(
    data: Mapping[str, str], artifact_id: str, spec: Mapping[str, Any]
) -> dict[str, Any]:
    """The create body: ``replicas`` applies to every group of the artifact."""
    body: dict[str, Any] = {
        "name": data.get("name", ""),
        "artifactId": artifact_id,
        "description": data.get("description", ""),
    }
    _put(body, "importance", data.get("importance", "").strip())
    replicas = _number(data.get("replicas"))
    if replicas is not None:
        body["runtime"] = {
            "containerGroups": [
                {"name": group.get("name", DEFAULT_GROUP_NAME), "replicaCount": replicas}
                for group in _groups(spec)
            ]
        }
    return body


def new_field(loc: Loc) -> str | None:
    """The new-workload field a problem at ``loc`` concerns."""
    if loc[:1] in (("name",), ("description",), ("importance",)):
        return str(loc[0])
    if loc[:2] == ("runtime", "containerGroups") and loc[3:4] == ("replicaCount",):
        return "replicas"
    return None
