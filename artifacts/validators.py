"""Every rule of an artifact's body, in one module.

The typed schemas below describe the wire shape (camelCase, unknown fields rejected) and
the rules that concern one field. ``_spec_rules`` adds the rules that span fields
(exactly one primary, image xor build, ports, required probes, unique names, storage by
type). Both run on every call and all problems are reported together, each with ``loc``:
the JSON path into the request body.

The API, the services, the console's forms and the management commands all call
``validate_artifact_fields`` / ``validate_spec``; nothing else re-implements a rule.
"""

from __future__ import annotations

import copy
import posixpath
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any, Literal

import pydantic
from pydantic import AfterValidator, Field, TypeAdapter
from pydantic_core import PydanticCustomError

from artifacts import constants as c
from artifacts.constants import ArtifactStatus, ArtifactType
from artifacts.containers import containers as stored_containers
from console.errors import Invalid, Loc, Problem
from console.ids import OBJECT_ID_PATTERN, is_object_id
from console.wire import WireModel, problems_from_pydantic, strict_json_validate

_DOCKERFILE_SOURCES = frozenset({"provided", "generated"})


def _dns_label(value: str) -> str:
    if not re.fullmatch(c.CONTAINER_NAME_PATTERN, value):
        raise PydanticCustomError(
            "dns_label",
            "Use 1-63 lowercase letters, digits or '-', starting with a letter and ending "
            "with a letter or digit.",
        )
    return value


def _relative_inside(value: str) -> str:
    normalized = posixpath.normpath(value)
    if posixpath.isabs(value) or normalized == ".." or normalized.startswith("../"):
        raise PydanticCustomError(
            "path_outside_source", "Use a relative path that stays inside the uploaded source."
        )
    return value


def _object_id(value: str) -> str:
    if not is_object_id(value):
        raise PydanticCustomError("object_id", "Use an id of 24 lowercase hex characters.")
    return value


DnsLabel = Annotated[
    str, AfterValidator(_dns_label), Field(json_schema_extra={"pattern": c.CONTAINER_NAME_PATTERN})
]
ObjectId = Annotated[
    str, AfterValidator(_object_id), Field(json_schema_extra={"pattern": OBJECT_ID_PATTERN})
]
Port = Annotated[int, Field(ge=1, le=c.PORT_MAX)]
NonBlank = Annotated[str, Field(min_length=1, pattern=r"\S")]


class Probe(WireModel):
    """An HTTP health probe. ``port`` defaults to the container's port."""

    path: Annotated[str, Field(pattern=r"^/", max_length=2048)]
    port: Port | None = None
    initial_delay_seconds: Annotated[int, Field(ge=0)] = 0
    period_seconds: Annotated[int, Field(ge=1)] = 10
    timeout_seconds: Annotated[int, Field(ge=1)] = 1
    failure_threshold: Annotated[int, Field(ge=1)] = 3


class EnvironmentVar(WireModel):
    name: Annotated[str, Field(pattern=c.ENV_VAR_NAME_PATTERN, max_length=255)]
    value: Annotated[str, Field(max_length=32_768)] = ""


class ProvidedDockerfile(WireModel):
    """The uploaded source's own Dockerfile."""

    source: Literal["provided"]
    path: Annotated[str, AfterValidator(_relative_inside), Field(min_length=1)] = (
        c.DEFAULT_DOCKERFILE_PATH
    )


class GeneratedDockerfile(WireModel):
    """A Dockerfile generated from an execution environment version's base image."""

    source: Literal["generated"]
    execution_environment_id: ObjectId
    execution_environment_version_id: ObjectId
    entrypoint: list[NonBlank] | None = None


class ImageBuildConfig(WireModel):
    dockerfile: Annotated[
        ProvidedDockerfile | GeneratedDockerfile, Field(discriminator="source")
    ] = Field(default_factory=lambda: ProvidedDockerfile(source="provided"))
    # Set by the source upload; never chosen by the caller.
    code_ref: str | None = None


class Container(WireModel):
    name: DnsLabel
    primary: bool | None = None
    image_uri: Annotated[str, Field(min_length=1, max_length=2048, pattern=r"^\S+$")] | None = None
    image_build_config: ImageBuildConfig | None = None
    port: Annotated[int, Field(ge=c.PRIMARY_PORT_MIN, le=c.PORT_MAX)] | None = None
    entrypoint: list[NonBlank] | None = None
    environment_vars: list[EnvironmentVar] = Field(default_factory=list)
    readiness_probe: Probe | None = None
    liveness_probe: Probe | None = None
    startup_probe: Probe | None = None


class ContainerGroup(WireModel):
    name: DnsLabel = c.DEFAULT_GROUP_NAME
    containers: Annotated[list[Container], Field(min_length=1)]


class NimStorage(WireModel):
    mode: Literal["dedicatedPvc", "nimCache"] = "dedicatedPvc"
    pvc_size: Annotated[str, Field(pattern=c.PVC_SIZE_PATTERN)] | None = None


class ArtifactSpec(WireModel):
    """What an artifact runs: groups of containers, and storage for NIM artifacts."""

    container_groups: Annotated[list[ContainerGroup], Field(min_length=1)]
    storage: NimStorage | None = None


class Tag(WireModel):
    name: Annotated[str, Field(min_length=1, max_length=c.TAG_NAME_MAX_LENGTH)]
    value: Annotated[str, Field(max_length=c.TAG_VALUE_MAX_LENGTH)] = ""


ArtifactName = Annotated[str, Field(min_length=1, max_length=c.NAME_MAX_LENGTH, pattern=r"\S")]
Description = Annotated[str, Field(max_length=c.DESCRIPTION_MAX_LENGTH)]
Tags = Annotated[list[Tag], Field(max_length=c.MAX_TAGS)]

_SPEC = TypeAdapter(ArtifactSpec)
FIELD_TYPES: dict[str, TypeAdapter[Any]] = {
    "name": TypeAdapter(ArtifactName),
    "description": TypeAdapter(Description),
    "type": TypeAdapter(Literal["service", "nim"]),
    "tags": TypeAdapter(Tags),
}
PROBE_FIELDS = ("readinessProbe", "livenessProbe", "startupProbe")


def field_problems(fields: Mapping[str, Any]) -> list[Problem]:
    """Problems of the plain fields given (``name``, ``description``, ``type``, ``tags``)."""
    problems: list[Problem] = []
    for field, value in fields.items():
        try:
            strict_json_validate(FIELD_TYPES[field], value)
        except pydantic.ValidationError as error:
            problems.extend(problems_from_pydantic(error, field))
    return problems


def tags_normalized(tags: Any) -> list[dict[str, str]]:
    validated = strict_json_validate(FIELD_TYPES["tags"], tags)
    return [tag.model_dump(by_alias=True) for tag in validated]


def spec_problems(spec: Any, *, artifact_type: str, status: str) -> list[Problem]:
    """Every problem of ``spec`` for an artifact of this type and status, paths under ``spec``."""
    try:
        strict_json_validate(_SPEC, spec)
        problems: list[Problem] = []
    except pydantic.ValidationError as error:
        problems = [_without_union_tag(p) for p in problems_from_pydantic(error, "spec")]
    reported = {p.loc for p in problems}
    problems.extend(p for p in _spec_rules(spec, artifact_type, status) if p.loc not in reported)
    return problems


def _without_union_tag(problem: Problem) -> Problem:
    """Drop the tag pydantic puts after ``dockerfile`` (``dockerfile.provided.path``).

    Only there: a part elsewhere that happens to read ``provided`` or ``generated`` (an
    unknown field of that name, say) is the caller's own and stays in the path.
    """
    loc = problem.loc
    for i in range(1, len(loc)):
        if loc[i - 1] == "dockerfile" and loc[i] in _DOCKERFILE_SOURCES:
            return Problem((*loc[:i], *loc[i + 1 :]), problem.msg, problem.type)
    return problem


def spec_normalized(spec: Any, *, artifact_type: str, status: str) -> dict[str, Any]:
    """The valid spec with defaults filled in, or Invalid with every problem."""
    problems = spec_problems(spec, artifact_type=artifact_type, status=status)
    if problems:
        raise Invalid(problems)
    typed: ArtifactSpec = strict_json_validate(_SPEC, spec)
    for group in typed.container_groups:
        single = len(group.containers) == 1
        for container in group.containers:
            container.primary = bool(container.primary) or single
            for probe_field in ("readiness_probe", "liveness_probe", "startup_probe"):
                probe = getattr(container, probe_field)
                if probe is not None and probe.port is None:
                    probe.port = container.port
    return typed.model_dump(by_alias=True, exclude_none=True)


def validate_artifact(
    fields: Mapping[str, Any], *, artifact_type: str, status: str
) -> dict[str, Any]:
    """Validate plain fields and (when present) ``spec`` together; report all problems at once.

    Returns the fields ready to store: tags and spec normalized.
    """
    plain = {k: v for k, v in fields.items() if k != "spec"}
    problems = field_problems(plain)
    if "spec" in fields:
        problems += spec_problems(fields["spec"], artifact_type=artifact_type, status=status)
    if problems:
        raise Invalid(problems)
    cleaned = dict(fields)
    if "tags" in cleaned:
        cleaned["tags"] = tags_normalized(cleaned["tags"])
    if "name" in cleaned:
        cleaned["name"] = cleaned["name"].strip()
    if "spec" in cleaned:
        cleaned["spec"] = spec_normalized(
            cleaned["spec"], artifact_type=artifact_type, status=status
        )
    return cleaned


def image_problems_for_lock(spec: Mapping[str, Any]) -> list[Problem]:
    """A lock needs a built image in every container."""
    problems = []
    for gi, ci, container in _containers(spec):
        if not container.get("imageUri"):
            problems.append(
                Problem(
                    loc=("spec", "containerGroups", gi, "containers", ci, "imageUri"),
                    msg="Every container needs an imageUri before the artifact can be locked; "
                    "build this container's image first.",
                    type="image_missing",
                )
            )
    return problems


def _containers(spec: Any) -> Iterable[tuple[int, int, dict[str, Any]]]:
    groups = spec.get("containerGroups") if isinstance(spec, Mapping) else None
    for gi, group in enumerate(groups if isinstance(groups, list) else []):
        containers = group.get("containers") if isinstance(group, Mapping) else None
        for ci, container in enumerate(containers if isinstance(containers, list) else []):
            if isinstance(container, Mapping):
                yield gi, ci, dict(container)


def _spec_rules(spec: Any, artifact_type: str, status: str) -> list[Problem]:
    """The rules that span fields. Tolerates a malformed spec: the schema reports that."""
    if not isinstance(spec, Mapping):
        return []
    problems: list[Problem] = []
    groups = spec.get("containerGroups")
    groups = groups if isinstance(groups, list) else []
    problems += _duplicates(
        [
            (gi, g.get("name", c.DEFAULT_GROUP_NAME))
            for gi, g in enumerate(groups)
            if isinstance(g, Mapping)
        ],
        lambda gi: ("spec", "containerGroups", gi, "name"),
        "Container group names must be unique.",
    )
    for gi, group in enumerate(groups):
        if isinstance(group, Mapping) and isinstance(group.get("containers"), list):
            problems += _group_rules(gi, group["containers"], artifact_type, status)
    storage = spec.get("storage")
    if storage is not None:
        if artifact_type != ArtifactType.NIM:
            problems.append(
                Problem(
                    ("spec", "storage"), "Only nim artifacts take storage.", "storage_not_allowed"
                )
            )
        elif (
            isinstance(storage, Mapping)
            and storage.get("mode") == "nimCache"
            and storage.get("pvcSize") is not None
        ):
            problems.append(
                Problem(
                    ("spec", "storage", "pvcSize"),
                    "pvcSize applies only to mode dedicatedPvc.",
                    "pvc_size_not_allowed",
                )
            )
    return problems


def _group_rules(gi: int, containers: list[Any], artifact_type: str, status: str) -> list[Problem]:
    here = ("spec", "containerGroups", gi, "containers")
    entries = [(ci, ct) for ci, ct in enumerate(containers) if isinstance(ct, Mapping)]
    problems = _duplicates(
        [(ci, ct.get("name")) for ci, ct in entries],
        lambda ci: (*here, ci, "name"),
        "Container names must be unique within their group.",
    )
    single = len(containers) == 1
    primaries = [ci for ci, ct in entries if ct.get("primary") is True]
    if not single and len(primaries) != 1:
        problems.append(
            Problem(
                here,
                f"Exactly one container of a group must be primary; found {len(primaries)}.",
                "primary_count",
            )
        )
    for ci, container in entries:
        # With no or several primaries, which container is the primary is unknown; the
        # count is reported once instead of port and probe rules on every container.
        is_primary = True if single else (ci in primaries if len(primaries) == 1 else None)
        problems += _container_rules((*here, ci), container, is_primary, artifact_type, status)
    return problems


def _container_rules(
    loc: tuple[str | int, ...],
    container: Mapping[str, Any],
    is_primary: bool | None,
    artifact_type: str,
    status: str,
) -> list[Problem]:
    problems: list[Problem] = []
    has_image = container.get("imageUri") is not None
    has_build = container.get("imageBuildConfig") is not None
    if has_build and artifact_type != ArtifactType.SERVICE:
        problems.append(
            Problem(
                (*loc, "imageBuildConfig"),
                "Only service artifacts are built from source.",
                "build_not_allowed",
            )
        )
    elif has_build and status == ArtifactStatus.LOCKED:
        problems.append(
            Problem(
                (*loc, "imageBuildConfig"),
                "A locked artifact cannot build images; only drafts take imageBuildConfig.",
                "build_not_allowed",
            )
        )
    elif has_image and has_build and not _built(container):
        problems.append(
            Problem(
                (*loc, "imageBuildConfig"),
                "Set imageUri or imageBuildConfig, not both (a build fills in imageUri, "
                "pinned by digest).",
                "image_source",
            )
        )
    elif not has_image and not has_build:
        problems.append(
            Problem((*loc, "imageUri"), "Set imageUri or imageBuildConfig.", "image_source")
        )

    has_port = container.get("port") is not None
    if is_primary is True and not has_port:
        problems.append(
            Problem(
                (*loc, "port"),
                f"The primary container must set a port ({c.PRIMARY_PORT_MIN}-{c.PORT_MAX}).",
                "port_required",
            )
        )
    elif is_primary is False and has_port:
        problems.append(
            Problem(
                (*loc, "port"),
                "A sidecar must not set a port; only the primary serves traffic.",
                "port_not_allowed",
            )
        )
    if is_primary is True and container.get("readinessProbe") is None:
        problems.append(
            Problem(
                (*loc, "readinessProbe"),
                "The primary container needs a readiness probe.",
                "probe_required",
            )
        )
    for probe_field in PROBE_FIELDS:
        probe = container.get(probe_field)
        # A primary without a port is reported above; its probes follow from that.
        if isinstance(probe, Mapping) and probe.get("port") is None and is_primary is False:
            problems.append(
                Problem(
                    (*loc, probe_field, "port"),
                    "Set the probe's port: this container has no port of its own.",
                    "probe_port_required",
                )
            )

    env = container.get("environmentVars")
    if isinstance(env, list):
        problems += _duplicates(
            [(ei, var.get("name")) for ei, var in enumerate(env) if isinstance(var, Mapping)],
            lambda ei: (*loc, "environmentVars", ei, "name"),
            "Environment variable names must be unique within a container.",
        )
    return problems


def _duplicates(
    indexed_names: list[tuple[int, Any]], loc_of: Callable[[int], Loc], msg: str
) -> list[Problem]:
    """A problem at each repeat of a name already seen (the first use is fine)."""
    seen: set[Any] = set()
    problems = []
    for index, name in indexed_names:
        if not isinstance(name, str):
            continue
        if name in seen:
            problems.append(Problem(loc_of(index), msg, "duplicate_name"))
        seen.add(name)
    return problems


def _built(container: Mapping[str, Any]) -> bool:
    """A draft container built from source keeps its build config beside the image its
    build produced; such an image is always pinned by digest."""
    return "@sha256:" in str(container.get("imageUri", ""))


def locked_form(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The spec as a locked artifact stores it: built containers keep only their image.

    Containers that were never built keep their build config, so that locking them fails
    with the reason (no image yet).
    """
    locked = copy.deepcopy(dict(spec))
    for _path, container in stored_containers(locked):
        if container.get("imageUri"):
            container.pop("imageBuildConfig", None)
    return locked


def lock_problems(spec: Mapping[str, Any], *, artifact_type: str) -> list[Problem]:
    """Why a draft's stored ``spec`` cannot be locked (empty when it can). The one answer
    for the lock service and the console's dialog alike.

    Judged on the spec as locking stores it (``locked_form``: a built container keeps only
    its image). Missing images are reported alone, as building them is the next step; then
    the rules of a locked spec.
    """
    locked = locked_form(spec)
    return image_problems_for_lock(locked) or spec_problems(
        locked, artifact_type=artifact_type, status=ArtifactStatus.LOCKED
    )
