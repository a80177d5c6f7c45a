"""Writes to artifacts: create, replace, patch, lock, clone, delete.

Each service checks permission (404 invisible, 403 denied), then state (409), then input
(422), and writes in one transaction. Locks take the repository row before the artifact
row, always in that order, so concurrent writers queue instead of deadlocking.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from artifacts.constants import ArtifactStatus, ArtifactType
from artifacts.models import Artifact
from artifacts.signals import artifact_locked
from artifacts.source_refs import code_ref_problems
from artifacts.usage import require_unused
from artifacts.validators import lock_problems, locked_form, spec_normalized, validate_artifact
from console import audit
from console.errors import Conflict, Invalid, NotFound, Problem
from console.etags import require_fresh
from console.ids import is_object_id
from console.permissions import Action, Actor, get_for_user, require, signed_in
from console.services import missing_fields, reject_unknown_fields, unknown_fields
from repositories.models import ArtifactRepository
from repositories.services import repository_open

CREATE_FIELDS = ("name", "description", "type", "spec", "tags", "artifactRepositoryId")
REPLACE_FIELDS = CREATE_FIELDS
PATCH_FIELDS = ("name", "description", "spec", "tags", "status")
EDITABLE = {"name": "name", "description": "description", "spec": "spec", "tags": "tags"}
AUDITED_FIELDS = ("name", "description", "type", "status", "version", "spec", "tags")


def artifact_create(*, actor: Actor, data: Mapping[str, Any]) -> Artifact:
    """Create a draft, in the named repository or in a new one that the actor will own."""
    user = signed_in(actor)
    repository_id = data.get("artifactRepositoryId")
    problems = unknown_fields(data, CREATE_FIELDS) + missing_fields(data, ("name", "spec"))
    if repository_id is not None and not is_object_id(repository_id):
        problems.append(
            Problem(
                ("artifactRepositoryId",),
                "Use an id of 24 lowercase hex characters.",
                "object_id",
            )
        )
        repository_id = None
    with transaction.atomic():
        repository = None
        if repository_id is not None:
            # Only an existing repository may be named: clients never choose new ids, so a
            # deleted repository's id is never claimed again (with its audit trail), and an
            # unknown id answers exactly like another team's (no existence oracle).
            repository = (
                ArtifactRepository.objects.select_for_update().filter(pk=repository_id).first()
            )
            if repository is None:
                raise NotFound()
            require(actor, Action.EDIT, repository)
        default_type = repository.type if repository else ArtifactType.SERVICE
        sent_type = data.get("type")
        artifact_type: str = default_type if sent_type is None else sent_type
        # A field sent as null counts as not sent: "missing" is reported once, above.
        fields = {k: v for k, v in data.items() if k in EDITABLE and v is not None} | {
            "type": artifact_type
        }
        try:
            cleaned = validate_artifact(
                fields, artifact_type=artifact_type, status=ArtifactStatus.DRAFT
            )
        except Invalid as invalid:
            problems += invalid.problems
        else:
            if "spec" in cleaned:
                repository_pk = repository.pk if repository else None
                problems += code_ref_problems(cleaned["spec"], repository_pk)
        if repository is not None and artifact_type != repository.type:
            problems.append(
                Problem(
                    ("type",),
                    f"The repository holds {repository.type} artifacts; "
                    f"this artifact's type must be {repository.type}.",
                    "type_mismatch",
                )
            )
        if problems:
            raise Invalid(problems)
        if repository is None:
            repository = repository_open(
                actor=user,
                name=cleaned["name"],
                artifact_type=artifact_type,
            )
        artifact = Artifact.objects.create(
            repository=repository,
            name=cleaned["name"],
            description=cleaned.get("description", ""),
            type=artifact_type,
            spec=cleaned["spec"],
            tags=cleaned.get("tags", []),
            creator=user,
        )
        repository.save(update_fields=["updated_at"])
        audit.record(
            actor=user,
            action="artifact.create",
            obj=artifact,
            guard=repository,
            changes=audit.changed({}, audit.snapshot(artifact, AUDITED_FIELDS)),
        )
    return artifact


def artifact_replace(
    *, actor: Actor, artifact_id: str, data: Mapping[str, Any], if_match: str | None = None
) -> Artifact:
    """PUT: the draft takes every field from ``data``; omitted optional fields are reset."""

    def apply(artifact: Artifact) -> tuple[dict[str, Any], list[Problem]]:
        problems = unknown_fields(data, REPLACE_FIELDS) + missing_fields(data, ("name", "spec"))
        if data.get("artifactRepositoryId", artifact.repository_id) != artifact.repository_id:
            problems.append(
                Problem(
                    ("artifactRepositoryId",),
                    "Artifacts never move between repositories.",
                    "immutable",
                )
            )
        if data.get("type", artifact.type) != artifact.type:
            problems.append(
                Problem(
                    ("type",), f"The repository holds {artifact.type} artifacts.", "type_mismatch"
                )
            )
        fields = {"description": "", "tags": []} | {k: v for k, v in data.items() if k in EDITABLE}
        return fields, problems

    return _edit_draft(
        actor=actor,
        artifact_id=artifact_id,
        changes=apply,
        lock=False,
        if_match=if_match,
        action="artifact.replace",
    )


def artifact_update(
    *, actor: Actor, artifact_id: str, data: Mapping[str, Any], if_match: str | None = None
) -> Artifact:
    """PATCH: change the fields given; ``status: "locked"`` locks after applying them."""
    problems = unknown_fields(data, PATCH_FIELDS)
    if "status" in data and data["status"] != ArtifactStatus.LOCKED:
        problems.append(
            Problem(
                ("status",),
                'The only status change is to "locked"; it is one-way.',
                "literal_error",
            )
        )
    wants_lock = data.get("status") == ArtifactStatus.LOCKED
    changes = {k: v for k, v in data.items() if k in EDITABLE}
    if wants_lock and not changes and not problems:
        return artifact_lock(actor=actor, artifact_id=artifact_id, if_match=if_match)
    return _edit_draft(
        actor=actor,
        artifact_id=artifact_id,
        changes=lambda _artifact: (changes, problems),
        lock=wants_lock,
        if_match=if_match,
        action="artifact.update",
    )


def artifact_lock(*, actor: Actor, artifact_id: str, if_match: str | None = None) -> Artifact:
    """Lock a draft into the next version of its repository. One-way."""
    artifact = get_for_user(actor, Artifact.objects.all(), Action.EDIT, pk=artifact_id)
    with transaction.atomic():
        repository, artifact = lock_artifact_rows(artifact)
        require_fresh(artifact, if_match)
        if artifact.is_locked:
            raise Conflict(
                f"The artifact is already locked as version {artifact.version}.",
                code="artifact_already_locked",
            )
        _lock_in_place(actor, repository, artifact)
    return artifact


def artifact_clone(*, actor: Actor, artifact_id: str, data: Mapping[str, Any]) -> Artifact:
    """A new draft in the same repository with the source's spec, description and tags.

    ``data`` may name the clone (``{"name": ...}``); it keeps the source's name otherwise.
    """
    source = get_for_user(actor, Artifact.objects.all(), Action.EDIT, pk=artifact_id)
    reject_unknown_fields(data, ("name",))
    fields = {"name": data.get("name", source.name)}
    cleaned = validate_artifact(fields, artifact_type=source.type, status=ArtifactStatus.DRAFT)
    with transaction.atomic():
        repository, source = lock_artifact_rows(source)
        clone = Artifact.objects.create(
            repository=repository,
            name=cleaned["name"],
            description=source.description,
            type=source.type,
            spec=spec_normalized(
                source.spec, artifact_type=source.type, status=ArtifactStatus.DRAFT
            ),
            tags=source.tags,
            creator=signed_in(actor),
        )
        repository.save(update_fields=["updated_at"])
        audit.record(
            actor=actor,
            action="artifact.clone",
            obj=clone,
            guard=repository,
            changes={"clonedFrom": [None, source.id], "name": [None, clone.name]},
        )
    return clone


def artifact_delete(*, actor: Actor, artifact_id: str, if_match: str | None = None) -> None:
    """Delete a draft. Locked versions are permanent (409)."""
    artifact = get_for_user(actor, Artifact.objects.all(), Action.EDIT, pk=artifact_id)
    with transaction.atomic():
        repository, artifact = lock_artifact_rows(artifact)
        require_fresh(artifact, if_match)
        require_draft(artifact)
        require_unused([artifact])
        audit.record(
            actor=actor,
            action="artifact.delete",
            obj=artifact,
            guard=repository,
            changes=audit.changed(audit.snapshot(artifact, AUDITED_FIELDS), {}),
        )
        artifact.delete()
        repository.save(update_fields=["updated_at"])


def _edit_draft(
    *,
    actor: Actor,
    artifact_id: str,
    changes: Callable[[Artifact], tuple[dict[str, Any], list[Problem]]],
    lock: bool,
    if_match: str | None,
    action: str,
) -> Artifact:
    """Apply ``changes(artifact)`` (fields, and problems found outside the validators)."""
    artifact = get_for_user(actor, Artifact.objects.all(), Action.EDIT, pk=artifact_id)
    with transaction.atomic():
        repository, artifact = lock_artifact_rows(artifact)
        require_fresh(artifact, if_match)
        require_draft(artifact)
        fields, problems = changes(artifact)
        try:
            cleaned = validate_artifact(
                fields, artifact_type=artifact.type, status=ArtifactStatus.DRAFT
            )
        except Invalid as invalid:
            raise Invalid([*problems, *invalid.problems]) from None
        if "spec" in cleaned:
            problems += code_ref_problems(cleaned["spec"], repository.pk)
        if problems:
            raise Invalid(problems)
        before = audit.snapshot(artifact, AUDITED_FIELDS)
        for field, value in cleaned.items():
            setattr(artifact, EDITABLE[field], value)
        artifact.save()
        audit.record(
            actor=actor,
            action=action,
            obj=artifact,
            guard=repository,
            changes=audit.changed(before, audit.snapshot(artifact, AUDITED_FIELDS)),
        )
        if lock:
            _lock_in_place(actor, repository, artifact)
        else:
            repository.save(update_fields=["updated_at"])
    return artifact


def lock_artifact_rows(artifact: Artifact) -> tuple[ArtifactRepository, Artifact]:
    """Take the repository row, then the artifact row, FOR UPDATE; return fresh copies."""
    repository = ArtifactRepository.objects.select_for_update().get(pk=artifact.repository_id)
    fresh = Artifact.objects.select_for_update().filter(pk=artifact.pk).first()
    if fresh is None:
        raise NotFound()
    return repository, fresh


def require_draft(artifact: Artifact) -> None:
    if artifact.is_locked:
        raise Conflict(
            f"Version {artifact.version} is locked and can never change; clone it to a new draft.",
            code="artifact_locked",
        )


def _lock_in_place(actor: Actor, repository: ArtifactRepository, artifact: Artifact) -> None:
    """Assign the next version and lock. Both rows must already be held FOR UPDATE."""
    problems = lock_problems(artifact.spec, artifact_type=artifact.type)
    if problems:
        raise Invalid(problems)
    artifact.spec = locked_form(artifact.spec)
    repository.last_version_number += 1
    repository.save(update_fields=["last_version_number", "updated_at"])
    artifact.status = ArtifactStatus.LOCKED
    artifact.version = repository.last_version_number
    artifact.locked_at = timezone.now()
    artifact.locked_by = signed_in(actor)
    artifact.save()
    audit.record(
        actor=actor,
        action="artifact.lock",
        obj=artifact,
        guard=repository,
        changes={"status": ["draft", "locked"], "version": [None, artifact.version]},
    )
    artifact_locked.send(sender=Artifact, artifact=artifact)
