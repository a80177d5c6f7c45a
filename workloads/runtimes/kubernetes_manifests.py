"""The Kubernetes engine's manifests, rendered from plans: pure functions, no cluster.

Per proton (``render``): a NetworkPolicy, a Secret (when its containers have environment
variables), a Deployment and, when autoscaled, a HorizontalPodAutoscaler. Per workload
(``render_traffic``): one Service, and an Ingress when ``BERTH_K8S_INGRESS_HOST`` is set,
whose selector names the proton that serves. A rolling replacement is a second proton's
objects beside the first, then the same Service re-applied with the candidate's selector,
then the old Deployment's Scale set to zero (``render_scale_down``) before its objects are
removed. ``tests/workloads/test_kubernetes_render.py`` validates every manifest of every
step against the Kubernetes JSON schemas in strict mode.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import math
import re
from typing import Any

from django.conf import settings

from workloads.plans import limited
from workloads.runtimes.base import (
    Autoscaling,
    ContainerPlan,
    ProbePlan,
    ProtonPlan,
    Resources,
)

Manifest = dict[str, Any]

MANAGED_BY = "app.kubernetes.io/managed-by"
FIELD_MANAGER = "berth"
WORKLOAD_KEY = "berth.workload"
PROTON_KEY = "berth.proton"
# On the workload's Service: the exact id of the proton its selector names (the selector
# holds the label value, which may be a hash of it).
SERVING_KEY = "berth.serving"
SERVICE_PORT = 80
# Every proton's primary container declares its port under this name, and the workload's
# Service targets the name: the candidate may listen on another port than the active one.
PORT_NAME = "http"
GPU_RESOURCE = "nvidia.com/gpu"
# Egress is open (artifacts fetch models and call APIs; Berth does not know the cluster's
# pod and service ranges to exclude) except to link-local addresses, where clouds serve
# instance metadata and the node's credentials. Other workloads' pods are closed to it by
# their own ingress rules.
EGRESS_EXCEPT = {"0.0.0.0/0": ["169.254.0.0/16"], "::/0": ["fe80::/10"]}

# The pull of a large image (a NIM is tens of GB) and waiting for a node come on top of the
# probes' own budget before the Deployment is declared stuck.
SCHEDULE_AND_PULL_SECONDS = 600

# Pods metrics come from the custom metrics API (custom.metrics.k8s.io): the cluster needs
# an adapter (e.g. prometheus-adapter) that publishes each pod's value under these names,
# mapped from whatever the serving container exports.
POD_METRICS = {
    "httpRequestsConcurrency": "http_requests_concurrency",
    "gpuCacheUtilization": "gpu_cache_utilization",
    "gpuRequestQueueDepth": "gpu_request_queue_depth",
}

_DNS_LABEL_MAX = 63
_DNS_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_NOT_DNS = re.compile(r"[^-a-z0-9]")
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?")


# Names and labels -----------------------------------------------------------------------


def resource_name(workload_id: str, proton_id: str) -> str:
    """``berth-<workload id>-<proton id>``, the name of every per-proton object.

    The whole proton id is kept: object ids begin with their creation second, so a prefix
    would collide for two protons of one workload started in the same second.
    """
    return _dns_name(f"berth-{workload_id}-{proton_id}", f"{workload_id}/{proton_id}")


def workload_resource_name(workload_id: str) -> str:
    """``berth-<workload id>``, the name of the workload's Service and Ingress."""
    return _dns_name(f"berth-{workload_id}", workload_id)


def _dns_name(name: str, identity: str) -> str:
    """``name`` when it is a DNS-1035 label (valid for every kind), else a shortened form
    made unique by a hash of ``identity``."""
    if len(name) <= _DNS_LABEL_MAX and _DNS_LABEL.fullmatch(name):
        return name
    digest = hashlib.sha256(identity.encode()).hexdigest()[:10]
    readable = _NOT_DNS.sub("-", name.lower())[: _DNS_LABEL_MAX - len(digest) - 1]
    return f"{readable.rstrip('-')}-{digest}"


def label_value(identifier: str) -> str:
    """The id itself when it is a valid label value, else a stable hash of it."""
    if len(identifier) <= _DNS_LABEL_MAX and _LABEL_VALUE.fullmatch(identifier):
        return identifier
    return "sha256." + hashlib.sha256(identifier.encode()).hexdigest()[:56]


def selector(workload_id: str, proton_id: str | None = None) -> dict[str, str]:
    labels = {MANAGED_BY: FIELD_MANAGER, WORKLOAD_KEY: label_value(workload_id)}
    if proton_id is not None:
        labels[PROTON_KEY] = label_value(proton_id)
    return labels


def selector_string(labels: dict[str, str]) -> str:
    return ",".join(f"{key}={value}" for key, value in labels.items())


# Per proton -----------------------------------------------------------------------------


def render(
    plan: ProtonPlan, namespace: str, ingress_from: list[Manifest] | None = None
) -> list[Manifest]:
    """The objects of one proton, in the order they are applied: the NetworkPolicy first,
    so that no pod of the proton is ever reachable without it. The same for a workload's
    first proton and for a replacement's candidate, which runs beside the active one until
    the workload's Service is switched to it. ``ingress_from`` are the NetworkPolicy peers
    besides the workload's own pods (default ``BERTH_K8S_INGRESS_FROM``)."""
    if plan.primary.port is None:
        raise ValueError("the primary container has no port to serve on")
    name = resource_name(plan.workload_id, plan.proton_id)
    labels = selector(plan.workload_id, plan.proton_id)

    # Every object gets dicts of its own (none shared between or within objects), so a
    # caller may change one without touching another and YAML output has no aliases.
    def metadata() -> Manifest:
        return {
            "name": name,
            "namespace": namespace,
            "labels": dict(labels),
            "annotations": {WORKLOAD_KEY: plan.workload_id, PROTON_KEY: plan.proton_id},
        }

    peers = settings.BERTH_K8S_INGRESS_FROM if ingress_from is None else ingress_from
    manifests = [_network_policy(plan, metadata(), labels, peers)]
    if any(container.env for container in plan.containers):
        manifests.append(_secret(plan, metadata()))
    manifests.append(_deployment(plan, metadata(), labels))
    if plan.autoscaling is not None:
        manifests.append(_autoscaler(plan.autoscaling, metadata()))
    return manifests


def render_scale_down(workload_id: str, proton_id: str, namespace: str) -> Manifest:
    """The Scale (the Deployment's ``scale`` subresource) that takes a proton's replicas to
    zero, so that they finish their requests while their Secret and NetworkPolicy still
    exist; its objects are removed once the pods are gone."""
    return {
        "apiVersion": "autoscaling/v1",
        "kind": "Scale",
        "metadata": {"name": resource_name(workload_id, proton_id), "namespace": namespace},
        "spec": {"replicas": 0},
    }


def progress_deadline_seconds(plan: ProtonPlan) -> int:
    """How long a replica may take to become ready: scheduling and the image pull, then
    every failure the startup and readiness probes allow (the slowest container counts,
    since a pod is ready only when all its containers are)."""

    def budget(probe: ProbePlan | None) -> int:
        if probe is None:
            return 0
        return probe.initial_delay_seconds + probe.period_seconds * probe.failure_threshold

    probes = max(budget(c.startup) + budget(c.readiness) for c in plan.containers)
    return SCHEDULE_AND_PULL_SECONDS + probes


def _deployment(plan: ProtonPlan, metadata: Manifest, labels: dict[str, str]) -> Manifest:
    spec: Manifest = {
        "selector": {"matchLabels": dict(labels)},
        "progressDeadlineSeconds": progress_deadline_seconds(plan),
        "template": {
            "metadata": {"labels": dict(labels)},
            "spec": {
                "securityContext": {
                    # The kubelet checks the image's user before it starts a container.
                    "runAsNonRoot": True,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "containers": [
                    _container(container, metadata["name"]) for container in plan.containers
                ],
                # Workloads never talk to the Kubernetes API: no token to steal.
                "automountServiceAccountToken": False,
                # Otherwise every Service in the namespace (one per workload) adds
                # environment variables to every pod, which may shadow the artifact's own.
                "enableServiceLinks": False,
            },
        },
    }
    if plan.autoscaling is None:
        spec["replicas"] = plan.replicas
    # With autoscaling the field stays out of what Berth applies, so the autoscaler owns it
    # and a repeated apply does not reset the replica count it chose.
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata, "spec": spec}


def _container(container: ContainerPlan, secret_name: str) -> Manifest:
    rendered: Manifest = {
        "name": container.name,
        "image": container.image,
        "resources": _resources(limited(container.resources)),
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            # Artifacts are arbitrary images that write caches, pid and temporary files
            # into their own file system, and the artifact spec has no volumes to give
            # them writable paths: a read-only root would break most of them.
            "readOnlyRootFilesystem": False,
        },
    }
    # Kubernetes reads an empty command as none: the image's own entrypoint runs.
    if container.entrypoint:
        rendered["command"] = list(container.entrypoint)
    if container.env:
        # The values live in the proton's Secret: the Deployment (readable by anyone who
        # may list deployments, and kept in every ReplicaSet's history) holds no value.
        rendered["env"] = [
            {
                "name": name,
                "valueFrom": {
                    "secretKeyRef": {"name": secret_name, "key": _secret_key(container, name)}
                },
            }
            for name, _value in container.env
        ]
    if container.primary and container.port is not None:
        rendered["ports"] = [
            {"name": PORT_NAME, "containerPort": container.port, "protocol": "TCP"}
        ]
    for field, probe in (
        ("readinessProbe", container.readiness),
        ("livenessProbe", container.liveness),
        ("startupProbe", container.startup),
    ):
        if probe is not None:
            rendered[field] = _probe(probe)
    return rendered


def _secret_key(container: ContainerPlan, env_name: str) -> str:
    # Container names are DNS labels and variable names [A-Za-z_][A-Za-z0-9_]*: joined by
    # a dot they are a valid, unique Secret key.
    return f"{container.name}.{env_name}"


def _secret(plan: ProtonPlan, metadata: Manifest) -> Manifest:
    data = {
        _secret_key(container, name): base64.b64encode(value.encode()).decode()
        for container in plan.containers
        for name, value in container.env
    }
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata,
        "type": "Opaque",
        "data": data,
    }


def _network_policy(
    plan: ProtonPlan, metadata: Manifest, labels: dict[str, str], peers: list[Manifest]
) -> Manifest:
    """Per proton (like every per-proton object, so that stopping one proton removes
    exactly its own): its pods accept connections from any pod of the same workload
    (another proton during a replacement, or itself) and from ``peers``, nobody else.
    Every proton admits the peers, the candidate as much as the active one, so whichever
    the workload's Service selects is reachable from the ingress sources the moment the
    Service switches to it."""
    own_workload = {"podSelector": {"matchLabels": selector(plan.workload_id)}}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata,
        "spec": {
            "podSelector": {"matchLabels": dict(labels)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [own_workload, *copy.deepcopy(peers)]}],
            "egress": [
                {
                    "to": [
                        {"ipBlock": {"cidr": cidr, "except": list(excepted)}}
                        for cidr, excepted in EGRESS_EXCEPT.items()
                    ]
                }
            ],
        },
    }


def _probe(probe: ProbePlan) -> Manifest:
    return {
        "httpGet": {"path": probe.path, "port": probe.port},
        "initialDelaySeconds": probe.initial_delay_seconds,
        "periodSeconds": probe.period_seconds,
        "timeoutSeconds": probe.timeout_seconds,
        "failureThreshold": probe.failure_threshold,
    }


def _resources(resources: Resources) -> Manifest:
    # Requests equal limits: a workload gets exactly what its runtime allocates.
    amounts: dict[str, str] = {}
    if resources.cpu is not None:
        amounts["cpu"] = f"{_millis(resources.cpu)}m"
    if resources.memory is not None:
        amounts["memory"] = resources.memory
    rendered: Manifest = {"requests": dict(amounts)} if amounts else {}
    if resources.gpu:
        # An extended resource is given in limits only; its request follows the limit.
        amounts[GPU_RESOURCE] = str(resources.gpu)
    if amounts:
        rendered["limits"] = amounts
    return rendered


def _millis(value: float) -> int:
    # Kubernetes quantities go no finer than a thousandth and round up; the inner round
    # drops float noise (0.1 * 1000 is 100.00000000000001, not 101 millis).
    return math.ceil(round(value * 1000, 6))


def _quantity(value: float) -> str:
    millis = _millis(value)
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def _autoscaler(autoscaling: Autoscaling, metadata: Manifest) -> Manifest:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": metadata,
        "spec": {
            "scaleTargetRef": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": metadata["name"],
            },
            "minReplicas": autoscaling.min_replicas,
            "maxReplicas": autoscaling.max_replicas,
            # With several metrics the autoscaler follows whichever asks for most replicas.
            "metrics": [_metric(metric, target) for metric, target in autoscaling.policies],
        },
    }


def _metric(scaling_metric: str, target: float) -> Manifest:
    if scaling_metric == "cpuAverageUtilization":
        # Measured against the pods' cpu requests: every container needs a cpu allocation.
        return {
            "type": "Resource",
            "resource": {
                "name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": round(target)},
            },
        }
    if scaling_metric not in POD_METRICS:
        raise ValueError(f"unknown scaling metric {scaling_metric!r}")
    return {
        "type": "Pods",
        "pods": {
            "metric": {"name": POD_METRICS[scaling_metric]},
            "target": {"type": "AverageValue", "averageValue": _quantity(target)},
        },
    }


# Per workload ---------------------------------------------------------------------------


def render_traffic(
    workload_id: str, proton_id: str, namespace: str, ingress_host: str = ""
) -> list[Manifest]:
    """The workload's Service, selecting the pods of ``proton_id``, and its Ingress at
    ``berth-<workload id>.<ingress_host>`` when a host is given, in apply order.

    Applying them again with another proton is the traffic switch of a replacement (and
    of a rollback): one object changes its selector in one write, and the Ingress, which
    names the Service, stays as it was. They carry the workload's labels but not a
    proton's, so stopping a proton never removes them."""
    name = workload_resource_name(workload_id)

    def metadata(**annotations: str) -> Manifest:
        return {
            "name": name,
            "namespace": namespace,
            "labels": selector(workload_id),
            "annotations": {WORKLOAD_KEY: workload_id, **annotations},
        }

    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(**{SERVING_KEY: proton_id}),
        "spec": {
            "type": "ClusterIP",
            "selector": selector(workload_id, proton_id),
            "ports": [
                {
                    "name": PORT_NAME,
                    "port": SERVICE_PORT,
                    "targetPort": PORT_NAME,
                    "protocol": "TCP",
                }
            ],
        },
    }
    if not ingress_host:
        return [service]
    return [service, _ingress(f"{name}.{ingress_host}", metadata())]


def _ingress(host: str, metadata: Manifest) -> Manifest:
    backend = {"service": {"name": metadata["name"], "port": {"name": PORT_NAME}}}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": metadata,
        "spec": {
            "rules": [
                {
                    "host": host,
                    "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]},
                }
            ]
        },
    }
