"""The draft editor's form: HTML form fields to and from the wire-shaped artifact body.

The editor checks no rule itself. ``body_from_post`` only parses what the browser sends
(numbers, the primary radio, check boxes, the entrypoint's shell words) into the body the
JSON API would take, and the services validate that body and report every problem at once;
``field_for_loc`` puts each problem next to the input it concerns. The editor is always
rendered from a body (``fields_from_body``): the stored artifact on first load, the posted
body after a save or an add/remove, so there is one rendering path.

Field names: ``name``, ``description``, ``type``, ``group-name``, ``storage-mode``,
``storage-pvcSize``, ``primary`` (the primary container's index) and, per container,
``containers-<i>-<field>``: ``name``, ``source`` (``image`` | ``build``), ``imageUri``,
``port``, ``entrypoint``, ``codeRef``, ``dockerfile-<source|path|executionEnvironmentId|
executionEnvironmentVersionId|entrypoint>``, ``env-<j>-name``, ``env-<j>-value`` and
``<probe>-<path|port|initialDelaySeconds|periodSeconds|timeoutSeconds|failureThreshold>``
with ``<probe>-enabled`` for the optional liveness and startup probes.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from typing import Any

from django.http import QueryDict

from artifacts.constants import DEFAULT_GROUP_NAME
from console.errors import Loc

PROBES = ("readinessProbe", "livenessProbe", "startupProbe")
# Readiness has no "enabled" box: it is present when any of its fields is filled in, and the
# validators say when the primary lacks one. Liveness and startup are opt-in.
OPTIONAL_PROBES = ("livenessProbe", "startupProbe")
PROBE_NUMBERS = (
    "port",
    "initialDelaySeconds",
    "periodSeconds",
    "timeoutSeconds",
    "failureThreshold",
)
GENERATED_IDS = ("executionEnvironmentId", "executionEnvironmentVersionId")
DOCKERFILE_FIELDS = ("path", *GENERATED_IDS, "entrypoint")
CONTAINER_TEXT_FIELDS = ("name", "imageUri", "port", "entrypoint")

Values = dict[str, str]


def body_from_post(data: QueryDict | Mapping[str, str]) -> dict[str, Any]:
    """The artifact body (``name``, ``description``, ``type``, ``spec``) that the form holds."""
    values = _plain(data)
    body: dict[str, Any] = {
        "name": values.get("name", ""),
        "description": values.get("description", ""),
    }
    if values.get("type"):
        body["type"] = values["type"]
    group: dict[str, Any] = {}
    if values.get("group-name"):
        group["name"] = values["group-name"]
    primary = values.get("primary")
    group["containers"] = [
        _container(values, f"containers-{i}", primary == str(i))
        for i in _indices(values, "containers")
    ]
    spec: dict[str, Any] = {"containerGroups": [group]}
    # The storage inputs apply to NIM artifacts only; for a service they are hidden, like
    # the inactive side of the image-or-build toggle, and their values are not part of it.
    storage = _storage(values) if body.get("type") == "nim" else {}
    if storage:
        spec["storage"] = storage
    body["spec"] = spec
    return body


def fields_from_body(body: Mapping[str, Any]) -> Values:
    """The form's field values for ``body``; the editor shows the first container group."""
    values: Values = {
        "name": _text(body.get("name")),
        "description": _text(body.get("description")),
        "type": _text(body.get("type")),
    }
    spec = _mapping(body.get("spec"))
    groups = spec.get("containerGroups")
    group = _mapping(groups[0]) if isinstance(groups, list) and groups else {}
    if "name" in group:
        values["group-name"] = _text(group["name"])
    containers = [_mapping(c) for c in _list(group.get("containers"))]
    for i, container in enumerate(containers):
        implicit_primary = len(containers) == 1 and container.get("primary") is None
        if container.get("primary") is True or implicit_primary:
            values["primary"] = str(i)
        values.update(_container_fields(f"containers-{i}", container))
    storage = _mapping(spec.get("storage"))
    for key in ("mode", "pvcSize"):
        if key in storage:
            values[f"storage-{key}"] = _text(storage[key])
    return values


def containers_of(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The containers of the first group: the ones the editor shows and changes."""
    containers: list[dict[str, Any]] = body["spec"]["containerGroups"][0]["containers"]
    return containers


def field_for_loc(loc: Loc) -> str | None:
    """The name of the input that a problem at ``loc`` (a path into the body) concerns.

    None for places the editor has no input for; those problems go to the banner.
    Some names are anchors rather than inputs: ``containers`` (the list as a whole),
    ``containers-<i>-primary``, ``containers-<i>-source``, ``containers-<i>-env``.
    """
    match loc:
        case ("name" | "description" | "type" as field,):
            return field
        case ("spec", "storage"):
            return "storage-mode"
        case ("spec", "storage", "mode" | "pvcSize" as field, *_):
            return f"storage-{field}"
        case ("spec", "containerGroups", 0, "containers"):
            return "containers"
        case ("spec", "containerGroups", 0, "containers", int() as i, *rest):
            return _container_field(f"containers-{i}", rest)
    return None


def _container_field(prefix: str, rest: list[Any]) -> str | None:
    match rest:
        case [] | ["name", *_]:
            return f"{prefix}-name"
        case [("imageUri" | "port" | "entrypoint") as field, *_]:
            return f"{prefix}-{field}"
        case ["primary", *_]:
            return f"{prefix}-primary"
        case ["imageBuildConfig", "dockerfile", str() as field, *_] if field in DOCKERFILE_FIELDS:
            return f"{prefix}-dockerfile-{field}"
        case ["imageBuildConfig", "dockerfile", *_]:
            return f"{prefix}-dockerfile-source"
        case ["imageBuildConfig", *_]:
            return f"{prefix}-source"
        case ["environmentVars", int() as j, "value", *_]:
            return f"{prefix}-env-{j}-value"
        case ["environmentVars", int() as j, *_]:
            return f"{prefix}-env-{j}-name"
        case ["environmentVars", *_]:
            return f"{prefix}-env"
        case [str() as probe, str() as field, *_] if probe in PROBES and (
            field == "path" or field in PROBE_NUMBERS
        ):
            return f"{prefix}-{probe}-{field}"
        case [str() as probe, *_] if probe in OPTIONAL_PROBES:
            return f"{prefix}-{probe}-enabled"
        case ["readinessProbe", *_]:
            return f"{prefix}-readinessProbe-path"
    return None


def blank_body(artifact_type: str) -> dict[str, Any]:
    """A new artifact: one primary container, nothing filled in."""
    return {
        "name": "",
        "description": "",
        "type": artifact_type,
        "spec": {
            "containerGroups": [
                {"name": DEFAULT_GROUP_NAME, "containers": [{"name": "", "primary": True}]}
            ]
        },
    }


def carried_values(data: QueryDict) -> Values:
    """What was posted, kept to re-render inputs that are not part of the body (the hidden
    side of a toggle, a disabled probe) so that nothing typed is lost. The body decides
    which container is primary: a stale radio value must not pick another one."""
    return {key: value for key, value in _plain(data).items() if key != "primary"}


def apply_action(action: str, body: dict[str, Any], carried: Values) -> Values:
    """Add or remove a container or an environment variable in ``body`` (in place).

    Returns the carried values with the rows after a removed one moved up, so that they
    stay with their container. Actions naming rows that do not exist change nothing.
    """
    containers = containers_of(body)
    match action.split("-"):
        case ["add", "container"]:
            containers.append({"name": "", "primary": not containers})
        case ["remove", "container", i] if _row(i, containers) is not None:
            del containers[int(i)]
            carried = _without_row(carried, "containers", int(i))
        case ["add", "env", i] if (container := _row(i, containers)) is not None:
            container.setdefault("environmentVars", []).append({"name": "", "value": ""})
        case ["remove", "env", i, j] if (container := _row(i, containers)) is not None:
            env = container.get("environmentVars", [])
            if _row(j, env) is not None:
                del env[int(j)]
                carried = _without_row(carried, f"containers-{i}-env", int(j))
    return carried


def _row(index: str, rows: list[Any]) -> Any:
    return (
        rows[int(index)] if index.isascii() and index.isdigit() and int(index) < len(rows) else None
    )


def _without_row(values: Values, prefix: str, removed: int) -> Values:
    row = re.compile(rf"^{re.escape(prefix)}-([0-9]+)-(.+)$")
    kept: Values = {}
    for key, value in values.items():
        match = row.match(key)
        if match is None or int(match.group(1)) < removed:
            kept[key] = value
        elif int(match.group(1)) > removed:
            kept[f"{prefix}-{int(match.group(1)) - 1}-{match.group(2)}"] = value
    return kept


def _container(values: Values, prefix: str, is_primary: bool) -> dict[str, Any]:
    def get(field: str) -> str:
        return values.get(f"{prefix}-{field}", "")

    container: dict[str, Any] = {"name": get("name"), "primary": is_primary}
    if get("source") == "build":
        container["imageBuildConfig"] = _build_config(values, prefix)
    elif get("imageUri"):
        container["imageUri"] = get("imageUri")
    port = _number(get("port"))
    if port is not None:
        container["port"] = port
    entrypoint = _words(get("entrypoint"))
    if entrypoint is not None:
        container["entrypoint"] = entrypoint
    env = [
        {"name": get(f"env-{j}-name"), "value": get(f"env-{j}-value")}
        for j in _indices(values, f"{prefix}-env")
    ]
    if env:
        container["environmentVars"] = env
    for probe_key in PROBES:
        probe = _probe(values, f"{prefix}-{probe_key}")
        enabled = (
            bool(probe) if probe_key not in OPTIONAL_PROBES else bool(get(f"{probe_key}-enabled"))
        )
        if enabled:
            container[probe_key] = probe
    return container


def _build_config(values: Values, prefix: str) -> dict[str, Any]:
    def get(field: str) -> str:
        return values.get(f"{prefix}-{field}", "")

    dockerfile: dict[str, Any] = {"source": get("dockerfile-source") or "provided"}
    if dockerfile["source"] == "generated":
        for key in GENERATED_IDS:
            if get(f"dockerfile-{key}"):
                dockerfile[key] = get(f"dockerfile-{key}")
        entrypoint = _words(get("dockerfile-entrypoint"))
        if entrypoint is not None:
            dockerfile["entrypoint"] = entrypoint
    elif get("dockerfile-path"):
        dockerfile["path"] = get("dockerfile-path")
    config: dict[str, Any] = {"dockerfile": dockerfile}
    # Set by the source upload, never typed: carried in a hidden input so a save keeps it.
    if get("codeRef"):
        config["codeRef"] = get("codeRef")
    return config


def _probe(values: Values, prefix: str) -> dict[str, Any]:
    probe: dict[str, Any] = {}
    if values.get(f"{prefix}-path"):
        probe["path"] = values[f"{prefix}-path"]
    for key in PROBE_NUMBERS:
        number = _number(values.get(f"{prefix}-{key}", ""))
        if number is not None:
            probe[key] = number
    return probe


def _storage(values: Values) -> dict[str, Any]:
    return {
        key: values[f"storage-{key}"] for key in ("mode", "pvcSize") if values.get(f"storage-{key}")
    }


def _container_fields(prefix: str, container: Mapping[str, Any]) -> Values:
    values = {
        f"{prefix}-{field}": _text(container[field])
        for field in CONTAINER_TEXT_FIELDS
        if field in container
    }
    build = container.get("imageBuildConfig")
    values[f"{prefix}-source"] = "build" if build is not None else "image"
    if build is not None:
        build = _mapping(build)
        dockerfile = _mapping(build.get("dockerfile"))
        values[f"{prefix}-dockerfile-source"] = _text(dockerfile.get("source", "provided"))
        values.update(
            {
                f"{prefix}-dockerfile-{k}": _text(dockerfile[k])
                for k in DOCKERFILE_FIELDS
                if k in dockerfile
            }
        )
        if build.get("codeRef"):
            values[f"{prefix}-codeRef"] = _text(build["codeRef"])
    for j, var in enumerate(_list(container.get("environmentVars"))):
        var = _mapping(var)
        values[f"{prefix}-env-{j}-name"] = _text(var.get("name"))
        values[f"{prefix}-env-{j}-value"] = _text(var.get("value"))
    for probe_key in PROBES:
        if container.get(probe_key) is None:
            continue
        probe = _mapping(container[probe_key])
        if probe_key in OPTIONAL_PROBES:
            values[f"{prefix}-{probe_key}-enabled"] = "on"
        for key in ("path", *PROBE_NUMBERS):
            if key in probe:
                values[f"{prefix}-{probe_key}-{key}"] = _text(probe[key])
    return values


def _indices(values: Values, prefix: str) -> list[int]:
    """The row numbers present under ``prefix`` (``containers``, ``containers-0-env``)."""
    row = re.compile(rf"^{re.escape(prefix)}-([0-9]+)-[A-Za-z]")
    return sorted({int(m.group(1)) for key in values if (m := row.match(key))})


def _number(text: str) -> int | str | None:
    """Blank is "not given"; a number that does not parse goes on as typed, so the
    validator reports it at its place and the editor shows it again as it was."""
    if not text.strip():
        return None
    if re.fullmatch(r"\s*-?[0-9]+\s*", text):
        return int(text)
    return text


def _words(text: str) -> list[str] | str | None:
    """Shell-style words (``python -m app --port 8080``); unbalanced quotes go on as typed."""
    if not text.strip():
        return None
    try:
        return shlex.split(text)
    except ValueError:
        return text


def _plain(data: QueryDict | Mapping[str, str]) -> Values:
    """One value per field: the last, as Django reads a form."""
    return {key: str(data[key]) for key in data}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return shlex.join(str(word) for word in value)
    return str(value)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
