"""``artifacts.validators`` called directly: the rules the API cannot reach on a draft."""

from __future__ import annotations

from typing import Any

import pytest

from artifacts.constants import ArtifactStatus, ArtifactType
from artifacts.validators import (
    image_problems_for_lock,
    spec_normalized,
    spec_problems,
    validate_artifact,
)
from console.errors import Invalid
from tests.conftest import artifact_body, primary_container, sidecar_container

Loc = tuple[str | int, ...]
BUILD = {"dockerfile": {"source": "provided"}}


def spec_of(*containers: dict[str, Any]) -> dict[str, Any]:
    return {"containerGroups": [{"name": "default", "containers": list(containers)}]}


def locs(spec: Any, *, artifact_type: str = "service", status: str = "draft") -> list[Loc]:
    return [p.loc for p in spec_problems(spec, artifact_type=artifact_type, status=status)]


def test_valid_spec_has_no_problems() -> None:
    assert locs(artifact_body()["spec"]) == []


def test_locked_spec_takes_no_build_config() -> None:
    spec = spec_of(primary_container(imageUri=None, imageBuildConfig=BUILD))

    assert locs(spec) == []
    assert locs(spec, status=ArtifactStatus.LOCKED) == [
        ("spec", "containerGroups", 0, "containers", 0, "imageBuildConfig")
    ]


def test_nim_spec_takes_no_build_config_whatever_its_status() -> None:
    spec = spec_of(primary_container(imageUri=None, imageBuildConfig=BUILD))

    for status in ArtifactStatus.values:
        assert locs(spec, artifact_type=ArtifactType.NIM, status=status) == [
            ("spec", "containerGroups", 0, "containers", 0, "imageBuildConfig")
        ]


def test_lock_needs_an_image_in_every_container() -> None:
    spec = {
        "containerGroups": [
            {"name": "default", "containers": [primary_container(), sidecar_container()]},
            {
                "name": "batch",
                "containers": [
                    primary_container(name="a", imageUri=None, imageBuildConfig=BUILD),
                    sidecar_container(name="b", imageUri=""),
                ],
            },
        ]
    }

    problems = image_problems_for_lock(spec)

    assert [p.loc for p in problems] == [
        ("spec", "containerGroups", 1, "containers", 0, "imageUri"),
        ("spec", "containerGroups", 1, "containers", 1, "imageUri"),
    ]
    assert {p.type for p in problems} == {"image_missing"}
    assert image_problems_for_lock(artifact_body()["spec"]) == []


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param(None, [("spec",)], id="null"),
        pytest.param([], [("spec",)], id="list"),
        pytest.param({"containerGroups": "web"}, [("spec", "containerGroups")], id="groups-str"),
        pytest.param(
            {"containerGroups": [1]}, [("spec", "containerGroups", 0)], id="group-not-object"
        ),
        pytest.param(
            {"containerGroups": [{"containers": [None]}]},
            [("spec", "containerGroups", 0, "containers", 0)],
            id="container-null",
        ),
        pytest.param(
            {"containerGroups": [{"containers": [primary_container(environmentVars=["A=1"])]}]},
            [("spec", "containerGroups", 0, "containers", 0, "environmentVars", 0)],
            id="env-var-not-object",
        ),
    ],
)
def test_malformed_specs_are_reported_not_raised(spec: Any, expected: list[Loc]) -> None:
    assert locs(spec) == expected


def test_a_loc_is_reported_once_even_when_schema_and_cross_field_rule_both_fail() -> None:
    # "8080" fails the schema (strict int); the cross-field port rules must not repeat it.
    spec = spec_of(primary_container(), sidecar_container(port="8080"))

    assert locs(spec) == [("spec", "containerGroups", 0, "containers", 1, "port")]


def test_normalized_spec_fills_every_default() -> None:
    spec = {
        "containerGroups": [
            {
                "containers": [
                    {
                        "name": "api",
                        "imageBuildConfig": {},
                        "port": 9000,
                        "readinessProbe": {"path": "/ready"},
                    }
                ]
            }
        ]
    }

    normalized = spec_normalized(spec, artifact_type="service", status="draft")

    assert normalized == {
        "containerGroups": [
            {
                "name": "default",
                "containers": [
                    {
                        "name": "api",
                        "primary": True,
                        "imageBuildConfig": {
                            "dockerfile": {"source": "provided", "path": "./Dockerfile"}
                        },
                        "port": 9000,
                        "environmentVars": [],
                        "readinessProbe": {
                            "path": "/ready",
                            "port": 9000,
                            "initialDelaySeconds": 0,
                            "periodSeconds": 10,
                            "timeoutSeconds": 1,
                            "failureThreshold": 3,
                        },
                    }
                ],
            }
        ]
    }
    # Normalizing is idempotent: the stored form validates and normalizes to itself.
    assert spec_normalized(normalized, artifact_type="service", status="draft") == normalized


def test_normalized_spec_raises_with_every_problem() -> None:
    spec = spec_of(primary_container(port=80), sidecar_container(port=9000))

    with pytest.raises(Invalid) as raised:
        spec_normalized(spec, artifact_type="service", status="draft")

    assert [p.loc for p in raised.value.problems] == [
        ("spec", "containerGroups", 0, "containers", 0, "port"),
        ("spec", "containerGroups", 0, "containers", 1, "port"),
    ]


def test_validate_artifact_reports_fields_and_spec_together() -> None:
    fields = {"name": "", "type": "job", "tags": [{"value": "x"}], "spec": {"containerGroups": []}}

    with pytest.raises(Invalid) as raised:
        validate_artifact(fields, artifact_type="service", status="draft")

    assert {p.loc for p in raised.value.problems} == {
        ("name",),
        ("type",),
        ("tags", 0, "name"),
        ("spec", "containerGroups"),
    }


def test_validate_artifact_cleans_what_it_returns() -> None:
    cleaned = validate_artifact(
        {"name": "  web  ", "tags": [{"name": "team"}], "spec": artifact_body()["spec"]},
        artifact_type="service",
        status="draft",
    )

    assert cleaned["name"] == "web"
    assert cleaned["tags"] == [{"name": "team", "value": ""}]
    assert cleaned["spec"]["containerGroups"][0]["containers"][0]["readinessProbe"]["port"] == 8080
