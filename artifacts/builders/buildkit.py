"""The remote engine: a BuildKit daemon reached with ``buildctl`` (for clusters).

Configure ``BERTH_BUILDER=buildkit`` and ``BERTH_BUILDKIT_ADDR`` (e.g.
``tcp://buildkitd.builds:1234``); BuildKit builds and pushes in one step and reports the
digest in its metadata file. Kaniko can be driven the same way. Not exercised by the test
suite: these machines have no BuildKit daemon (see README).
"""

from __future__ import annotations

import json

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


class BuildKitBuilder:
    def __init__(self) -> None:
        self.address = settings.BERTH_BUILDKIT_ADDR
        self.registry = configured_registry()

    def build(self, job: BuildJob, log: LogLine, should_stop: ShouldStop) -> ImageFacts:
        if not self.address:
            raise BuildFailed("BERTH_BUILDKIT_ADDR is not set; the BuildKit builder needs it.")
        auth_file = self.registry.write_auth_file(job.work_dir)
        insecure = "" if self.registry.tls_verify else ",registry.insecure=true"
        command = [
            "buildctl",
            "--addr",
            self.address,
            "build",
            "--frontend",
            "dockerfile.v0",
            "--local",
            f"context={job.context_dir}",
            "--local",
            f"dockerfile={job.dockerfile.parent}",
            "--opt",
            f"filename={job.dockerfile.name}",
            "--output",
            f"type=image,name={job.image},push=true{insecure}",
            "--metadata-file",
            str(job.work_dir / "metadata.json"),
        ]
        env = {"DOCKER_CONFIG": str(auth_file.parent)} if auth_file else None
        run_streaming(command, log, should_stop, timeout=settings.BERTH_BUILD_TIMEOUT, env=env)
        # BuildKit does not report the image configuration; the registry holds it.
        return ImageFacts(user="unknown")

    def push(self, job: BuildJob, log: LogLine, should_stop: ShouldStop) -> str:
        metadata = json.loads((job.work_dir / "metadata.json").read_text())
        digest = metadata.get("containerimage.digest", "")
        if not digest.startswith("sha256:"):
            raise BuildFailed("BuildKit did not report the pushed image's digest.")
        log(f"pushed {job.image} ({digest})")
        return f"{job.image.rsplit(':', 1)[0]}@{digest}"
