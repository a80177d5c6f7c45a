"""The build sandbox with real builds: RUN steps cannot reach the host's loopback (the
registry or any other service), are not root on the host, and Dockerfiles that would leave
the sandbox are refused at build start (422) or, if they got past it, by the worker."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User

from artifacts.builders import configured_builder
from artifacts.builders.base import BuildFailed, BuildJob
from artifacts.builds import build_execute
from artifacts.models import ImageBuild
from artifacts.registry import configured_registry
from tests.builds.test_builds import built_artifact, finished, logs, start, upload
from tests.conftest import ARTIFACTS, ApiClient

# Only the tests that run builds through the API start the Celery worker; the others
# are answered at build start or call the worker's function or the engine themselves.
pytestmark = [pytest.mark.django_db(transaction=True)]
with_worker = pytest.mark.usefixtures("celery_worker_thread")


class LoopbackService:
    """A TCP service on 127.0.0.1 that answers a secret and counts who connected."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.server.getsockname()[1])
        self.connections = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            with client:
                client.sendall(b"HOST-SECRET\n")

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def loopback_service() -> Iterator[LoopbackService]:
    service = LoopbackService()
    yield service
    service.close()


def output_lines(log_text: str) -> list[str]:
    """The build log's messages (it is JSON lines), whitespace runs collapsed."""
    return [" ".join(json.loads(line)["message"].split()) for line in log_text.splitlines()]


def probe(host: str, port: int, marker: str) -> str:
    """A shell snippet that prints ``<marker>-CONNECTED`` only if the connection works."""
    request = "GET /v2/_catalog HTTP/1.0\\r\\n\\r\\n"
    return (
        f"(printf '{request}' | nc -w 3 {host} {port} && echo {marker}-CONNECTED) 2>&1;"
        f" echo {marker}-PROBED"
    )


@with_worker
def test_run_steps_cannot_reach_the_registry_or_other_loopback_services(
    api: ApiClient, build_settings: str, registry: str, loopback_service: LoopbackService
) -> None:
    registry_port = int(registry.rsplit(":", 1)[1])
    # The same probes succeed from the host, so a failure inside the build means something.
    with socket.create_connection(("127.0.0.1", registry_port), timeout=3):
        pass
    dockerfile = (
        f"FROM {build_settings}\n"
        f"RUN {probe('127.0.0.1', registry_port, 'REGISTRY')}; "
        f"{probe('localhost', registry_port, 'LOCALHOST')}; "
        f"{probe('127.0.0.1', loopback_service.port, 'SERVICE')}\n"
        "USER 1000:1000\n"
    )
    connections_before = loopback_service.connections
    artifact = built_artifact(api)
    assert upload(api, artifact["id"], {"Dockerfile": dockerfile}).status_code == 201

    build_id = start(api, artifact["id"])
    build = finished(api, artifact["id"], build_id)

    text = logs(api, artifact["id"], build_id)
    assert build["status"] == "COMPLETED", text
    output = output_lines(text)
    for marker in ("REGISTRY", "LOCALHOST", "SERVICE"):
        assert f"{marker}-PROBED" in output
        assert f"{marker}-CONNECTED" not in output
    assert "nc: can't connect to remote host (127.0.0.1): Connection refused" in output
    # Neither the registry's catalogue nor the other service's answer reached the build.
    assert not [line for line in output if "repositories" in line or "HOST-SECRET" in line]
    assert loopback_service.connections == connections_before


@with_worker
def test_run_steps_run_as_an_unprivileged_host_user_without_new_privileges(
    api: ApiClient, build_settings: str
) -> None:
    dockerfile = (
        f"FROM {build_settings}\n"
        "USER 0:0\n"
        "RUN echo uid=$(id -u); cat /proc/self/uid_map /proc/self/gid_map; "
        "grep -E '^(NoNewPrivs|CapEff)' /proc/self/status; "
        "echo pid1=$(cat /proc/1/comm); touch /tmp/owned && chown 1000:1000 /tmp/owned && "
        "echo chown-ok\n"
        "USER 1000:1000\n"
    )
    artifact = built_artifact(api)
    assert upload(api, artifact["id"], {"Dockerfile": dockerfile}).status_code == 201

    build_id = start(api, artifact["id"])
    build = finished(api, artifact["id"], build_id)

    text = logs(api, artifact["id"], build_id)
    assert build["status"] == "COMPLETED", text
    output = output_lines(text)
    base = settings.BERTH_BUILD_HOST_UID_BASE
    assert base > 0
    # Root inside the RUN step (uid 0) is host uid ``base``, for uids and for gids; the
    # identity map of a rootful build ("0 0 4294967295") is gone.
    assert "uid=0" in output
    assert output.count(f"0 {base} 65536") == 2, text
    assert "0 0 4294967295" not in output
    assert "NoNewPrivs: 1" in output
    # Only the capabilities a build needs (chown, dac_override, fowner, fsetid, kill,
    # setgid, setuid: 0xfb), and those inside the user namespace only.
    assert "CapEff: 00000000000000fb" in output
    assert "chown-ok" in output
    # The RUN step's PID namespace is the build's: PID 1 is the builder, not the host's init.
    assert "pid1=buildah" in output


@pytest.mark.parametrize(
    ("instruction", "kind"),
    [
        ("RUN --network=host id", "flag_refused"),
        ("RUN --security=insecure id", "flag_refused"),
        ("RUN --mount=type=bind,source=/,target=/host ls /host", "mount_refused"),
        ("ADD http://127.0.0.1:{port}/v2/_catalog /catalog", "add_url"),
    ],
)
def test_escaping_instructions_are_refused_at_build_start_with_the_line(
    api: ApiClient, build_settings: str, registry: str, instruction: str, kind: str
) -> None:
    port = registry.rsplit(":", 1)[1]
    dockerfile = f"FROM {build_settings}\n{instruction.format(port=port)}\nUSER 1000:1000\n"
    artifact = built_artifact(api)
    assert upload(api, artifact["id"], {"Dockerfile": dockerfile}).status_code == 201

    response = api.post(f"{ARTIFACTS}/{artifact['id']}/builds")

    assert response.status_code == 422, response.content
    (problem,) = response.json()["detail"]
    assert problem["type"] == kind
    assert problem["msg"].startswith("Line 2: ")
    assert problem["loc"][-2:] == ["imageBuildConfig", "dockerfile"]
    assert api.get(f"{ARTIFACTS}/{artifact['id']}/builds").json()["totalCount"] == 0


@pytest.mark.parametrize(
    "domain", ["{registry}", "localhost:{port}", "[::1]:{port}", "127.1:{port}"]
)
def test_another_repositorys_image_is_refused_at_build_start(
    api: ApiClient, stranger_api: ApiClient, build_settings: str, registry: str, domain: str
) -> None:
    victim = api.create_artifact(name="victim")["artifactRepositoryId"]
    reference = f"{domain.format(registry=registry, port=registry.rsplit(':', 1)[1])}"
    dockerfile = (
        f"FROM {build_settings} AS base\n"
        f"ARG IMAGE={reference}/berth/{victim}/web:1\n"
        "COPY --from=$IMAGE /app /app\n"
        "USER 1000:1000\n"
    )
    artifact = built_artifact(stranger_api)
    assert upload(stranger_api, artifact["id"], {"Dockerfile": dockerfile}).status_code == 201

    response = stranger_api.post(f"{ARTIFACTS}/{artifact['id']}/builds")

    assert response.status_code == 422, response.content
    (problem,) = response.json()["detail"]
    assert problem["type"] == "image_refused"
    assert problem["msg"].startswith("Line 3: COPY --from")
    assert victim in problem["msg"]


def test_the_worker_refuses_a_dockerfile_the_start_check_did_not_see(
    api: ApiClient, owner: User, build_settings: str
) -> None:
    # What build start checked is not necessarily what the worker unpacks (the source
    # could be replaced, the rules or rights change): a PENDING build whose Dockerfile
    # never went through build start, run by the worker's own function.
    dockerfile = f"FROM {build_settings}\nRUN --network=host id\nUSER 1000:1000\n"
    artifact = built_artifact(api)
    assert upload(api, artifact["id"], {"Dockerfile": dockerfile}).status_code == 201
    build = ImageBuild.objects.create(
        artifact_id=artifact["id"],
        container_name="web",
        config_fingerprint="not-checked-at-start",
        creator=owner,
    )

    build_execute(build.id)

    build.refresh_from_db()
    assert build.status == "FAILED"
    assert build.message.startswith("The Dockerfile is refused: line 2: RUN --network")
    text = logs(api, artifact["id"], build.id)
    assert "Dockerfile line 2: RUN --network is refused" in text
    assert "buildah" not in text  # refused before the builder ran


def _engine_build(base: str, run: str, tmp_path: Path) -> tuple[str, list[str]]:
    """Build ``FROM base`` + ``RUN run`` through the engine; (outcome, log lines)."""
    context = tmp_path / "context"
    context.mkdir(parents=True)
    (context / "Dockerfile").write_text(f"FROM {base}\nRUN {run}\nUSER 1000:1000\n")
    work = tmp_path / "work"
    work.mkdir()
    image = f"{configured_registry().address}/berth/tests/limits:{tmp_path.name}"
    job = BuildJob(f"limits-{tmp_path.name}", context, context / "Dockerfile", image, work)
    lines: list[str] = []
    try:
        configured_builder().build(job, lines.append, lambda: False)
    except BuildFailed as failure:
        return f"failed: {failure}", lines
    return "built", lines


def test_a_build_stops_at_its_pids_and_memory_limits(
    build_settings: str, settings: Any, tmp_path: Path
) -> None:
    settings.BERTH_BUILD_PIDS_LIMIT = 64
    settings.BERTH_BUILD_MEMORY_LIMIT_MIB = 256
    forks = "for i in $(seq 1 200); do sleep 5 & done; echo all-forked"
    outcome, lines = _engine_build(build_settings, forks, tmp_path / "pids")
    assert outcome.startswith("failed"), lines
    assert any("can't fork" in line for line in lines), lines
    assert "all-forked" not in lines

    # 400 MiB at once: killed under a 256 MiB limit, built under the default one.
    hog = "dd if=/dev/zero of=/dev/null bs=400M count=1 && echo allocated"
    outcome, lines = _engine_build(build_settings, hog, tmp_path / "memory")
    assert outcome == "failed: buildah bud exited with status 137.", lines
    assert "Killed" in lines
    assert "allocated" not in lines

    settings.BERTH_BUILD_MEMORY_LIMIT_MIB = 2048
    outcome, lines = _engine_build(build_settings, hog, tmp_path / "within")
    assert outcome == "built", lines
    assert "allocated" in lines
