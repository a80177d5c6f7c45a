"""The local engine: buildah, daemonless, vfs storage, RUN steps in a sandbox.

What was measured on these machines, and why each flag is here: docs/build-sandbox.md.
In short, a build runs in three steps:

1. ``buildah pull`` of every image the Dockerfile names (``FROM``, ``COPY --from``,
   ``RUN --mount from=``), from the host's network and with the registry's credentials.
   The caller has vetted these references (``artifacts.image_access``).
2. ``buildah bud --pull=never`` inside a network namespace of its own that has nothing but
   a loopback interface (``unshare --net``), a PID namespace of its own (so RUN steps do not
   see the host's processes and their command lines), ``no_new_privs`` (buildah 1.28
   refuses ``--security-opt no-new-privileges``, so it is set on buildah itself and
   inherited), and a cgroup of the build's own with a pids and a memory limit. RUN steps
   use chroot isolation in a user namespace: their root is host uid
   ``BERTH_BUILD_HOST_UID_BASE`` with a few capabilities inside that namespace only. Since
   the whole builder is offline, neither ``RUN --network=host``, nor ``ADD <url>``, nor a
   reference the policy did not see can reach the host's loopback or anything else.
3. ``buildah push`` from the host's network, then the tenant images are dropped from the
   shared store, so a later build cannot find them by a short name or an id.

The OCI isolation (runc) would give RUN steps real cgroup limits, but with a user
namespace it cannot create ``/proc`` in images whose root directory is not owned by the
mapped root (the base image Berth builds is one); chroot isolation works with both.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from django.conf import settings

from artifacts.builders.base import (
    BuildFailed,
    BuildJob,
    ImageFacts,
    LogLine,
    ShouldStop,
    run_streaming,
)
from artifacts.dockerfile_policy import check_dockerfile
from artifacts.image_access import is_berth_registry, parse_reference
from artifacts.registry import configured_registry
from console.errors import Invalid

INSPECT_TIMEOUT = 60
# Container uids and gids 0..65535 map to host ids from BERTH_BUILD_HOST_UID_BASE on.
USERNS_SIZE = 65536
# What a RUN step may do inside its user namespace: change owners and modes of the
# image's files and switch users (package managers and ``adduser`` need these). Not
# MKNOD, NET_RAW, SETFCAP, SETPCAP, SYS_CHROOT or NET_BIND_SERVICE: a build needs none.
RUN_CAPABILITIES = (
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_SETUID",
    "CAP_SETGID",
    "CAP_KILL",
)
CGROUP_ROOT = Path("/sys/fs/cgroup")
CGROUP_GROUP = "berth-builds"
MAX_DOCKERFILE_BYTES = 1024 * 1024
BUILD_TMP = "/var/tmp"  # noqa: S108 (buildah's own default; a private directory per build)


class BuildahBuilder:
    def __init__(self) -> None:
        self.root = Path(settings.BERTH_BUILDAH_ROOT)
        self.registry = configured_registry()

    def _base(self) -> list[str]:
        return [
            "buildah",
            "--root",
            str(self.root / "storage"),
            "--runroot",
            str(self.root / "run"),
            "--storage-driver",
            "vfs",
        ]

    def _policy(self) -> str:
        # Images come from registries the operator configured; signatures are not used.
        policy = self.root / "policy.json"
        if not policy.exists():
            policy.parent.mkdir(parents=True, exist_ok=True)
            policy.write_text(json.dumps({"default": [{"type": "insecureAcceptAnything"}]}))
        return str(policy)

    def _registry_flags(self, job: BuildJob, reference: str | None = None) -> list[str]:
        """TLS and credentials for Berth's registry; other registries always verify TLS."""
        if reference is not None and not self._in_berth_registry(reference):
            return ["--tls-verify=true"]
        flags = [f"--tls-verify={'true' if self.registry.tls_verify else 'false'}"]
        auth_file = self.registry.write_auth_file(job.work_dir)
        if auth_file:
            flags += ["--authfile", str(auth_file)]
        return flags

    def _in_berth_registry(self, reference: str) -> bool:
        try:
            return is_berth_registry(parse_reference(reference))
        except Invalid:
            return False

    def build(self, job: BuildJob, log: LogLine, should_stop: ShouldStop) -> ImageFacts:
        if settings.BERTH_BUILD_NETWORK != "none":
            raise BuildFailed(
                f"BERTH_BUILD_NETWORK={settings.BERTH_BUILD_NETWORK} is not available with "
                "the buildah engine: it runs RUN steps without any network (see "
                "docs/build-sandbox.md)."
            )
        references = self._references(job)
        pulled = []
        try:
            for reference in references:
                self._pull(job, reference, log, should_stop)
                pulled.append(reference)
            self._bud(job, log, should_stop)
        finally:
            self._forget([r for r in pulled if self._is_tenant_image(r)])
        return self._facts(job.image)

    def _references(self, job: BuildJob) -> list[str]:
        """The images to fetch before the offline build: those the Dockerfile names."""
        with job.dockerfile.open("rb") as file:
            text = file.read(MAX_DOCKERFILE_BYTES + 1)
        if len(text) > MAX_DOCKERFILE_BYTES:
            raise BuildFailed("The Dockerfile is larger than 1 MiB.")
        images = check_dockerfile(text.decode(errors="replace")).images
        return list(dict.fromkeys(image.reference for image in images))

    def _pull(self, job: BuildJob, reference: str, log: LogLine, should_stop: ShouldStop) -> None:
        command = [
            *self._base(),
            "pull",
            "--signature-policy",
            self._policy(),
            *self._registry_flags(job, reference),
            "--retry",
            "1",
            "--quiet",
            reference,
        ]
        try:
            run_streaming(command, log, should_stop, timeout=settings.BERTH_BUILD_TIMEOUT)
        except BuildFailed:
            raise BuildFailed(f"Could not pull {reference}.") from None

    def _bud(self, job: BuildJob, log: LogLine, should_stop: ShouldStop) -> None:
        uid_base = settings.BERTH_BUILD_HOST_UID_BASE
        pids = settings.BERTH_BUILD_PIDS_LIMIT
        bud = [
            *self._base(),
            "bud",
            "--pull=never",
            "--isolation",
            "chroot",
            "--userns-uid-map",
            f"0:{uid_base}:{USERNS_SIZE}",
            "--userns-gid-map",
            f"0:{uid_base}:{USERNS_SIZE}",
            "--cap-drop",
            "ALL",
            "--cap-add",
            ",".join(RUN_CAPABILITIES),
            # Counted per host uid: every RUN process of this build (and of concurrent
            # builds, which map to the same ids) together; the cgroup limits this build.
            "--ulimit",
            f"nproc={pids}:{pids}",
            "--signature-policy",
            self._policy(),
            "--layers",
            "-f",
            str(job.dockerfile),
            "-t",
            job.image,
            str(job.context_dir),
        ]
        sandbox = [
            "setpriv",
            "--no-new-privs",
            "unshare",
            "--net",
            "--pid",
            "--fork",
            "--kill-child",
            "--mount-proc",
            # The new network namespace's own loopback, up, so that a RUN step can talk to
            # a server it starts itself; there is no other interface and no route out.
            "/bin/sh",
            "-c",
            'ip link set lo up && exec "$@"',
            "berth-build-sandbox",
        ]
        # TMPDIR is where buildah mounts the RUN steps' root file system and keeps the
        # RUN --mount=type=cache directories: one per build, so that no build reads or
        # poisons another tenant's cache. It must be traversable by the mapped root (host
        # uid BERTH_BUILD_HOST_UID_BASE), so it is not under the worker's private scratch
        # directory but in /var/tmp (buildah's default), searchable but not listable.
        scratch = Path(tempfile.mkdtemp(prefix=f"berth-build-{job.build_id[:40]}-", dir=BUILD_TMP))
        scratch.chmod(0o711)
        with BuildCgroup(job.build_id, log) as cgroup, _removed(scratch):
            run_streaming(
                [*cgroup.enter_command(), *sandbox, *bud],
                log,
                should_stop,
                timeout=settings.BERTH_BUILD_TIMEOUT,
                env={"TMPDIR": str(scratch)},
                shown_as=" ".join([*sandbox, *bud]),
                name="buildah bud",
            )

    def push(self, job: BuildJob, log: LogLine, should_stop: ShouldStop) -> str:
        digest_file = job.work_dir / "digest"
        command = [
            *self._base(),
            "push",
            "--signature-policy",
            self._policy(),
            *self._registry_flags(job),
            "--digestfile",
            str(digest_file),
            job.image,
        ]
        try:
            run_streaming(command, log, should_stop, timeout=settings.BERTH_BUILD_TIMEOUT)
        finally:
            # The store is shared by every build; the image now lives in the registry.
            self._forget([job.image])
        digest = digest_file.read_text().strip()
        if not digest.startswith("sha256:"):
            raise BuildFailed("The push did not report a digest.")
        return f"{job.image.rsplit(':', 1)[0]}@{digest}"

    def _is_tenant_image(self, reference: str) -> bool:
        """An image of a repository in Berth's registry (not one of its base images)."""
        try:
            parsed = parse_reference(reference)
        except Invalid:
            return False
        return is_berth_registry(parsed) and parsed.path.split("/")[:2] != ["berth", "base"]

    def _forget(self, references: list[str]) -> None:
        for reference in references:
            # Best effort: an image another build is using right now stays until then.
            subprocess.run(  # noqa: S603 (fixed argument list)
                [*self._base(), "rmi", reference],
                capture_output=True,
                timeout=INSPECT_TIMEOUT,
                check=False,
            )

    def _facts(self, image: str) -> ImageFacts:
        result = subprocess.run(  # noqa: S603 (fixed argument list)
            [*self._base(), "inspect", "--type", "image", image],
            capture_output=True,
            text=True,
            timeout=INSPECT_TIMEOUT,
            check=False,
        )
        if result.returncode != 0:
            raise BuildFailed(f"Could not inspect the built image: {result.stderr.strip()}")
        config = json.loads(result.stdout).get("OCIv1", {}).get("config", {})
        ports = {
            int(spec.split("/")[0])
            for spec in (config.get("ExposedPorts") or {})
            if spec.split("/")[0].isdigit()
        }
        return ImageFacts(user=config.get("User") or "", exposed_ports=frozenset(ports))


@contextmanager
def _removed(directory: Path) -> Iterator[None]:
    try:
        yield
    finally:
        shutil.rmtree(directory, ignore_errors=True)


class BuildCgroup:
    """A cgroup for one build with the pids and memory limits, on cgroup v1 or v2.

    Every process of the build (buildah and its RUN steps) is in it, so the limits hold for
    the build as a whole whatever the isolation. On leaving, whatever is still in it is
    killed and it is removed. Where cgroups cannot be written (inside some containers),
    the build runs without these limits and its log says so.
    """

    def __init__(self, build_id: str, log: LogLine) -> None:
        name = re.sub(r"[^A-Za-z0-9_-]", "-", build_id)[:40]
        self.name = f"{name}-{secrets.token_hex(4)}"
        self.log = log
        self.directories: list[Path] = []

    def __enter__(self) -> BuildCgroup:
        pids = str(settings.BERTH_BUILD_PIDS_LIMIT)
        memory = str(settings.BERTH_BUILD_MEMORY_LIMIT_MIB * 2**20)
        try:
            if (CGROUP_ROOT / "memory" / "cgroup.procs").exists():  # v1 (or hybrid)
                self._make(CGROUP_ROOT / "pids", {"pids.max": pids})
                self._make(CGROUP_ROOT / "memory", {"memory.limit_in_bytes": memory})
            elif (CGROUP_ROOT / "cgroup.controllers").exists():  # v2
                parent = CGROUP_ROOT / CGROUP_GROUP
                parent.mkdir(exist_ok=True)
                (parent / "cgroup.subtree_control").write_text("+pids +memory")
                self._make(CGROUP_ROOT, {"pids.max": pids, "memory.max": memory})
        except OSError as error:
            self.log(f"Warning: no pids/memory limits for this build ({error.strerror}).")
            self._remove()
        return self

    def _make(self, controller: Path, limits: dict[str, str]) -> None:
        directory = controller / CGROUP_GROUP / self.name
        directory.mkdir(parents=True)
        self.directories.append(directory)
        for file, value in limits.items():
            (directory / file).write_text(value)

    def enter_command(self) -> list[str]:
        """A prefix that moves the command into the cgroup(s) before it starts."""
        if not self.directories:
            return []
        moves = " && ".join(f'echo $$ >"${i + 1}"' for i in range(len(self.directories)))
        script = f'{moves} && shift {len(self.directories)} && exec "$@"'
        return ["/bin/sh", "-c", script, "berth-build-cgroup"] + [
            str(d / "cgroup.procs") for d in self.directories
        ]

    def __exit__(self, *_exc: object) -> None:
        self._remove()

    def _remove(self) -> None:
        for directory in self.directories:
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                with suppress(OSError):
                    procs = (directory / "cgroup.procs").read_text().split()
                    for pid in procs:
                        with suppress(ProcessLookupError):
                            os.kill(int(pid), signal.SIGKILL)
                    directory.rmdir()
                    break
                time.sleep(0.05)
        self.directories = []
