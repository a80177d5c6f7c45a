"""Every rule of SPEC §1 (artifact body), exercised through ``/api/v2/artifacts``.

Each rejected body must answer 422 with the exact ``loc`` of each problem (a JSON path
into the request body, under ``"body"``) and must create nothing. The same rules hold for
POST, PUT and PATCH.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import (
    ARTIFACTS,
    REPOSITORIES,
    ApiClient,
    artifact_body,
    primary_container,
    sidecar_container,
)

DEMO_DIR = Path(__file__).resolve().parents[2] / "console" / "demo"
SHARED_EXAMPLES = (
    "service-prebuilt.json",
    "agent-with-sidecar.json",
    "build-provided-dockerfile.json",
    "nim-llm.json",
)
GENERATED_DOCKERFILE_EXAMPLE: dict[str, Any] = {
    "name": "forecast-api",
    "description": "Dockerfile generated from an execution environment's base image",
    "type": "service",
    "spec": {
        "containerGroups": [
            {
                "name": "default",
                "containers": [
                    {
                        "name": "api",
                        "primary": True,
                        "imageBuildConfig": {
                            "dockerfile": {
                                "source": "generated",
                                "executionEnvironmentId": "65f0a1b2c3d4e5f6a7b8c9d0",
                                "executionEnvironmentVersionId": "65f0a1b2c3d4e5f6a7b8c9d1",
                                "entrypoint": [
                                    "uvicorn",
                                    "app:api",
                                    "--host",
                                    "0.0.0.0",
                                    "--port",
                                    "9000",
                                ],
                            }
                        },
                        "port": 9000,
                        "readinessProbe": {"path": "/ready", "port": 9000},
                    }
                ],
            }
        ]
    },
}

Loc = tuple[str | int, ...]
PROBES = ("readinessProbe", "livenessProbe", "startupProbe")
HEX_ID = "65f0a1b2c3d4e5f6a7b8c9d0"
BUILD = {"dockerfile": {"source": "provided"}}


# --- body builders ---------------------------------------------------------------------------


def group_loc(gi: int = 0, *rest: str | int) -> Loc:
    return ("body", "spec", "containerGroups", gi, *rest)


def ct(ci: int, *rest: str | int, gi: int = 0) -> Loc:
    """The loc of container ``ci`` of group ``gi`` (and a path inside it)."""
    return group_loc(gi, "containers", ci, *rest)


def without(container: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in container.items() if k not in keys}


def spec_of(*containers: dict[str, Any]) -> dict[str, Any]:
    return {"containerGroups": [{"name": "default", "containers": list(containers)}]}


def body_with(*containers: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """A valid body except for its containers (one group, ``default``)."""
    return artifact_body(spec=spec_of(*containers), **overrides)


def pair(
    primary: dict[str, Any] | None = None, sidecar: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The standard primary + sidecar body with either container replaced."""
    return body_with(primary or primary_container(), sidecar or sidecar_container())


def nim_body(**spec_extra: Any) -> dict[str, Any]:
    return artifact_body(type="nim", spec={**spec_of(primary_container()), **spec_extra})


def dockerfile_body(dockerfile: Any) -> dict[str, Any]:
    return pair(
        primary=without(primary_container(imageBuildConfig={"dockerfile": dockerfile}), "imageUri")
    )


def generated(**overrides: Any) -> dict[str, Any]:
    dockerfile = {
        "source": "generated",
        "executionEnvironmentId": HEX_ID,
        "executionEnvironmentVersionId": HEX_ID,
        "entrypoint": ["python", "app.py"],
    }
    dockerfile.update(overrides)
    return {k: v for k, v in dockerfile.items() if v is not None}


def probe_body(field: str, **probe: Any) -> dict[str, Any]:
    base = {"path": "/ready"}
    base.update(probe)
    return pair(primary=primary_container(**{field: base}))


# --- assertions ------------------------------------------------------------------------------


def problem_locs(response: Any) -> Counter[Loc]:
    """The locs of a 422 answer, checking that every problem has the documented shape."""
    assert response.status_code == 422, response.content
    detail = response.json()["detail"]
    assert isinstance(detail, list)
    assert detail, "a 422 must name at least one problem"
    for problem in detail:
        assert set(problem) == {"loc", "msg", "type"}, problem
        assert problem["loc"][0] == "body", problem
        assert isinstance(problem["msg"], str)
        assert problem["msg"]
        assert isinstance(problem["type"], str)
        assert problem["type"]
    return Counter(tuple(problem["loc"]) for problem in detail)


def assert_problems(response: Any, *expected: Loc) -> None:
    assert problem_locs(response) == Counter(expected), response.json()


def assert_nothing_created(api: ApiClient) -> None:
    assert api.get(ARTIFACTS).json()["totalCount"] == 0
    assert api.get(REPOSITORIES).json()["totalCount"] == 0


def created(api: ApiClient, body: dict[str, Any]) -> dict[str, Any]:
    response = api.post(ARTIFACTS, body)
    assert response.status_code == 201, response.content
    assert api.get(ARTIFACTS).json()["totalCount"] == 1
    return response.json()


def containers_of(artifact: dict[str, Any], gi: int = 0) -> list[dict[str, Any]]:
    return artifact["spec"]["containerGroups"][gi]["containers"]


# --- the rules -------------------------------------------------------------------------------
#
# SPEC_CASES break a rule inside ``spec`` of a service artifact: they are checked on POST,
# PUT and PATCH. BODY_CASES break a rule outside ``spec`` (or need a nim artifact): POST only.

SPEC_CASES = [
    # container name: DNS label, 1-63 chars, unique within its group
    pytest.param(pair(primary_container(name="Web")), [ct(0, "name")], id="name-uppercase"),
    pytest.param(pair(primary_container(name="1web")), [ct(0, "name")], id="name-leading-digit"),
    pytest.param(pair(primary_container(name="web-")), [ct(0, "name")], id="name-trailing-dash"),
    pytest.param(pair(primary_container(name="-web")), [ct(0, "name")], id="name-leading-dash"),
    pytest.param(pair(primary_container(name="we_b")), [ct(0, "name")], id="name-underscore"),
    pytest.param(pair(primary_container(name="a" * 64)), [ct(0, "name")], id="name-64-chars"),
    pytest.param(pair(primary_container(name="")), [ct(0, "name")], id="name-empty"),
    pytest.param(pair(primary_container(name=7)), [ct(0, "name")], id="name-not-a-string"),
    pytest.param(pair(without(primary_container(), "name")), [ct(0, "name")], id="name-missing"),
    pytest.param(pair(sidecar=sidecar_container(name="web")), [ct(1, "name")], id="name-duplicate"),
    # container group names: DNS label, unique
    pytest.param(
        artifact_body(
            spec={
                "containerGroups": [
                    {"name": "default", "containers": [primary_container()]},
                    {"name": "default", "containers": [primary_container()]},
                ]
            }
        ),
        [group_loc(1, "name")],
        id="group-name-duplicate",
    ),
    pytest.param(
        artifact_body(
            spec={
                "containerGroups": [
                    {"containers": [primary_container()]},
                    {"name": "default", "containers": [primary_container()]},
                ]
            }
        ),
        [group_loc(1, "name")],
        id="group-name-duplicates-the-default",
    ),
    pytest.param(
        artifact_body(
            spec={"containerGroups": [{"name": "Main", "containers": [primary_container()]}]}
        ),
        [group_loc(0, "name")],
        id="group-name-not-dns-label",
    ),
    # exactly one primary per group
    pytest.param(
        pair(without(primary_container(primary=False), "port", "readinessProbe")),
        [group_loc(0, "containers")],
        id="no-primary",
    ),
    pytest.param(
        pair(
            without(primary_container(), "primary", "port", "readinessProbe"),
            without(sidecar_container(), "primary"),
        ),
        [group_loc(0, "containers")],
        id="no-primary-flag-at-all",
    ),
    pytest.param(
        pair(sidecar=sidecar_container(primary=True, port=9090, readinessProbe={"path": "/ready"})),
        [group_loc(0, "containers")],
        id="two-primaries",
    ),
    pytest.param(
        body_with(primary_container(primary="true")), [ct(0, "primary")], id="primary-as-string"
    ),
    # exactly one of imageUri / imageBuildConfig
    pytest.param(
        pair(without(primary_container(), "imageUri")), [ct(0, "imageUri")], id="image-neither"
    ),
    pytest.param(
        pair(sidecar=without(sidecar_container(), "imageUri")),
        [ct(1, "imageUri")],
        id="image-neither-on-sidecar",
    ),
    pytest.param(
        pair(primary_container(imageBuildConfig=BUILD)),
        [ct(0, "imageBuildConfig")],
        id="image-both",
    ),
    pytest.param(pair(primary_container(imageUri="")), [ct(0, "imageUri")], id="image-uri-empty"),
    pytest.param(
        pair(primary_container(imageUri="a b:1")), [ct(0, "imageUri")], id="image-uri-whitespace"
    ),
    # port: primary must set it (1024-65535), sidecar must not
    pytest.param(
        pair(without(primary_container(readinessProbe={"path": "/ready", "port": 8080}), "port")),
        [ct(0, "port")],
        id="primary-without-port",
    ),
    pytest.param(pair(primary_container(port=1023)), [ct(0, "port")], id="port-1023"),
    pytest.param(pair(primary_container(port=65536)), [ct(0, "port")], id="port-65536"),
    pytest.param(pair(primary_container(port=0)), [ct(0, "port")], id="port-0"),
    pytest.param(pair(primary_container(port=-8080)), [ct(0, "port")], id="port-negative"),
    pytest.param(pair(primary_container(port="8080")), [ct(0, "port")], id="port-as-string"),
    pytest.param(pair(primary_container(port=8080.5)), [ct(0, "port")], id="port-as-float"),
    pytest.param(pair(primary_container(port=True)), [ct(0, "port")], id="port-as-bool"),
    pytest.param(pair(sidecar=sidecar_container(port=9090)), [ct(1, "port")], id="sidecar-port"),
    # entrypoint: list of strings
    pytest.param(
        pair(primary_container(entrypoint="python app.py")),
        [ct(0, "entrypoint")],
        id="entrypoint-string",
    ),
    pytest.param(
        pair(primary_container(entrypoint=["python", 3])),
        [ct(0, "entrypoint", 1)],
        id="entrypoint-non-string-item",
    ),
    pytest.param(
        pair(sidecar=sidecar_container(entrypoint={"cmd": "envoy"})),
        [ct(1, "entrypoint")],
        id="entrypoint-object",
    ),
    # environment variables
    pytest.param(
        pair(primary_container(environmentVars=[{"name": "1ABC", "value": "x"}])),
        [ct(0, "environmentVars", 0, "name")],
        id="env-name-leading-digit",
    ),
    pytest.param(
        pair(primary_container(environmentVars=[{"name": "OK", "value": "1"}, {"name": "A-B"}])),
        [ct(0, "environmentVars", 1, "name")],
        id="env-name-dash",
    ),
    pytest.param(
        pair(primary_container(environmentVars=[{"name": "", "value": "x"}])),
        [ct(0, "environmentVars", 0, "name")],
        id="env-name-empty",
    ),
    pytest.param(
        pair(primary_container(environmentVars=[{"value": "x"}])),
        [ct(0, "environmentVars", 0, "name")],
        id="env-name-missing",
    ),
    pytest.param(
        pair(
            sidecar=sidecar_container(
                environmentVars=[
                    {"name": "MODE", "value": "a"},
                    {"name": "LEVEL", "value": "b"},
                    {"name": "MODE", "value": "c"},
                ]
            )
        ),
        [ct(1, "environmentVars", 2, "name")],
        id="env-name-duplicate",
    ),
    pytest.param(
        pair(primary_container(environmentVars=[{"name": "A", "value": "b", "secret": True}])),
        [ct(0, "environmentVars", 0, "secret")],
        id="env-unknown-field",
    ),
    pytest.param(
        pair(primary_container(environmentVars=[{"name": "A", "value": 1}])),
        [ct(0, "environmentVars", 0, "value")],
        id="env-value-not-string",
    ),
    pytest.param(
        pair(primary_container(environmentVars={"A": "b"})),
        [ct(0, "environmentVars")],
        id="env-not-a-list",
    ),
    # probes
    pytest.param(
        pair(without(primary_container(), "readinessProbe")),
        [ct(0, "readinessProbe")],
        id="readiness-missing-on-primary",
    ),
    pytest.param(
        pair(
            without(
                primary_container(livenessProbe={"path": "/live"}, startupProbe={"path": "/start"}),
                "readinessProbe",
            )
        ),
        [ct(0, "readinessProbe")],
        id="readiness-missing-other-probes-do-not-count",
    ),
    *[
        pytest.param(probe_body(field, **probe), [ct(0, field, key)], id=f"{field}-{label}")
        for field in PROBES
        for label, key, probe in (
            ("path-relative", "path", {"path": "ready"}),
            ("path-empty", "path", {"path": ""}),
            ("initialDelaySeconds-negative", "initialDelaySeconds", {"initialDelaySeconds": -1}),
            ("periodSeconds-0", "periodSeconds", {"periodSeconds": 0}),
            ("timeoutSeconds-0", "timeoutSeconds", {"timeoutSeconds": 0}),
            ("failureThreshold-0", "failureThreshold", {"failureThreshold": 0}),
            ("periodSeconds-string", "periodSeconds", {"periodSeconds": "10"}),
            ("port-0", "port", {"port": 0}),
            ("port-65536", "port", {"port": 65536}),
            ("unknown-field", "scheme", {"scheme": "HTTPS"}),
        )
    ],
    *[
        pytest.param(
            pair(primary_container(**{field: {"port": 8080}})),
            [ct(0, field, "path")],
            id=f"{field}-path-missing",
        )
        for field in PROBES
    ],
    *[
        pytest.param(
            pair(primary_container(**{field: "/ready"})),
            [ct(0, field)],
            id=f"{field}-not-an-object",
        )
        for field in PROBES
    ],
    *[
        pytest.param(
            pair(sidecar=sidecar_container(**{field: {"path": "/healthz"}})),
            [ct(1, field, "port")],
            id=f"sidecar-{field}-without-port",
        )
        for field in PROBES
    ],
    # imageBuildConfig.dockerfile: union on source
    pytest.param(
        dockerfile_body({"source": "provided", "path": "/Dockerfile"}),
        [ct(0, "imageBuildConfig", "dockerfile", "path")],
        id="dockerfile-path-absolute",
    ),
    pytest.param(
        dockerfile_body({"source": "provided", "path": "../x"}),
        [ct(0, "imageBuildConfig", "dockerfile", "path")],
        id="dockerfile-path-parent",
    ),
    pytest.param(
        dockerfile_body({"source": "provided", "path": "docker/../../x"}),
        [ct(0, "imageBuildConfig", "dockerfile", "path")],
        id="dockerfile-path-escapes-after-normalizing",
    ),
    pytest.param(
        dockerfile_body({"source": "provided", "path": ""}),
        [ct(0, "imageBuildConfig", "dockerfile", "path")],
        id="dockerfile-path-empty",
    ),
    pytest.param(
        dockerfile_body({"source": "provided", "entrypoint": ["python"]}),
        [ct(0, "imageBuildConfig", "dockerfile", "entrypoint")],
        id="dockerfile-provided-takes-no-entrypoint",
    ),
    pytest.param(
        dockerfile_body(generated(executionEnvironmentId="abc")),
        [ct(0, "imageBuildConfig", "dockerfile", "executionEnvironmentId")],
        id="dockerfile-generated-env-id-short",
    ),
    pytest.param(
        dockerfile_body(generated(executionEnvironmentId=HEX_ID.upper())),
        [ct(0, "imageBuildConfig", "dockerfile", "executionEnvironmentId")],
        id="dockerfile-generated-env-id-uppercase",
    ),
    pytest.param(
        dockerfile_body(generated(executionEnvironmentId="z" * 24)),
        [ct(0, "imageBuildConfig", "dockerfile", "executionEnvironmentId")],
        id="dockerfile-generated-env-id-not-hex",
    ),
    pytest.param(
        dockerfile_body(generated(executionEnvironmentVersionId=HEX_ID + "0")),
        [ct(0, "imageBuildConfig", "dockerfile", "executionEnvironmentVersionId")],
        id="dockerfile-generated-version-id-25-chars",
    ),
    pytest.param(
        dockerfile_body(generated(executionEnvironmentId=None)),
        [ct(0, "imageBuildConfig", "dockerfile", "executionEnvironmentId")],
        id="dockerfile-generated-env-id-missing",
    ),
    pytest.param(
        dockerfile_body(generated(provided=True)),
        [ct(0, "imageBuildConfig", "dockerfile", "provided")],
        id="dockerfile-generated-unknown-field-named-like-a-source",
    ),
    pytest.param(
        dockerfile_body(generated(entrypoint="python app.py")),
        [ct(0, "imageBuildConfig", "dockerfile", "entrypoint")],
        id="dockerfile-generated-entrypoint-string",
    ),
    pytest.param(
        dockerfile_body({"source": "inline", "content": "FROM scratch"}),
        [ct(0, "imageBuildConfig", "dockerfile")],
        id="dockerfile-unknown-source",
    ),
    pytest.param(
        dockerfile_body({"path": "./Dockerfile"}),
        [ct(0, "imageBuildConfig", "dockerfile")],
        id="dockerfile-source-missing",
    ),
    pytest.param(
        pair(without(primary_container(imageBuildConfig={**BUILD, "registry": "x"}), "imageUri")),
        [ct(0, "imageBuildConfig", "registry")],
        id="build-config-unknown-field",
    ),
    # unknown fields inside the spec
    pytest.param(pair(primary_container(cpu=2)), [ct(0, "cpu")], id="container-unknown-field"),
    pytest.param(
        pair(primary_container(generated=True)),
        [ct(0, "generated")],
        id="container-unknown-field-named-like-a-dockerfile-source",
    ),
    pytest.param(
        artifact_body(
            spec={"containerGroups": [{"containers": [primary_container()], "replicaCount": 2}]}
        ),
        [group_loc(0, "replicaCount")],
        id="group-unknown-field",
    ),
    pytest.param(
        artifact_body(spec={**spec_of(primary_container()), "replicas": 2}),
        [("body", "spec", "replicas")],
        id="spec-unknown-field",
    ),
    # storage only on nim artifacts
    pytest.param(
        artifact_body(spec={**spec_of(primary_container()), "storage": {"mode": "nimCache"}}),
        [("body", "spec", "storage")],
        id="storage-on-service",
    ),
    # shape of spec
    pytest.param(
        artifact_body(spec={"containerGroups": []}),
        [("body", "spec", "containerGroups")],
        id="groups-empty",
    ),
    pytest.param(
        artifact_body(spec={}), [("body", "spec", "containerGroups")], id="groups-missing"
    ),
    pytest.param(
        artifact_body(spec={"containerGroups": [{"name": "default", "containers": []}]}),
        [group_loc(0, "containers")],
        id="containers-empty",
    ),
    pytest.param(
        artifact_body(spec={"containerGroups": [{"name": "default"}]}),
        [group_loc(0, "containers")],
        id="containers-missing",
    ),
    pytest.param(artifact_body(spec=["web"]), [("body", "spec")], id="spec-not-an-object"),
]

BODY_CASES = [
    # artifact name: 1-5000 chars
    pytest.param(artifact_body(name=""), [("body", "name")], id="artifact-name-empty"),
    pytest.param(artifact_body(name="   "), [("body", "name")], id="artifact-name-blank"),
    pytest.param(artifact_body(name="n" * 5001), [("body", "name")], id="artifact-name-5001"),
    pytest.param(artifact_body(name=42), [("body", "name")], id="artifact-name-number"),
    pytest.param(without(artifact_body(), "name"), [("body", "name")], id="artifact-name-missing"),
    pytest.param(without(artifact_body(), "spec"), [("body", "spec")], id="spec-missing"),
    pytest.param(
        without(artifact_body(), "name", "spec"),
        [("body", "name"), ("body", "spec")],
        id="name-and-spec-missing",
    ),
    # type
    pytest.param(artifact_body(type="job"), [("body", "type")], id="type-unknown"),
    pytest.param(artifact_body(type="Service"), [("body", "type")], id="type-wrong-case"),
    # unknown top-level fields
    pytest.param(artifact_body(replicas=2), [("body", "replicas")], id="top-level-unknown-field"),
    pytest.param(artifact_body(status="locked"), [("body", "status")], id="status-on-create"),
    # tags
    pytest.param(artifact_body(tags="team=risk"), [("body", "tags")], id="tags-not-a-list"),
    pytest.param(artifact_body(tags=["risk"]), [("body", "tags", 0)], id="tags-item-not-object"),
    pytest.param(
        artifact_body(tags=[{"name": "team", "value": "risk"}, {"value": "x"}]),
        [("body", "tags", 1, "name")],
        id="tags-name-missing",
    ),
    pytest.param(
        artifact_body(tags=[{"name": "", "value": "x"}]),
        [("body", "tags", 0, "name")],
        id="tags-name-empty",
    ),
    pytest.param(
        artifact_body(tags=[{"name": "team", "value": 7}]),
        [("body", "tags", 0, "value")],
        id="tags-value-not-string",
    ),
    pytest.param(
        artifact_body(tags=[{"name": "team", "colour": "red"}]),
        [("body", "tags", 0, "colour")],
        id="tags-unknown-field",
    ),
    # artifactRepositoryId: 24 lowercase hex
    *[
        pytest.param(
            artifact_body(artifactRepositoryId=repository_id),
            [("body", "artifactRepositoryId")],
            id=f"repository-id-{label}",
        )
        for label, repository_id in (
            ("short", "abc"),
            ("uppercase-hex", HEX_ID.upper()),
            ("25-chars", HEX_ID + "a"),
            ("not-hex", "g" * 24),
            ("empty", ""),
            ("number", 123),
        )
    ],
    # imageBuildConfig only on service artifacts
    pytest.param(
        artifact_body(
            type="nim",
            spec=spec_of(without(primary_container(imageBuildConfig=BUILD), "imageUri")),
        ),
        [ct(0, "imageBuildConfig")],
        id="build-on-nim",
    ),
    # nim storage
    pytest.param(
        nim_body(storage={"mode": "dedicatedPvc", "pvcSize": "100GB"}),
        [("body", "spec", "storage", "pvcSize")],
        id="nim-pvc-size-GB",
    ),
    pytest.param(
        nim_body(storage={"pvcSize": "100"}),
        [("body", "spec", "storage", "pvcSize")],
        id="nim-pvc-size-no-unit",
    ),
    pytest.param(
        nim_body(storage={"pvcSize": "1.5gi"}),
        [("body", "spec", "storage", "pvcSize")],
        id="nim-pvc-size-lowercase-unit",
    ),
    pytest.param(
        nim_body(storage={"mode": "nimCache", "pvcSize": "100Gi"}),
        [("body", "spec", "storage", "pvcSize")],
        id="nim-pvc-size-with-nim-cache",
    ),
    pytest.param(
        nim_body(storage={"mode": "shared"}),
        [("body", "spec", "storage", "mode")],
        id="nim-storage-bad-mode",
    ),
    pytest.param(
        nim_body(storage={"mode": "nimCache", "path": "/cache"}),
        [("body", "spec", "storage", "path")],
        id="nim-storage-unknown-field",
    ),
    pytest.param(
        nim_body(storage="100Gi"), [("body", "spec", "storage")], id="nim-storage-not-an-object"
    ),
]


@pytest.mark.parametrize(("body", "locs"), [*SPEC_CASES, *BODY_CASES])
def test_create_rejects_with_exact_locs(
    api: ApiClient, body: dict[str, Any], locs: list[Loc]
) -> None:
    assert_problems(api.post(ARTIFACTS, body), *locs)
    assert_nothing_created(api)


def test_every_problem_is_reported_at_once(api: ApiClient) -> None:
    body = pair(
        primary_container(port=80),
        sidecar_container(environmentVars=[{"name": "A", "value": "1"}, {"name": "A"}]),
    )
    body["name"] = ""
    body["replicas"] = 3

    assert_problems(
        api.post(ARTIFACTS, body),
        ct(0, "port"),
        ct(1, "environmentVars", 1, "name"),
        ("body", "name"),
        ("body", "replicas"),
    )
    assert_nothing_created(api)


def test_problems_in_several_groups_and_containers_are_all_reported(api: ApiClient) -> None:
    body = artifact_body(
        tags=[{"value": "x"}],
        artifactRepositoryId="nope",
        spec={
            "containerGroups": [
                {
                    "name": "default",
                    "containers": [
                        primary_container(readinessProbe={"path": "/ready", "periodSeconds": 0}),
                        sidecar_container(port=9000),
                    ],
                },
                {
                    "name": "Worker",
                    "containers": [without(primary_container(name="worker"), "imageUri")],
                },
            ],
            "storage": {"mode": "nimCache"},
        },
    )

    assert_problems(
        api.post(ARTIFACTS, body),
        ct(0, "readinessProbe", "periodSeconds"),
        ct(1, "port"),
        group_loc(1, "name"),
        ct(0, "imageUri", gi=1),
        ("body", "spec", "storage"),
        ("body", "tags", 0, "name"),
        ("body", "artifactRepositoryId"),
    )
    assert_nothing_created(api)


# --- PUT and PATCH: the same rules on every write --------------------------------------------


@pytest.fixture
def draft(api: ApiClient) -> dict[str, Any]:
    return created(api, artifact_body())


def assert_unchanged(api: ApiClient, before: dict[str, Any]) -> None:
    after = api.get(f"{ARTIFACTS}/{before['id']}").json()
    assert after == before
    assert api.get(ARTIFACTS).json()["totalCount"] == 1


@pytest.mark.parametrize(("body", "locs"), SPEC_CASES)
def test_replace_rejects_with_the_same_locs(
    api: ApiClient, draft: dict[str, Any], body: dict[str, Any], locs: list[Loc]
) -> None:
    assert_problems(api.put(f"{ARTIFACTS}/{draft['id']}", body), *locs)
    assert_unchanged(api, draft)


@pytest.mark.parametrize(("body", "locs"), SPEC_CASES)
def test_patch_rejects_with_the_same_locs(
    api: ApiClient, draft: dict[str, Any], body: dict[str, Any], locs: list[Loc]
) -> None:
    assert_problems(api.patch(f"{ARTIFACTS}/{draft['id']}", {"spec": body["spec"]}), *locs)
    assert_unchanged(api, draft)


@pytest.mark.parametrize(
    ("patch", "locs"),
    [
        pytest.param({"status": "draft"}, [("body", "status")], id="status-draft"),
        pytest.param({"status": "LOCKED"}, [("body", "status")], id="status-wrong-case"),
        pytest.param({"name": ""}, [("body", "name")], id="name-empty"),
        pytest.param({"name": "n" * 5001}, [("body", "name")], id="name-5001"),
        pytest.param({"type": "nim"}, [("body", "type")], id="type-not-patchable"),
        pytest.param({"replicas": 2}, [("body", "replicas")], id="unknown-field"),
        pytest.param({"tags": [{"value": "x"}]}, [("body", "tags", 0, "name")], id="tags"),
        pytest.param(
            {"name": "", "status": "draft", "spec": pair(primary_container(port=1023))["spec"]},
            [("body", "name"), ("body", "status"), ct(0, "port")],
            id="several-at-once",
        ),
    ],
)
def test_patch_rejects_other_fields(
    api: ApiClient, draft: dict[str, Any], patch: dict[str, Any], locs: list[Loc]
) -> None:
    assert_problems(api.patch(f"{ARTIFACTS}/{draft['id']}", patch), *locs)
    assert_unchanged(api, draft)


@pytest.mark.parametrize(
    ("body", "locs"),
    [
        pytest.param(artifact_body(name=""), [("body", "name")], id="name-empty"),
        pytest.param(without(artifact_body(), "spec"), [("body", "spec")], id="spec-missing"),
        pytest.param(without(artifact_body(), "name"), [("body", "name")], id="name-missing"),
        pytest.param(artifact_body(replicas=2), [("body", "replicas")], id="unknown-field"),
        pytest.param(artifact_body(type="nim"), [("body", "type")], id="type-change"),
        pytest.param(
            artifact_body(artifactRepositoryId=HEX_ID),
            [("body", "artifactRepositoryId")],
            id="repository-change",
        ),
    ],
)
def test_replace_rejects_other_fields(
    api: ApiClient, draft: dict[str, Any], body: dict[str, Any], locs: list[Loc]
) -> None:
    assert_problems(api.put(f"{ARTIFACTS}/{draft['id']}", body), *locs)
    assert_unchanged(api, draft)


def test_valid_replace_and_patch_are_accepted(api: ApiClient, draft: dict[str, Any]) -> None:
    url = f"{ARTIFACTS}/{draft['id']}"
    replaced = api.put(url, pair(primary_container(port=9000)))
    assert replaced.status_code == 200, replaced.content
    assert containers_of(replaced.json())[0]["port"] == 9000

    patched = api.patch(url, {"spec": spec_of(primary_container(port=65535))})
    assert patched.status_code == 200, patched.content
    assert [c["name"] for c in containers_of(patched.json())] == ["web"]
    assert containers_of(patched.json())[0]["readinessProbe"]["port"] == 65535


# --- accepted bodies -------------------------------------------------------------------------


def test_valid_two_container_artifact_is_accepted(api: ApiClient) -> None:
    body = artifact_body()
    artifact = created(api, body)

    assert artifact["name"] == body["name"]
    assert artifact["type"] == "service"
    assert artifact["status"] == "draft"
    assert artifact["version"] is None
    web, proxy = containers_of(artifact)
    assert (web["name"], web["primary"], web["port"]) == ("web", True, 8080)
    assert (proxy["name"], proxy["primary"]) == ("proxy", False)
    assert "port" not in proxy


def example_bodies() -> list[Any]:
    params = [
        pytest.param(json.loads((DEMO_DIR / name).read_text()), id=name.removesuffix(".json"))
        for name in SHARED_EXAMPLES
    ]
    params.append(
        pytest.param(copy.deepcopy(GENERATED_DOCKERFILE_EXAMPLE), id="build-generated-dockerfile")
    )
    return params


@pytest.mark.parametrize("body", example_bodies())
def test_example_bodies_are_accepted(api: ApiClient, body: dict[str, Any]) -> None:
    artifact = created(api, body)

    assert artifact["name"] == body["name"]
    assert artifact["type"] == body["type"]
    sent = body["spec"]["containerGroups"]
    got = artifact["spec"]["containerGroups"]
    assert [g["name"] for g in got] == [g["name"] for g in sent]
    for sent_group, got_group in zip(sent, got, strict=True):
        assert [c["name"] for c in got_group["containers"]] == [
            c["name"] for c in sent_group["containers"]
        ]
        assert sum(c["primary"] for c in got_group["containers"]) == 1
    if "storage" in body["spec"]:
        assert artifact["spec"]["storage"]["mode"] == body["spec"]["storage"]["mode"]


def test_single_container_without_primary_becomes_primary(api: ApiClient) -> None:
    artifact = created(api, body_with(without(primary_container(), "primary")))

    (web,) = containers_of(artifact)
    assert web["primary"] is True


@pytest.mark.parametrize("port", [1024, 65535], ids=["port-1024", "port-65535"])
def test_primary_port_bounds_are_accepted(api: ApiClient, port: int) -> None:
    artifact = created(api, pair(primary_container(port=port)))

    assert containers_of(artifact)[0]["port"] == port


def test_probe_port_defaults_to_the_container_port(api: ApiClient) -> None:
    body = pair(
        primary_container(
            port=9000,
            readinessProbe={"path": "/ready"},
            livenessProbe={"path": "/live", "port": 9100},
            startupProbe={"path": "/start"},
        ),
        sidecar_container(livenessProbe={"path": "/healthz", "port": 15000}),
    )
    web, proxy = containers_of(created(api, body))

    assert web["readinessProbe"]["port"] == 9000
    assert web["livenessProbe"]["port"] == 9100
    assert web["startupProbe"]["port"] == 9000
    assert proxy["livenessProbe"]["port"] == 15000


def test_probe_defaults_are_filled_in(api: ApiClient) -> None:
    web, _ = containers_of(created(api, artifact_body()))

    assert web["readinessProbe"] == {
        "path": "/ready",
        "port": 8080,
        "initialDelaySeconds": 0,
        "periodSeconds": 10,
        "timeoutSeconds": 1,
        "failureThreshold": 3,
    }


def test_probe_lower_bounds_are_accepted(api: ApiClient) -> None:
    probe = {
        "path": "/",
        "initialDelaySeconds": 0,
        "periodSeconds": 1,
        "timeoutSeconds": 1,
        "failureThreshold": 1,
    }
    web, _ = containers_of(created(api, pair(primary_container(readinessProbe=probe))))

    assert web["readinessProbe"] == {**probe, "port": 8080}


@pytest.mark.parametrize(
    "build_config",
    [
        pytest.param({"dockerfile": {"source": "provided"}}, id="provided-without-path"),
        pytest.param({}, id="no-dockerfile"),
    ],
)
def test_provided_dockerfile_path_defaults(api: ApiClient, build_config: dict[str, Any]) -> None:
    body = pair(without(primary_container(imageBuildConfig=build_config), "imageUri"))
    web, _ = containers_of(created(api, body))

    assert web["imageBuildConfig"]["dockerfile"] == {"source": "provided", "path": "./Dockerfile"}
    assert "imageUri" not in web


def test_provided_dockerfile_in_a_subdirectory_is_accepted(api: ApiClient) -> None:
    dockerfile = {"source": "provided", "path": "docker/./Dockerfile.prod"}
    web, _ = containers_of(created(api, dockerfile_body(dockerfile)))

    assert web["imageBuildConfig"]["dockerfile"] == dockerfile


def test_generated_dockerfile_is_kept(api: ApiClient) -> None:
    dockerfile = generated()
    web, _ = containers_of(created(api, dockerfile_body(dockerfile)))

    assert web["imageBuildConfig"]["dockerfile"] == dockerfile


def test_names_at_their_limits_are_accepted(api: ApiClient) -> None:
    long_label = "a" + "b-" * 30 + "9z"
    assert len(long_label) == 63
    body = body_with(
        primary_container(name=long_label),
        sidecar_container(name="b"),
        name="n" * 5000,
    )
    artifact = created(api, body)

    assert artifact["name"] == "n" * 5000
    assert [c["name"] for c in containers_of(artifact)] == [long_label, "b"]


def test_env_var_names_and_repeats_across_containers_are_accepted(api: ApiClient) -> None:
    env = [{"name": "_PRIVATE", "value": ""}, {"name": "camelCase9", "value": "x"}]
    web, proxy = containers_of(
        created(
            api,
            pair(primary_container(environmentVars=env), sidecar_container(environmentVars=env)),
        )
    )

    assert web["environmentVars"] == env
    assert proxy["environmentVars"] == env


def test_same_container_name_in_two_groups_is_accepted(api: ApiClient) -> None:
    body = artifact_body(
        spec={
            "containerGroups": [
                {"name": "default", "containers": [primary_container()]},
                {"name": "batch", "containers": [primary_container()]},
            ]
        }
    )
    artifact = created(api, body)

    assert [g["name"] for g in artifact["spec"]["containerGroups"]] == ["default", "batch"]


@pytest.mark.parametrize(
    ("storage", "expected"),
    [
        pytest.param(
            {"pvcSize": "100Gi"}, {"mode": "dedicatedPvc", "pvcSize": "100Gi"}, id="mode-default"
        ),
        pytest.param(
            {"mode": "dedicatedPvc", "pvcSize": "1.5Ti"},
            {"mode": "dedicatedPvc", "pvcSize": "1.5Ti"},
            id="decimal-ti",
        ),
        pytest.param({"mode": "nimCache"}, {"mode": "nimCache"}, id="nim-cache"),
        pytest.param(
            {"mode": "nimCache", "pvcSize": None}, {"mode": "nimCache"}, id="nim-cache-null-size"
        ),
        pytest.param({}, {"mode": "dedicatedPvc"}, id="empty"),
    ],
)
def test_nim_storage_is_accepted(
    api: ApiClient, storage: dict[str, Any], expected: dict[str, Any]
) -> None:
    artifact = created(api, nim_body(storage=storage))

    assert artifact["type"] == "nim"
    assert artifact["spec"]["storage"] == expected


def test_type_defaults_to_service(api: ApiClient) -> None:
    artifact = created(api, without(artifact_body(), "type"))

    assert artifact["type"] == "service"


def test_a_well_formed_repository_id_must_name_an_existing_repository(api: ApiClient) -> None:
    response = api.post(ARTIFACTS, artifact_body(artifactRepositoryId=HEX_ID))

    assert response.status_code == 404, response.content
    assert_nothing_created(api)
