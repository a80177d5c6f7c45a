"""Reads of artifacts, permission-filtered and with everything a page shows prefetched."""

from __future__ import annotations

from django.db.models import QuerySet

from artifacts.models import Artifact
from artifacts.schemas import ArtifactListQuery
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
