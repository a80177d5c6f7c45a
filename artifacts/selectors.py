"""Reads of artifacts, permission-filtered and with everything a page shows prefetched."""

from __future__ import annotations

from django.db.models import QuerySet

from artifacts.constants import ArtifactStatus
from artifacts.models import Artifact, ImageBuild
from artifacts.schemas import ArtifactListQuery
from console.errors import NotFound
from console.listing import ordered, searched
from console.permissions import Action, Actor, get_for_user, visible


def _artifacts() -> QuerySet[Artifact]:
    return Artifact.objects.select_related("creator", "locked_by")


def artifact_list(*, user: Actor, query: ArtifactListQuery) -> QuerySet[Artifact]:
    artifacts = visible(user, _artifacts())
    if query.status:
        artifacts = artifacts.filter(status=query.status)
    if query.type:
        artifacts = artifacts.filter(type=query.type)
    if query.repository_id:
        artifacts = artifacts.filter(repository_id=query.repository_id)
    if query.created_by:
        artifacts = artifacts.filter(creator__username=query.created_by)
    return ordered(searched(artifacts, query.search), query)


def artifact_get(*, user: Actor, artifact_id: str) -> Artifact:
    return get_for_user(user, _artifacts(), Action.VIEW, pk=artifact_id)


def artifact_page_get(*, user: Actor, artifact_id: str) -> Artifact:
    """One artifact with its repository, for pages that show both (one query)."""
    return get_for_user(
        user, _artifacts().select_related("repository"), Action.VIEW, pk=artifact_id
    )


def previous_version(*, artifact: Artifact) -> Artifact | None:
    """What ``artifact`` is compared against: version N-1 for version N, the repository's
    latest locked version for a draft; None for a first version or a repository without one.

    Rights are the repository's, so whoever may see ``artifact`` may see this one too.
    """
    versions = _artifacts().filter(
        repository_id=artifact.repository_id, status=ArtifactStatus.LOCKED
    )
    if artifact.is_locked:
        return versions.filter(version=(artifact.version or 0) - 1).first()
    return versions.order_by("-version").first()


def builds_of(*, user: Actor, artifact_id: str) -> QuerySet[ImageBuild]:
    """An artifact's builds, newest first (404 when the artifact is not visible)."""
    artifact = artifact_get(user=user, artifact_id=artifact_id)
    return ImageBuild.objects.select_related("creator").filter(artifact=artifact)


def build_get(*, user: Actor, artifact_id: str, build_id: str) -> ImageBuild:
    build = builds_of(user=user, artifact_id=artifact_id).filter(pk=build_id).first()
    if build is None:
        raise NotFound()
    return build
