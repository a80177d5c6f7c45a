"""The Kubernetes engine's rendering: plans in, cluster objects out, no cluster needed.

Every step of a proton's life is rendered (first start, a replacement's candidate, the
traffic switch, the scale-down) and every manifest passes the Kubernetes JSON schemas in
strict mode. The methods that talk to a cluster are not tested here (there is none on
these machines); only what they do without one: refuse with a clear error.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from workloads.runtimes.base import (
    Autoscaling,
    ContainerPlan,
    ProbePlan,
    ProtonPlan,
    Resources,
)
from workloads.runtimes.kubernetes import KubernetesRuntime
from workloads.runtimes.kubernetes_manifests import (
    render,
    render_scale_down,
    render_traffic,
    resource_name,
    workload_resource_name,
)

WORKLOAD_ID = "65f0a1b2c3d4e5f6a7b8c9d0"
PROTON_ID = "65f0a1b3aabbccddeeff0011"
CANDIDATE_ID = "65f0b2c4aabbccddeeff0022"
NAME = f"berth-{WORKLOAD_ID}-{PROTON_ID}"
WORKLOAD_NAME = f"berth-{WORKLOAD_ID}"
NAMESPACE = "berth-test"
LABELS = {
    "app.kubernetes.io/managed-by": "berth",
    "berth.workload": WORKLOAD_ID,
    "berth.proton": PROTON_ID,
}
METADATA = {
    "name": NAME,
    "namespace": NAMESPACE,
    "labels": LABELS,
    "annotations": {"berth.workload": WORKLOAD_ID, "berth.proton": PROTON_ID},
}
WORKLOAD_LABELS = {"app.kubernetes.io/managed-by": "berth", "berth.workload": WORKLOAD_ID}
POD_SECURITY_CONTEXT = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
SECURITY_CONTEXT = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "readOnlyRootFilesystem": False,
}
# The settings' defaults (BERTH_WORKLOAD_DEFAULT_CPU / _MEMORY) for what a plan leaves out.
DEFAULT_RESOURCES = {
    "requests": {"cpu": "1000m", "memory": "512Mi"},
    "limits": {"cpu": "1000m", "memory": "512Mi"},
}
INGRESS_FROM = [
    {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "berth-system"}}}
]
# Kubernetes' own rules: Service names are DNS-1035 labels, label values at most 63.
DNS_1035_LABEL = re.compile(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?")
LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")

PRIMARY = ContainerPlan(
    name="web",
    image="registry.example.com/team/web@sha256:" + "a" * 64,
    primary=True,
    port=8080,
    entrypoint=("python", "-m", "app"),
    env=(("MODE", "production"), ("GREETING", "hello world")),
    readiness=ProbePlan(
        "/ready", 8080, initial_delay_seconds=5, period_seconds=10, timeout_seconds=2
    ),
    liveness=ProbePlan(
        "/healthz",
        8080,
        initial_delay_seconds=15,
        period_seconds=20,
        timeout_seconds=3,
        failure_threshold=4,
    ),
    startup=ProbePlan("/ready", 8080, period_seconds=5, failure_threshold=30),
    resources=Resources(cpu=0.5, memory="512Mi"),
)
SIDECAR = ContainerPlan(
    name="proxy",
    image="registry.example.com/team/proxy:2.0",
    primary=False,
    liveness=ProbePlan("/live", 9901),
    resources=Resources(cpu=0.1, memory="64Mi"),
)


def plan(**changes: Any) -> ProtonPlan:
    base = ProtonPlan(
        workload_id=WORKLOAD_ID, proton_id=PROTON_ID, replicas=3, containers=(PRIMARY, SIDECAR)
    )
    return dataclasses.replace(base, **changes)


def autoscaled(*policies: tuple[str, float]) -> ProtonPlan:
    return plan(autoscaling=Autoscaling(min_replicas=2, max_replicas=7, policies=policies))


def by_kind(manifests: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    kinds = [manifest["kind"] for manifest in manifests]
    assert len(set(kinds)) == len(kinds)
    return {manifest["kind"]: manifest for manifest in manifests}


def secret_ref(key: str) -> dict[str, Any]:
    return {"secretKeyRef": {"name": NAME, "key": key}}


def test_two_containers_render_exactly_a_policy_a_secret_and_a_deployment() -> None:
    policy, secret, deployment = render(plan(), NAMESPACE)

    assert policy == {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": METADATA,
        "spec": {
            "podSelector": {"matchLabels": LABELS},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {
                    "from": [
                        {
                            "podSelector": {
                                "matchLabels": {
                                    "app.kubernetes.io/managed-by": "berth",
                                    "berth.workload": WORKLOAD_ID,
                                }
                            }
                        },
                        *INGRESS_FROM,
                    ]
                }
            ],
            "egress": [
                {
                    "to": [
                        {"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.0.0/16"]}},
                        {"ipBlock": {"cidr": "::/0", "except": ["fe80::/10"]}},
                    ]
                }
            ],
        },
    }
    assert secret == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": METADATA,
        "type": "Opaque",
        "data": {
            "web.MODE": base64.b64encode(b"production").decode(),
            "web.GREETING": base64.b64encode(b"hello world").decode(),
        },
    }

    assert deployment == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": METADATA,
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": LABELS},
            # 600 for scheduling and the pull, then the slowest container's probes:
            # startup 0 + 5 * 30, readiness 5 + 10 * 3.
            "progressDeadlineSeconds": 600 + 150 + 35,
            "template": {
                "metadata": {"labels": LABELS},
                "spec": {
                    "securityContext": POD_SECURITY_CONTEXT,
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "containers": [
                        {
                            "name": "web",
                            "image": PRIMARY.image,
                            "command": ["python", "-m", "app"],
                            "env": [
                                {"name": "MODE", "valueFrom": secret_ref("web.MODE")},
                                {"name": "GREETING", "valueFrom": secret_ref("web.GREETING")},
                            ],
                            "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                            "readinessProbe": {
                                "httpGet": {"path": "/ready", "port": 8080},
                                "initialDelaySeconds": 5,
                                "periodSeconds": 10,
                                "timeoutSeconds": 2,
                                "failureThreshold": 3,
                            },
                            "livenessProbe": {
                                "httpGet": {"path": "/healthz", "port": 8080},
                                "initialDelaySeconds": 15,
                                "periodSeconds": 20,
                                "timeoutSeconds": 3,
                                "failureThreshold": 4,
                            },
                            "startupProbe": {
                                "httpGet": {"path": "/ready", "port": 8080},
                                "initialDelaySeconds": 0,
                                "periodSeconds": 5,
                                "timeoutSeconds": 1,
                                "failureThreshold": 30,
                            },
                            "resources": {
                                "requests": {"cpu": "500m", "memory": "512Mi"},
                                "limits": {"cpu": "500m", "memory": "512Mi"},
                            },
                            "securityContext": SECURITY_CONTEXT,
                        },
                        {
                            "name": "proxy",
                            "image": "registry.example.com/team/proxy:2.0",
                            "livenessProbe": {
                                "httpGet": {"path": "/live", "port": 9901},
                                "initialDelaySeconds": 0,
                                "periodSeconds": 10,
                                "timeoutSeconds": 1,
                                "failureThreshold": 3,
                            },
                            "resources": {
                                "requests": {"cpu": "100m", "memory": "64Mi"},
                                "limits": {"cpu": "100m", "memory": "64Mi"},
                            },
                            "securityContext": SECURITY_CONTEXT,
                        },
                    ],
                },
            },
        },
    }


def test_only_the_primary_declares_a_port_and_every_container_is_locked_down() -> None:
    deployment = by_kind(render(plan(), NAMESPACE))["Deployment"]
    primary, sidecar = deployment["spec"]["template"]["spec"]["containers"]
    assert deployment["spec"]["template"]["spec"]["securityContext"] == POD_SECURITY_CONTEXT

    assert primary["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert "ports" not in sidecar
    for container in (primary, sidecar):
        assert container["securityContext"] == SECURITY_CONTEXT


def test_labels_and_selectors_agree_on_every_object() -> None:
    manifests = render(autoscaled(("cpuAverageUtilization", 70)), NAMESPACE)
    deployment = by_kind(manifests)["Deployment"]

    assert [m["kind"] for m in manifests] == [
        "NetworkPolicy",
        "Secret",
        "Deployment",
        "HorizontalPodAutoscaler",
    ]
    for manifest in manifests:
        assert manifest["metadata"]["labels"] == LABELS
        assert manifest["metadata"]["name"] == NAME
        assert manifest["metadata"]["namespace"] == NAMESPACE
    assert deployment["spec"]["selector"]["matchLabels"] == LABELS
    assert deployment["spec"]["template"]["metadata"]["labels"] == LABELS
    assert by_kind(manifests)["NetworkPolicy"]["spec"]["podSelector"]["matchLabels"] == LABELS


def test_objects_share_no_dicts_so_changing_one_leaves_the_others_alone(settings: Any) -> None:
    policy, secret, deployment = render(plan(), NAMESPACE)

    # Not even with the settings: the peers are copied into each policy.
    policy["spec"]["ingress"][0]["from"][1]["namespaceSelector"]["matchLabels"]["x"] = "y"
    assert settings.BERTH_K8S_INGRESS_FROM == INGRESS_FROM
    deployment["metadata"]["labels"]["extra"] = "x"
    deployment["spec"]["selector"]["matchLabels"]["extra"] = "x"

    assert secret["metadata"]["labels"] == LABELS
    assert policy["spec"]["podSelector"]["matchLabels"] == LABELS
    assert deployment["spec"]["template"]["metadata"]["labels"] == LABELS


def test_no_entrypoint_env_or_probes_leaves_those_fields_out() -> None:
    bare = ContainerPlan(name="web", image="example.com/web:1", primary=True, port=8080)
    manifests = render(plan(containers=(bare,)), NAMESPACE)
    assert [m["kind"] for m in manifests] == ["NetworkPolicy", "Deployment"]
    deployment = by_kind(manifests)["Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]

    assert container == {
        "name": "web",
        "image": "example.com/web:1",
        "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
        # No resources given: the installation's defaults, never unlimited.
        "resources": DEFAULT_RESOURCES,
        "securityContext": SECURITY_CONTEXT,
    }
    assert deployment["spec"]["progressDeadlineSeconds"] == 600


def test_a_primary_without_a_port_is_refused() -> None:
    portless = dataclasses.replace(PRIMARY, port=None)
    with pytest.raises(ValueError, match="no port"):
        render(plan(containers=(portless,)), NAMESPACE)


@pytest.mark.parametrize(
    ("cores", "millicores"),
    [(0.1, "100m"), (0.25, "250m"), (1, "1000m"), (1.5, "1500m"), (0.0001, "1m")],
)
def test_cpu_is_rendered_in_millicores_rounded_up(cores: float, millicores: str) -> None:
    primary = dataclasses.replace(PRIMARY, resources=Resources(cpu=cores))
    deployment = by_kind(render(plan(containers=(primary,)), NAMESPACE))["Deployment"]

    assert deployment["spec"]["template"]["spec"]["containers"][0]["resources"] == {
        "requests": {"cpu": millicores, "memory": "512Mi"},
        "limits": {"cpu": millicores, "memory": "512Mi"},
    }


def test_a_gpu_is_an_nvidia_limit_and_no_request() -> None:
    primary = dataclasses.replace(PRIMARY, resources=Resources(cpu=4, memory="16Gi", gpu=2))
    deployment = by_kind(render(plan(containers=(primary,)), NAMESPACE))["Deployment"]

    assert deployment["spec"]["template"]["spec"]["containers"][0]["resources"] == {
        "requests": {"cpu": "4000m", "memory": "16Gi"},
        "limits": {"cpu": "4000m", "memory": "16Gi", "nvidia.com/gpu": "2"},
    }


def test_a_gpu_alone_gets_the_default_cpu_and_memory_besides_its_limit() -> None:
    primary = dataclasses.replace(PRIMARY, resources=Resources(gpu=1))
    deployment = by_kind(render(plan(containers=(primary,)), NAMESPACE))["Deployment"]

    assert deployment["spec"]["template"]["spec"]["containers"][0]["resources"] == {
        "requests": {"cpu": "1000m", "memory": "512Mi"},
        "limits": {"cpu": "1000m", "memory": "512Mi", "nvidia.com/gpu": "1"},
    }


def test_the_default_limits_come_from_the_settings(settings: Any) -> None:
    settings.BERTH_WORKLOAD_DEFAULT_CPU = 0.25
    settings.BERTH_WORKLOAD_DEFAULT_MEMORY = "128Mi"
    bare = ContainerPlan(name="web", image="example.com/web:1", primary=True, port=8080)
    deployment = by_kind(render(plan(containers=(bare,)), NAMESPACE))["Deployment"]

    assert deployment["spec"]["template"]["spec"]["containers"][0]["resources"] == {
        "requests": {"cpu": "250m", "memory": "128Mi"},
        "limits": {"cpu": "250m", "memory": "128Mi"},
    }


def test_the_ingress_peers_come_from_the_settings_and_the_workloads_own_pods_stay(
    settings: Any,
) -> None:
    peer = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}},
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "ingress-nginx"}},
    }
    settings.BERTH_K8S_INGRESS_FROM = [peer]
    policy = by_kind(engine_render(plan()))["NetworkPolicy"]

    assert policy["spec"]["ingress"] == [
        {
            "from": [
                {
                    "podSelector": {
                        "matchLabels": {
                            "app.kubernetes.io/managed-by": "berth",
                            "berth.workload": WORKLOAD_ID,
                        }
                    }
                },
                peer,
            ]
        }
    ]
    # Nothing else may reach the pods: no rule without a "from", no empty peer.
    assert all(rule.get("from") for rule in policy["spec"]["ingress"])
    assert {} not in policy["spec"]["ingress"][0]["from"]


def engine_render(proton: ProtonPlan) -> list[dict[str, Any]]:
    """Render as the engine does: its own settings, read when it is made."""
    runtime = KubernetesRuntime()
    return render(proton, runtime.namespace, runtime.ingress_from)


def test_environment_values_are_only_in_the_secret() -> None:
    manifests = by_kind(render(plan(), NAMESPACE))
    dumped = {kind: json.dumps(manifest) for kind, manifest in manifests.items()}

    for kind, text in dumped.items():
        if kind != "Secret":
            assert "production" not in text, kind
            assert "hello world" not in text, kind


def test_cpu_autoscaling_renders_a_resource_metric_and_no_fixed_replicas() -> None:
    manifests = by_kind(render(autoscaled(("cpuAverageUtilization", 70)), NAMESPACE))

    assert "replicas" not in manifests["Deployment"]["spec"]
    assert manifests["HorizontalPodAutoscaler"] == {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": METADATA,
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": NAME},
            "minReplicas": 2,
            "maxReplicas": 7,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 70},
                    },
                }
            ],
        },
    }


@pytest.mark.parametrize(
    ("scaling_metric", "target", "metric_name", "average_value"),
    [
        ("httpRequestsConcurrency", 10, "http_requests_concurrency", "10"),
        ("httpRequestsConcurrency", 2.5, "http_requests_concurrency", "2500m"),
        ("gpuCacheUtilization", 0.75, "gpu_cache_utilization", "750m"),
        ("gpuRequestQueueDepth", 4, "gpu_request_queue_depth", "4"),
    ],
)
def test_pod_metric_autoscaling_targets_an_average_value(
    scaling_metric: str, target: float, metric_name: str, average_value: str
) -> None:
    manifests = by_kind(render(autoscaled((scaling_metric, target)), NAMESPACE))

    assert "replicas" not in manifests["Deployment"]["spec"]
    assert manifests["HorizontalPodAutoscaler"]["spec"]["metrics"] == [
        {
            "type": "Pods",
            "pods": {
                "metric": {"name": metric_name},
                "target": {"type": "AverageValue", "averageValue": average_value},
            },
        }
    ]


def test_several_policies_become_several_metrics_in_order() -> None:
    manifests = by_kind(
        render(autoscaled(("httpRequestsConcurrency", 8), ("cpuAverageUtilization", 80)), NAMESPACE)
    )
    metrics = manifests["HorizontalPodAutoscaler"]["spec"]["metrics"]

    assert [metric["type"] for metric in metrics] == ["Pods", "Resource"]


def test_an_unknown_scaling_metric_is_refused() -> None:
    with pytest.raises(ValueError, match="memoryUtilization"):
        render(autoscaled(("memoryUtilization", 50)), NAMESPACE)


def test_without_autoscaling_there_is_no_autoscaler() -> None:
    assert [m["kind"] for m in render(plan(replicas=1), NAMESPACE)] == [
        "NetworkPolicy",
        "Secret",
        "Deployment",
    ]


# The rolling replacement ------------------------------------------------------------------


def matches(label_selector: dict[str, str], labels: dict[str, str]) -> bool:
    """Whether Kubernetes would select an object with ``labels`` by ``label_selector``."""
    return all(labels.get(key) == value for key, value in label_selector.items())


def pod_labels(manifests: list[dict[str, Any]]) -> dict[str, str]:
    labels: dict[str, str] = by_kind(manifests)["Deployment"]["spec"]["template"]["metadata"][
        "labels"
    ]
    return labels


def test_a_candidate_is_a_second_deployment_beside_the_active_one() -> None:
    active = render(plan(), NAMESPACE)
    candidate = render(plan(proton_id=CANDIDATE_ID, replicas=1), NAMESPACE)

    # Only per-proton objects: the workload's Service is not the candidate's to change.
    assert [m["kind"] for m in candidate] == ["NetworkPolicy", "Secret", "Deployment"]
    assert {m["metadata"]["name"] for m in candidate} == {resource_name(WORKLOAD_ID, CANDIDATE_ID)}
    assert {m["metadata"]["name"] for m in candidate}.isdisjoint(
        m["metadata"]["name"] for m in active
    )
    # Neither Deployment (nor policy) claims the other's pods, or one would scale, replace
    # or open the other's replicas.
    for own, other in ((active, candidate), (candidate, active)):
        deployment_selector = by_kind(own)["Deployment"]["spec"]["selector"]["matchLabels"]
        policy_selector = by_kind(own)["NetworkPolicy"]["spec"]["podSelector"]["matchLabels"]
        assert matches(deployment_selector, pod_labels(own))
        assert not matches(deployment_selector, pod_labels(other))
        assert not matches(policy_selector, pod_labels(other))


def test_the_workload_has_one_service_whose_selector_names_the_serving_proton() -> None:
    (service,) = render_traffic(WORKLOAD_ID, PROTON_ID, NAMESPACE)

    assert service == {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": WORKLOAD_NAME,
            "namespace": NAMESPACE,
            "labels": WORKLOAD_LABELS,
            "annotations": {"berth.workload": WORKLOAD_ID, "berth.serving": PROTON_ID},
        },
        "spec": {
            "type": "ClusterIP",
            "selector": LABELS,
            # By name: every proton's primary declares its port as "http", so a candidate
            # with another port number is reached through the same Service.
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def test_switching_traffic_reapplies_the_same_service_with_the_candidates_selector() -> None:
    (before,) = render_traffic(WORKLOAD_ID, PROTON_ID, NAMESPACE)
    (after,) = render_traffic(WORKLOAD_ID, CANDIDATE_ID, NAMESPACE)
    active_pods = pod_labels(render(plan(), NAMESPACE))
    candidate_pods = pod_labels(render(plan(proton_id=CANDIDATE_ID), NAMESPACE))

    # The same object (an apply replaces it in place), not a second Service.
    assert after["kind"] == before["kind"] == "Service"
    assert after["metadata"]["name"] == before["metadata"]["name"] == WORKLOAD_NAME
    assert after["spec"]["ports"] == before["spec"]["ports"]
    assert after["metadata"]["labels"] == before["metadata"]["labels"]
    assert after["metadata"]["annotations"]["berth.serving"] == CANDIDATE_ID
    assert matches(before["spec"]["selector"], active_pods)
    assert not matches(before["spec"]["selector"], candidate_pods)
    assert matches(after["spec"]["selector"], candidate_pods)
    assert not matches(after["spec"]["selector"], active_pods)


def test_stopping_one_proton_leaves_the_workloads_service_and_ingress_alone() -> None:
    # stop(workload, proton) deletes by the proton's labels; the workload's traffic objects
    # must not carry them, or stopping the old proton would take the new one's Service.
    proton_labels = render(plan(), NAMESPACE)[0]["metadata"]["labels"]
    for manifest in render_traffic(WORKLOAD_ID, PROTON_ID, NAMESPACE, "apps.example.com"):
        assert not matches(proton_labels, manifest["metadata"]["labels"])
        assert matches(WORKLOAD_LABELS, manifest["metadata"]["labels"])


def test_an_ingress_host_adds_one_ingress_per_workload_that_the_switch_leaves_unchanged() -> None:
    service, ingress = render_traffic(WORKLOAD_ID, PROTON_ID, NAMESPACE, "apps.example.com")
    _service, switched = render_traffic(WORKLOAD_ID, CANDIDATE_ID, NAMESPACE, "apps.example.com")

    assert ingress == {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": WORKLOAD_NAME,
            "namespace": NAMESPACE,
            "labels": WORKLOAD_LABELS,
            "annotations": {"berth.workload": WORKLOAD_ID},
        },
        "spec": {
            "rules": [
                {
                    "host": f"{WORKLOAD_NAME}.apps.example.com",
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {
                                    "service": {"name": WORKLOAD_NAME, "port": {"name": "http"}}
                                },
                            }
                        ]
                    },
                }
            ]
        },
    }
    # Traffic moves with the Service alone: the Ingress is the same before and after.
    assert switched == ingress
    assert service["metadata"]["name"] == WORKLOAD_NAME


@pytest.mark.parametrize("serving", [PROTON_ID, CANDIDATE_ID])
def test_the_ingress_sources_may_reach_whichever_proton_serves(serving: str) -> None:
    (service,) = render_traffic(WORKLOAD_ID, serving, NAMESPACE)
    protons = [render(plan(proton_id=p), NAMESPACE) for p in (PROTON_ID, CANDIDATE_ID)]
    (served,) = [m for m in protons if matches(service["spec"]["selector"], pod_labels(m))]
    policies = [
        m
        for manifests in protons
        for m in manifests
        if m["kind"] == "NetworkPolicy"
        and matches(m["spec"]["podSelector"]["matchLabels"], pod_labels(served))
    ]

    assert policies
    for policy in policies:
        (rule,) = policy["spec"]["ingress"]
        for peer in INGRESS_FROM:
            assert peer in rule["from"]


def test_the_old_deployment_is_scaled_to_zero_through_its_scale() -> None:
    assert render_scale_down(WORKLOAD_ID, PROTON_ID, NAMESPACE) == {
        "apiVersion": "autoscaling/v1",
        "kind": "Scale",
        "metadata": {"name": NAME, "namespace": NAMESPACE},
        "spec": {"replicas": 0},
    }


@pytest.mark.parametrize("workload_id", ["w" * 100, "Workload_With.Odd-Chars", "a" * 63, "7" * 30])
def test_ids_that_do_not_fit_give_valid_traffic_object_names_and_labels(workload_id: str) -> None:
    manifests = render_traffic(workload_id, "PROTON/42", NAMESPACE, "apps.example.com")

    for manifest in manifests:
        metadata = manifest["metadata"]
        assert metadata["name"] == workload_resource_name(workload_id)
        assert DNS_1035_LABEL.fullmatch(metadata["name"]), metadata["name"]
        for value in [*metadata["labels"].values(), *manifest["spec"].get("selector", {}).values()]:
            assert LABEL_VALUE.fullmatch(value), value
        assert metadata["annotations"]["berth.workload"] == workload_id
    assert workload_resource_name(workload_id) != resource_name(workload_id, "PROTON/42")


# Strict schema validation ---------------------------------------------------------------

# The Kubernetes release whose OpenAPI schemas (as shipped by kubernetes-validate) every
# manifest must pass: the oldest minor release the upstream project still supported when
# the pin was chosen, and the newest kubernetes-validate ships.
SCHEMA_VERSIONS = ("1.35", "1.37")
ALL_KINDS = {
    "NetworkPolicy",
    "Secret",
    "Deployment",
    "HorizontalPodAutoscaler",
    "Service",
    "Ingress",
    "Scale",
}
BARE = ContainerPlan(name="web", image="example.com/web:1", primary=True, port=8080)


def replacement_steps(
    active: ProtonPlan, candidate: ProtonPlan, ingress_host: str
) -> dict[str, list[dict[str, Any]]]:
    """Every manifest the engine applies, step by step, for one rolling replacement."""
    workload_id = active.workload_id
    return {
        "first start": render(active, NAMESPACE),
        "serve the first proton": render_traffic(
            workload_id, active.proton_id, NAMESPACE, ingress_host
        ),
        "candidate start": render(candidate, NAMESPACE),
        "switch": render_traffic(workload_id, candidate.proton_id, NAMESPACE, ingress_host),
        "scale down": [render_scale_down(workload_id, active.proton_id, NAMESPACE)],
        "switch back": render_traffic(workload_id, active.proton_id, NAMESPACE, ingress_host),
    }


VARIANTS = {
    "env secrets, fixed replicas, no ingress": (plan(), ""),
    "no env, fixed replicas, ingress": (plan(containers=(BARE,), replicas=1), "apps.example.com"),
    "cpu and concurrency autoscaling, ingress": (
        autoscaled(("cpuAverageUtilization", 70), ("httpRequestsConcurrency", 2.5)),
        "apps.example.com",
    ),
    "nim gpu metrics and a gpu": (
        dataclasses.replace(
            autoscaled(("gpuCacheUtilization", 0.75), ("gpuRequestQueueDepth", 4)),
            artifact_type="nim",
            containers=(
                dataclasses.replace(PRIMARY, resources=Resources(cpu=4, memory="16Gi", gpu=2)),
            ),
        ),
        "",
    ),
}


def strict_violations(manifest: dict[str, Any], version: str) -> list[str]:
    try:
        kubernetes_validate.validate(manifest, version, strict=True)
    except kubernetes_validate.ValidationError as error:
        where = ".".join(str(part) for part in error.path)
        return [f"{manifest['kind']} {where}: {error.message}"]
    return []


@pytest.mark.parametrize("version", SCHEMA_VERSIONS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_every_manifest_of_every_step_passes_strict_schema_validation(
    variant: str, version: str
) -> None:
    active, ingress_host = VARIANTS[variant]
    candidate = dataclasses.replace(active, proton_id=CANDIDATE_ID)
    steps = replacement_steps(active, candidate, ingress_host)

    violations = [
        f"{step}: {violation}"
        for step, manifests in steps.items()
        for manifest in manifests
        for violation in strict_violations(manifest, version)
    ]

    assert violations == []


def test_the_steps_validated_cover_every_kind_the_engine_applies() -> None:
    rendered = {
        manifest["kind"]
        for active, ingress_host in VARIANTS.values()
        for manifests in replacement_steps(
            active, dataclasses.replace(active, proton_id=CANDIDATE_ID), ingress_host
        ).values()
        for manifest in manifests
    }

    assert rendered == ALL_KINDS


@pytest.mark.parametrize(
    ("break_it", "message"),
    [
        (lambda d: d["spec"].update(replica=2), "Additional properties"),
        (lambda d: d["spec"]["template"]["spec"]["containers"][0].update(port=8080), "port"),
        (lambda d: d["spec"].update(replicas="three"), "three"),
        (lambda d: d["spec"].pop("selector"), "selector"),
    ],
    ids=["misspelled field", "unknown container field", "wrong type", "missing field"],
)
def test_strict_validation_catches_what_a_cluster_would_refuse(
    break_it: Callable[[dict[str, Any]], object], message: str
) -> None:
    deployment = by_kind(render(plan(), NAMESPACE))["Deployment"]
    break_it(deployment)

    (violation,) = strict_violations(deployment, SCHEMA_VERSIONS[-1])
    assert message in violation


def test_object_ids_name_the_objects_in_full() -> None:
    assert resource_name(WORKLOAD_ID, PROTON_ID) == NAME
    assert len(NAME) <= 63
    assert DNS_1035_LABEL.fullmatch(NAME)


def test_protons_started_in_the_same_second_get_different_names() -> None:
    # An object id's first eight characters are its creation second.
    second = "65f0a1b3"
    assert resource_name(WORKLOAD_ID, second + "0" * 16) != resource_name(
        WORKLOAD_ID, second + "1" * 16
    )


@pytest.mark.parametrize(
    ("workload_id", "proton_id"),
    [
        ("w" * 100, "p" * 100),
        ("Workload_With.Odd-Chars", "PROTON/42"),
        ("a" * 63, "b"),
        ("7" * 30, "8" * 30),
    ],
)
def test_ids_that_do_not_fit_give_valid_names_labels_and_exact_annotations(
    workload_id: str, proton_id: str
) -> None:
    manifests = render(plan(workload_id=workload_id, proton_id=proton_id), NAMESPACE)

    for manifest in manifests:
        metadata = manifest["metadata"]
        assert DNS_1035_LABEL.fullmatch(metadata["name"]), metadata["name"]
        for value in metadata["labels"].values():
            assert LABEL_VALUE.fullmatch(value), value
        assert metadata["annotations"] == {
            "berth.workload": workload_id,
            "berth.proton": proton_id,
        }


def test_long_ids_differing_only_at_the_end_still_get_different_names() -> None:
    workload_id = "w" * 100
    names = {resource_name(workload_id, "p" * 99 + suffix) for suffix in "abc"}
    labels = {
        render(plan(workload_id=workload_id, proton_id="p" * 99 + suffix), NAMESPACE)[0][
            "metadata"
        ]["labels"]["berth.proton"]
        for suffix in "abc"
    }

    assert len(names) == 3
    assert len(labels) == 3


@pytest.mark.parametrize(
    "make",
    [plan, lambda: autoscaled(("cpuAverageUtilization", 60), ("gpuRequestQueueDepth", 3))],
)
def test_rendering_is_deterministic(make: Callable[[], ProtonPlan]) -> None:
    first = [*render(make(), NAMESPACE), *render_traffic(WORKLOAD_ID, PROTON_ID, NAMESPACE, "x")]
    second = [*render(make(), NAMESPACE), *render_traffic(WORKLOAD_ID, PROTON_ID, NAMESPACE, "x")]

    assert first == second
    assert json.dumps(first) == json.dumps(second)


def test_every_object_survives_json_and_yaml_unchanged() -> None:
    manifests = [
        manifest
        for steps in replacement_steps(
            autoscaled(("cpuAverageUtilization", 60), ("httpRequestsConcurrency", 1.5)),
            dataclasses.replace(autoscaled(("cpuAverageUtilization", 60)), proton_id=CANDIDATE_ID),
            "apps.example.com",
        ).values()
        for manifest in steps
    ]

    assert json.loads(json.dumps(manifests)) == manifests
    dumped = yaml.safe_dump_all(manifests, sort_keys=False)
    assert list(yaml.safe_load_all(dumped)) == manifests
    # No YAML anchors: each document reads on its own, as kubectl and people expect.
    assert "&id" not in dumped
    assert "*id" not in dumped


@pytest.mark.parametrize(
    "call",
    [
        lambda runtime: runtime.start(plan()),
        lambda runtime: runtime.wait_ready(plan(), lambda: False),
        lambda runtime: runtime.replicas(WORKLOAD_ID, PROTON_ID),
        lambda runtime: runtime.serve(WORKLOAD_ID, CANDIDATE_ID),
        lambda runtime: runtime.stop(WORKLOAD_ID),
        lambda runtime: runtime.stop(WORKLOAD_ID, PROTON_ID),
        lambda runtime: runtime.running(),
    ],
    ids=["start", "wait_ready", "replicas", "serve", "stop", "stop proton", "running"],
)
def test_without_a_client_or_a_cluster_every_call_says_what_to_configure(
    call: Callable[[KubernetesRuntime], object], settings: Any, tmp_path: Path
) -> None:
    # Without the optional client installed (as here) the error names the extra to
    # install; with it, a missing kubeconfig names BERTH_K8S_KUBECONFIG.
    settings.BERTH_K8S_KUBECONFIG = str(tmp_path / "no-such-kubeconfig")

    with pytest.raises(RuntimeError) as raised:
        call(KubernetesRuntime())

    message = str(raised.value)
    assert message.startswith("BERTH_RUNTIME=kubernetes")
    assert "berth[kubernetes]" in message or "BERTH_K8S_KUBECONFIG" in message
