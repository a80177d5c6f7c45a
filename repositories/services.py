"""Writes to artifact repositories. Every interface calls these; none writes rows itself."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from artifacts.constants import ArtifactStatus
from artifacts.usage import require_unused
from artifacts.validators import field_problems, tags_normalized
from console import audit
from console.errors import Conflict, Invalid
from console.etags import require_fresh
from console.permissions import Action, Actor, get_for_user, signed_in
from console.services import unknown_fields
from console.sharing import (
    Role,
    apply_role_changes,
    grant_role,
    grant_summary,
    parse_share_request,
)
from repositories.models import ArtifactRepository

REPOSITORY_PATCH_FIELDS = ("name", "description", "tags")
AUDITED_FIELDS = ("name", "description", "type", "tags")


def repository_open(*, actor: User, name: str, artifact_type: str) -> ArtifactRepository:
    """Create a repository for a new artifact; its creator becomes OWNER.

    Called inside the artifact's transaction. The id is always new (``console.ids``: it
    starts with the creation second), so no id that ever existed is issued again.
    """
    repository = ArtifactRepository.objects.create(name=name, type=artifact_type, creator=actor)
    grant_role(repository, actor, Role.OWNER)
    audit.record(
        actor=actor,
        action="repository.create",
        obj=repository,
        changes=audit.changed({}, audit.snapshot(repository, AUDITED_FIELDS)),
    )
    return repository


def repository_update(
    *, actor: Actor, repository_id: str, data: Mapping[str, Any], if_match: str | None = None
) -> ArtifactRepository:
    """Rename, describe or tag a repository (OWNER or EDITOR)."""
    repository = get_for_user(
        actor, ArtifactRepository.objects.all(), Action.EDIT, pk=repository_id
    )
    problems = unknown_fields(data, REPOSITORY_PATCH_FIELDS) + field_problems(
        {k: v for k, v in data.items() if k in REPOSITORY_PATCH_FIELDS}
    )
    if problems:
        raise Invalid(problems)
    with transaction.atomic():
        repository = ArtifactRepository.objects.select_for_update().get(pk=repository.pk)
        require_fresh(repository, if_match)
        before = audit.snapshot(repository, AUDITED_FIELDS)
        if "name" in data:
            repository.name = data["name"].strip()
        if "description" in data:
            repository.description = data["description"]
        if "tags" in data:
            repository.tags = tags_normalized(data["tags"])
        repository.save()
        audit.record(
            actor=actor,
            action="repository.update",
            obj=repository,
            changes=audit.changed(before, audit.snapshot(repository, AUDITED_FIELDS)),
        )
    return repository


def repository_delete(*, actor: Actor, repository_id: str, if_match: str | None = None) -> None:
    """Delete a repository and its drafts (OWNER). Locked versions are permanent: 409."""
    repository = get_for_user(
        actor, ArtifactRepository.objects.all(), Action.DELETE, pk=repository_id
    )
    with transaction.atomic():
        # Lock the row so a concurrent lock of one of its drafts waits for us (or we for it).
        repository = ArtifactRepository.objects.select_for_update().get(pk=repository.pk)
        require_fresh(repository, if_match)
        locked = repository.artifacts.filter(status=ArtifactStatus.LOCKED).count()
        if locked:
            raise Conflict(
                f"The repository holds {locked} locked version(s), which are permanent; "
                "it cannot be deleted.",
                code="repository_has_versions",
            )
        require_unused(list(repository.artifacts.all()))
        drafts = list(repository.artifacts.values_list("name", flat=True))
        audit.record(
            actor=actor,
            action="repository.delete",
            obj=repository,
            changes={"name": [repository.name, None], "drafts": [drafts, None]},
        )
        repository.delete()


def repository_share(*, actor: Actor, repository_id: str, data: Mapping[str, Any]) -> None:
    """Apply ``{"operation": "updateRoles", "roles": [...]}``: all entries or none (OWNER)."""
    repository = get_for_user(
        actor, ArtifactRepository.objects.all(), Action.SHARE, pk=repository_id
    )
    changes = parse_share_request(data)
    with transaction.atomic():
        # Serialises role updates of one repository: the last-owner check sees them all.
        repository = ArtifactRepository.objects.select_for_update().get(pk=repository.pk)
        before = grant_summary(repository)
        apply_role_changes(repository, changes, actor=signed_in(actor))
        repository.save(update_fields=["updated_at"])
        audit.record(
            actor=actor,
            action="repository.share",
            obj=repository,
            changes={"roles": [before, grant_summary(repository)]},
        )
