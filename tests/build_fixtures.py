"""Real image builds: a local OCI registry, buildah, and a Celery worker on a real broker."""

from __future__ import annotations

import io
import socket
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from artifacts.base_image import build_base_image
from artifacts.registry import configured_registry, htpasswd_entry, new_registry_password
from console.celery import app as celery_app

# With htpasswd credentials, as scripts/run.sh runs it: only Berth's processes (which
# hold the password) push and pull; docker-registry 2.8 accepts basic auth without TLS.
REGISTRY_CONFIG = """version: 0.1
storage:
  filesystem:
    rootdirectory: {root}
http:
  addr: {address}
auth:
  htpasswd:
    realm: berth
    path: {htpasswd}
"""
REGISTRY_USERNAME = "berth"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def registry_password() -> str:
    return new_registry_password()


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory, registry_password: str) -> Iterator[str]:
    """A real OCI registry (Debian's docker-registry) on a free loopback port, which
    answers only with the credentials ``build_settings`` gives Berth."""
    root = tmp_path_factory.mktemp("registry")
    address = f"127.0.0.1:{free_port()}"
    htpasswd = root / "htpasswd"
    htpasswd.write_text(htpasswd_entry(REGISTRY_USERNAME, registry_password) + "\n")
    config = root / "config.yml"
    config.write_text(
        REGISTRY_CONFIG.format(root=root / "data", address=address, htpasswd=htpasswd)
    )
    process = subprocess.Popen(  # noqa: S603
        ["docker-registry", "serve", str(config)],  # noqa: S607 (Debian's package, on PATH)
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            urllib.request.urlopen(f"http://{address}/v2/", timeout=1)
            break
        except urllib.error.HTTPError as answer:
            if answer.code != 401:  # 401: up, and asking for credentials
                process.kill()
                raise
            break
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.05)
    yield address
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="session")
def build_settings(
    registry: str, registry_password: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Point builds at the test registry and a buildah store of this run; returns the
    pinned base image every test Dockerfile starts from."""
    override = override_settings(
        BERTH_REGISTRY=registry,
        BERTH_REGISTRY_TLS_VERIFY=None,
        BERTH_REGISTRY_USERNAME=REGISTRY_USERNAME,
        BERTH_REGISTRY_PASSWORD=registry_password,
        BERTH_BUILDAH_ROOT=tmp_path_factory.mktemp("buildah"),
        BERTH_BUILD_HEARTBEAT_TIMEOUT=120,
    )
    override.enable()
    base = build_base_image(f"{registry}/berth/base/busybox:1", log=lambda _line: None)
    yield base
    override.disable()


@pytest.fixture
def celery_worker_thread(transactional_db: Any, build_settings: str) -> Iterator[None]:
    """A real Celery worker (solo pool, in a thread) consuming the real broker."""
    from celery.contrib.testing.tasks import ping
    from celery.contrib.testing.worker import start_worker
    from celery.worker import state

    with start_worker(celery_app, pool="solo", perform_ping_check=False, loglevel="WARNING"):
        yield
        # The worker's loop checks for shutdown and then polls the broker once more, and
        # each poll waits up to 2 s for a message: mark it stopping and send two no-op
        # tasks, one for each poll, so it stops at once (4 s to a few ms per test).
        state.should_terminate = 0
        ping.delay()
        ping.delay()


def source_archive(files: dict[str, str], name: str = "source.tar.gz") -> Any:
    """An in-memory .tar.gz upload made of ``files`` (path -> text)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(path)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="application/gzip")


def wait_for(condition: Callable[[], Any], timeout: float = 60, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def skopeo_inspect(image_uri: str) -> dict[str, Any]:
    """The registry's view of ``image_uri``, with Berth's credentials (from a private
    file, as the builder passes them)."""
    import json
    import tempfile

    with tempfile.TemporaryDirectory(prefix="berth-skopeo-") as scratch:
        auth_file = configured_registry().write_auth_file(Path(scratch))
        auth = ["--authfile", str(auth_file)] if auth_file else []
        result = subprocess.run(  # noqa: S603
            ["skopeo", "inspect", "--tls-verify=false", *auth, f"docker://{image_uri}"],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
    return dict(json.loads(result.stdout))


__all__ = ["Path", "skopeo_inspect", "source_archive", "wait_for"]
