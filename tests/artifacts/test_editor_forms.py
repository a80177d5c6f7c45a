"""The editor's form: wire body to form fields and back, and problems placed at their inputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.http import QueryDict

from artifacts.forms import (
    apply_action,
    body_from_post,
    carried_values,
    field_for_loc,
    fields_from_body,
)
from artifacts.validators import spec_normalized
from console.errors import Invalid
from tests.conftest import artifact_body

DEMOS = sorted((Path(__file__).resolve().parents[2] / "console" / "demo").glob("*.json"))
C0 = ("spec", "containerGroups", 0, "containers", 0)
C1 = ("spec", "containerGroups", 0, "containers", 1)


def as_post(values: dict[str, str]) -> QueryDict:
    """The form fields as the browser would post them."""
    post = QueryDict(mutable=True)
    for key, value in values.items():
        post[key] = value
    return post


def round_trip(body: dict[str, Any]) -> dict[str, Any]:
    return body_from_post(as_post(fields_from_body(body)))


def test_the_demo_bodies_are_all_found() -> None:
    assert len(DEMOS) == 4


@pytest.mark.parametrize("path", DEMOS, ids=lambda p: p.stem)
def test_wire_to_form_to_wire_is_identity_for_the_demo_bodies(path: Path) -> None:
    body = json.loads(path.read_text())
    assert round_trip(body) == body


@pytest.mark.parametrize("path", DEMOS, ids=lambda p: p.stem)
def test_a_stored_spec_saved_unchanged_stays_the_same(path: Path) -> None:
    body = json.loads(path.read_text())
    stored = spec_normalized(body["spec"], artifact_type=body["type"], status="draft")
    again = round_trip({**body, "spec": stored})["spec"]
    assert spec_normalized(again, artifact_type=body["type"], status="draft") == stored


def test_the_fields_carry_the_conventional_names() -> None:
    fields = fields_from_body(json.loads((DEMOS[0]).read_text()))
    assert DEMOS[0].stem == "agent-with-sidecar"
    assert fields["primary"] == "0"
    assert fields["containers-0-name"] == "agent"
    assert fields["containers-0-port"] == "8000"
    assert fields["containers-0-env-0-name"] == "OTEL_EXPORTER_OTLP_ENDPOINT"
    assert fields["containers-0-readinessProbe-path"] == "/health"
    assert fields["containers-0-startupProbe-enabled"] == "on"
    assert "containers-0-livenessProbe-enabled" not in fields
    assert fields["containers-1-source"] == "image"
    assert fields["containers-1-entrypoint"] == "/otelcol --config=/etc/otel/config.yaml"


def test_numbers_that_do_not_parse_go_on_as_typed_and_blank_ones_are_left_out() -> None:
    post = as_post(
        {
            "name": "x",
            "primary": "0",
            "containers-0-name": "web",
            "containers-0-source": "image",
            "containers-0-imageUri": "registry.example.com/web:1",
            "containers-0-port": "80a",
            "containers-0-readinessProbe-path": "/ready",
            "containers-0-readinessProbe-periodSeconds": " 5 ",
            "containers-0-readinessProbe-port": "",
        }
    )
    container = body_from_post(post)["spec"]["containerGroups"][0]["containers"][0]
    assert container["port"] == "80a"
    assert container["readinessProbe"] == {"path": "/ready", "periodSeconds": 5}
    with pytest.raises(Invalid) as raised:
        spec_normalized(
            {"containerGroups": [{"containers": [container]}]},
            artifact_type="service",
            status="draft",
        )
    assert [p.loc for p in raised.value.problems] == [
        ("spec", "containerGroups", 0, "containers", 0, "port")
    ]


def test_the_entrypoint_is_shell_words_and_unbalanced_quotes_go_on_as_typed() -> None:
    post = as_post(
        {
            "containers-0-entrypoint": "python -m app --name 'two words'",
            "containers-1-entrypoint": 'python "-m',
        }
    )
    first, second = body_from_post(post)["spec"]["containerGroups"][0]["containers"]
    assert first["entrypoint"] == ["python", "-m", "app", "--name", "two words"]
    assert second["entrypoint"] == 'python "-m'


def test_the_inactive_side_of_a_toggle_is_not_part_of_the_body() -> None:
    post = as_post(
        {
            "type": "service",
            "containers-0-name": "web",
            "containers-0-source": "build",
            "containers-0-imageUri": "typed-before-switching",
            "containers-0-dockerfile-source": "generated",
            "containers-0-dockerfile-path": "./ignored",
            "containers-0-dockerfile-executionEnvironmentId": "a" * 24,
            "containers-0-livenessProbe-path": "/live",
            "storage-mode": "nimCache",
        }
    )
    body = body_from_post(post)
    container = body["spec"]["containerGroups"][0]["containers"][0]
    assert container["imageBuildConfig"] == {
        "dockerfile": {"source": "generated", "executionEnvironmentId": "a" * 24}
    }
    assert "imageUri" not in container
    assert "livenessProbe" not in container
    assert "storage" not in body["spec"]


def test_an_enabled_probe_with_nothing_filled_in_is_sent_so_the_validator_asks_for_a_path() -> None:
    post = as_post({"containers-0-name": "web", "containers-0-startupProbe-enabled": "on"})
    container = body_from_post(post)["spec"]["containerGroups"][0]["containers"][0]
    assert container["startupProbe"] == {}
    assert "readinessProbe" not in container


@pytest.mark.parametrize(
    ("loc", "field"),
    [
        (("name",), "name"),
        (("description",), "description"),
        (("type",), "type"),
        (("spec", "storage"), "storage-mode"),
        (("spec", "storage", "pvcSize"), "storage-pvcSize"),
        (("spec", "containerGroups", 0, "containers"), "containers"),
        ((*C1, "port"), "containers-1-port"),
        ((*C0, "name"), "containers-0-name"),
        ((*C0, "imageUri"), "containers-0-imageUri"),
        ((*C0, "entrypoint", 2), "containers-0-entrypoint"),
        ((*C0, "primary"), "containers-0-primary"),
        ((*C0, "imageBuildConfig"), "containers-0-source"),
        ((*C0, "imageBuildConfig", "dockerfile", "path"), "containers-0-dockerfile-path"),
        (
            (*C0, "imageBuildConfig", "dockerfile", "executionEnvironmentId"),
            "containers-0-dockerfile-executionEnvironmentId",
        ),
        ((*C0, "imageBuildConfig", "dockerfile", "source"), "containers-0-dockerfile-source"),
        ((*C0, "environmentVars", 2, "name"), "containers-0-env-2-name"),
        ((*C0, "environmentVars", 2, "value"), "containers-0-env-2-value"),
        ((*C0, "environmentVars"), "containers-0-env"),
        ((*C0, "readinessProbe"), "containers-0-readinessProbe-path"),
        ((*C0, "readinessProbe", "path"), "containers-0-readinessProbe-path"),
        ((*C1, "livenessProbe", "periodSeconds"), "containers-1-livenessProbe-periodSeconds"),
        ((*C1, "startupProbe"), "containers-1-startupProbe-enabled"),
    ],
)
def test_a_problem_location_maps_to_its_field(loc: tuple[Any, ...], field: str) -> None:
    assert field_for_loc(loc) == field


@pytest.mark.parametrize(
    "loc",
    [
        ("artifactRepositoryId",),
        ("tags", 0, "name"),
        ("spec",),
        ("spec", "containerGroups", 0, "name"),
        ("spec", "containerGroups", 1, "containers", 0, "port"),
        (*C0, "imageBuildConfig", "codeRef"),
    ],
)
def test_problems_without_an_input_have_no_field(loc: tuple[Any, ...]) -> None:
    expected = "containers-0-source" if loc[-1] == "codeRef" else None
    assert field_for_loc(loc) == expected


def test_the_validators_problems_all_map_to_fields_of_the_body_they_concern() -> None:
    body = artifact_body()
    containers = body["spec"]["containerGroups"][0]["containers"]
    containers[0]["port"] = 80
    containers[1]["port"] = 9000
    containers[1]["environmentVars"] = [{"name": "A", "value": "1"}, {"name": "A", "value": "2"}]
    with pytest.raises(Invalid) as raised:
        spec_normalized(body["spec"], artifact_type="service", status="draft")
    fields = {field_for_loc(p.loc) for p in raised.value.problems}
    assert fields == {"containers-0-port", "containers-1-port", "containers-1-env-1-name"}
    assert fields <= set(fields_from_body(body))


def test_removing_a_container_moves_the_later_ones_values_up() -> None:
    post = as_post(
        {
            "primary": "0",
            "containers-0-name": "web",
            "containers-0-source": "image",
            "containers-1-name": "gone",
            "containers-1-source": "image",
            "containers-2-name": "proxy",
            "containers-2-source": "build",
            "containers-2-imageUri": "kept-while-hidden",
        }
    )
    body = body_from_post(post)
    carried = apply_action("remove-container-1", body, carried_values(post))
    names = [c["name"] for c in body["spec"]["containerGroups"][0]["containers"]]
    assert names == ["web", "proxy"]
    assert carried["containers-1-imageUri"] == "kept-while-hidden"
    assert "containers-2-name" not in carried
    assert "primary" not in carried


def test_adding_and_removing_environment_variables() -> None:
    body = artifact_body()
    body["spec"]["containerGroups"][0]["containers"][1]["environmentVars"] = [
        {"name": "A", "value": "1"},
        {"name": "B", "value": "2"},
    ]
    apply_action("add-env-0", body, {})
    carried = apply_action(
        "remove-env-1-0", body, {"containers-1-env-0-name": "A", "containers-1-env-1-name": "B"}
    )
    containers = body["spec"]["containerGroups"][0]["containers"]
    assert containers[0]["environmentVars"] == [{"name": "", "value": ""}]
    assert containers[1]["environmentVars"] == [{"name": "B", "value": "2"}]
    assert carried == {"containers-1-env-0-name": "B"}


def test_actions_naming_rows_that_do_not_exist_change_nothing() -> None:
    body = artifact_body()
    before = json.dumps(body)
    for action in ("remove-container-7", "add-env-9", "remove-env-0-3", "remove-env-x-0", "nope"):
        apply_action(action, body, {})
    assert json.dumps(body) == before
