"""The Dockerfile policy and the image access rule, table by table, with real users and
repositories (no builds here; tests/builds/test_build_sandbox.py runs the real ones)."""

from __future__ import annotations

import socket
from collections.abc import Iterable
from typing import Any

import pytest
from django.contrib.auth.models import User

from artifacts.builds import dockerfile_problems
from artifacts.dockerfile_policy import check_dockerfile, expand
from artifacts.image_access import require_pullable
from artifacts.models import ExecutionEnvironment, ExecutionEnvironmentVersion
from console.errors import Forbidden, Invalid
from tests.conftest import ApiClient

REGISTRY = "127.0.0.1:5050"
VICTIM = "0123456789abcdef01234567"  # replaced by a real repository id where it matters
DIGEST = "sha256:" + "a" * 64


@pytest.fixture(autouse=True)
def berth_registry(settings: Any) -> None:
    settings.BERTH_REGISTRY = REGISTRY
    settings.BERTH_TRUSTED_PRIVATE_REGISTRIES = []


def violations(text: str) -> list[tuple[int, str]]:
    return [(v.line, v.type) for v in check_dockerfile(text).violations]


def images(text: str) -> list[tuple[int, str, str]]:
    return [(i.line, i.instruction, i.reference) for i in check_dockerfile(text).images]


# --- instructions that leave the sandbox --------------------------------------------------

REFUSED = [
    ("FROM a\nRUN --network=host id\n", 2, "flag_refused"),
    ("FROM a\nRUN --network=none id\n", 2, "flag_refused"),
    ("FROM a\nRUN --security=insecure id\n", 2, "flag_refused"),
    ("FROM a\nrun --NETWORK=host id\n", 2, "flag_refused"),
    # Continuations, comments inside them and the escape directive do not hide a flag.
    ("FROM a\nRUN \\\n  --network=host \\\n  id\n", 2, "flag_refused"),
    ("FROM a\nRUN \\\n# a comment\n\n  --network=host id\n", 2, "flag_refused"),
    ("# escape=`\nFROM a\nRUN `\n  --network=host id\n", 3, "flag_refused"),
    ("FROM a\nRUN --mount=type=bind,source=/,target=/host ls /host\n", 2, "mount_refused"),
    ("FROM a\nRUN --mount=source=/etc,target=/h cat /h/shadow\n", 2, "mount_refused"),
    ("FROM a\nRUN --mount=type=ssh id\n", 2, "mount_refused"),
    ("FROM a\nRUN --mount=type=cache,target=/c,source=/etc id\n", 2, "mount_refused"),
    ("FROM a\nRUN --mount=type=tmpfs,target=/t,from=b id\n", 2, "mount_refused"),
    ("FROM a\nRUN --mount=type=secret,id=x,src=/etc/shadow id\n", 2, "mount_refused"),
    ("FROM a\nRUN --mount=type=bind,bind-propagation=shared,target=/t id\n", 2, "mount_refused"),
    ("FROM a\nARG T=bind\nRUN --mount=type=$T,source=/,target=/h id\n", 3, "mount_refused"),
    ("FROM a\nADD http://127.0.0.1:5050/v2/_catalog /x\n", 2, "add_url"),
    ("FROM a\nADD HTTPS://example.com/x /x\n", 2, "add_url"),
    ("FROM a\nADD git@github.com:org/repo.git /src\n", 2, "add_url"),
    ("FROM a\nADD https://github.com/org/repo.git#main /src\n", 2, "add_url"),
    ('FROM a\nADD ["http://169.254.169.254/latest/meta-data/", "/x"]\n', 2, "add_url"),
    ("FROM a\nARG U=http://127.0.0.1:5050/v2/_catalog\nADD $U /x\n", 3, "add_url"),
    ("FROM a\nENV U=ftp://10.0.0.1/x\nADD ${U} /x\n", 3, "add_url"),
    ("FROM a\nADD --checksum=sha256:00 http://x/y /y\n", 2, "flag_refused"),
    ("FROM a\nCOPY --parents . /x\n", 2, "flag_refused"),
    ("FROM a\nONBUILD RUN --network=host id\n", 2, "onbuild"),
    ("FROM a\nRUN <<EOF\nid\nEOF\n", 3, "unknown_instruction"),
    ("FROM a\nARG X\nCOPY --from=${X/a/b} /a /b\n", 3, "substitution"),
    ("FROM a AS 127.0.0.1:5050/berth/x/y\n", 1, "stage_name"),
    ("RUN id\nFROM a\n", 1, "no_from"),
    ("# only a comment\n", 1, "no_from"),
]


@pytest.mark.parametrize(("text", "line", "kind"), REFUSED)
def test_instructions_that_leave_the_sandbox_are_refused_on_their_line(
    text: str, line: int, kind: str
) -> None:
    assert (line, kind) in violations(text)


ALLOWED = [
    "FROM docker.io/library/python:3.12\nRUN pip --version\n",
    "FROM python:3.12 AS build\nRUN make\nFROM python:3.12-slim\nCOPY --from=build /app /app\n",
    "FROM a AS Build\nFROM b\nCOPY --from=build /x /y\nCOPY --from=0 /x /z\n",
    "FROM a\nRUN --mount=type=cache,target=/root/.cache/pip pip install -r r.txt\n",
    "FROM a\nRUN --mount=type=tmpfs,target=/scratch id\n",
    "FROM a\nRUN --mount=type=secret,id=token,required=false id\n",
    "FROM a AS b\nFROM c\nRUN --mount=type=bind,from=b,source=/out,target=/in ls /in\n",
    "FROM a\nRUN echo --network=host ADD http://x\n",
    "FROM a\nADD archive.tar.gz /srv/\nADD --chown=1000:1000 ./files /files\n",
    "FROM a\nCOPY --chown=1000:1000 --chmod=644 . /app\n",
    '# syntax=docker/dockerfile:1\nFROM a\nCMD ["sh", "-c", "echo hi"]\n',
    "FROM a\nHEALTHCHECK --interval=5s CMD true\nENV A=1 B=2\nENV C 3 4\nLABEL x=y\n",
]


@pytest.mark.parametrize("text", ALLOWED)
def test_ordinary_dockerfiles_have_no_violations(text: str) -> None:
    assert violations(text) == []


# --- which images a Dockerfile pulls -------------------------------------------------------

IMAGES = [
    ("FROM python:3.12\n", [(1, "FROM", "python:3.12")]),
    ("FROM scratch\nCOPY x /x\n", []),
    ("FROM a AS build\nFROM build\n", [(1, "FROM", "a")]),
    ("ARG R=127.0.0.1:5050\nFROM ${R}/berth/v/web:1\n", [(2, "FROM", f"{REGISTRY}/berth/v/web:1")]),
    ("ARG R\nFROM ${R:-localhost:5050}/x\n", [(2, "FROM", "localhost:5050/x")]),
    ("ARG R=x\nFROM ${R:+127.1:5050}/x\n", [(2, "FROM", "127.1:5050/x")]),
    # An ARG after FROM is not visible to FROM (only ARGs before the first FROM are).
    ("FROM a\nARG R=127.0.0.1:5050\nFROM ${R}b\n", [(1, "FROM", "a"), (3, "FROM", "b")]),
    # Inside a stage, ``ARG NAME`` brings in the global default, which COPY --from uses.
    (
        "ARG I=127.0.0.1:5050/berth/v/c:1\nFROM a\nARG I\nCOPY --from=$I /a /b\n",
        [(2, "FROM", "a"), (4, "COPY --from", "127.0.0.1:5050/berth/v/c:1")],
    ),
    (
        "FROM a\nENV I=[::1]:5050/berth/v/c:1\nADD --from=${I} /a /b\n",
        [(1, "FROM", "a"), (3, "ADD --from", "[::1]:5050/berth/v/c:1")],
    ),
    (
        "FROM a\nARG H=0.0.0.0:5050\nRUN --mount=type=bind,from=$H/berth/v/c:1,target=/v id\n",
        [(1, "FROM", "a"), (3, "RUN --mount from", "0.0.0.0:5050/berth/v/c:1")],
    ),
    (
        'FROM a\nRUN --mount=type=cache,from="127.0.0.1:5050/x",target=/c id\n',
        [(1, "FROM", "a"), (2, "RUN --mount from", "127.0.0.1:5050/x")],
    ),
    # A global ARG that the stage did not declare again is empty for Docker; the policy
    # checks the other reading too, in case a builder lets it through.
    (
        "ARG I=127.0.0.1:5050/berth/v/c:1\nFROM a\nCOPY --from=${I:-busybox} /a /b\n",
        [
            (2, "FROM", "a"),
            (3, "COPY --from", "busybox"),
            (3, "COPY --from", "127.0.0.1:5050/berth/v/c:1"),
        ],
    ),
    # A stage index names an earlier stage; a later or missing one is an image name.
    (
        "FROM a\nFROM b\nCOPY --from=0 /x /y\nCOPY --from=5 /x /y\n",
        [(1, "FROM", "a"), (2, "FROM", "b"), (4, "COPY --from", "5")],
    ),
    ("FROM \\\n  127.0.0.1:5050/berth/v/c:1\n", [(1, "FROM", "127.0.0.1:5050/berth/v/c:1")]),
    ("FROM --platform=linux/amd64 a\n", [(1, "FROM", "a")]),
]


@pytest.mark.parametrize(("text", "expected"), IMAGES)
def test_image_references_are_found_after_substitution(
    text: str, expected: list[tuple[int, str, str]]
) -> None:
    assert images(text) == expected


@pytest.mark.parametrize(
    ("word", "variables", "expected"),
    [
        ("$A", {"A": "x"}, "x"),
        ("${A}b", {"A": "x"}, "xb"),
        ("${A:-d}", {}, "d"),
        ("${A:-d}", {"A": ""}, "d"),
        ("${A-d}", {"A": ""}, ""),
        ("${A:+y}", {"A": "x"}, "y"),
        ("${A:+y}", {}, ""),
        ("${A+y}", {"A": ""}, "y"),
        ("\\$A", {"A": "x"}, "$A"),
        ("'$A'", {"A": "x"}, "$A"),
        ('"$A"', {"A": "x"}, "x"),
        ("${A:-${B}}", {"B": "z"}, "z"),
        ("$1", {}, "$1"),
    ],
)
def test_substitution_follows_the_dockerfile_rules(
    word: str, variables: dict[str, str], expected: str
) -> None:
    assert expand(word, variables) == expected


# --- may this actor pull this reference? ---------------------------------------------------

BERTH_ALIASES = [
    "127.0.0.1:5050",
    "localhost:5050",
    "LOCALHOST:5050",
    "[::1]:5050",
    "[0:0:0:0:0:0:0:1]:5050",
    "[::ffff:127.0.0.1]:5050",
    "127.1:5050",
    "127.0.1:5050",
    "127.254.3.2:5050",
    "0.0.0.0:5050",
    "[::]:5050",
    "2130706433:5050",
    "0x7f.0.0.1:5050",
    "0177.0.0.1:5050",
    "registry.localhost:5050",
    "names-loopback.example:5050",  # resolves to 127.0.0.1 through the resolver below
]


def loopback_resolver(host: str) -> Iterable[str]:
    """DNS, the one process edge here: this made-up name resolves to loopback."""
    return ["127.0.0.1"] if host == "names-loopback.example" else []


@pytest.fixture
def victim_repository(api: ApiClient) -> str:
    return str(api.create_artifact(name="victim")["artifactRepositoryId"])


@pytest.mark.parametrize("domain", BERTH_ALIASES)
def test_another_repositorys_image_is_refused_under_every_name_of_the_registry(
    domain: str, victim_repository: str, stranger: User, owner: User
) -> None:
    reference = f"{domain}/berth/{victim_repository}/web@{DIGEST}"
    with pytest.raises(Forbidden, match="cannot read"):
        require_pullable(actor=stranger, reference=reference, resolve=loopback_resolver)
    require_pullable(actor=owner, reference=reference, resolve=loopback_resolver)


def test_the_machines_own_host_name_is_an_alias_when_it_resolves_to_loopback(
    victim_repository: str, stranger: User
) -> None:
    name = socket.gethostname()
    addresses = {str(info[4][0]) for info in socket.getaddrinfo(name, None)}
    if not any(address.startswith("127.") or address == "::1" for address in addresses):
        pytest.skip(f"{name} does not resolve to loopback on this machine")
    with pytest.raises(Forbidden):
        require_pullable(actor=stranger, reference=f"{name}:5050/berth/{victim_repository}/w:1")


def test_readers_of_the_repository_may_pull_its_images(
    shared_artifact: dict[str, Any], consumer: User, editor: User, staff: User, stranger: User
) -> None:
    reference = f"{REGISTRY}/berth/{shared_artifact['artifactRepositoryId']}/web:1"
    for reader in (consumer, editor, staff):
        require_pullable(actor=reader, reference=reference)
    with pytest.raises(Forbidden):
        require_pullable(actor=stranger, reference=reference)


@pytest.mark.parametrize(
    "reference",
    [
        f"{REGISTRY}/berth/{VICTIM}/web:1",  # no such repository
        f"{REGISTRY}/other/thing:1",  # not a repository's path
        f"{REGISTRY}/berth/tests/http:1",
        f"localhost:5050/berth/{VICTIM}/web:1",
    ],
)
def test_unknown_paths_in_berths_registry_are_refused(reference: str, owner: User) -> None:
    with pytest.raises(Forbidden):
        require_pullable(actor=owner, reference=reference)


@pytest.mark.parametrize(
    "reference",
    [
        "127.0.0.1:5000/x:1",  # another loopback port: the host's own service
        "localhost/x:1",
        "127.0.0.1/x",
        "10.1.2.3:5000/team/app:1",
        "192.168.0.10/app",
        "172.16.0.1:443/app",
        "169.254.169.254/latest",
        "100.64.0.1/app",
        "[fe80::1]:5000/app",
        "[fd00::2]/app",
        "names-loopback.example/app:1",
    ],
)
def test_other_registries_on_the_host_or_private_networks_are_refused(
    reference: str, owner: User
) -> None:
    with pytest.raises(Forbidden, match="this host or a private network"):
        require_pullable(actor=owner, reference=reference, resolve=loopback_resolver)


@pytest.mark.parametrize(
    "reference",
    [
        "7e3cc62",  # a local image id prefix: another tenant's image in the shared store
        "7e3cc623fe1f0e18178bd5a1076e2c7380da1775d5db001ab84f73b14a7c89c8",
        "sha256:7e3cc623fe1f0e18178bd5a1076e2c7380da1775d5db001ab84f73b14a7c89c8",
        "oci-archive:/etc/image.tar",
        "containers-storage:127.0.0.1:5050/berth/x/y",
        "dir:/var/lib/berth",
        "docker-archive:/tmp/x.tar",
        "UPPER/Case",
        "",
    ],
)
def test_what_is_not_a_registry_reference_is_invalid(reference: str, owner: User) -> None:
    with pytest.raises(Invalid):
        require_pullable(actor=owner, reference=reference)


@pytest.mark.parametrize(
    "reference",
    [
        "docker.io/library/python:3.12",
        "python:3.12",
        "library/python",
        "ghcr.io/org/tool@" + DIGEST,
        "quay.io/org/x:1",
        "registry.example.com:5050/team/app:1",  # a public host on Berth's port is not Berth
        f"{REGISTRY}/berth/base/busybox@{DIGEST}",  # the base image Berth builds itself
        "localhost:5050/berth/base/busybox:1",
    ],
)
def test_public_references_and_berths_base_images_are_allowed(
    reference: str, stranger: User
) -> None:
    require_pullable(actor=stranger, reference=reference, resolve=loopback_resolver)


def test_an_offered_execution_environment_is_allowed_wherever_it_lives_in_the_registry(
    stranger: User,
) -> None:
    environment = ExecutionEnvironment.objects.create(name="python")
    ExecutionEnvironmentVersion.objects.create(
        environment=environment, label="3.12", base_image=f"{REGISTRY}/envs/python@{DIGEST}"
    )
    require_pullable(actor=stranger, reference=f"{REGISTRY}/envs/python@{DIGEST}")
    with pytest.raises(Forbidden):
        require_pullable(actor=stranger, reference=f"{REGISTRY}/envs/other@{DIGEST}")


def test_a_trusted_private_registry_is_allowed(settings: Any, owner: User) -> None:
    with pytest.raises(Forbidden):
        require_pullable(actor=owner, reference="10.1.2.3:5000/mirror/python:3.12")
    settings.BERTH_TRUSTED_PRIVATE_REGISTRIES = ["10.1.2.3:5000"]
    require_pullable(actor=owner, reference="10.1.2.3:5000/mirror/python:3.12")


# --- the two together, as build start and the worker ask ----------------------------------


def test_dockerfile_problems_name_the_line_and_the_refused_image(
    victim_repository: str, stranger: User, owner: User
) -> None:
    text = (
        "ARG REG=localhost:5050\n"
        "FROM python:3.12 AS build\n"
        "ARG REG\n"
        f"COPY --from=${{REG}}/berth/{victim_repository}/web:1 /app /app\n"
        "FROM build\n"
        "RUN --network=host id\n"
    )
    problems = dockerfile_problems(actor=stranger, text=text)
    assert [(line, kind) for line, _msg, kind in problems] == [
        (4, "image_refused"),
        (6, "flag_refused"),
    ]
    assert f"localhost:5050/berth/{victim_repository}/web:1" in problems[0][1]
    assert [kind for _line, _msg, kind in dockerfile_problems(actor=owner, text=text)] == [
        "flag_refused"
    ]
