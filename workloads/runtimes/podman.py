"""The local engine: daemonless, rootful podman with its own store under BERTH_PODMAN_ROOT.

One replica is the primary container plus its sidecars. The primary publishes its port
(and any other probe port) on ``BERTH_PODMAN_HOST`` with a random host port; the sidecars
join the primary's network namespace, so that, as in a Kubernetes pod, they reach each
other on localhost. Pods are not used: a podman pod needs an infra image, which cannot be
pulled offline.

Containers are contained (measured in docs/workload-containment.md): every capability
dropped, ``no-new-privileges``, a pids limit, CPU and memory limits (the installation's
defaults when the workload gives none), a numeric non-root user checked on the image
before it runs, and a bridge network of the workload's own (``isolate=true``: the CNI
firewall drops traffic from other isolated bridges) created with its first container and
removed with its last. Environment values reach podman through a private ``--env-file``
(or, for values with line breaks, podman secrets), never its command line, and never the
error text.

Everything is found again by label (``berth.workload``, ``berth.proton``, ``berth.replica``,
``berth.container``, ``berth.role``, and ``berth.port`` on the primary: the port that
serves traffic). The flags are the ones measured on these machines (see ENVIRONMENT.md):
vfs storage, runc with cgroupfs, file events, ``--init`` so that removal is immediate, and
explicit ulimits because the defaults cannot be applied in this sandbox.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings

from artifacts.registry import configured_registry
from workloads.plans import limited, memory_bytes
from workloads.runtimes.base import (
    ContainerPlan,
    ProbePlan,
    ProtonPlan,
    ReadyResult,
    ReplicaState,
    Resources,
    ShouldStop,
    StartRefused,
)
from workloads.runtimes.probes import ProbeOutcome, poll

logger = logging.getLogger(__name__)

# ``run`` pulls the image the first time it is used: large images take minutes.
RUN_TIMEOUT = 900
CALL_TIMEOUT = 60
LOG_TAIL_LINES = 40
STDERR_TAIL_CHARS = 2000
ULIMITS = ("--ulimit", "nofile=20000:20000", "--ulimit", "nproc=32768:32768")
# No capability at all (not even podman's default set: CHOWN, SETUID, NET_RAW, ...), and no
# way to gain privileges through setuid binaries or file capabilities in the image.
CONTAINMENT = ("--cap-drop", "ALL", "--security-opt", "no-new-privileges")
# Registries on the loopback interface are the local, plain-HTTP ones.
LOCAL_REGISTRY = re.compile(r"^(127\.|localhost(:|$)|\[::1\])")
# The only image users Berth runs as they are: a numeric uid (not 0), optionally a numeric
# gid. A user *name* is resolved by the runtime from the image's own /etc/passwd, which
# the image's author writes: "app" may well be uid 0 there.
NUMERIC_USER = re.compile(r"([0-9]+)(?::([0-9]+))?")
# What podman itself needs from the worker's environment (its own configuration, and the
# proxies a pull may go through). Nothing else is passed on, so no secret of Berth's
# (database URL, keys) is in podman's environment for a mistake in an env file (a line
# holding only a name, or ``*``, copies the caller's values) to copy into a container.
PODMAN_ENVIRONMENT = frozenset(
    {"PATH", "HOME", "LANG", "LC_ALL", "TZ", "XDG_RUNTIME_DIR", "REGISTRY_AUTH_FILE"}
    | {f"{name}_PROXY" for name in ("HTTP", "HTTPS", "NO")}
    | {f"{name}_proxy" for name in ("http", "https", "no")}
)
# Error text of a failing ``podman run`` is cleaned of environment values this long or
# longer; shorter ones ("1", "on") are too common to hide without hiding the message.
REDACT_MIN_CHARS = 4
# Podman secrets carrying a container's environment values are named
# ``<container name><ENV_SECRET_MARK><variable>``, so that removing the container finds them.
ENV_SECRET_MARK = "-env-"  # noqa: S105 (a name part, not a password)
# Podman states of a container that has not run yet; "running" is up; anything else ended.
NOT_YET_RUNNING = frozenset({"created", "configured", "initialized"})

WORKLOAD = "berth.workload"
PROTON = "berth.proton"
REPLICA = "berth.replica"
CONTAINER = "berth.container"
ROLE = "berth.role"
PORT = "berth.port"


def container_name(workload_id: str, proton_id: str, index: int, container: str) -> str:
    return f"berth-{workload_id}-{proton_id}-{index}-{container}"


def network_name(workload_id: str) -> str:
    """The workload's own network; one name per workload, shared by its protons."""
    return f"berth-workload-{workload_id}"


def run_user(container: str, image: str, configured: str) -> str:
    """The ``--user`` to run ``image`` with, given the user its configuration names; raises
    StartRefused when that user is (or may be) root and no default user is configured."""
    match = NUMERIC_USER.fullmatch(configured)
    if match is not None and int(match[1]) != 0:
        return configured
    default: str = settings.BERTH_WORKLOAD_DEFAULT_USER
    if default:
        return default
    name = configured.split(":", 1)[0]
    if not configured:
        why = "sets no USER, so it would run as root"
    elif name == "root" or (name.isdigit() and int(name) == 0):
        why = f"runs as root (USER {configured})"
    else:
        why = (
            f"names its user {configured!r} instead of a numeric uid, and a name can map "
            "to uid 0 inside the image"
        )
    raise StartRefused(
        f"Container {container} was not started: its image {image} {why}. Berth runs "
        "workloads only as a non-root user: set a numeric USER other than 0 in the "
        "image (for example USER 1000:1000)."
    )


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
            for container in plan.containers:
                _refuse_unsafe_env(container)
            # Credentials go to a private file for ``--authfile``, never on a command line.
            with tempfile.TemporaryDirectory(prefix="auth-", dir=self.root / "tmp") as scratch:
                auth_file = self.registry.write_auth_file(Path(scratch))
                # Pulled and checked before anything runs; run by image id, so what runs
                # is what was checked even if the tag moves meanwhile.
                images = {
                    container.name: self._checked_image(container, auth_file)
                    for container in plan.containers
                }
            # The lock keeps a concurrent ``stop`` of another proton of this workload from
            # removing the network between its creation and the first container on it.
            with self._workload_lock(plan.workload_id):
                network = self._network(plan.workload_id)
                return tuple(
                    self._start_replica(plan, index, images, network)
                    for index in range(plan.replicas)
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

    def serve(self, workload_id: str, proton_id: str) -> None:
        """Nothing to do: podman has no Service in front of the replicas. The invoke
        proxy reaches each replica at its own published address and picks the workload's
        active proton from the database on every request, so the role change that the
        services record is the switch."""

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
        with self._workload_lock(workload_id):
            # Sidecars first: podman refuses to remove a primary whose network namespace a
            # sidecar still uses. Matching nothing is not an error for ``rm --filter``.
            self._podman("rm", "-f", "-t", "0", *filters, "--filter", f"label={ROLE}=sidecar")
            self._podman("rm", "-f", "-t", "0", *filters)
            prefix = f"berth-{workload_id}-" + (f"{proton_id}-" if proton_id is not None else "")
            self._remove_secrets(self._secrets(prefix))
            # The network goes with the workload's last container (of any proton).
            if not self._ps(*self._filters(workload_id, None)):
                self._remove_network(workload_id)

    def running(self) -> set[tuple[str, str]]:
        # Ended containers count too: the orphan sweep must remove them as well.
        return {
            (container["Labels"][WORKLOAD], container["Labels"][PROTON])
            for container in self._ps("--filter", f"label={WORKLOAD}")
        }

    # --- starting ----------------------------------------------------------------------

    def _start_replica(
        self, plan: ProtonPlan, index: int, images: dict[str, tuple[str, str]], network: str
    ) -> ReplicaState:
        primary_name = container_name(plan.workload_id, plan.proton_id, index, plan.primary.name)
        for container in plan.containers:
            image_id, user = images[container.name]
            self._run(plan, index, container, primary_name, image_id, user, network)
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
        image_id: str,
        user: str,
        network: str,
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
        arguments = ["run", "-d", "--init", "--pull", "never", "--name", name, *ULIMITS]
        arguments += [*CONTAINMENT, "--pids-limit", str(settings.BERTH_WORKLOAD_PIDS_LIMIT)]
        arguments += ["--user", user]
        for key, value in labels.items():
            arguments += ["--label", f"{key}={value}"]
        if container.primary:
            arguments += ["--network", network]
            for port in probe_ports(container):
                arguments += ["-p", f"{self.host}::{port}"]
        else:
            arguments += ["--network", f"container:{primary_name}"]
        if container.entrypoint:
            # Podman reads a JSON array as the exact argument list (a plain string would be
            # split by a shell's rules); an entrypoint also drops the image's CMD, as the
            # spec's entrypoint is the whole command.
            arguments += ["--entrypoint", json.dumps(list(container.entrypoint))]
        arguments += self._resource_flags(container.resources)
        logger.info("Starting container %s from %s (%s)", name, container.image, image_id)
        with self._environment(name, container.env) as environment:
            arguments += environment
            arguments.append(image_id)
            self._podman(
                *arguments, timeout=RUN_TIMEOUT, redact=[value for _name, value in container.env]
            )

    @contextlib.contextmanager
    def _environment(self, name: str, env: Sequence[tuple[str, str]]) -> Iterator[list[str]]:
        """``podman run`` arguments that give container ``name`` its ``env`` without a
        value on any command line: a private ``--env-file`` for one-line values, removed
        as soon as ``podman run`` has read it, and a podman secret (``type=env``) for each
        value with a line break, which an env file cannot carry (it would start a line of
        the value's choosing). Podman reads such a secret again for every ``exec`` and
        restart, so it lives as long as the container and goes with it (``stop``); it
        holds nothing podman's own container config does not (``Config.Env``)."""
        if not env:
            yield []
            return
        one_line = [(key, value) for key, value in env if not _has_line_break(value)]
        multi_line = [(key, value) for key, value in env if _has_line_break(value)]
        arguments: list[str] = []
        with tempfile.TemporaryDirectory(prefix="env-", dir=self.root / "tmp") as scratch:
            if one_line:
                path = Path(scratch) / "env"
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                    file.writelines(f"{key}={value}\n" for key, value in one_line)
                arguments += ["--env-file", str(path)]
            for key, value in multi_line:
                secret = _env_secret_name(name, key)
                # Left over from an earlier attempt at this very container (a task
                # delivered twice): replaced, since the container it served is gone.
                self._remove_secrets([secret])
                # The value goes in on stdin, never on the command line.
                self._podman("secret", "create", secret, "-", stdin=value, redact=[value])
                arguments += ["--secret", f"{secret},type=env,target={key}"]
            yield arguments

    def _secrets(self, prefix: str) -> list[str]:
        """Names of the podman secrets that carry environment values of containers whose
        names start with ``prefix``. (``secret ls`` has no JSON output in podman 4.3.)"""
        names = self._podman("secret", "ls", "--format", "{{.Name}}").split()
        return [n for n in names if n.startswith(prefix) and ENV_SECRET_MARK in n]

    def _remove_secrets(self, names: Sequence[str]) -> None:
        for secret in names:
            try:
                self._podman("secret", "rm", secret)
            except RuntimeError:
                # Usually: there was none. Anything else leaves a value in podman's store
                # (root only), which the next stop of this workload removes.
                logger.debug("Could not remove podman secret %s", secret, exc_info=True)

    def _checked_image(self, container: ContainerPlan, auth_file: Path | None) -> tuple[str, str]:
        """(image id, user to run as) of the container's image, pulled when missing (as
        ``--pull missing`` did); refuses an image that would run as root."""
        image = container.image
        try:
            self._podman("image", "exists", image)
        except RuntimeError:
            self._podman(
                "pull", "-q", *self._pull_flags(image, auth_file), image, timeout=RUN_TIMEOUT
            )
        (inspected,) = json.loads(self._podman("image", "inspect", "--format", "json", image))
        configured = str((inspected.get("Config") or {}).get("User") or "")
        return str(inspected["Id"]), run_user(container.name, image, configured)

    # --- the workload's network -----------------------------------------------------------

    @contextlib.contextmanager
    def _workload_lock(self, workload_id: str) -> Iterator[None]:
        """Held while a workload's containers and network are created or removed, by every
        worker process on this host (they share the store); released when the process
        ends, however it ends."""
        folder = self.root / "locks"
        folder.mkdir(exist_ok=True)
        with open(folder / f"{workload_id}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def _network(self, workload_id: str) -> str:
        """The workload's network, created when it has none yet."""
        name = network_name(workload_id)
        try:
            self._podman("network", "exists", name)
        except RuntimeError:
            logger.info("Creating network %s", name)
            # isolate=true adds the CNI firewall plugin with ingressPolicy same-bridge:
            # traffic from another isolated bridge (another workload) is dropped.
            self._podman(
                "network",
                "create",
                "--opt",
                "isolate=true",
                "--label",
                f"{WORKLOAD}={workload_id}",
                name,
            )
        return name

    def _remove_network(self, workload_id: str) -> None:
        name = network_name(workload_id)
        try:
            self._podman("network", "exists", name)
        except RuntimeError:
            return
        logger.info("Removing network %s", name)
        try:
            self._podman("network", "rm", name)
        except RuntimeError:
            # The containers are gone, which is what the caller asked for; a network left
            # over is removed by the next stop of this workload.
            logger.warning("Could not remove network %s", name, exc_info=True)

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
        resources = limited(resources)
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
        self,
        *arguments: str,
        timeout: float = CALL_TIMEOUT,
        merge_output: bool = False,
        redact: Sequence[str] = (),
        stdin: str | None = None,
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
                input=stdin,
                stdin=subprocess.DEVNULL if stdin is None else None,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT if merge_output else subprocess.PIPE,
                text=True,
                errors="replace",
                timeout=timeout,
                check=False,
                env={
                    key: value
                    for key, value in os.environ.items()
                    if key in PODMAN_ENVIRONMENT or key.startswith("CONTAINERS_")
                },
            )
        except subprocess.TimeoutExpired:
            # ``from None``: the expired command line is podman's business, not the user's.
            raise RuntimeError(
                f"podman {arguments[0]} did not finish within {timeout:g} s."
            ) from None
        if result.returncode != 0:
            output = (result.stdout if merge_output else result.stderr).strip()
            # Longest first, so that a value containing another is hidden whole.
            for value in sorted(redact, key=len, reverse=True):
                if len(value) >= REDACT_MIN_CHARS:
                    output = output.replace(value, "[value hidden]")
            raise RuntimeError(
                f"podman {arguments[0]} failed with status {result.returncode}: "
                f"{output[-STDERR_TAIL_CHARS:]}"
            )
        return result.stdout


def _env_secret_name(container: str, variable: str) -> str:
    # Podman takes secret names of at most 253 characters; variable names may be 255.
    secret = f"{container}{ENV_SECRET_MARK}{variable}"
    if len(secret) <= 253:
        return secret
    digest = hashlib.sha256(variable.encode()).hexdigest()[:16]
    return f"{container}{ENV_SECRET_MARK}{digest}"


def _has_line_break(value: str) -> bool:
    """Whether an env file would read ``value`` as more than one line, or lose its end: a
    line break ends the line (and ``*`` on a line of its own copies podman's whole
    environment into the container), a carriage return at a line's end is dropped."""
    return "\n" in value or "\r" in value


def _refuse_unsafe_env(container: ContainerPlan) -> None:
    """No process environment can hold a NUL: refused before anything runs, naming the
    variable, never showing the value."""
    for name, value in container.env:
        if "\0" in value:
            raise StartRefused(
                f"Container {container.name} was not started: the value of its environment "
                f"variable {name} holds a NUL character, which no environment can carry."
            )
