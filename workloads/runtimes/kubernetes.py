"""The cluster engine: each proton becomes a NetworkPolicy, a Secret (when its containers
have environment variables), a Deployment and, when autoscaled, a
HorizontalPodAutoscaler; each workload has one Service (plus an Ingress when
``BERTH_K8S_INGRESS_HOST`` is set) whose selector names the proton that serves. The
manifests are rendered, purely, in ``kubernetes_manifests``.

A rolling replacement runs as on podman: the candidate proton's objects are applied beside
the active one's (a second Deployment with its own labels); once it is ready, ``serve``
re-applies the workload's Service with the candidate's selector, which moves traffic in
one write; after the keep time ``stop`` scales the old Deployment to zero, waits for its
pods to finish and removes its objects. A rollback while the old proton is kept is one
more ``serve``.

Configure ``BERTH_RUNTIME=kubernetes``, install the optional client
(``pip install 'berth[kubernetes]'``) and either run Berth in the cluster (its service
account is used) or point ``BERTH_K8S_KUBECONFIG`` at a kubeconfig file. Everything goes
into ``BERTH_K8S_NAMESPACE``, which the operator creates; Berth's account there needs
get/list/create/patch/deletecollection on deployments, services, horizontalpodautoscalers,
networkpolicies, secrets (and ingresses), patch on deployments/scale, and list on pods plus
get on pods/log. The cluster's network plugin must enforce NetworkPolicies (Calico,
Cilium, ...; kindnet and flannel alone do not), or workloads are not isolated from each
other.

Containment is the podman engine's, in Kubernetes' words: the pod runs as non-root
(``runAsNonRoot``: the kubelet refuses an image whose user is root, unset or a name, so
``BERTH_WORKLOAD_DEFAULT_USER`` does not apply here) with the runtime's default seccomp
profile; containers drop every capability and cannot gain privileges; CPU and memory
default to the installation's limits; and each proton's NetworkPolicy admits connections
only from the workload's own pods and ``BERTH_K8S_INGRESS_FROM``.

Rendering is pure and unit-tested, every manifest against the Kubernetes schemas in
strict mode. The methods that talk to the cluster are not exercised by the test suite:
these machines have no cluster (see README).

Like every engine this one keeps no state: objects carry the labels
``app.kubernetes.io/managed-by=berth``, ``berth.workload`` and, per proton,
``berth.proton`` (selectors use all of them), and the exact ids as annotations, since a
label value cannot hold every string an id might be.
"""

from __future__ import annotations

import importlib
import time
from datetime import datetime
from typing import Any

import yaml
from django.conf import settings

from workloads.runtimes.base import ProtonPlan, ReadyResult, ReplicaState, ShouldStop
from workloads.runtimes.kubernetes_manifests import (
    FIELD_MANAGER,
    MANAGED_BY,
    PROTON_KEY,
    SERVICE_PORT,
    WORKLOAD_KEY,
    Manifest,
    render,
    render_scale_down,
    render_traffic,
    resource_name,
    selector,
    selector_string,
    workload_resource_name,
)

# The kubelet runs the probes; we only watch their outcome, often enough to notice
# should_stop promptly without loading the API server.
POLL_SECONDS = 2.0
LOG_TAIL_LINES = 50
# How long a stop waits for scaled-down pods to go: the pods' default termination grace
# period (30 s) and some slack. Past it the objects are removed anyway.
SCALE_DOWN_WAIT_SECONDS = 45

# What a proton consists of and what serves a workload, in the order stop removes them.
TRAFFIC_KINDS = (("networking.k8s.io/v1", "Ingress"), ("v1", "Service"))
PROTON_KINDS = (
    ("apps/v1", "Deployment"),
    # After the Deployment: its pods stay closed to other workloads to the end.
    ("v1", "Secret"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
)
AUTOSCALER = ("autoscaling/v2", "HorizontalPodAutoscaler")

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
        # Traffic is not touched: the workload's Service moves only with serve.
        api = self._api()
        for manifest in render(plan, self.namespace, self.ingress_from):
            self._apply(api, manifest)
        return self._replicas(api, plan.workload_id, plan.proton_id)

    def serve(self, workload_id: str, proton_id: str) -> None:
        # The Service goes first: an Ingress naming a Service that does not exist yet
        # would answer errors, and on a switch the Ingress does not change anyway.
        api = self._api()
        for manifest in render_traffic(workload_id, proton_id, self.namespace, self.ingress_host):
            self._apply(api, manifest)

    def wait_ready(self, plan: ProtonPlan, should_stop: ShouldStop) -> ReadyResult:
        api = self._api()
        dynamic_errors = importlib.import_module("kubernetes.dynamic.exceptions")
        name = resource_name(plan.workload_id, plan.proton_id)
        address = self._ingress_address(plan.workload_id)
        wanted = plan.autoscaling.min_replicas if plan.autoscaling else plan.replicas
        deployments = self._resource(api, "apps/v1", "Deployment")
        while not should_stop():
            try:
                deployment = deployments.get(name=name, namespace=self.namespace).to_dict()
            except dynamic_errors.NotFoundError:
                return ReadyResult(ready=False, replicas=(), reason="the proton was removed")
            pods = self._pods(api, selector(plan.workload_id, plan.proton_id))
            replicas = tuple(_replica_state(pod, address) for pod in pods)
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
        workload = selector(workload_id)
        labels = selector(workload_id, proton_id)
        if proton_id is None:
            # Traffic first, so no new request reaches pods that are about to stop.
            self._delete(api, workload, TRAFFIC_KINDS)
        # The autoscaler goes before the scale-down, or it would scale the pods up again.
        self._delete(api, labels, (AUTOSCALER,))
        self._scale_down(api, labels)
        self._delete(api, labels, PROTON_KINDS)
        if proton_id is not None and not self._deployment_ids(api, workload):
            # The workload's last proton is gone (a first start that failed, the orphan
            # sweep): its Service and Ingress have nothing left to select.
            self._delete(api, workload, TRAFFIC_KINDS)

    def running(self) -> set[tuple[str, str]]:
        return self._deployment_ids(self._api(), {MANAGED_BY: FIELD_MANAGER})

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

    def _apply(self, api: Any, manifest: Manifest) -> None:
        # Server-side apply is create-or-update in one call; forcing takes over fields
        # another manager (kubectl edit) changed, since Berth's plan is the truth.
        self._resource(api, manifest["apiVersion"], manifest["kind"]).server_side_apply(
            body=manifest,
            namespace=self.namespace,
            field_manager=FIELD_MANAGER,
            force_conflicts=True,
        )

    def _delete(self, api: Any, labels: dict[str, str], kinds: tuple[tuple[str, str], ...]) -> None:
        for api_version, kind in kinds:
            # A collection delete by label: removing nothing is no error. Background
            # propagation lets the garbage collector remove the ReplicaSets and pods.
            self._resource(api, api_version, kind).delete(
                namespace=self.namespace,
                label_selector=selector_string(labels),
                propagation_policy="Background",
            )

    def _scale_down(self, api: Any, labels: dict[str, str]) -> None:
        """Scale the matching Deployments to zero and wait (bounded) for their pods to
        finish: they get their termination grace period while their Secret and
        NetworkPolicy still exist, instead of running on, unprotected, after both went."""
        client = importlib.import_module("kubernetes.client")
        apps = client.AppsV1Api(api.client)
        for workload_id, proton_id in self._deployment_ids(api, labels):
            scale = render_scale_down(workload_id, proton_id, self.namespace)
            try:
                apps.patch_namespaced_deployment_scale(
                    scale["metadata"]["name"], self.namespace, scale
                )
            except client.ApiException as error:
                if error.status != 404:  # already gone: nothing to scale
                    raise
        deadline = time.monotonic() + SCALE_DOWN_WAIT_SECONDS
        while self._pods(api, labels) and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)

    def _deployment_ids(self, api: Any, labels: dict[str, str]) -> set[tuple[str, str]]:
        """(workload id, proton id) of the Berth Deployments that match ``labels``."""
        listing = self._resource(api, "apps/v1", "Deployment").get(
            namespace=self.namespace, label_selector=selector_string(labels)
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

    def _pods(self, api: Any, labels: dict[str, str]) -> list[Manifest]:
        listing = self._resource(api, "v1", "Pod").get(
            namespace=self.namespace, label_selector=selector_string(labels)
        )
        pods: list[Manifest] = listing.to_dict()["items"]
        return sorted(pods, key=lambda pod: pod["metadata"]["name"])

    def _replicas(self, api: Any, workload_id: str, proton_id: str) -> tuple[ReplicaState, ...]:
        address = self._ingress_address(workload_id)
        pods = self._pods(api, selector(workload_id, proton_id))
        return tuple(_replica_state(pod, address) for pod in pods)

    def _ingress_address(self, workload_id: str) -> str:
        # With an ingress host Berth runs outside the cluster and cannot reach pod
        # addresses: every replica answers through the workload's Ingress, which leads to
        # the proton the Service selects.
        if not self.ingress_host:
            return ""
        return f"{workload_resource_name(workload_id)}.{self.ingress_host}:{SERVICE_PORT}"

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
