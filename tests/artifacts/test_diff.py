"""``spec_diff``: field-level changes, with named things matched by name, not position."""

from __future__ import annotations

import copy
from types import SimpleNamespace
from typing import Any

from artifacts.diff import Change, artifact_diff, path_label, spec_diff
from tests.conftest import artifact_body, primary_container, sidecar_container

WEB = "containerGroups[default].containers[web]"
PROXY = "containerGroups[default].containers[proxy]"


def spec(*containers: dict[str, Any], group: str = "default") -> dict[str, Any]:
    return {"containerGroups": [{"name": group, "containers": list(containers)}]}


def base() -> dict[str, Any]:
    return copy.deepcopy(artifact_body()["spec"])


def test_identical_specs_have_no_changes() -> None:
    assert spec_diff(base(), base()) == []


def test_a_changed_scalar_is_one_change_with_both_values() -> None:
    after = base()
    after["containerGroups"][0]["containers"][0]["port"] = 9090

    assert spec_diff(base(), after) == [Change(f"{WEB}.port", "changed", 8080, 9090)]


def test_inserting_a_sidecar_before_others_shows_only_the_new_container() -> None:
    before = spec(primary_container(), sidecar_container())
    metrics = sidecar_container(name="metrics", imageUri="registry.example.com/metrics:1")
    after = spec(metrics, primary_container(), sidecar_container())

    assert spec_diff(before, after) == [
        Change("containerGroups[default].containers[metrics]", "added", None, metrics)
    ]


def test_a_removed_container_is_one_removal_carrying_the_old_container() -> None:
    before = spec(primary_container(), sidecar_container())

    changes = spec_diff(before, spec(primary_container()))

    assert changes == [Change(PROXY, "removed", sidecar_container(), None)]


def test_reordering_containers_is_not_a_change() -> None:
    before = spec(primary_container(), sidecar_container())
    after = spec(sidecar_container(), primary_container())

    assert spec_diff(before, after) == []


def test_renaming_a_container_is_a_removal_and_an_addition() -> None:
    renamed = sidecar_container(name="envoy")

    changes = spec_diff(
        spec(primary_container(), sidecar_container()), spec(primary_container(), renamed)
    )

    assert [(c.path, c.kind) for c in changes] == [
        (PROXY, "removed"),
        ("containerGroups[default].containers[envoy]", "added"),
    ]


def test_environment_variables_are_matched_by_name() -> None:
    before = spec(
        primary_container(
            environmentVars=[{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
        )
    )
    after = spec(
        primary_container(
            environmentVars=[
                {"name": "NEW", "value": "x"},
                {"name": "B", "value": "3"},
                {"name": "A", "value": "1"},
            ]
        )
    )

    assert spec_diff(before, after) == [
        Change(f"{WEB}.environmentVars[B].value", "changed", "2", "3"),
        Change(f"{WEB}.environmentVars[NEW]", "added", None, {"name": "NEW", "value": "x"}),
    ]


def test_the_first_environment_variable_is_an_addition_not_a_replaced_list() -> None:
    before = spec(primary_container(environmentVars=[]))
    after = spec(primary_container(environmentVars=[{"name": "LOG", "value": "debug"}]))

    assert spec_diff(before, after) == [
        Change(f"{WEB}.environmentVars[LOG]", "added", None, {"name": "LOG", "value": "debug"})
    ]


def test_groups_are_matched_by_name_and_an_unnamed_group_is_the_default() -> None:
    unnamed = {"containerGroups": [{"containers": [primary_container()]}]}
    named = spec(primary_container())
    other = {
        "containerGroups": [
            {"name": "gpu", "containers": [primary_container(name="model")]},
            {"name": "default", "containers": [primary_container()]},
        ]
    }

    assert spec_diff(unnamed, named) == [
        Change("containerGroups[default].name", "added", None, "default")
    ]
    assert [(c.path, c.kind) for c in spec_diff(named, other)] == [
        ("containerGroups[gpu]", "added")
    ]


def test_the_same_container_name_in_two_groups_is_two_different_containers() -> None:
    before = {
        "containerGroups": [
            {"name": "a", "containers": [primary_container()]},
            {"name": "b", "containers": [primary_container()]},
        ]
    }
    after = copy.deepcopy(before)
    after["containerGroups"][1]["containers"][0]["imageUri"] = "registry.example.com/web:2"

    assert spec_diff(before, after) == [
        Change(
            "containerGroups[b].containers[web].imageUri",
            "changed",
            "registry.example.com/team/web:1.0",
            "registry.example.com/web:2",
        )
    ]


def test_nested_probe_fields_and_optional_fields_added_and_removed() -> None:
    before = spec(primary_container(livenessProbe={"path": "/live"}))
    after = spec(
        primary_container(readinessProbe={"path": "/healthz"}, entrypoint=["python", "app.py"])
    )

    assert spec_diff(before, after) == [
        Change(f"{WEB}.readinessProbe.path", "changed", "/ready", "/healthz"),
        Change(f"{WEB}.livenessProbe", "removed", {"path": "/live"}, None),
        Change(f"{WEB}.entrypoint", "added", None, ["python", "app.py"]),
    ]


def test_an_entrypoint_compares_as_one_value() -> None:
    before = spec(primary_container(entrypoint=["python", "app.py"]))
    after = spec(primary_container(entrypoint=["python", "-u", "app.py"]))

    assert spec_diff(before, after) == [
        Change(f"{WEB}.entrypoint", "changed", ["python", "app.py"], ["python", "-u", "app.py"])
    ]


def test_switching_from_image_to_build_shows_both_fields() -> None:
    build = {"dockerfile": {"source": "provided", "path": "./Dockerfile"}}
    before = spec(primary_container())
    after_container = primary_container(imageBuildConfig=build)
    del after_container["imageUri"]

    assert spec_diff(before, spec(after_container)) == [
        Change(f"{WEB}.imageUri", "removed", "registry.example.com/team/web:1.0", None),
        Change(f"{WEB}.imageBuildConfig", "added", None, build),
    ]


def test_a_value_changing_type_is_a_change() -> None:
    before = spec(primary_container(readinessProbe={"path": "/ready"}))
    after = spec(primary_container(readinessProbe=None))

    assert spec_diff(before, after) == [
        Change(f"{WEB}.readinessProbe", "changed", {"path": "/ready"}, None)
    ]


def test_lists_with_repeated_names_fall_back_to_comparing_whole_values() -> None:
    twice = [{"name": "A", "value": "1"}, {"name": "A", "value": "2"}]
    before = spec(primary_container(environmentVars=twice))
    after = spec(primary_container(environmentVars=[{"name": "A", "value": "1"}]))

    assert spec_diff(before, after) == [
        Change(f"{WEB}.environmentVars", "changed", twice, [{"name": "A", "value": "1"}])
    ]


def test_storage_of_nim_artifacts_is_compared_field_by_field() -> None:
    before = {**spec(primary_container()), "storage": {"mode": "dedicatedPvc", "pvcSize": "50Gi"}}
    after = {**spec(primary_container()), "storage": {"mode": "nimCache"}}

    assert spec_diff(before, after) == [
        Change("storage.mode", "changed", "dedicatedPvc", "nimCache"),
        Change("storage.pvcSize", "removed", "50Gi", None),
    ]


def test_artifact_diff_compares_name_and_description_too() -> None:
    before = SimpleNamespace(name="web", description="old", spec=base())
    after_spec = base()
    after_spec["containerGroups"][0]["containers"][1]["imageUri"] = "registry.example.com/p:3"
    after = SimpleNamespace(name="web-v2", description="old", spec=after_spec)

    assert artifact_diff(before, after) == [
        Change("name", "changed", "web", "web-v2"),
        Change(
            f"spec.{PROXY}.imageUri",
            "changed",
            "registry.example.com/team/proxy:2.0",
            "registry.example.com/p:3",
        ),
    ]


def test_path_label_names_containers_instead_of_indexing_them() -> None:
    document = {"spec": base()}

    assert (
        path_label(("spec", "containerGroups", 0, "containers", 1, "imageUri"), document)
        == f"spec.{PROXY}.imageUri"
    )
    assert path_label(("name",), document) == "name"


def test_path_label_keeps_indices_it_cannot_name() -> None:
    document = {"spec": spec(primary_container(entrypoint=["a", "b"]))}

    assert (
        path_label(("spec", "containerGroups", 0, "containers", 0, "entrypoint", 1), document)
        == f"spec.{WEB}.entrypoint[1]"
    )
    assert (
        path_label(("spec", "containerGroups", 5, "containers", 0), document)
        == "spec.containerGroups[5].containers[0]"
    )
