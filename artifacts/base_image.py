"""A small base image for the embedded default, built without any network access.

``FROM scratch`` plus the statically linked busybox that Debian ships: a shell and the
usual tools, a non-root user, and ``/tmp``. It is pushed to the configured registry and
registered as the ``busybox`` execution environment, so generated Dockerfiles and the
demo can build on this machine.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from artifacts.builders import configured_builder
from artifacts.builders.base import BuildJob, LogLine
from artifacts.models import ExecutionEnvironment, ExecutionEnvironmentVersion
from artifacts.registry import configured_registry

BUSYBOX = Path("/bin/busybox")
ENVIRONMENT_NAME = "busybox"
DOCKERFILE = "FROM scratch\nCOPY rootfs/ /\nUSER 1000:1000\nWORKDIR /tmp\n"


def ensure_base_image(log: LogLine, label: str = "1") -> ExecutionEnvironmentVersion:
    """Build and push the base image and register it; reuse the registration if present."""
    registry = configured_registry()
    image = f"{registry.address}/berth/base/busybox:{label}"
    existing = ExecutionEnvironmentVersion.objects.filter(
        environment__name=ENVIRONMENT_NAME,
        label=label,
        base_image__startswith=f"{image.rsplit(':', 1)[0]}@",
    ).first()
    if existing is not None:
        return existing
    environment, _ = ExecutionEnvironment.objects.get_or_create(
        name=ENVIRONMENT_NAME,
        defaults={"description": "busybox on an empty image: sh and the usual tools, user 1000"},
    )
    version, _ = ExecutionEnvironmentVersion.objects.update_or_create(
        environment=environment, label=label, defaults={"base_image": build_base_image(image, log)}
    )
    return version


def build_base_image(image: str, log: LogLine) -> str:
    """Build the image, push it as ``image``, and return its reference pinned by digest."""
    if not BUSYBOX.exists():
        raise FileNotFoundError(f"{BUSYBOX} is missing; install Debian's busybox-static.")
    with tempfile.TemporaryDirectory(prefix="berth-base-") as scratch:
        context = Path(scratch) / "context"
        (context / "rootfs" / "bin").mkdir(parents=True)
        (context / "rootfs" / "tmp").mkdir(mode=0o1777)
        (context / "rootfs" / "tmp").chmod(0o1777)
        shutil.copy2(BUSYBOX, context / "rootfs" / "bin" / "busybox")
        (context / "rootfs" / "bin" / "sh").symlink_to("busybox")
        (context / "Dockerfile").write_text(DOCKERFILE)
        work = Path(scratch) / "work"
        work.mkdir()
        job = BuildJob("base", context, context / "Dockerfile", image, work)
        builder = configured_builder()
        builder.build(job, log, lambda: False)
        return builder.push(job, log, lambda: False)
