"""Real workloads: small HTTP images built and pushed like any build, and podman on a store
of this test run. Builds on the registry and builder fixtures of ``tests.build_fixtures``."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.test import override_settings

from artifacts.builders import configured_builder
from artifacts.builders.base import BuildJob
from artifacts.registry import configured_registry
from workloads.runtimes.podman import PodmanRuntime

HTTP_PORT = 8080
# Exec form, so the container's first process is httpd itself; ``-v`` logs each request to
# stderr, which gives a failing readiness probe a log tail to show.
HTTP_DOCKERFILE = f"""FROM {{base}}
COPY www/ /www/
USER 1000:1000
EXPOSE {HTTP_PORT}
ENTRYPOINT ["/bin/busybox", "httpd", "-f", "-v", "-p", "{HTTP_PORT}", "-h", "/www"]
"""
INDEX_PAGE = "<h1>berth test page</h1>\n"


def build_test_image(base: str, name: str, files: dict[str, str]) -> str:
    """Build ``files`` (path -> text) on ``base`` with HTTP_DOCKERFILE through the project's
    builder, push it to the configured registry, and return it pinned by digest. They go
    under ``berth/base/`` beside the base images: like those, they are the operator's, not
    a repository's, so every test user may run them (artifacts.image_access)."""

    def prepare(context: Path) -> None:
        for path, text in files.items():
            (context / path).parent.mkdir(parents=True, exist_ok=True)
            (context / path).write_text(text)
        (context / "Dockerfile").write_text(HTTP_DOCKERFILE.format(base=base))

    return build_context_image(name, prepare)


def build_context_image(name: str, prepare: Callable[[Path], None]) -> str:
    """Build the context that ``prepare`` writes (Dockerfile included) through the
    project's builder as ``berth/base/test-<name>``, push it, return it pinned by digest."""
    image = f"{configured_registry().address}/berth/base/test-{name}:1"
    with tempfile.TemporaryDirectory(prefix=f"berth-{name}-") as scratch:
        context = Path(scratch) / "context"
        context.mkdir()
        prepare(context)
        work = Path(scratch) / "work"
        work.mkdir()
        job = BuildJob(f"test-{name}", context, context / "Dockerfile", image, work)
        builder = configured_builder()
        builder.build(job, lambda _line: None, lambda: False)
        return builder.push(job, lambda _line: None, lambda: False)


@pytest.fixture(scope="session")
def http_image(build_settings: str) -> str:
    """busybox httpd on port 8080 as user 1000, serving /www/index.html and /www/ready."""
    return build_test_image(
        build_settings, "http", {"www/index.html": INDEX_PAGE, "www/ready": "ok\n"}
    )


@pytest.fixture(scope="session")
def broken_image(build_settings: str) -> str:
    """The same server without /www/ready: a readiness probe there gets 404 forever."""
    return build_test_image(build_settings, "broken", {"www/index.html": INDEX_PAGE})


@pytest.fixture(scope="session")
def podman_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A podman store of this run; whatever a test left in it is removed at the end, since
    containers outlive the processes that started them."""
    root = tmp_path_factory.mktemp("podman")
    override = override_settings(BERTH_PODMAN_ROOT=root)
    override.enable()
    yield root
    runtime = PodmanRuntime()
    for workload_id, _proton_id in runtime.running():
        runtime.stop(workload_id)
    override.disable()


@pytest.fixture
def podman_runtime(podman_settings: Path) -> PodmanRuntime:
    return PodmanRuntime()


@pytest.fixture
def podman_cleanup(podman_settings: Path) -> Iterator[set[str]]:
    """Add the workload ids a test runs to the returned set: their containers are removed
    after the test, which then checks that none is left. Costs nothing when unused."""
    workload_ids: set[str] = set()
    yield workload_ids
    if not workload_ids:
        return
    runtime = PodmanRuntime()
    for workload_id in workload_ids:
        runtime.stop(workload_id)
    left = {running for running in runtime.running() if running[0] in workload_ids}
    assert not left, f"containers left running after the test: {left}"
