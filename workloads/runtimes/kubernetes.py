"""The cluster engine: each proton becomes a NetworkPolicy, a Secret (when its containers
have environment variables), a Deployment, a Service and, when autoscaled, a
HorizontalPodAutoscaler (plus an Ingress when ``BERTH_K8S_INGRESS_HOST`` is set).

Configure ``BERTH_RUNTIME=kubernetes``, install the optional client
(``pip install 'berth[kubernetes]'``) and either run Berth in the cluster (its service
account is used) or point ``BERTH_K8S_KUBECONFIG`` at a kubeconfig file. Everything goes
into ``BERTH_K8S_NAMESPACE``, which the operator creates; Berth's account there needs
get/list/create/patch/deletecollection on deployments, services, horizontalpodautoscalers,
networkpolicies, secrets (and ingresses), and list on pods plus get on pods/log. The
cluster's network plugin must enforce NetworkPolicies (Calico, Cilium, ...; kindnet and
flannel alone do not), or workloads are not isolated from each other.

Containment is the podman engine's, in Kubernetes' words: the pod runs as non-root
(``runAsNonRoot``: the kubelet refuses an image whose user is root, unset or a name, so
``BERTH_WORKLOAD_DEFAULT_USER`` does not apply here) with the runtime's default seccomp
profile; containers drop every capability and cannot gain privileges; CPU and memory
default to the installation's limits; and each proton's NetworkPolicy admits connections
only from the workload's own pods and ``BERTH_K8S_INGRESS_FROM``.

Rendering (``render``) is pure and unit-tested. The methods that talk to the cluster are
not exercised by the test suite: these machines have no cluster (see README).

Like every engine this one keeps no state: objects carry the labels
``app.kubernetes.io/managed-by=berth``, ``berth.workload`` and ``berth.proton`` (selectors
use all three), and the exact ids as annotations, since a label value cannot hold every
string an id might be.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import importlib
import math
import re
import time
from datetime import datetime
from typing import Any

import yaml
from django.conf import settings

from workloads.plans import limited
from workloads.runtimes.base import (
    Autoscaling,
    ContainerPlan,
    ProbePlan,
    ProtonPlan,
    ReadyResult,
    ReplicaState,
    Resources,
    ShouldStop,
)

Manifest = dict[str, Any]

MANAGED_BY = "app.kubernetes.io/managed-by"
WORKLOAD_KEY = "berth.workload"
PROTON_KEY = "berth.proton"
FIELD_MANAGER = "berth"
SERVICE_PORT = 80
GPU_RESOURCE = "nvidia.com/gpu"
# Egress is open (artifacts fetch models and call APIs; Berth does not know the cluster's
# pod and service ranges to exclude) except to link-local addresses, where clouds serve
# instance metadata and the node's credentials. Other workloads' pods are closed to it by
# their own ingress rules.
EGRESS_EXCEPT = {"0.0.0.0/0": ["169.254.0.0/16"], "::/0": ["fe80::/10"]}

# The pull of a large image (a NIM is tens of GB) and waiting for a node come on top of the
# probes' own budget before the Deployment is declared stuck.
SCHEDULE_AND_PULL_SECONDS = 600
# The kubelet runs the probes; we only watch their outcome, often enough to notice
# should_stop promptly without loading the API server.
POLL_SECONDS = 2.0
LOG_TAIL_LINES = 50

# Pods metrics come from the custom metrics API (custom.metrics.k8s.io): the cluster needs
# an adapter (e.g. prometheus-adapter) that publishes each pod's value under these names,
# mapped from whatever the serving container exports.
POD_METRICS = {
    "httpRequestsConcurrency": "http_requests_concurrency",
    "gpuCacheUtilization": "gpu_cache_utilization",
    "gpuRequestQueueDepth": "gpu_request_queue_depth",
}

# Waiting reasons after which the kubelet only retries what already failed: reported at
# once, like the podman engine does when a container cannot start.
FATAL_WAITING_REASONS = frozenset(
    {
        "CrashLoopBackOff",
        "CreateContainerConfigError",
        "CreateContainerError",
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "RunContainerError",
    }
)

_DNS_LABEL_MAX = 63
_DNS_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_NOT_DNS = re.compile(r"[^-a-z0-9]")
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?")


# Rendering ----------------------------------------------------------------------------


def resource_name(workload_id: str, proton_id: str) -> str:
    """``berth-<workload id>-<proton id>``, a DNS-1035 label (valid for every kind).

    The whole proton id is kept: object ids begin with their creation second, so a prefix
    would collide for two protons of one workload started in the same second. Ids that
    do not fit (too long, or not lowercase alphanumerics) are shortened and made unique
    by a hash of both ids.
    """
    name = f"berth-{workload_id}-{proton_id}"
    if len(name) <= _DNS_LABEL_MAX and _DNS_LABEL.fullmatch(name):
        return name
    digest = hashlib.sha256(f"{workload_id}/{proton_id}".encode()).hexdigest()[:10]
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


def render(
    plan: ProtonPlan,
    namespace: str,
    ingress_host: str = "",
    ingress_from: list[Manifest] | None = None,
) -> list[Manifest]:
    """The objects that run ``plan``, in the order they are applied: the NetworkPolicy
    first, so that no pod of the proton is ever reachable without it. ``ingress_from`` are
    the NetworkPolicy peers besides the workload's own pods (default
    ``BERTH_K8S_INGRESS_FROM``)."""
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
    manifests += [
        _deployment(plan, metadata(), labels),
        _service(plan.primary.port, metadata(), labels),
    ]
    if plan.autoscaling is not None:
        manifests.append(_autoscaler(plan.autoscaling, metadata()))
    if ingress_host:
        manifests.append(_ingress(f"{name}.{ingress_host}", metadata()))
    return manifests


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
                # Otherwise every Service in the namespace (one per proton) adds environment
                # variables to every pod, which may shadow the artifact's own.
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
        rendered["ports"] = [{"name": "http", "containerPort": container.port, "protocol": "TCP"}]
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
    """Per proton (like every object here, so that stopping one proton removes exactly its
    own): its pods accept connections from any pod of the same workload (another proton
    during a replacement, or itself) and from ``peers``, nobody else."""
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


def _service(port: int, metadata: Manifest, labels: dict[str, str]) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata,
        "spec": {
            "type": "ClusterIP",
            "selector": dict(labels),
            "ports": [
                {"name": "http", "port": SERVICE_PORT, "targetPort": port, "protocol": "TCP"}
            ],
        },
    }


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


def _ingress(host: str, metadata: Manifest) -> Manifest:
    backend = {"service": {"name": metadata["name"], "port": {"name": "http"}}}
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


# Reading the cluster's answers ----------------------------------------------------------


def _replica_state(pod: Manifest, ingress_address: str) -> ReplicaState:
    status = pod.get("status") or {}
    address = ingress_address
    if not address and status.get("podIP"):
        address = f"{status['podIP']}:{_primary_port(pod)}"
    started = status.get("startTime")
    return ReplicaState(
        name=pod["metadata"]["name"],
        status=_pod_status(pod),
        address=address,
        started_at=datetime.fromisoformat(started) if started else None,
    )


def _primary_port(pod: Manifest) -> int:
    # Only the primary container declares a port (see _container).
    return next(
        port["containerPort"]
        for container in pod["spec"]["containers"]
        for port in container.get("ports") or []
    )


def _pod_status(pod: Manifest) -> str:
    if pod["metadata"].get("deletionTimestamp"):
        return "stopped"
    if _pod_problem(pod, include_past_exits=False) is not None:
        return "failed"
    conditions = (pod.get("status") or {}).get("conditions") or []
    if any(c["type"] == "Ready" and c["status"] == "True" for c in conditions):
        return "ready"
    return "starting"


def _pod_problem(pod: Manifest, include_past_exits: bool) -> tuple[str, str, bool] | None:
    """(container, reason, whether its log is the previous run's) when the pod failed.

    While a proton starts, any exit counts, even one the kubelet has since restarted
    (``include_past_exits``), as with the podman engine; later, a replica that restarted
    and runs again is not failed.
    """
    name = pod["metadata"]["name"]
    status = pod.get("status") or {}
    if status.get("phase") == "Failed":
        container = pod["spec"]["containers"][0]["name"]
        return (
            container,
            f"pod {name} failed: {status.get('reason')}: {status.get('message')}",
            False,
        )
    for container in status.get("containerStatuses") or []:
        state = container.get("state") or {}
        past = (container.get("lastState") or {}).get("terminated")
        terminated = state.get("terminated") or (past if include_past_exits else None)
        if terminated:
            reason = (
                f"container {container['name']} of pod {name} exited with code "
                f"{terminated.get('exitCode')} ({terminated.get('reason')})"
            )
            return container["name"], reason, "terminated" not in state
        waiting = state.get("waiting") or {}
        if waiting.get("reason") in FATAL_WAITING_REASONS:
            reason = (
                f"container {container['name']} of pod {name}: "
                f"{waiting['reason']}: {waiting.get('message', '')}"
            )
            return container["name"], reason, waiting["reason"] == "CrashLoopBackOff"
    return None


def _stalled_reason(deployment: Manifest, pods: list[Manifest]) -> str | None:
    """Why the Deployment made no progress within its deadline, or None while it may."""
    conditions = (deployment.get("status") or {}).get("conditions") or []
    if not any(
        c["type"] == "Progressing" and c.get("reason") == "ProgressDeadlineExceeded"
        for c in conditions
    ):
        return None
    reasons = [
        f"{c['type']}: {c.get('message', '')}"
        for c in conditions
        if (c["type"], c["status"]) in {("Progressing", "False"), ("ReplicaFailure", "True")}
    ]
    for pod in pods:
        if _pod_status(pod) != "ready":
            reasons.extend(
                f"pod {pod['metadata']['name']} {c['type']}: {c.get('message', '')}"
                for c in (pod.get("status") or {}).get("conditions") or []
                if c["status"] == "False"
            )
            break
    return "not ready in time; " + "; ".join(reasons)


# The engine ------------------------------------------------------------------------------


class KubernetesRuntime:
    def __init__(self) -> None:
        self.namespace: str = settings.BERTH_K8S_NAMESPACE
        self.kubeconfig: str = settings.BERTH_K8S_KUBECONFIG
        self.ingress_host: str = settings.BERTH_K8S_INGRESS_HOST
        self.ingress_from: list[Manifest] = settings.BERTH_K8S_INGRESS_FROM

    def start(self, plan: ProtonPlan) -> tuple[ReplicaState, ...]:
        # Kubernetes creates the pods asynchronously: what is returned is what exists right
        # after the apply, often nothing yet; wait_ready and replicas report them later.
        api = self._api()
        manifests = render(plan, self.namespace, self.ingress_host, self.ingress_from)
        for manifest in manifests:
            # Server-side apply is create-or-update in one call; forcing takes over fields
            # another manager (kubectl edit) changed, since Berth's plan is the truth.
            self._resource(api, manifest["apiVersion"], manifest["kind"]).server_side_apply(
                body=manifest,
                namespace=self.namespace,
                field_manager=FIELD_MANAGER,
                force_conflicts=True,
            )
        return self._replicas(api, plan.workload_id, plan.proton_id)

    def wait_ready(self, plan: ProtonPlan, should_stop: ShouldStop) -> ReadyResult:
        api = self._api()
        dynamic_errors = importlib.import_module("kubernetes.dynamic.exceptions")
        name = resource_name(plan.workload_id, plan.proton_id)
        wanted = plan.autoscaling.min_replicas if plan.autoscaling else plan.replicas
        deployments = self._resource(api, "apps/v1", "Deployment")
        while not should_stop():
            try:
                deployment = deployments.get(name=name, namespace=self.namespace).to_dict()
            except dynamic_errors.NotFoundError:
                return ReadyResult(ready=False, replicas=(), reason="the proton was removed")
            pods = self._pods(api, selector(plan.workload_id, plan.proton_id))
            replicas = tuple(_replica_state(pod, self._ingress_address(name)) for pod in pods)
            if (deployment.get("status") or {}).get("readyReplicas", 0) >= wanted:
                return ReadyResult(ready=True, replicas=replicas)
            for pod in pods:
                problem = _pod_problem(pod, include_past_exits=True)
                if problem is not None:
                    container, reason, previous = problem
                    log = self._log_tail(api, pod["metadata"]["name"], container, previous)
                    return ReadyResult(False, replicas, reason=reason, log_tail=log)
            stalled = _stalled_reason(deployment, pods)
            if stalled is not None:
                unready = [pod for pod in pods if _pod_status(pod) != "ready"]
                log = (
                    self._log_tail(api, unready[0]["metadata"]["name"], plan.primary.name, False)
                    if unready
                    else ""
                )
                return ReadyResult(False, replicas, reason=stalled, log_tail=log)
            time.sleep(POLL_SECONDS)
        return ReadyResult(ready=False, replicas=(), reason="stopped before it was ready")

    def replicas(self, workload_id: str, proton_id: str) -> tuple[ReplicaState, ...]:
        return self._replicas(self._api(), workload_id, proton_id)

    def stop(self, workload_id: str, proton_id: str | None = None) -> None:
        api = self._api()
        kinds = [
            ("networking.k8s.io/v1", "Ingress"),
            ("autoscaling/v2", "HorizontalPodAutoscaler"),
            ("v1", "Service"),
            ("apps/v1", "Deployment"),
            # After the Deployment: its pods stay closed to other workloads to the end.
            ("v1", "Secret"),
            ("networking.k8s.io/v1", "NetworkPolicy"),
        ]
        for api_version, kind in kinds:
            # A collection delete by label: removing nothing is no error. Background
            # propagation lets the garbage collector remove the ReplicaSets and pods.
            self._resource(api, api_version, kind).delete(
                namespace=self.namespace,
                label_selector=selector_string(selector(workload_id, proton_id)),
                propagation_policy="Background",
            )

    def running(self) -> set[tuple[str, str]]:
        listing = self._resource(self._api(), "apps/v1", "Deployment").get(
            namespace=self.namespace, label_selector=f"{MANAGED_BY}={FIELD_MANAGER}"
        )
        annotations = [
            item["metadata"].get("annotations") or {} for item in listing.to_dict()["items"]
        ]
        # Objects labelled by hand without Berth's annotations are not Berth's to sweep.
        return {
            (ids[WORKLOAD_KEY], ids[PROTON_KEY])
            for ids in annotations
            if WORKLOAD_KEY in ids and PROTON_KEY in ids
        }

    # The client is imported only here, so Berth installs and runs without it; through
    # importlib its modules are typed Any, which is all mypy can know of an optional package.
    def _api(self) -> Any:
        """A DynamicClient for the configured cluster."""
        try:
            client = importlib.import_module("kubernetes.client")
            config = importlib.import_module("kubernetes.config")
            dynamic = importlib.import_module("kubernetes.dynamic")
        except ImportError as error:
            raise RuntimeError(
                "BERTH_RUNTIME=kubernetes needs the Kubernetes client: install Berth with "
                "the 'kubernetes' extra (pip install 'berth[kubernetes]')."
            ) from error
        configuration = client.Configuration()
        try:
            if self.kubeconfig:
                config.load_kube_config(
                    config_file=self.kubeconfig,
                    client_configuration=configuration,
                    persist_config=False,
                )
            else:
                config.load_incluster_config(client_configuration=configuration)
        except (config.ConfigException, yaml.YAMLError) as error:
            where = (
                f"the kubeconfig BERTH_K8S_KUBECONFIG={self.kubeconfig!r}"
                if self.kubeconfig
                else "the in-cluster service account (BERTH_K8S_KUBECONFIG is empty)"
            )
            raise RuntimeError(
                f"BERTH_RUNTIME=kubernetes cannot reach a cluster through {where} ({error}); "
                "run Berth in the cluster or set BERTH_K8S_KUBECONFIG to a kubeconfig file."
            ) from error
        return dynamic.DynamicClient(client.ApiClient(configuration))

    def _resource(self, api: Any, api_version: str, kind: str) -> Any:
        return api.resources.get(api_version=api_version, kind=kind)

    def _pods(self, api: Any, labels: dict[str, str]) -> list[Manifest]:
        listing = self._resource(api, "v1", "Pod").get(
            namespace=self.namespace, label_selector=selector_string(labels)
        )
        pods: list[Manifest] = listing.to_dict()["items"]
        return sorted(pods, key=lambda pod: pod["metadata"]["name"])

    def _replicas(self, api: Any, workload_id: str, proton_id: str) -> tuple[ReplicaState, ...]:
        address = self._ingress_address(resource_name(workload_id, proton_id))
        pods = self._pods(api, selector(workload_id, proton_id))
        return tuple(_replica_state(pod, address) for pod in pods)

    def _ingress_address(self, name: str) -> str:
        # With an ingress host Berth runs outside the cluster and cannot reach pod
        # addresses: every replica answers through the proton's Ingress.
        return f"{name}.{self.ingress_host}:{SERVICE_PORT}" if self.ingress_host else ""

    def _log_tail(self, api: Any, pod: str, container: str, previous: bool) -> str:
        client = importlib.import_module("kubernetes.client")
        try:
            log: str = client.CoreV1Api(api.client).read_namespaced_pod_log(
                pod,
                self.namespace,
                container=container,
                tail_lines=LOG_TAIL_LINES,
                previous=previous,
            )
        except client.ApiException:
            # A container that never started has no log; the reason says why.
            return ""
        return log
