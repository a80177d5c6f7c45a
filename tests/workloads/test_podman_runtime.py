"""The podman engine on real containers: images from the test registry, a store of this run."""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from typing import Any

import pytest

from workloads.runtimes.base import (
    ContainerPlan,
    ProbePlan,
    ProtonPlan,
    Resources,
)
from workloads.runtimes.podman import PodmanRuntime, memory_bytes

READY = ProbePlan(path="/ready", port=8080, period_seconds=1, failure_threshold=10)
# Serves a copy of the image's pages plus one whose text comes from an environment variable.
GREETING_ENTRYPOINT = (
    "/bin/sh",
    "-c",
    'busybox mkdir -p /tmp/www && busybox cp /www/* /tmp/www/ && echo "$GREETING" '
    "> /tmp/www/greeting && exec busybox httpd -f -v -p 8080 -h /tmp/www",
)
# Shows that a sidecar reaches the primary on localhost: it prints the primary's /ready.
SIDECAR_ENTRYPOINT = (
    "/bin/sh",
    "-c",
    "until busybox wget -qO- http://127.0.0.1:8080/ready; do busybox sleep 0.1; done; "
    "exec busybox sleep 3600",
)


def new_workload_id(cleanup: set[str]) -> str:
    workload_id = f"t{uuid.uuid4().hex[:12]}"
    cleanup.add(workload_id)
    return workload_id


def web(image: str, **overrides: Any) -> ContainerPlan:
    fields: dict[str, Any] = {
        "name": "web",
        "image": image,
        "primary": True,
        "port": 8080,
        "readiness": READY,
    }
    fields.update(overrides)
    return ContainerPlan(**fields)


def proton(
    workload_id: str, *containers: ContainerPlan, proton_id: str = "p1", replicas: int = 1
) -> ProtonPlan:
    return ProtonPlan(
        workload_id=workload_id, proton_id=proton_id, replicas=replicas, containers=containers
    )


def fetch(address: str, path: str) -> str:
    with urllib.request.urlopen(f"http://{address}{path}", timeout=5) as response:
        return str(response.read().decode())


def podman_json(runtime: PodmanRuntime, *arguments: str) -> Any:
    return json.loads(runtime._podman(*arguments))


def labelled(runtime: PodmanRuntime, workload_id: str) -> list[str]:
    containers = podman_json(
        runtime, "ps", "-a", "--format", "json", "--filter", f"label=berth.workload={workload_id}"
    )
    return sorted(container["Names"][0] for container in containers)


def test_a_replica_with_a_sidecar_starts_answers_and_is_removed(
    podman_runtime: PodmanRuntime, podman_cleanup: set[str], http_image: str, build_settings: str
) -> None:
    workload_id = new_workload_id(podman_cleanup)
    plan = proton(
        workload_id,
        web(
            http_image,
            entrypoint=GREETING_ENTRYPOINT,
            env=(("GREETING", "hello from the environment"),),
            resources=Resources(cpu=0.5, memory="64Mi", gpu=1),
        ),
        ContainerPlan(
            name="sidecar", image=build_settings, primary=False, entrypoint=SIDECAR_ENTRYPOINT
        ),
    )
    (starting,) = podman_runtime.start(plan)
    result = podman_runtime.wait_ready(plan, lambda: False)

    primary = f"berth-{workload_id}-p1-0-web"
    assert starting.name == primary
    assert starting.status == "starting"
    assert starting.address.startswith("127.0.0.1:")
    assert result.ready, result.reason
    assert [(r.name, r.status, r.address) for r in result.replicas] == [
        (primary, "ready", starting.address)
    ]
    assert fetch(starting.address, "/index.html") == "<h1>berth test page</h1>\n"
    assert fetch(starting.address, "/greeting") == "hello from the environment\n"

    (inspected,) = podman_json(podman_runtime, "inspect", primary)
    assert "GREETING=hello from the environment" in inspected["Config"]["Env"]
    assert inspected["HostConfig"]["Memory"] == 64 * 2**20
    assert inspected["HostConfig"]["NanoCpus"] == 500_000_000
    # The image brings labels of its own (the builder's version); ours are the berth.* ones.
    assert {k: v for k, v in inspected["Config"]["Labels"].items() if k.startswith("berth.")} == {
        "berth.workload": workload_id,
        "berth.proton": "p1",
        "berth.replica": "0",
        "berth.container": "web",
        "berth.role": "primary",
        "berth.port": "8080",
    }
    assert inspected["Config"]["User"] == "1000:1000"
    sidecar = f"berth-{workload_id}-p1-0-sidecar"
    assert podman_runtime._podman("logs", sidecar).strip() == "ok"
    (sidecar_inspected,) = podman_json(podman_runtime, "inspect", sidecar)
    assert sidecar_inspected["HostConfig"]["NetworkMode"] == f"container:{inspected['Id']}"
    assert sidecar_inspected["Config"]["Labels"]["berth.role"] == "sidecar"

    (replica,) = podman_runtime.replicas(workload_id, "p1")
    assert (replica.name, replica.status, replica.address) == (primary, "ready", starting.address)
    assert replica.started_at is not None
    assert abs(time.time() - replica.started_at.timestamp()) < 60

    podman_runtime.stop(workload_id, "p1")
    assert labelled(podman_runtime, workload_id) == []
    assert podman_runtime.replicas(workload_id, "p1") == ()
    podman_runtime.stop(workload_id, "p1")
    podman_runtime.stop(workload_id)
    assert labelled(podman_runtime, workload_id) == []


def test_replicas_get_their_own_addresses_and_running_lists_exactly_what_runs(
    podman_runtime: PodmanRuntime, podman_cleanup: set[str], http_image: str
) -> None:
    workload_id = new_workload_id(podman_cleanup)
    two = proton(workload_id, web(http_image), replicas=2)
    one = proton(workload_id, web(http_image), proton_id="p2")
    podman_runtime.start(two)
    podman_runtime.start(one)
    assert podman_runtime.wait_ready(two, lambda: False).ready
    assert podman_runtime.wait_ready(one, lambda: False).ready

    replicas = podman_runtime.replicas(workload_id, "p1")
    assert [r.name for r in replicas] == [
        f"berth-{workload_id}-p1-0-web",
        f"berth-{workload_id}-p1-1-web",
    ]
    assert {r.status for r in replicas} == {"ready"}
    assert len({r.address for r in replicas}) == 2
    for replica in replicas:
        assert fetch(replica.address, "/ready") == "ok\n"
    assert podman_runtime.running() == {(workload_id, "p1"), (workload_id, "p2")}

    podman_runtime.stop(workload_id, "p1")
    assert podman_runtime.running() == {(workload_id, "p2")}
    assert labelled(podman_runtime, workload_id) == [f"berth-{workload_id}-p2-0-web"]
    podman_runtime.stop(workload_id)
    assert podman_runtime.running() == set()


def test_a_probe_that_never_succeeds_fails_within_its_budget_with_the_logs(
    podman_runtime: PodmanRuntime, podman_cleanup: set[str], broken_image: str
) -> None:
    workload_id = new_workload_id(podman_cleanup)
    probe = ProbePlan(path="/ready", port=8080, period_seconds=1, failure_threshold=3)
    plan = proton(workload_id, web(broken_image, readiness=probe))
    podman_runtime.start(plan)
    began = time.monotonic()
    result = podman_runtime.wait_ready(plan, lambda: False)
    elapsed = time.monotonic() - began

    assert not result.ready
    # Three attempts one second apart, each answered at once.
    assert 2 <= elapsed < 5
    name = f"berth-{workload_id}-p1-0-web"
    assert result.reason == (
        f"Replica 0 ({name}) did not become ready: its readiness probe (GET /ready on port "
        "8080) got HTTP 404 after 3 attempts."
    )
    assert [(r.name, r.status) for r in result.replicas] == [(name, "failed")]
    assert "response:404" in result.log_tail


def test_a_primary_that_exits_fails_at_once(
    podman_runtime: PodmanRuntime, podman_cleanup: set[str], http_image: str
) -> None:
    workload_id = new_workload_id(podman_cleanup)
    patient = ProbePlan(path="/ready", port=8080, period_seconds=1, failure_threshold=30)
    crash = ("/bin/sh", "-c", "echo 'cannot open the model file' >&2; exit 3")
    plan = proton(workload_id, web(http_image, entrypoint=crash, readiness=patient))
    podman_runtime.start(plan)
    began = time.monotonic()
    result = podman_runtime.wait_ready(plan, lambda: False)

    assert time.monotonic() - began < 5
    assert not result.ready
    name = f"berth-{workload_id}-p1-0-web"
    assert result.reason.startswith(f"Replica 0 ({name}) failed: container {name} exited")
    assert "with status 3" in result.reason
    assert "cannot open the model file" in result.log_tail
    assert [r.status for r in podman_runtime.replicas(workload_id, "p1")] == ["failed"]


def test_should_stop_interrupts_the_wait(
    podman_runtime: PodmanRuntime, podman_cleanup: set[str], broken_image: str
) -> None:
    workload_id = new_workload_id(podman_cleanup)
    slow = ProbePlan(path="/ready", port=8080, period_seconds=5, failure_threshold=100)
    plan = proton(workload_id, web(broken_image, readiness=slow))
    podman_runtime.start(plan)
    began = time.monotonic()
    result = podman_runtime.wait_ready(plan, lambda: time.monotonic() - began > 1)
    elapsed = time.monotonic() - began

    assert 1 <= elapsed < 3
    assert not result.ready
    assert result.reason.startswith("Stopped on request while waiting for replica 0")
    assert [r.status for r in result.replicas] == ["starting"]


def test_a_failed_start_removes_what_it_had_started(
    podman_runtime: PodmanRuntime, podman_cleanup: set[str], http_image: str
) -> None:
    # The primary runs; the sidecar asks for one byte of memory, which ``podman run`` refuses.
    workload_id = new_workload_id(podman_cleanup)
    plan = proton(
        workload_id,
        web(http_image),
        ContainerPlan(
            name="sidecar", image=http_image, primary=False, resources=Resources(memory="1")
        ),
    )
    with pytest.raises(RuntimeError, match=r"podman run failed with status \d+: .*memory"):
        podman_runtime.start(plan)
    assert labelled(podman_runtime, workload_id) == []


def test_a_missing_image_fails_before_anything_runs(
    podman_runtime: PodmanRuntime, podman_cleanup: set[str], http_image: str, registry: str
) -> None:
    workload_id = new_workload_id(podman_cleanup)
    missing = f"{registry}/berth/tests/missing@sha256:{'0' * 64}"
    plan = proton(
        workload_id,
        web(http_image),
        ContainerPlan(name="sidecar", image=missing, primary=False),
    )
    with pytest.raises(RuntimeError, match=r"podman pull failed with status \d+: .*missing"):
        podman_runtime.start(plan)
    assert labelled(podman_runtime, workload_id) == []


def test_stop_of_what_never_ran_is_not_an_error(podman_runtime: PodmanRuntime) -> None:
    podman_runtime.stop("never-started", "p1")
    podman_runtime.stop("never-started")
    assert podman_runtime.replicas("never-started", "p1") == ()


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [("512Mi", 512 * 2**20), ("1Gi", 2**30), ("0.5Gi", 2**29), ("1G", 10**9), ("1024", 1024)],
)
def test_memory_quantities_in_bytes(quantity: str, expected: int) -> None:
    assert memory_bytes(quantity) == expected


def test_a_memory_quantity_podman_cannot_take_is_refused() -> None:
    with pytest.raises(ValueError, match="Unsupported memory quantity '1 gigabyte'"):
        memory_bytes("1 gigabyte")
