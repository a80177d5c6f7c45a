"""The local engine: buildah, daemonless, rootful, chroot isolation, vfs storage.

Flags measured on these machines (see ENVIRONMENT.md): the default OCI runtime fails on
hybrid cgroups, so RUN steps use ``--isolation chroot``; ``vfs`` storage works everywhere.
"""

from __future__ import annotations

import json
import subprocess
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
from artifacts.registry import configured_registry

INSPECT_TIMEOUT = 60


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

    def _registry_flags(self, job: BuildJob) -> list[str]:
        flags = [f"--tls-verify={'true' if self.registry.tls_verify else 'false'}"]
        auth_file = self.registry.write_auth_file(job.work_dir)
        if auth_file:
            flags += ["--authfile", str(auth_file)]
        return flags

    def build(self, job: BuildJob, log: LogLine, should_stop: ShouldStop) -> ImageFacts:
        command = [
            *self._base(),
            "bud",
            "--isolation",
            "chroot",
            "--signature-policy",
            self._policy(),
            *self._registry_flags(job),
            "--layers",
            "-f",
            str(job.dockerfile),
            "-t",
            job.image,
            str(job.context_dir),
        ]
        run_streaming(command, log, should_stop, timeout=settings.BERTH_BUILD_TIMEOUT)
        return self._facts(job.image)

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
        run_streaming(command, log, should_stop, timeout=settings.BERTH_BUILD_TIMEOUT)
        digest = digest_file.read_text().strip()
        if not digest.startswith("sha256:"):
            raise BuildFailed("The push did not report a digest.")
        return f"{job.image.rsplit(':', 1)[0]}@{digest}"

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
