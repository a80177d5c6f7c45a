"""Image builds: start, cancel, run (in a worker), sweep. Every interface calls these.

The web side creates ``PENDING`` rows and enqueues one task per build after commit. The
worker claims a row with a conditional UPDATE (only one worker can win it), builds with
the configured engine, pushes, and writes the pinned image into the draft — unless the
container's build config changed meanwhile, in which case the draft is left alone.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
import time
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from artifacts.archives import ArchiveRejected, extract_archive, read_member
from artifacts.build_logs import BuildLog
from artifacts.builders import configured_builder
from artifacts.builders.base import BuildCancelled, BuildFailed, BuildJob, ImageFacts
from artifacts.constants import (
    ACTIVE_BUILD_STATUSES,
    TERMINAL_BUILD_STATUSES,
    BuildStatus,
)
from artifacts.containers import built_from_source, find_container
from artifacts.dockerfile_policy import check_dockerfile
from artifacts.image_access import require_pullable
from artifacts.models import Artifact, ExecutionEnvironmentVersion, ImageBuild, SourceArchive
from artifacts.registry import configured_registry
from artifacts.services import lock_artifact_rows, require_draft
from artifacts.sources import source_limits
from console import audit
from console.errors import Conflict, Forbidden, Invalid, NotFound, Problem
from console.permissions import Action, Actor, get_for_user, signed_in

logger = logging.getLogger(__name__)
# How often a running build beats its heartbeat and looks for a cancel request.
CHECK_INTERVAL_SECONDS = 0.5
ROOT_USERS = {"", "0", "root"}
MAX_DOCKERFILE_BYTES = 1024 * 1024


def config_fingerprint(config: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()


def build_start(*, actor: Actor, artifact_id: str) -> list[ImageBuild]:
    """One build per container built from source; each needs uploaded source first."""
    artifact = get_for_user(actor, Artifact.objects.all(), Action.EDIT, pk=artifact_id)
    require_draft(artifact)
    with transaction.atomic():
        _, artifact = lock_artifact_rows(artifact)
        require_draft(artifact)
        targets = built_from_source(artifact.spec)
        if not targets:
            raise Invalid.at(
                "spec",
                msg="No container is built from source; give one an imageBuildConfig.",
                type="nothing_to_build",
            )
        _check_buildable(targets)
        _check_dockerfiles(actor, artifact, targets)
        running = set(
            artifact.builds.filter(status__in=ACTIVE_BUILD_STATUSES).values_list(
                "container_name", flat=True
            )
        )
        if running:
            raise Conflict(
                f"A build of {', '.join(sorted(running))} is still running; wait for it or "
                "cancel it first.",
                code="build_running",
            )
        builds = [
            ImageBuild.objects.create(
                artifact=artifact,
                container_name=container["name"],
                config_fingerprint=config_fingerprint(container["imageBuildConfig"]),
                creator=signed_in(actor),
            )
            for _, container in targets
        ]
        from artifacts.tasks import run_build  # the task module imports this one

        for build in builds:
            audit.record(
                actor=actor,
                action="build.start",
                obj=build,
                guard=artifact.repository,
                name=f"{artifact.name} / {build.container_name}",
            )
            transaction.on_commit(partial(run_build.delay, build.id))
    return builds


def _check_buildable(targets: list[tuple[tuple[str | int, ...], dict[str, Any]]]) -> None:
    problems = []
    for path, container in targets:
        config = container["imageBuildConfig"]
        if not config.get("codeRef"):
            problems.append(
                Problem(
                    (*path, "imageBuildConfig", "codeRef"),
                    "Upload source for this container before building it.",
                    "source_missing",
                )
            )
        dockerfile = config.get("dockerfile", {})
        if dockerfile.get("source") == "generated" and not _environment_version(dockerfile):
            problems.append(
                Problem(
                    (*path, "imageBuildConfig", "dockerfile", "executionEnvironmentVersionId"),
                    "No such version of that execution environment.",
                    "unknown_environment",
                )
            )
    if problems:
        raise Invalid(problems)


def dockerfile_problems(*, actor: Actor, text: str) -> list[tuple[int, str, str]]:
    """What is wrong with building ``text`` for ``actor``: (line, message, type), by line.

    The sandbox rules of ``dockerfile_policy`` plus, for every image it names, whether the
    actor may pull it (``image_access``). Build start and the worker both ask this.
    """
    report = check_dockerfile(text)
    found = [(v.line, v.msg, v.type) for v in report.violations]
    for use in report.images:
        try:
            require_pullable(actor=actor, reference=use.reference)
        except Forbidden as refused:
            found.append((use.line, f"{use.instruction} {refused.detail}", "image_refused"))
        except Invalid as invalid:
            message = "; ".join(problem.msg for problem in invalid.problems)
            found.append((use.line, f"{use.instruction}: {message}", "invalid_reference"))
    return sorted(found)


def _check_dockerfiles(
    actor: Actor, artifact: Artifact, targets: list[tuple[tuple[str | int, ...], dict[str, Any]]]
) -> None:
    """Refuse, before anything is queued, Dockerfiles the worker would refuse to build."""
    problems = []
    for path, container in targets:
        config = container["imageBuildConfig"]
        dockerfile = config.get("dockerfile", {})
        if dockerfile.get("source") == "generated":
            text: str | None = _generated_dockerfile(container, dockerfile)
        else:
            source = SourceArchive.objects.filter(
                pk=config.get("codeRef"), artifact__repository_id=artifact.repository_id
            ).first()
            text = _read_from_archive(source, dockerfile.get("path", "Dockerfile"))
        # A Dockerfile that is a link (or not found here) is left to the worker's check,
        # which reads it from the unpacked source.
        for line, msg, kind in dockerfile_problems(actor=actor, text=text) if text else []:
            problems.append(
                Problem((*path, "imageBuildConfig", "dockerfile"), f"Line {line}: {msg}", kind)
            )
    if problems:
        raise Invalid(problems)


def _read_from_archive(source: SourceArchive | None, name: str) -> str | None:
    """The text of the regular file ``name`` in an uploaded archive, without unpacking it."""
    if source is None:
        return None
    try:
        with source.file.open("rb") as stored:
            content = read_member(stored, source.filename, name, MAX_DOCKERFILE_BYTES)
    except (ArchiveRejected, OSError):
        return None
    return content.decode(errors="replace") if content is not None else None


def _environment_version(dockerfile: dict[str, Any]) -> ExecutionEnvironmentVersion | None:
    return ExecutionEnvironmentVersion.objects.filter(
        pk=dockerfile.get("executionEnvironmentVersionId"),
        environment_id=dockerfile.get("executionEnvironmentId"),
    ).first()


def build_cancel(*, actor: Actor, artifact_id: str, build_id: str) -> ImageBuild:
    """Stop a build: a queued one at once, a running one as soon as its worker looks."""
    artifact = get_for_user(actor, Artifact.objects.all(), Action.EDIT, pk=artifact_id)
    with transaction.atomic():
        build = (
            ImageBuild.objects.select_for_update().filter(artifact=artifact, pk=build_id).first()
        )
        if build is None:
            raise NotFound()
        if build.status in TERMINAL_BUILD_STATUSES:
            raise Conflict(f"The build has already ended ({build.status}).", code="build_finished")
        if build.status == BuildStatus.PENDING:
            _end(build, BuildStatus.CANCELLED, "Cancelled before it started.")
        else:
            build.cancel_requested = True
            build.save(update_fields=["cancel_requested", "updated_at"])
        audit.record(
            actor=actor,
            action="build.cancel",
            obj=build,
            guard=artifact.repository,
            name=f"{artifact.name} / {build.container_name}",
        )
    return build


def builds_sweep() -> int:
    """Fail builds whose worker went silent (died, or its machine did); artifacts untouched."""
    cutoff = timezone.now() - timedelta(seconds=settings.BERTH_BUILD_HEARTBEAT_TIMEOUT)
    stale = ImageBuild.objects.filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff),
        status__in=ACTIVE_BUILD_STATUSES,
    )
    count = 0
    for build in stale:
        if _transition(
            build.id,
            ACTIVE_BUILD_STATUSES,
            BuildStatus.FAILED,
            message="The worker running this build stopped responding; the build was failed.",
        ):
            count += 1
    return count


def build_execute(build_id: str) -> None:
    """Run one build to its end. Called by the worker task; never raises for build errors."""
    now = timezone.now()
    claimed = ImageBuild.objects.filter(pk=build_id, status=BuildStatus.PENDING).update(
        status=BuildStatus.IN_PROGRESS, started_at=now, heartbeat_at=now, updated_at=now
    )
    if claimed != 1:
        return  # cancelled while queued, or another worker has it
    build = ImageBuild.objects.select_related("artifact").get(pk=build_id)
    log = BuildLog(build.id)
    stop = _StopCheck(build.id)
    try:
        with tempfile.TemporaryDirectory(prefix=f"berth-build-{build.id}-") as scratch:
            job = _prepare(build, Path(scratch), log)
            builder = configured_builder()
            facts = builder.build(job, log.line, stop)
            _check_requirements(build, facts, log)
            _transition(build.id, ACTIVE_BUILD_STATUSES, BuildStatus.BUILT)
            log.info("Image built; pushing it to the registry.")
            image_uri = builder.push(job, log.line, stop)
            _apply_result(build, image_uri, log)
    except BuildCancelled:
        _end_with(log, build.id, BuildStatus.CANCELLED, "Cancelled.")
    except BuildFailed as failure:
        _end_with(log, build.id, BuildStatus.FAILED, str(failure), level="error")
    except Exception:
        logger.exception("build %s failed unexpectedly", build.id)
        log.error("The build failed because of an internal error; see the worker's log.")
        _end_with(log, build.id, BuildStatus.FAILED, "Internal error.")
    finally:
        log.flush()


def _end_with(
    log: BuildLog, build_id: str, status: BuildStatus, message: str, level: str = "info"
) -> None:
    """Log why the build ended, then end it: the log is complete before anyone sees the
    final status (pollers stop at the final status)."""
    getattr(log, level)(message)
    log.flush()
    if _transition(build_id, ACTIVE_BUILD_STATUSES, status, message=message):
        _record_end(build_id, status, {"message": [None, message]})


class _StopCheck:
    """Beats the heartbeat and tells the builder to stop when a cancel was requested
    (or the build was ended by someone else, e.g. the sweep)."""

    def __init__(self, build_id: str) -> None:
        self.build_id = build_id
        self.checked_at = 0.0
        self.stop = False

    def __call__(self) -> bool:
        if self.stop or time.monotonic() - self.checked_at < CHECK_INTERVAL_SECONDS:
            return self.stop
        self.checked_at = time.monotonic()
        rows = ImageBuild.objects.filter(pk=self.build_id)
        rows.filter(status__in=ACTIVE_BUILD_STATUSES).update(heartbeat_at=timezone.now())
        state = rows.values_list("cancel_requested", "status").first()
        self.stop = state is None or state[0] or state[1] not in ACTIVE_BUILD_STATUSES
        return self.stop


def _prepare(build: ImageBuild, scratch: Path, log: BuildLog) -> BuildJob:
    container = find_container(build.artifact.spec, build.container_name)
    if container is None or container.get("imageBuildConfig") is None:
        raise BuildFailed("The container is no longer built from source.")
    config = container["imageBuildConfig"]
    # Clones keep their source's codeRef; uploads anywhere in the repository count.
    source = SourceArchive.objects.filter(
        pk=config.get("codeRef"), artifact__repository_id=build.artifact.repository_id
    ).first()
    if source is None:
        raise BuildFailed("The uploaded source is gone; upload it again.")
    context = scratch / "context"
    context.mkdir()
    archive = scratch / "source"
    with source.file.open("rb") as stored, archive.open("wb") as local:
        for chunk in stored.chunks():
            local.write(chunk)
    log.info(
        f"Unpacking {source.filename} (sha256 {source.sha256[:12]}, {source.file_count} files)."
    )
    try:
        extract_archive(archive, source.filename, context, source_limits())
    except ArchiveRejected as rejected:
        # Checked at upload, but the rules may have tightened since (or the stored file was
        # never checked): the person who uploaded it needs the entry, not "internal error".
        raise BuildFailed(f"The source archive was refused: {rejected}") from None
    dockerfile_config = config.get("dockerfile", {})
    if dockerfile_config.get("source") == "generated":
        dockerfile = scratch / "Dockerfile.generated"
        dockerfile.write_text(_generated_dockerfile(container, dockerfile_config))
        log.info("Generated Dockerfile:\n" + dockerfile.read_text())
    else:
        dockerfile = (context / dockerfile_config.get("path", "Dockerfile")).resolve()
        if not dockerfile.is_relative_to(context.resolve()) or not dockerfile.is_file():
            raise BuildFailed("The Dockerfile named by imageBuildConfig is not in the source.")
    _check_dockerfile_before_building(build, dockerfile, log)
    registry = configured_registry()
    image = registry.image(build.artifact.repository_id, build.container_name, build.id)
    work = scratch / "work"
    work.mkdir()
    return BuildJob(build.id, context, dockerfile, image, work)


def _check_dockerfile_before_building(build: ImageBuild, dockerfile: Path, log: BuildLog) -> None:
    """The same rules as at build start, on the file that will be built: the uploaded source
    may hold another Dockerfile than the one checked then, and the rules or the creator's
    rights may have changed since."""
    with dockerfile.open("rb") as file:
        data = file.read(MAX_DOCKERFILE_BYTES + 1)
    if len(data) > MAX_DOCKERFILE_BYTES:
        raise BuildFailed("The Dockerfile is larger than 1 MiB.")
    actor: Actor = build.creator if build.creator is not None else AnonymousUser()
    problems = dockerfile_problems(actor=actor, text=data.decode(errors="replace"))
    if problems:
        for line, msg, _kind in problems:
            log.error(f"Dockerfile line {line}: {msg}")
        line, msg, _kind = problems[0]
        more = f" (and {len(problems) - 1} more, see the log)" if len(problems) > 1 else ""
        raise BuildFailed(f"The Dockerfile is refused: line {line}: {msg}{more}")


def _generated_dockerfile(container: dict[str, Any], dockerfile: dict[str, Any]) -> str:
    version = _environment_version(dockerfile)
    if version is None:
        raise BuildFailed("The execution environment version no longer exists.")
    lines = [
        f"FROM {version.base_image}",
        "WORKDIR /app",
        "COPY --chown=1000:1000 . /app",
        "USER 1000:1000",
    ]
    if container.get("port"):
        lines.append(f"EXPOSE {container['port']}")
    entrypoint = dockerfile.get("entrypoint") or container.get("entrypoint")
    if entrypoint:
        lines.append(f"ENTRYPOINT {json.dumps(entrypoint)}")
    return "\n".join(lines) + "\n"


def _check_requirements(build: ImageBuild, facts: ImageFacts, log: BuildLog) -> None:
    """Container requirements: never root; the primary's port among what the image exposes."""
    user = facts.user.split(":")[0]
    if user in ROOT_USERS:
        raise BuildFailed(
            "The image runs as root; set a non-root USER in the Dockerfile (e.g. USER 1000)."
        )
    container = find_container(build.artifact.spec, build.container_name) or {}
    port = container.get("port")
    if port and facts.exposed_ports and port not in facts.exposed_ports:
        log.warning(
            f"The image exposes {sorted(facts.exposed_ports)} but the container serves on "
            f"{port}; make sure the application listens on {port}."
        )


def _apply_result(build: ImageBuild, image_uri: str, log: BuildLog) -> None:
    """Write the pinned image into the draft, if the container is still what was built."""
    log.info(f"Pushed {image_uri}.")
    log.flush()
    with transaction.atomic():
        _, artifact = lock_artifact_rows(build.artifact)
        container = find_container(artifact.spec, build.container_name)
        config = (container or {}).get("imageBuildConfig")
        if artifact.is_locked or config is None:
            reason = "the artifact was locked" if artifact.is_locked else "the container changed"
        elif config_fingerprint(config) != build.config_fingerprint:
            reason = "the container's build config changed during the build"
        else:
            reason = ""
        if reason or container is None:
            message = f"Pushed {image_uri}, but {reason}; the draft was left as it is."
            _end_with(log, build.id, BuildStatus.FAILED, message, level="warning")
            return
        if _transition(build.id, (BuildStatus.BUILT,), BuildStatus.COMPLETED, image_uri=image_uri):
            container["imageUri"] = image_uri
            artifact.save(update_fields=["spec", "updated_at"])
            _record_end(build.id, BuildStatus.COMPLETED, {"imageUri": [None, image_uri]})
        # Otherwise the build was ended meanwhile (cancelled or swept): the draft stays.


def _record_end(build_id: str, status: BuildStatus, changes: dict[str, Any]) -> None:
    """The worker's part of the audit trail: how each build ended."""
    build = ImageBuild.objects.select_related("artifact__repository").get(pk=build_id)
    audit.record(
        actor=None,
        kind="worker",
        action=f"build.{status.lower()}",
        obj=build,
        guard=build.artifact.repository,
        name=f"{build.artifact.name} / {build.container_name}",
        changes=changes,
    )


def _transition(build_id: str, from_statuses: Any, to: BuildStatus, **fields: Any) -> bool:
    """Move a build from one of ``from_statuses`` to ``to``; False when it was not there."""
    now = timezone.now()
    values: dict[str, Any] = {"status": to, "updated_at": now, **fields}
    if to in TERMINAL_BUILD_STATUSES:
        values["finished_at"] = now
    return bool(ImageBuild.objects.filter(pk=build_id, status__in=from_statuses).update(**values))


def _end(build: ImageBuild, status: BuildStatus, message: str) -> None:
    build.status = status
    build.message = message
    build.finished_at = timezone.now()
    build.save(update_fields=["status", "message", "finished_at", "updated_at"])
