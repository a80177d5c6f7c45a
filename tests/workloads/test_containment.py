"""Workload containment, tried as a hostile tenant would, on real podman containers.

What each test shows is in docs/workload-containment.md: capabilities, privileges, limits,
the user an image runs as, a network per workload, environment values kept off command
lines and out of error text, and the quotas.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tests.conftest import ARTIFACTS, ApiClient, artifact_body, primary_container
from tests.workload_fixtures import build_context_image
from tests.workloads.test_podman_runtime import new_workload_id, web
from tests.workloads.test_workload_lifecycle import WORKLOADS, http_artifact, settled
from workloads.models import Workload
from workloads.runtimes.base import ContainerPlan, ProtonPlan, Resources, StartRefused
from workloads.runtimes.podman import PodmanRuntime, network_name, run_user
from workloads.runtimes.podman import container_name as podman_container_name

# The same server as the shared test images, but from scratch (the shared base image says
# USER 1000:1000) and without a USER: the image runs as root unless Berth refuses it.
ROOT_DOCKERFILE = """FROM scratch
COPY rootfs/ /
EXPOSE 8080
ENTRYPOINT ["/bin/busybox", "httpd", "-f", "-v", "-p", "8080", "-h", "/www"]
"""
SLEEPER = ("/bin/busybox", "sleep", "3600")
# Every capability podman 4.3 grants by default here (measured); --cap-drop ALL must drop
# each of them.
PODMAN_DEFAULT_CAPABILITIES = {
    "CAP_AUDIT_WRITE",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_NET_BIND_SERVICE",
    "CAP_SETFCAP",
    "CAP_SETGID",
    "CAP_SETPCAP",
    "CAP_SETUID",
    "CAP_SYS_CHROOT",
}


def build_image(name: str, dockerfile: str) -> str:
    """A test image from a Dockerfile of this module, with a root file system of busybox
    (as the base image has) in the context."""

    def prepare(context: Path) -> None:
        rootfs = context / "rootfs"
        (rootfs / "www").mkdir(parents=True)
        (rootfs / "www" / "ready").write_text("ok\n")
        (rootfs / "bin").mkdir()
        shutil.copy("/bin/busybox", rootfs / "bin" / "busybox")
        (rootfs / "bin" / "sh").symlink_to("busybox")
        (context / "Dockerfile").write_text(dockerfile)

    return build_context_image(name, prepare)


@pytest.fixture(scope="session")
def root_image(build_settings: str) -> str:
    """busybox httpd on 8080 whose image sets no user: it would run as root."""
    return build_image("root", ROOT_DOCKERFILE)


def sidecar(image: str, **overrides: Any) -> ContainerPlan:
    return ContainerPlan(name="side", image=image, primary=False, entrypoint=SLEEPER, **overrides)


def proton(workload_id: str, *containers: ContainerPlan, replicas: int = 1) -> ProtonPlan:
    return ProtonPlan(
        workload_id=workload_id, proton_id="p1", replicas=replicas, containers=containers
    )


def started(runtime: PodmanRuntime, plan: ProtonPlan) -> None:
    runtime.start(plan)
    result = runtime.wait_ready(plan, lambda: False)
    assert result.ready, result.reason


def inspect(runtime: PodmanRuntime, name: str) -> dict[str, Any]:
    (inspected,) = json.loads(runtime._podman("inspect", name))
    return dict(inspected)


def name_of(workload_id: str, container: str, index: int = 0) -> str:
    return podman_container_name(workload_id, "p1", index, container)


def address_of(runtime: PodmanRuntime, workload_id: str, index: int = 0) -> str:
    networks = inspect(runtime, name_of(workload_id, "web", index))["NetworkSettings"]["Networks"]
    return str(networks[network_name(workload_id)]["IPAddress"])


def gateway_of(runtime: PodmanRuntime, workload_id: str) -> str:
    networks = inspect(runtime, name_of(workload_id, "web"))["NetworkSettings"]["Networks"]
    return str(networks[network_name(workload_id)]["Gateway"])


def connects(runtime: PodmanRuntime, container: str, url: str) -> bool:
    """Whether a GET of ``url`` from inside ``container`` gets the page. ``wget -T``
    crashes in Debian's static busybox, hence ``timeout``; the shell always exits 0, so an
    exec that cannot run at all raises instead of reading as "blocked"."""
    script = (
        f"if busybox timeout 3 busybox wget -q -O- {url} >/dev/null 2>&1; "
        "then echo CONNECTED; else echo BLOCKED; fi"
    )
    answer = runtime._podman("exec", container, "/bin/sh", "-c", script).strip()
    assert answer in ("CONNECTED", "BLOCKED"), answer
    return answer == "CONNECTED"


def process_arguments() -> str:
    # ``ww``: without it ps cuts lines at 80 columns when it finds no terminal (as under
    # pytest), and a value late on a command line would go unseen.
    return subprocess.run(
        ["ps", "-eww", "-o", "args"],  # noqa: S607 (procps, on PATH)
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@pytest.fixture
def ps_watch() -> Iterator[list[str]]:
    """Every process command line seen while the test runs, sampled every 10 ms."""
    seen: list[str] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            seen.append(process_arguments())
            stop.wait(0.01)

    watcher = threading.Thread(target=sample)
    watcher.start()
    yield seen
    stop.set()
    watcher.join(timeout=10)


# --- what podman inspect shows --------------------------------------------------------


def test_a_container_drops_every_capability_cannot_gain_any_and_has_its_limits(
    podman_runtime: PodmanRuntime, podman_cleanup: set[str], http_image: str
) -> None:
    workload_id = new_workload_id(podman_cleanup)
    started(podman_runtime, proton(workload_id, web(http_image), sidecar(http_image)))

    for container in ("web", "side"):
        inspected = inspect(podman_runtime, name_of(workload_id, container))
        host = inspected["HostConfig"]
        assert host["CapAdd"] == []
        assert set(host["CapDrop"]) >= PODMAN_DEFAULT_CAPABILITIES
        assert "no-new-privileges" in host["SecurityOpt"]
        assert host["PidsLimit"] == settings.BERTH_WORKLOAD_PIDS_LIMIT
        # No resources in the plan: the defaults of the settings (1 core, 512Mi).
        assert host["Memory"] == 512 * 2**20
        assert host["NanoCpus"] == 1_000_000_000
        assert inspected["Config"]["User"] == "1000:1000"
        # What the kernel says of a process in the container: no capability in any set,
        # not even the bounding set (a setuid binary could not bring one back), and the
        # no_new_privs bit.
        status = podman_runtime._podman(
            "exec", name_of(workload_id, container), "/bin/busybox", "cat", "/proc/self/status"
        )
        fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
        for field in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
            assert int(fields[field], 16) == 0, field
        assert fields["NoNewPrivs"].strip() == "1"


def test_a_fork_bomb_stops_at_the_pids_limit(
    podman_runtime: PodmanRuntime,
    podman_cleanup: set[str],
    http_image: str,
    settings: Any,
) -> None:
    settings.BERTH_WORKLOAD_PIDS_LIMIT = 32
    workload_id = new_workload_id(podman_cleanup)
    started(podman_runtime, proton(workload_id, web(http_image)))

    # 64 sleepers in a container allowed 32 processes: forking fails part of the way (the
    # shell then gives up, so the exec fails too), and the cgroup holds no more than 32.
    name = name_of(workload_id, "web")
    bomb = "i=0; while [ $i -lt 64 ]; do busybox sleep 30 & i=$((i+1)); done; echo spawned"
    with pytest.raises(RuntimeError, match="can't fork"):
        podman_runtime._podman("exec", name, "/bin/sh", "-c", bomb)
    container_id = inspect(podman_runtime, name)["Id"]
    cgroup = Path(f"/sys/fs/cgroup/pids/libpod_parent/libpod-{container_id}")
    assert (cgroup / "pids.max").read_text().strip() == "32"
    assert 16 < int((cgroup / "pids.current").read_text()) <= 32


def test_resources_the_workload_gives_replace_the_defaults(
    podman_runtime: PodmanRuntime, podman_cleanup: set[str], http_image: str
) -> None:
    workload_id = new_workload_id(podman_cleanup)
    plan = proton(workload_id, web(http_image, resources=Resources(cpu=0.25, memory="96Mi")))
    started(podman_runtime, plan)

    host = inspect(podman_runtime, name_of(workload_id, "web"))["HostConfig"]
    assert host["Memory"] == 96 * 2**20
    assert host["NanoCpus"] == 250_000_000


# --- the user an image runs as --------------------------------------------------------


@pytest.mark.parametrize(
    ("configured", "why"),
    [
        ("", "sets no USER"),
        ("0", "runs as root (USER 0)"),
        ("00", "runs as root (USER 00)"),
        ("root", "runs as root (USER root)"),
        ("0:1000", "runs as root (USER 0:1000)"),
        ("root:root", "runs as root (USER root:root)"),
        ("app", "names its user 'app' instead of a numeric uid"),
        ("1000:staff", "names its user '1000:staff' instead of a numeric uid"),
    ],
)
def test_an_image_user_that_is_or_may_be_root_is_refused(configured: str, why: str) -> None:
    with pytest.raises(StartRefused) as refused:
        run_user("web", "registry.example.com/web:1", configured)
    assert str(refused.value).startswith(
        f"Container web was not started: its image registry.example.com/web:1 {why}"
    )


@pytest.mark.parametrize("configured", ["1000", "1000:1000", "65534:0"])
def test_a_numeric_non_root_user_runs_as_it_is(configured: str) -> None:
    assert run_user("web", "registry.example.com/web:1", configured) == configured


def test_a_default_user_runs_images_that_would_be_refused(settings: Any) -> None:
    settings.BERTH_WORKLOAD_DEFAULT_USER = "65534:65534"
    assert run_user("web", "example.com/web:1", "root") == "65534:65534"
    assert run_user("web", "example.com/web:1", "") == "65534:65534"
    # An image's own acceptable user is kept.
    assert run_user("web", "example.com/web:1", "1000:1000") == "1000:1000"


def test_a_root_image_runs_as_the_default_user_when_one_is_set(
    podman_runtime: PodmanRuntime, podman_cleanup: set[str], root_image: str, settings: Any
) -> None:
    settings.BERTH_WORKLOAD_DEFAULT_USER = "4242:4242"
    workload_id = new_workload_id(podman_cleanup)
    started(podman_runtime, proton(workload_id, web(root_image)))

    ids = podman_runtime._podman("exec", name_of(workload_id, "web"), "/bin/busybox", "id")
    assert ids.startswith("uid=4242 gid=4242")


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("celery_worker_thread", "podman_settings")
def test_a_root_image_is_refused_with_the_reason_in_the_workloads_status(
    api: ApiClient, root_image: str, podman_cleanup: set[str]
) -> None:
    artifact = http_artifact(api, root_image)
    created = api.post(WORKLOADS, {"name": "rooted", "artifactId": artifact["id"]})
    assert created.status_code == 201, created.content
    workload_id = created.json()["id"]
    podman_cleanup.add(workload_id)

    body = settled(api, workload_id)
    assert body["status"] == "errored"
    assert body["statusMessage"] == (
        f"Container web was not started: its image {root_image} sets no USER, so it would "
        "run as root. "
        "Berth runs workloads only as a non-root user: set a numeric USER other than 0 in "
        "the image (for example USER 1000:1000)."
    )
    (proton_body,) = api.get(f"{WORKLOADS}/{workload_id}/protons").json()["data"]
    assert proton_body["status"] == "errored"
    runtime = PodmanRuntime()
    assert runtime._ps("--filter", f"label=berth.workload={workload_id}") == []
    with pytest.raises(RuntimeError):
        runtime._podman("network", "exists", network_name(workload_id))


# --- a network per workload -----------------------------------------------------------


def test_another_workload_cannot_connect_to_a_workload_but_its_own_replicas_can(
    podman_runtime: PodmanRuntime, podman_cleanup: set[str], http_image: str, registry: str
) -> None:
    victim = new_workload_id(podman_cleanup)
    attacker = new_workload_id(podman_cleanup)
    started(podman_runtime, proton(victim, web(http_image), sidecar(http_image), replicas=2))
    started(podman_runtime, proton(attacker, web(http_image), sidecar(http_image)))
    target = f"http://{address_of(podman_runtime, victim)}:8080/ready"

    # Within the victim: its own sidecar, and the other replica across the bridge.
    assert connects(podman_runtime, name_of(victim, "side"), "http://127.0.0.1:8080/ready")
    assert connects(podman_runtime, name_of(victim, "side"), target)
    assert connects(podman_runtime, name_of(victim, "side", index=1), target)
    # From the other workload, primary or sidecar: dropped by the isolating firewall.
    assert not connects(podman_runtime, name_of(attacker, "web"), target)
    assert not connects(podman_runtime, name_of(attacker, "side"), target)

    # Each workload has its own network, isolated, labelled with the workload.
    for workload_id in (victim, attacker):
        for container in ("web", "side"):
            inspected = inspect(podman_runtime, name_of(workload_id, container))
            if container == "web":
                assert set(inspected["NetworkSettings"]["Networks"]) == {network_name(workload_id)}
            else:
                assert inspected["HostConfig"]["NetworkMode"].startswith("container:")
        (network,) = json.loads(
            podman_runtime._podman("network", "inspect", network_name(workload_id))
        )
        assert network["options"] == {"isolate": "true"}
        assert network["labels"] == {"berth.workload": workload_id}

    # Nor through the host: not the victim's published port on the host's loopback, not
    # the registry there (its loopback is the container's own; the gateway is the host's
    # address on the bridge, where nothing of Berth's listens).
    published = podman_runtime._podman("port", name_of(victim, "web"), "8080/tcp").strip()
    host_port = published.rsplit(":", 1)[1]
    gateway = gateway_of(podman_runtime, attacker)
    registry_port = registry.rsplit(":", 1)[1]
    for url in (
        f"http://127.0.0.1:{host_port}/ready",
        f"http://{gateway}:{host_port}/ready",
        f"http://127.0.0.1:{registry_port}/v2/",
        f"http://{gateway}:{registry_port}/v2/",
    ):
        assert not connects(podman_runtime, name_of(attacker, "web"), url), url


def test_the_network_goes_with_the_workloads_last_container(
    podman_runtime: PodmanRuntime, podman_cleanup: set[str], http_image: str
) -> None:
    workload_id = new_workload_id(podman_cleanup)
    first = proton(workload_id, web(http_image))
    second = ProtonPlan(
        workload_id=workload_id, proton_id="p2", replicas=1, containers=(web(http_image),)
    )
    started(podman_runtime, first)
    started(podman_runtime, second)
    name = network_name(workload_id)

    podman_runtime.stop(workload_id, "p1")
    podman_runtime._podman("network", "exists", name)  # p2 still uses it
    podman_runtime.stop(workload_id, "p2")
    with pytest.raises(RuntimeError):
        podman_runtime._podman("network", "exists", name)


# --- environment values ---------------------------------------------------------------


def test_environment_values_reach_the_container_but_never_a_command_line(
    podman_runtime: PodmanRuntime,
    podman_cleanup: set[str],
    http_image: str,
    ps_watch: list[str],
) -> None:
    secret = f"s3cret-{uuid.uuid4().hex}"
    # What a shell or an env-file parser might change: all of it arrives as it is.
    tricky = "  leading a'b\"c $HOME `id` \\ #no-comment = trailing "
    workload_id = new_workload_id(podman_cleanup)
    plan = proton(
        workload_id,
        web(http_image, env=(("API_TOKEN", secret), ("TRICKY", tricky))),
        sidecar(http_image, env=(("API_TOKEN", secret),)),
    )
    started(podman_runtime, plan)

    for container in ("web", "side"):
        value = podman_runtime._podman(
            "exec", name_of(workload_id, container), "/bin/sh", "-c", 'printf %s "$API_TOKEN"'
        )
        assert value == secret
    tricky_seen = podman_runtime._podman(
        "exec", name_of(workload_id, "web"), "/bin/sh", "-c", 'printf %s "$TRICKY"'
    )
    assert tricky_seen == tricky
    assert secret not in process_arguments()
    # Sampled while podman ran: its command lines (which name the containers) were seen.
    assert [sample for sample in ps_watch if f"--name {name_of(workload_id, 'side')}" in sample]
    assert not [sample for sample in ps_watch if secret in sample]
    # The env files are gone as soon as podman has read them.
    assert not list((Path(settings.BERTH_PODMAN_ROOT) / "tmp").glob("env-*"))


def test_a_failing_start_echoes_no_environment_value(
    podman_runtime: PodmanRuntime,
    podman_cleanup: set[str],
    http_image: str,
    ps_watch: list[str],
) -> None:
    secret = f"s3cret-{uuid.uuid4().hex}"
    workload_id = new_workload_id(podman_cleanup)
    # The sidecar's one byte of memory makes its ``podman run`` fail after the primary ran.
    plan = proton(
        workload_id,
        web(http_image, env=(("API_TOKEN", secret),)),
        sidecar(http_image, env=(("API_TOKEN", secret),), resources=Resources(memory="1")),
    )
    with pytest.raises(RuntimeError, match="podman run failed") as failed:
        podman_runtime.start(plan)

    assert secret not in str(failed.value)
    assert [sample for sample in ps_watch if f"--name {name_of(workload_id, 'side')}" in sample]
    assert not [sample for sample in ps_watch if secret in sample]
    assert not list((Path(settings.BERTH_PODMAN_ROOT) / "tmp").glob("env-*"))


@pytest.mark.parametrize(
    "value",
    ["x\n*", "x\nHOME", "line one\r", "a\r\nb\n", "-----BEGIN KEY-----\nabc\n-----END KEY-----\n"],
)
def test_a_value_with_line_breaks_arrives_whole_and_copies_nothing_of_podmans_environment(
    podman_runtime: PodmanRuntime,
    podman_cleanup: set[str],
    http_image: str,
    value: str,
    monkeypatch: pytest.MonkeyPatch,
    ps_watch: list[str],
) -> None:
    # In an env file "x\n*" would be two lines, and a line "*" copies podman's whole
    # environment (Berth's, with its secrets) into the container; "HOME" alone copies one.
    monkeypatch.setenv("BERTH_WORKER_SECRET", "worker-secret-value")
    workload_id = new_workload_id(podman_cleanup)
    plan = proton(workload_id, web(http_image, env=(("PAYLOAD", value), ("PLAIN", "one line"))))
    started(podman_runtime, plan)

    name = name_of(workload_id, "web")
    # Base64, since reading podman's output as text turns a "\r" into a line break.
    seen = podman_runtime._podman(
        "exec", name, "/bin/sh", "-c", 'printf %s "$PAYLOAD" | busybox base64 -w 0'
    )
    assert base64.b64decode(seen) == value.encode()
    environment = podman_runtime._podman("exec", name, "/bin/busybox", "env")
    assert "worker-secret-value" not in environment
    assert "PLAIN=one line" in environment
    assert f"HOME={os.environ['HOME']}\n" not in environment or os.environ["HOME"] == "/"
    # No command line held it; the secret that carried it lives as long as the container.
    assert not [sample for sample in ps_watch if value.strip() in sample]
    secrets = podman_runtime._podman("secret", "ls", "--format", "{{.Name}}").split()
    assert secrets == [f"{name}-env-PAYLOAD"]
    podman_runtime.stop(workload_id, "p1")
    assert podman_runtime._podman("secret", "ls", "--format", "{{.Name}}").split() == []


def test_a_nul_in_a_value_is_refused_without_showing_it(
    podman_runtime: PodmanRuntime, podman_cleanup: set[str], http_image: str
) -> None:
    workload_id = new_workload_id(podman_cleanup)
    plan = proton(workload_id, web(http_image, env=(("PAYLOAD", "before\0after-secret"),)))

    with pytest.raises(StartRefused) as refused:
        podman_runtime.start(plan)

    assert str(refused.value) == (
        "Container web was not started: the value of its environment variable PAYLOAD "
        "holds a NUL character, which no environment can carry."
    )
    assert podman_runtime._ps("--filter", f"label=berth.workload={workload_id}") == []


# --- quotas and maxima through the API ------------------------------------------------


def locked_artifact(api: ApiClient, **overrides: Any) -> dict[str, Any]:
    artifact = api.create_artifact(**overrides)
    locked = api.patch(f"{ARTIFACTS}/{artifact['id']}", {"status": "locked"})
    assert locked.status_code == 200, locked.content
    return dict(locked.json())


@pytest.mark.django_db
def test_a_user_at_the_workload_limit_gets_403_naming_it(api: ApiClient, settings: Any) -> None:
    settings.BERTH_MAX_WORKLOADS_PER_USER = 2
    artifact = locked_artifact(api)
    first, second = (
        api.post(WORKLOADS, {"name": f"svc{n}", "artifactId": artifact["id"]}) for n in (1, 2)
    )
    assert (first.status_code, second.status_code) == (201, 201)

    third = api.post(WORKLOADS, {"name": "svc3", "artifactId": artifact["id"]})
    assert third.status_code == 403
    assert third.json() == {
        "detail": "You have reached the limit of 2 running workloads "
        "(BERTH_MAX_WORKLOADS_PER_USER)."
    }
    assert Workload.objects.count() == 2

    # A stopped workload does not count; starting it again counts once more.
    Workload.objects.filter(pk=first.json()["id"]).update(status="stopped")
    fourth = api.post(WORKLOADS, {"name": "svc4", "artifactId": artifact["id"]})
    assert fourth.status_code == 201
    again = api.post(f"{WORKLOADS}/{first.json()['id']}/start")
    assert again.status_code == 403
    assert "limit of 2 running workloads" in again.json()["detail"]
    Workload.objects.filter(pk=fourth.json()["id"]).update(status="errored")
    assert api.post(f"{WORKLOADS}/{first.json()['id']}/start").status_code == 202


@pytest.mark.django_db
def test_an_artifact_with_too_many_containers_in_a_group_gets_403_naming_the_limit(
    api: ApiClient, settings: Any
) -> None:
    settings.BERTH_MAX_CONTAINERS_PER_GROUP = 2
    containers = [primary_container()] + [
        {"name": f"side{n}", "primary": False, "imageUri": "registry.example.com/s:1"}
        for n in range(2)
    ]
    artifact = api.create_artifact(
        **artifact_body(spec={"containerGroups": [{"name": "default", "containers": containers}]})
    )

    refused = api.post(WORKLOADS, {"name": "big", "artifactId": artifact["id"]})
    assert refused.status_code == 403
    assert refused.json() == {
        "detail": "The artifact's container group 'default' has 3 containers; the limit is 2 "
        "per group (BERTH_MAX_CONTAINERS_PER_GROUP)."
    }
    settings.BERTH_MAX_CONTAINERS_PER_GROUP = 3
    assert api.post(WORKLOADS, {"name": "big", "artifactId": artifact["id"]}).status_code == 201


@pytest.mark.django_db
def test_an_image_of_a_repository_the_starter_cannot_read_is_refused_with_403(
    api: ApiClient, stranger_api: ApiClient, settings: Any
) -> None:
    """The runtime pulls with Berth's registry credentials: naming another repository's
    image in one's own artifact must not run it. The repository's owner may."""
    settings.BERTH_REGISTRY = "127.0.0.1:5050"
    victim = api.create_artifact(name="private-model")
    image = f"127.0.0.1:5050/berth/{victim['artifactRepositoryId']}/web@sha256:{'a' * 64}"
    stolen = locked_artifact(
        stranger_api,
        spec={
            "containerGroups": [
                {"name": "default", "containers": [primary_container(imageUri=image)]}
            ]
        },
    )

    refused = stranger_api.post(WORKLOADS, {"name": "thief", "artifactId": stolen["id"]})
    assert refused.status_code == 403
    assert "a repository you cannot read" in refused.json()["detail"]
    # Another spelling of the same registry is the same registry.
    alias = image.replace("127.0.0.1:5050", "localhost:5050")
    again = locked_artifact(
        stranger_api,
        name="thief-2",
        spec={
            "containerGroups": [
                {"name": "default", "containers": [primary_container(imageUri=alias)]}
            ]
        },
    )
    assert (
        stranger_api.post(WORKLOADS, {"name": "t2", "artifactId": again["id"]}).status_code == 403
    )
    assert Workload.objects.count() == 0

    own = locked_artifact(
        api,
        name="own-image",
        spec={
            "containerGroups": [
                {"name": "default", "containers": [primary_container(imageUri=image)]}
            ]
        },
    )
    assert api.post(WORKLOADS, {"name": "mine", "artifactId": own["id"]}).status_code == 201


@pytest.mark.django_db
def test_an_image_on_a_private_address_runs_only_from_a_trusted_registry(
    api: ApiClient, settings: Any
) -> None:
    """The runtime pulls with the host's network: a "registry" on a private address may be
    any internal service, so only the operator's trusted ones are pulled from."""
    image = "10.1.2.3:5000/team/web:1.0"
    artifact = locked_artifact(
        api,
        spec={
            "containerGroups": [
                {"name": "default", "containers": [primary_container(imageUri=image)]}
            ]
        },
    )
    refused = api.post(WORKLOADS, {"name": "internal", "artifactId": artifact["id"]})
    assert refused.status_code == 403
    assert "a registry on this host or a private network" in refused.json()["detail"]

    settings.BERTH_TRUSTED_PRIVATE_REGISTRIES = ["10.1.2.3:5000"]
    assert (
        api.post(WORKLOADS, {"name": "internal", "artifactId": artifact["id"]}).status_code == 201
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("allocation", "field", "message"),
    [
        ({"cpu": 9}, "cpu", "At most 8 CPU cores per container (BERTH_WORKLOAD_MAX_CPU)."),
        ({"cpu": "8500m"}, "cpu", "At most 8 CPU cores per container (BERTH_WORKLOAD_MAX_CPU)."),
        (
            {"memory": "17Gi"},
            "memory",
            "At most 16Gi of memory per container (BERTH_WORKLOAD_MAX_MEMORY).",
        ),
    ],
)
def test_resources_above_the_maxima_are_refused_with_422(
    api: ApiClient, allocation: dict[str, Any], field: str, message: str
) -> None:
    artifact = api.create_artifact()

    def runtime_with(resources: dict[str, Any]) -> dict[str, Any]:
        container = {"name": "web", "resourceAllocation": resources}
        return {"containerGroups": [{"name": "default", "containers": [container]}]}

    runtime = runtime_with(allocation)
    refused = api.post(WORKLOADS, {"name": "svc", "artifactId": artifact["id"], "runtime": runtime})
    assert refused.status_code == 422
    assert refused.json()["detail"] == [
        {
            "loc": [
                "body",
                "runtime",
                "containerGroups",
                0,
                "containers",
                0,
                "resourceAllocation",
                field,
            ],
            "msg": message,
            "type": "resource_limit",
        }
    ]
    runtime = runtime_with({"cpu": 8} if field == "cpu" else {"memory": "16Gi"})
    accepted = api.post(
        WORKLOADS, {"name": "svc", "artifactId": artifact["id"], "runtime": runtime}
    )
    assert accepted.status_code == 201, accepted.content


@pytest.mark.django_db
def test_the_console_shows_the_quota_on_start_and_on_create(
    api: ApiClient, owner: Any, settings: Any
) -> None:
    from django.test import Client
    from django.urls import reverse

    settings.BERTH_MAX_WORKLOADS_PER_USER = 1
    artifact = locked_artifact(api)
    running = api.post(WORKLOADS, {"name": "one", "artifactId": artifact["id"]}).json()
    stopped = api.post(WORKLOADS, {"name": "two", "artifactId": artifact["id"]})
    assert stopped.status_code == 403
    client = Client()
    client.force_login(owner)

    created = client.post(
        reverse("workload-new"),
        {"artifactId": artifact["id"], "name": "two", "importance": "low", "replicas": "1"},
        headers={"HX-Request": "true"},
    )
    assert created.status_code == 403
    assert "You have reached the limit of 1 running workloads" in created.content.decode()

    other = Workload.objects.create(
        name="three", artifact_id=artifact["id"], creator=owner, status="stopped"
    )
    from console.sharing import Role, grant_role

    grant_role(other, owner, Role.OWNER)
    refused = client.post(
        reverse("workload-start", args=[other.pk]), headers={"HX-Request": "true"}
    )
    assert refused.status_code == 403
    assert "You have reached the limit of 1 running workloads" in refused.content.decode()
    assert Workload.objects.get(pk=running["id"]).status == "submitted"


def load_settings(default_user: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "import console.settings"],
        capture_output=True,
        text=True,
        env={**os.environ, "BERTH_WORKLOAD_DEFAULT_USER": default_user},
        check=False,
    )


@pytest.mark.parametrize("value", ["0", "0:0", "root", "1000:staff", "-1", "1000:"])
def test_a_default_user_that_is_root_or_not_numeric_stops_berth_from_starting(value: str) -> None:
    loaded = load_settings(value)
    assert loaded.returncode == 1
    assert "BERTH_WORKLOAD_DEFAULT_USER must be empty or a numeric non-root uid[:gid]" in (
        loaded.stderr
    )


@pytest.mark.parametrize("value", ["", "1000", "65534:65534"])
def test_an_empty_or_numeric_non_root_default_user_is_accepted(value: str) -> None:
    assert load_settings(value).returncode == 0
