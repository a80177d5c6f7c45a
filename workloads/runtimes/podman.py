"""The local engine: daemonless, rootful podman with its own store under BERTH_PODMAN_ROOT.

One replica is the primary container plus its sidecars. The primary publishes its port
(and any other probe port) on ``BERTH_PODMAN_HOST`` with a random host port; the sidecars
join the primary's network namespace, so that, as in a Kubernetes pod, they reach each
other on localhost. Pods are not used: a podman pod needs an infra image, which cannot be
pulled offline.

Everything is found again by label (``berth.workload``, ``berth.proton``, ``berth.replica``,
``berth.container``, ``berth.role``, and ``berth.port`` on the primary: the port that
serves traffic). The flags are the ones measured on these machines (see ENVIRONMENT.md):
vfs storage, runc with cgroupfs, file events, ``--init`` so that removal is immediate, and
explicit ulimits because the defaults cannot be applied in this sandbox.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings

from artifacts.registry import configured_registry
from workloads.runtimes.base import (
    ContainerPlan,
    ProbePlan,
    ProtonPlan,
    ReadyResult,
    ReplicaState,
    Resources,
    ShouldStop,
)
from workloads.runtimes.probes import ProbeOutcome, poll

logger = logging.getLogger(__name__)

# ``run`` pulls the image the first time it is used: large images take minutes.
RUN_TIMEOUT = 900
CALL_TIMEOUT = 60
LOG_TAIL_LINES = 40
STDERR_TAIL_CHARS = 2000
ULIMITS = ("--ulimit", "nofile=20000:20000", "--ulimit", "nproc=32768:32768")
# Registries on the loopback interface are the local, plain-HTTP ones.
LOCAL_REGISTRY = re.compile(r"^(127\.|localhost(:|$)|\[::1\])")
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
# Podman states of a container that has not run yet; "running" is up; anything else ended.
NOT_YET_RUNNING = frozenset({"created", "configured", "initialized"})

WORKLOAD = "berth.workload"
PROTON = "berth.proton"
REPLICA = "berth.replica"
CONTAINER = "berth.container"
ROLE = "berth.role"
PORT = "berth.port"


def memory_bytes(quantity: str) -> int:
    """A Kubernetes memory quantity ("512Mi", "1Gi", "0.5Gi", "1G") in bytes."""
    match = MEMORY.fullmatch(quantity.strip())
    if match is None:
        raise ValueError(f"Unsupported memory quantity {quantity!r}; use e.g. 512Mi or 1Gi.")
    return int(float(match[1]) * MEMORY_UNITS[match[2] or ""])


def container_name(workload_id: str, proton_id: str, index: int, container: str) -> str:
    return f"berth-{workload_id}-{proton_id}-{index}-{container}"


def probe_ports(primary: ContainerPlan) -> list[int]:
    """The primary's port first, then every other port a probe uses, once each."""
    ports = [primary.port] if primary.port is not None else []
    for probe in (primary.readiness, primary.startup, primary.liveness):
        if probe is not None and probe.port not in ports:
            ports.append(probe.port)
    return ports


class PodmanRuntime:
    def __init__(self) -> None:
        self.root = Path(settings.BERTH_PODMAN_ROOT)
        self.host: str = settings.BERTH_PODMAN_HOST
        self.registry = configured_registry()
        for folder in ("storage", "run", "tmp"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)

    # --- the Runtime protocol ----------------------------------------------------------

    def start(self, plan: ProtonPlan) -> tuple[ReplicaState, ...]:
        try:
            # Credentials go to a private file for ``--authfile``, never on a command line.
            with tempfile.TemporaryDirectory(prefix="auth-", dir=self.root / "tmp") as scratch:
                auth_file = self.registry.write_auth_file(Path(scratch))
                return tuple(
                    self._start_replica(plan, index, auth_file) for index in range(plan.replicas)
                )
        except BaseException:
            # A half-started proton serves nobody: remove what was created, then report.
            self.stop(plan.workload_id, plan.proton_id)
            raise

    def wait_ready(self, plan: ProtonPlan, should_stop: ShouldStop) -> ReadyResult:
        # The containers started just before: the initial delays count from here, once for
        # all replicas, which started together.
        started = time.monotonic()
        primary = plan.primary
        probes = [
            (kind, probe)
            for kind, probe in (("startup", primary.startup), ("readiness", primary.readiness))
            if probe is not None
        ]
        published = {
            int(container["Labels"][REPLICA]): self._host_ports(container)
            for container in self._containers(plan.workload_id, plan.proton_id)
            if container["Labels"].get(ROLE) == "primary"
        }
        verdicts: dict[int, str] = {}
        for index in range(plan.replicas):
            name = container_name(plan.workload_id, plan.proton_id, index, primary.name)
            if index not in published:
                verdicts[index] = "failed"
                return self._result(
                    plan, verdicts, reason=f"Replica {index} ({name}) has no primary container."
                )
            down = self._down(plan, index)
            if down is not None:
                verdicts[index] = "failed"
                return self._result(
                    plan,
                    verdicts,
                    reason=f"Replica {index} ({name}) failed: {down[1]}.",
                    log_tail=self._log_tail(down[0]),
                )
            for kind, probe in probes:
                host_port = published[index].get(probe.port)
                if host_port is None:
                    verdicts[index] = "failed"
                    return self._result(
                        plan,
                        verdicts,
                        reason=f"Replica {index} ({name}) does not publish port {probe.port}, "
                        f"which its {kind} probe uses.",
                    )
                url = f"http://{self.host}:{host_port}{probe.path}"
                outcome = poll(
                    url,
                    probe,
                    should_stop,
                    started=started,
                    abort=partial(self._down_reason, plan, index),
                )
                if outcome.stopped:
                    return self._result(
                        plan,
                        verdicts,
                        reason=f"Stopped on request while waiting for replica {index} ({name}).",
                    )
                if not outcome.ready:
                    verdicts[index] = "failed"
                    return self._not_ready(plan, verdicts, index, kind, probe, outcome)
            verdicts[index] = "ready"
        return ReadyResult(ready=True, replicas=self._states(plan, verdicts))

    def replicas(self, workload_id: str, proton_id: str) -> tuple[ReplicaState, ...]:
        """Readiness is established by ``wait_ready``, which the services call before
        routing traffic; this engine keeps no record of it, so a replica whose containers
        all run reads as "ready" (not yet running: "starting"; any container ended, or the
        primary missing: "failed")."""
        by_replica: dict[int, list[dict[str, Any]]] = {}
        for container in self._containers(workload_id, proton_id):
            by_replica.setdefault(int(container["Labels"][REPLICA]), []).append(container)
        return tuple(self._replica_state(by_replica[index]) for index in sorted(by_replica))

    def stop(self, workload_id: str, proton_id: str | None = None) -> None:
        filters = self._filters(workload_id, proton_id)
        logger.info("Removing the containers of workload %s (proton %s)", workload_id, proton_id)
        # Sidecars first: podman refuses to remove a primary whose network namespace a
        # sidecar still uses. Matching nothing is not an error for ``rm --filter``.
        self._podman("rm", "-f", "-t", "0", *filters, "--filter", f"label={ROLE}=sidecar")
        self._podman("rm", "-f", "-t", "0", *filters)

    def running(self) -> set[tuple[str, str]]:
        # Ended containers count too: the orphan sweep must remove them as well.
        return {
            (container["Labels"][WORKLOAD], container["Labels"][PROTON])
            for container in self._ps("--filter", f"label={WORKLOAD}")
        }

    # --- starting ----------------------------------------------------------------------

    def _start_replica(self, plan: ProtonPlan, index: int, auth_file: Path | None) -> ReplicaState:
        primary_name = container_name(plan.workload_id, plan.proton_id, index, plan.primary.name)
        for container in plan.containers:
            self._run(plan, index, container, primary_name, auth_file)
        address = ""
        if plan.primary.port is not None:
            address = self._podman("port", primary_name, f"{plan.primary.port}/tcp").strip()
        return ReplicaState(
            name=primary_name, status="starting", address=address, started_at=datetime.now(UTC)
        )

    def _run(
        self,
        plan: ProtonPlan,
        index: int,
        container: ContainerPlan,
        primary_name: str,
        auth_file: Path | None,
    ) -> None:
        name = container_name(plan.workload_id, plan.proton_id, index, container.name)
        labels = {
            WORKLOAD: plan.workload_id,
            PROTON: plan.proton_id,
            REPLICA: str(index),
            CONTAINER: container.name,
            ROLE: "primary" if container.primary else "sidecar",
        }
        if container.primary and container.port is not None:
            labels[PORT] = str(container.port)
        arguments = ["run", "-d", "--init", "--pull", "missing", "--name", name, *ULIMITS]
        arguments += self._pull_flags(container.image, auth_file)
        for key, value in labels.items():
            arguments += ["--label", f"{key}={value}"]
        if container.primary:
            for port in probe_ports(container):
                arguments += ["-p", f"{self.host}::{port}"]
        else:
            arguments += ["--network", f"container:{primary_name}"]
        if container.entrypoint:
            # Podman reads a JSON array as the exact argument list (a plain string would be
            # split by a shell's rules); an entrypoint also drops the image's CMD, as the
            # spec's entrypoint is the whole command.
            arguments += ["--entrypoint", json.dumps(list(container.entrypoint))]
        for env_name, value in container.env:
            arguments += ["-e", f"{env_name}={value}"]
        arguments += self._resource_flags(container.resources)
        arguments.append(container.image)
        logger.info("Starting container %s from %s", name, container.image)
        self._podman(*arguments, timeout=RUN_TIMEOUT)

    def _pull_flags(self, image: str, auth_file: Path | None) -> list[str]:
        if image.startswith(f"{self.registry.address}/"):
            flags = [f"--tls-verify={str(self.registry.tls_verify).lower()}"]
            return [*flags, "--authfile", str(auth_file)] if auth_file else flags
        registry_host = image.split("/", 1)[0] if "/" in image else ""
        return [f"--tls-verify={str(not LOCAL_REGISTRY.match(registry_host)).lower()}"]

    @staticmethod
    def _resource_flags(resources: Resources) -> list[str]:
        # GPUs are ignored: no machine running this engine has one, and podman's device
        # passthrough (CDI) is the cluster engine's concern.
        flags = []
        if resources.cpu is not None:
            flags += ["--cpus", f"{resources.cpu:g}"]
        if resources.memory:
            flags += ["--memory", f"{memory_bytes(resources.memory)}b"]
        return flags

    # --- readiness -----------------------------------------------------------------------

    def _down(self, plan: ProtonPlan, index: int) -> tuple[str, str] | None:
        """(name, what happened) of a container of the replica that no longer runs."""
        containers = self._ps(*self._filters(plan.workload_id, plan.proton_id, index))
        if not containers:
            return "", "its containers are gone"
        for container in containers:
            state = container.get("State", "")
            if state != "running" and state not in NOT_YET_RUNNING:
                name = container["Names"][0]
                # Podman says "stopped" or "exited" for the same end, depending on timing.
                ended = "exited" if state in ("exited", "stopped") else state
                return name, f"container {name} {ended} with status {container.get('ExitCode')}"
        return None

    def _down_reason(self, plan: ProtonPlan, index: int) -> str:
        down = self._down(plan, index)
        return down[1] if down is not None else ""

    def _not_ready(
        self,
        plan: ProtonPlan,
        verdicts: dict[int, str],
        index: int,
        kind: str,
        probe: ProbePlan,
        outcome: ProbeOutcome,
    ) -> ReadyResult:
        name = container_name(plan.workload_id, plan.proton_id, index, plan.primary.name)
        attempts = f"{outcome.attempts} attempt{'s' if outcome.attempts != 1 else ''}"
        probe_got = (
            f"its {kind} probe (GET {probe.path} on port {probe.port}) got {outcome.last} "
            f"after {attempts}"
        )
        log_from = name
        if outcome.aborted:
            down = self._down(plan, index)
            log_from = down[0] if down is not None and down[0] else name
            reason = f"Replica {index} ({name}) failed: {outcome.aborted} ({probe_got})."
        else:
            reason = f"Replica {index} ({name}) did not become ready: {probe_got}."
        return self._result(plan, verdicts, reason=reason, log_tail=self._log_tail(log_from))

    def _result(
        self, plan: ProtonPlan, verdicts: dict[int, str], *, reason: str, log_tail: str = ""
    ) -> ReadyResult:
        return ReadyResult(
            ready=False, replicas=self._states(plan, verdicts), reason=reason, log_tail=log_tail
        )

    def _states(self, plan: ProtonPlan, verdicts: dict[int, str]) -> tuple[ReplicaState, ...]:
        """The replicas as they are, with the verdicts of this wait; replicas not probed
        yet are still "starting" even if their containers run."""
        names = {
            container_name(plan.workload_id, plan.proton_id, index, plan.primary.name): index
            for index in range(plan.replicas)
        }
        states = []
        for state in self.replicas(plan.workload_id, plan.proton_id):
            verdict = verdicts.get(names.get(state.name, -1))
            if verdict is not None:
                states.append(replace(state, status=verdict))
            elif state.status == "ready":
                states.append(replace(state, status="starting"))
            else:
                states.append(state)
        return tuple(states)

    def _log_tail(self, name: str) -> str:
        try:
            return self._podman("logs", "--tail", str(LOG_TAIL_LINES), name, merge_output=True)
        except RuntimeError as error:
            # The reason already says what went wrong; a missing log must not hide it.
            return f"(no logs: {error})"

    # --- reading state -------------------------------------------------------------------

    def _replica_state(self, containers: list[dict[str, Any]]) -> ReplicaState:
        primary = next((c for c in containers if c["Labels"].get(ROLE) == "primary"), None)
        if primary is None:
            return ReplicaState(name=containers[0]["Names"][0], status="failed", address="")
        states = {container.get("State", "") for container in containers}
        if states == {"running"}:
            status = "ready"
        elif states <= {"running", *NOT_YET_RUNNING}:
            status = "starting"
        else:
            status = "failed"
        address = ""
        port = primary["Labels"].get(PORT)
        host_port = self._host_ports(primary).get(int(port)) if port else None
        if host_port is not None:
            address = f"{self.host}:{host_port}"
        started = int(primary.get("StartedAt") or 0)
        return ReplicaState(
            name=primary["Names"][0],
            status=status,
            address=address,
            # Podman reports a never-started container with Go's zero time (negative).
            started_at=datetime.fromtimestamp(started, UTC) if started > 0 else None,
        )

    @staticmethod
    def _host_ports(container: dict[str, Any]) -> dict[int, int]:
        return {
            int(mapping["container_port"]): int(mapping["host_port"])
            for mapping in container.get("Ports") or []
        }

    def _containers(self, workload_id: str, proton_id: str) -> list[dict[str, Any]]:
        return self._ps(*self._filters(workload_id, proton_id))

    def _ps(self, *filters: str) -> list[dict[str, Any]]:
        containers: list[dict[str, Any]] = json.loads(
            self._podman("ps", "-a", "--format", "json", *filters) or "[]"
        )
        return containers

    @staticmethod
    def _filters(workload_id: str, proton_id: str | None, index: int | None = None) -> list[str]:
        # Several label filters must all match.
        filters = ["--filter", f"label={WORKLOAD}={workload_id}"]
        if proton_id is not None:
            filters += ["--filter", f"label={PROTON}={proton_id}"]
        if index is not None:
            filters += ["--filter", f"label={REPLICA}={index}"]
        return filters

    def _podman(
        self, *arguments: str, timeout: float = CALL_TIMEOUT, merge_output: bool = False
    ) -> str:
        command = [
            "podman",
            "--root",
            str(self.root / "storage"),
            "--runroot",
            str(self.root / "run"),
            "--tmpdir",
            str(self.root / "tmp"),
            "--storage-driver",
            "vfs",
            "--runtime",
            "/usr/sbin/runc",
            "--cgroup-manager",
            "cgroupfs",
            "--events-backend",
            "file",
            *arguments,
        ]
        try:
            result = subprocess.run(  # noqa: S603 (argument list, no shell)
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT if merge_output else subprocess.PIPE,
                text=True,
                errors="replace",
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            # ``from None``: the expired command line carries environment values.
            raise RuntimeError(
                f"podman {arguments[0]} did not finish within {timeout:g} s."
            ) from None
        if result.returncode != 0:
            output = (result.stdout if merge_output else result.stderr).strip()
            raise RuntimeError(
                f"podman {arguments[0]} failed with status {result.returncode}: "
                f"{output[-STDERR_TAIL_CHARS:]}"
            )
        return result.stdout
