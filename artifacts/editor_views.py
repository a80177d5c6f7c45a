"""The draft editor: a new artifact (in a new or an existing repository) and editing a draft.

A POST is parsed into the wire body (``artifacts.forms``). An add/remove button changes that
body and the editor comes back with it; Save hands it to ``artifact_create`` or
``artifact_replace``, which check every rule and report every problem at once, and the
editor comes back (422) with each problem next to its input and everything as typed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from artifacts.build_views import builds_context
from artifacts.constants import ArtifactType
from artifacts.forms import (
    OPTIONAL_PROBES,
    PROBES,
    Values,
    apply_action,
    blank_body,
    body_from_post,
    carried_values,
    containers_of,
    field_for_loc,
    fields_from_body,
)
from artifacts.models import Artifact
from artifacts.services import artifact_create, artifact_replace
from console.errors import Conflict, Invalid, PreconditionFailed, Problem
from console.etags import etag_of
from console.htmx import redirect_client, render_page
from console.permissions import Action, Audience, get_for_user, route_permission
from console.web import domain_errors_as_http
from repositories.models import ArtifactRepository

TEMPLATE = "artifacts/editor.html"
REFUSED_TEMPLATE = "artifacts/editor/refused.html"
SAVE = "save"
PROBE_TITLES = {
    "readinessProbe": "Readiness",
    "livenessProbe": "Liveness",
    "startupProbe": "Startup",
}
# Visible label, the words used in the accessible name, and the validator's default.
PROBE_INPUTS = (
    ("path", "Path", "path", "e.g. /ready"),
    ("port", "Port", "port", "container port"),
    ("initialDelaySeconds", "Initial delay (s)", "initial delay", "0"),
    ("periodSeconds", "Period (s)", "period", "10"),
    ("timeoutSeconds", "Timeout (s)", "timeout", "1"),
    ("failureThreshold", "Failure threshold", "failure threshold", "3"),
)


@dataclass(frozen=True)
class Field:
    """One input: its name and value, its labels, and the problems found in it."""

    name: str
    label: str
    accessible_name: str
    value: str = ""
    errors: tuple[str, ...] = ()
    placeholder: str = ""
    numeric: bool = False

    @property
    def id(self) -> str:
        return f"f-{self.name}"


@dataclass(frozen=True)
class EnvRow:
    number: int
    name: Field
    value: Field


@dataclass(frozen=True)
class ProbeForm:
    key: str
    title: str
    optional: bool
    enabled: bool
    enabled_errors: tuple[str, ...]
    inputs: list[Field]


@dataclass
class ContainerForm:
    index: int
    prefix: str
    is_primary: bool
    primary_errors: tuple[str, ...]
    source: str
    source_errors: tuple[str, ...]
    dockerfile_source: str
    dockerfile_source_errors: tuple[str, ...]
    code_ref: str
    env_errors: tuple[str, ...]
    inputs: dict[str, Field] = field(default_factory=dict)
    env: list[EnvRow] = field(default_factory=list)
    probes: list[ProbeForm] = field(default_factory=list)

    @property
    def number(self) -> int:
        return self.index + 1


class EditorForm:
    """What the editor template shows: the body's values with each problem at its input.

    ``carried`` are posted values that the body does not hold (the hidden side of a toggle,
    a disabled probe); the body wins wherever it has a value.
    """

    def __init__(
        self,
        body: Mapping[str, Any],
        problems: Iterable[Problem] = (),
        carried: Values | None = None,
    ) -> None:
        self._values = {**(carried or {}), **fields_from_body(body)}
        self.problem_count = 0
        self._errors: dict[str, list[str]] = defaultdict(list)
        self._shown: set[str] = set()
        banner = []
        for problem in problems:
            self.problem_count += 1
            name = field_for_loc(problem.loc)
            if name is None:
                banner.append(_located(problem))
            else:
                self._errors[name].append(problem.msg)
        self.name = self.input("name", "Name", "Artifact name")
        self.description = self.input("description", "Description", "Description")
        self.type = self.input("type", "Type", "Type")
        self.storage_mode = self.input("storage-mode", "Storage", "Storage mode")
        self.storage_pvc_size = self.input(
            "storage-pvcSize", "PVC size", "PVC size", placeholder="100Gi"
        )
        self.group_name = self._values.get("group-name", "")
        self.containers_errors = self.errors("containers")
        self.containers = [self._container(i, c) for i, c in enumerate(containers_of(body))]
        # Every problem is shown: one whose input is not on the page goes to the banner.
        self.banner = banner + [
            msg for name, msgs in self._errors.items() if name not in self._shown for msg in msgs
        ]

    def errors(self, name: str) -> tuple[str, ...]:
        self._shown.add(name)
        return tuple(self._errors.get(name, ()))

    def input(self, name: str, label: str, accessible_name: str, **options: Any) -> Field:
        return Field(
            name=name,
            label=label,
            accessible_name=accessible_name,
            value=self._values.get(name, ""),
            errors=self.errors(name),
            **options,
        )

    def _container(self, i: int, body: Mapping[str, Any]) -> ContainerForm:
        p, of = f"containers-{i}", f"of container {i + 1}"
        container = ContainerForm(
            index=i,
            prefix=p,
            is_primary=self._values.get("primary") == str(i),
            primary_errors=self.errors(f"{p}-primary"),
            source=self._values.get(f"{p}-source", "image"),
            source_errors=self.errors(f"{p}-source"),
            dockerfile_source=self._values.get(f"{p}-dockerfile-source", "provided"),
            dockerfile_source_errors=self.errors(f"{p}-dockerfile-source"),
            code_ref=self._values.get(f"{p}-codeRef", ""),
            env_errors=self.errors(f"{p}-env"),
        )
        for key, label, placeholder in (
            ("name", "Name", ""),
            ("port", "Port", "primary only"),
            ("imageUri", "Image URI", "e.g. registry.example.com/team/app:1.0"),
            ("entrypoint", "Entrypoint", "the image's own"),
            ("dockerfile-path", "Dockerfile path", "./Dockerfile"),
            ("dockerfile-executionEnvironmentId", "Execution environment id", ""),
            ("dockerfile-executionEnvironmentVersionId", "Execution environment version id", ""),
            ("dockerfile-entrypoint", "Generated entrypoint", ""),
        ):
            container.inputs[key.replace("-", "_")] = self.input(
                f"{p}-{key}",
                label,
                f"{label} {of}",
                placeholder=placeholder,
                numeric=key == "port",
            )
        container.env = [
            EnvRow(
                number=j + 1,
                name=self.input(f"{p}-env-{j}-name", "Name", f"Name of variable {j + 1} {of}"),
                value=self.input(f"{p}-env-{j}-value", "Value", f"Value of variable {j + 1} {of}"),
            )
            for j in range(len(body.get("environmentVars", [])))
        ]
        container.probes = [self._probe(p, key, of) for key in PROBES]
        return container

    def _probe(self, prefix: str, key: str, of: str) -> ProbeForm:
        title = PROBE_TITLES[key]
        optional = key in OPTIONAL_PROBES
        return ProbeForm(
            key=key,
            title=title,
            optional=optional,
            enabled=bool(self._values.get(f"{prefix}-{key}-enabled")),
            enabled_errors=self.errors(f"{prefix}-{key}-enabled") if optional else (),
            inputs=[
                self.input(
                    f"{prefix}-{key}-{name}",
                    label,
                    f"{title} probe {words} {of}",
                    placeholder=placeholder,
                    numeric=name != "path",
                )
                for name, label, words, placeholder in PROBE_INPUTS
            ],
        )


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors_as_http
@route_permission(Audience.SIGNED_IN)
def artifact_new(request: HttpRequest) -> HttpResponse:
    """A new draft: in a new repository, or in ``?repository=<id>`` (EDIT needed there)."""
    repository = None
    if request.GET.get("repository"):
        repository = get_for_user(
            request.user,
            ArtifactRepository.objects.all(),
            Action.EDIT,
            pk=request.GET["repository"],
        )
    context = {
        "repository": repository,
        "type_choices": None if repository else ArtifactType.choices,
        "cancel_url": reverse("repository-detail", args=[repository.pk])
        if repository
        else reverse("repository-list"),
    }
    if request.method == "GET":
        body = blank_body(repository.type if repository else ArtifactType.SERVICE)
        return _editor(request, context, EditorForm(body))
    body = body_from_post(request.POST)
    if request.POST.get("action", SAVE) != SAVE:
        return _after_action(request, context, body)
    target = {"artifactRepositoryId": repository.pk} if repository else {}
    try:
        artifact = artifact_create(actor=request.user, data=body | target)
    except Invalid as invalid:
        return _invalid(request, context, body, invalid)
    return _saved(request, artifact, f"Draft “{artifact.name}” created.")


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors_as_http
@route_permission(Action.EDIT, on="artifact")
def artifact_edit(request: HttpRequest, artifact_id: str) -> HttpResponse:
    artifact = get_for_user(
        request.user, Artifact.objects.select_related("repository"), Action.EDIT, pk=artifact_id
    )
    if artifact.is_locked:
        return _locked(request, artifact, _locked_message(artifact.version))
    groups = artifact.spec.get("containerGroups", [])
    if len(groups) > 1:
        # The editor shows one group; saving from it would drop the others.
        status = 200 if request.method == "GET" else 409
        return _refused(request, {"artifact": artifact, "group_count": len(groups)}, status)
    context: dict[str, Any] = {
        "artifact": artifact,
        "repository": artifact.repository,
        "type_choices": None,
        "cancel_url": reverse("artifact-detail", args=[artifact.pk]),
    }
    if request.method == "GET":
        stored = {"name": artifact.name, "description": artifact.description}
        body = stored | {"type": artifact.type, "spec": artifact.spec}
        # Upload source and build right where the build config is edited.
        context |= builds_context(request, artifact.pk) | {"builds_shown": True}
        # The version loaded travels with the form, so a save cannot silently overwrite
        # someone else's save made in between.
        return _editor(request, context | {"etag": etag_of(artifact)}, EditorForm(body))
    body = body_from_post(request.POST)
    loaded_version = request.POST.get("etag", "")
    context["etag"] = loaded_version
    if request.POST.get("action", SAVE) != SAVE:
        return _after_action(request, context, body)
    try:
        # The editor does not show tags; a replace resets what it is not given.
        artifact_replace(
            actor=request.user,
            artifact_id=artifact.pk,
            data=body | {"tags": artifact.tags},
            if_match=loaded_version,
        )
    except Invalid as invalid:
        return _invalid(request, context, body, invalid)
    except Conflict as conflict:
        return _locked(request, artifact, conflict.detail)
    except PreconditionFailed as stale:
        form = EditorForm(body, carried=carried_values(request.POST))
        return _editor(request, context | {"conflict": stale.detail}, form, status=412)
    return _saved(request, artifact, "Draft saved.")


def _editor(
    request: HttpRequest, context: dict[str, Any], form: EditorForm, status: int = 200
) -> HttpResponse:
    page = {"nav": "repositories", "form": form, "action_url": request.get_full_path()}
    return render_page(request, TEMPLATE, context | page, partial="editor", status=status)


def _after_action(
    request: HttpRequest, context: dict[str, Any], body: dict[str, Any]
) -> HttpResponse:
    carried = apply_action(request.POST["action"], body, carried_values(request.POST))
    return _editor(request, context, EditorForm(body, carried=carried))


def _invalid(
    request: HttpRequest, context: dict[str, Any], body: dict[str, Any], invalid: Invalid
) -> HttpResponse:
    form = EditorForm(body, invalid.problems, carried_values(request.POST))
    return _editor(request, context, form, status=422)


def _saved(request: HttpRequest, artifact: Artifact, message: str) -> HttpResponse:
    return redirect_client(request, reverse("artifact-detail", args=[artifact.pk]), message)


def _locked_message(version: int | None) -> str:
    return f"Version {version} is locked and can never change; clone it to a new draft."


def _locked(request: HttpRequest, artifact: Artifact, message: str) -> HttpResponse:
    return _refused(request, {"artifact": artifact, "locked_message": message}, 409)


def _refused(request: HttpRequest, context: dict[str, Any], status: int) -> HttpResponse:
    """The editor's place taken by why it cannot be used (htmx swaps it into the editor)."""
    context = {"nav": "repositories", **context}
    return render_page(request, REFUSED_TEMPLATE, context, partial="refused", status=status)


def _located(problem: Problem) -> str:
    """A problem with no input of its own, prefixed with where it is in the body."""
    where = ".".join(str(part) for part in problem.loc)
    return f"{where}: {problem.msg}" if where else problem.msg
