"""Reads of repositories, permission-filtered, with counts computed in the same query."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import Group, User
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce, Lower

from artifacts.constants import ArtifactStatus
from artifacts.models import Artifact
from console.listing import ordered, searched
from console.permissions import Action, Actor, get_for_user, signed_in, visible
from console.sharing import Grant, RecipientType, grants
from repositories.models import ArtifactRepository
from repositories.schemas import RepositoryListQuery, VersionListQuery


def _artifact_count(**conditions: Any) -> Coalesce:
    # A correlated subquery rather than a JOIN + GROUP BY, so the permission filter and
    # the page limit apply before any counting.
    counts = (
        Artifact.objects.filter(repository=OuterRef("pk"), **conditions)
        .order_by()
        .values("repository")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counts, output_field=IntegerField()), 0)


def _repositories() -> QuerySet[ArtifactRepository]:
    return ArtifactRepository.objects.select_related("creator").annotate(
        num_artifacts=_artifact_count(), num_drafts=_artifact_count(status=ArtifactStatus.DRAFT)
    )


def repository_list(
    *, user: Actor, query: RepositoryListQuery, scope: str = "all"
) -> QuerySet[ArtifactRepository]:
    """Visible repositories; ``scope`` narrows to those the user created ("mine") or was
    given by someone else ("shared")."""
    repositories = visible(user, _repositories())
    if scope == "mine":
        repositories = repositories.filter(creator_id=user.pk)
    elif scope == "shared":
        repositories = repositories.exclude(creator_id=user.pk)
    if query.type:
        repositories = repositories.filter(type=query.type)
    if query.created_by:
        repositories = repositories.filter(creator__username=query.created_by)
    return ordered(searched(repositories, query.search), query)


def repository_get(*, user: Actor, repository_id: str) -> ArtifactRepository:
    return get_for_user(user, _repositories(), Action.VIEW, pk=repository_id)


def repository_versions(
    *, user: Actor, repository_id: str, query: VersionListQuery
) -> QuerySet[Artifact]:
    """The repository's locked artifacts (404 when the repository is not visible)."""
    repository = repository_get(user=user, repository_id=repository_id)
    versions = Artifact.objects.select_related("creator", "locked_by").filter(
        repository=repository, status=ArtifactStatus.LOCKED
    )
    return ordered(searched(versions, query.search), query)


def repository_grants(*, user: Actor, repository_id: str) -> list[Grant]:
    """Who holds which role on a repository (anyone who can see it may look)."""
    repository = get_for_user(user, ArtifactRepository.objects.all(), Action.VIEW, pk=repository_id)
    return grants(repository)


@dataclass(frozen=True)
class Recipient:
    """Someone a repository can be shared with: an active user or a team, by name."""

    recipient_type: RecipientType
    name: str


def recipients_matching(*, user: Actor, term: str, limit: int = 10) -> list[Recipient]:
    """Active users and teams whose name starts with ``term``, by name, at most ``limit``.

    For the sharing form's autocomplete: any signed-in user may own a repository and share
    it with anyone, so any may look names up; the anonymous get nothing (404).
    """
    signed_in(user)
    term = term.strip()
    if not term:
        return []
    usernames = (
        User.objects.filter(is_active=True, username__istartswith=term)
        .order_by(Lower("username"))
        .values_list("username", flat=True)[:limit]
    )
    team_names = (
        Group.objects.filter(name__istartswith=term)
        .order_by(Lower("name"))
        .values_list("name", flat=True)[:limit]
    )
    found = [Recipient(RecipientType.USER, name) for name in usernames] + [
        Recipient(RecipientType.GROUP, name) for name in team_names
    ]
    # Each list holds its own first ``limit`` in the same order, so the first ``limit`` of
    # both together are the right ones.
    return sorted(found, key=lambda r: (r.name.lower(), r.recipient_type))[:limit]
