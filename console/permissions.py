"""The one permission module: every service, API route, view and template asks here.

Rights are django-guardian grants on a *guarded* object (an artifact repository). Other
objects reach their guard through a path (an artifact's ``repository``), declared once in
``GUARDS``. Lists are filtered with one subquery per request rather than one check per
row; pages that need each row's rights fetch them for the whole page at once.

Workloads are guarded objects of their own, but authority follows the artifact they run
(``_workload_rights``): acting on a workload as its EDITOR or OWNER needs the right to run
its artifact too, and a repository's OWNERs see, stop and delete the workloads of its
drafts.
"""

from __future__ import annotations

import enum
import functools
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.contrib.auth.models import AnonymousUser, User
from django.db import models
from django.db.models import Q, QuerySet
from guardian.utils import get_group_obj_perms_model, get_user_obj_perms_model

from console.errors import Forbidden, NotFound

ModelT = TypeVar("ModelT", bound=models.Model)
Actor = User | AnonymousUser


class Action(enum.StrEnum):
    VIEW = "view"
    EDIT = "change"  # edit, build, clone, lock and delete drafts
    DELETE = "delete"  # delete the guarded object itself
    SHARE = "share"

    @property
    def api_name(self) -> str:
        return _API_NAMES[self]


_API_NAMES = {
    Action.VIEW: "CAN_VIEW",
    Action.EDIT: "CAN_UPDATE",
    Action.DELETE: "CAN_DELETE",
    Action.SHARE: "CAN_SHARE",
}
ALL_ACTIONS = frozenset(Action)


@functools.cache
def _guards() -> dict[type[models.Model], tuple[type[models.Model], str]]:
    # Imported late: the apps' models import this module's callers.
    from artifacts.models import Artifact
    from repositories.models import ArtifactRepository
    from workloads.models import Workload

    return {
        ArtifactRepository: (ArtifactRepository, ""),
        Artifact: (ArtifactRepository, "repository"),
        Workload: (Workload, ""),
    }


def guard_of(model: type[models.Model]) -> tuple[type[models.Model], str]:
    """The guarded model for ``model`` and the lookup path from ``model`` to it."""
    try:
        return _guards()[model]
    except KeyError:
        raise TypeError(f"{model.__name__} has no permission guard") from None


def codename(action: Action, guarded: type[models.Model]) -> str:
    return f"{action.value}_{guarded._meta.model_name}"


def _sees_everything(user: Actor) -> bool:
    return bool(user.is_active and (user.is_staff or user.is_superuser))


def user_grants(guarded: type[models.Model]) -> QuerySet[Any]:
    return get_user_obj_perms_model(guarded)._default_manager.all()  # type: ignore[arg-type]


def group_grants(guarded: type[models.Model]) -> QuerySet[Any]:
    return get_group_obj_perms_model(guarded)._default_manager.all()  # type: ignore[arg-type]


def signed_in(actor: Actor) -> User:
    """The actor as a user; anonymous callers see nothing, so they get 404."""
    if not isinstance(actor, User) or not actor.is_active:
        raise NotFound()
    return actor


def _granted(user: Actor, guarded: type[models.Model], action: Action, lookup: str) -> Q:
    """Rows whose guard grants ``action`` to ``user``, directly or through one of its teams."""
    perm = codename(action, guarded)
    user_rows = user_grants(guarded).filter(user_id=user.pk, permission__codename=perm)
    group_rows = group_grants(guarded).filter(group__user=user.pk, permission__codename=perm)
    # One IN over a UNION, not an OR of two INs: PostgreSQL plans the union as a small set
    # of granted ids joined through the foreign-key index, where the OR made it scan every
    # row of the table (benchmark: 10x faster at 10k repositories, 10x at 100k).
    granted = user_rows.values("content_object_id").union(group_rows.values("content_object_id"))
    return Q(**{lookup: granted})


def visible[ModelT: models.Model](
    user: Actor, queryset: QuerySet[ModelT], action: Action = Action.VIEW
) -> QuerySet[ModelT]:
    """``queryset`` narrowed to the rows on which ``user`` may perform ``action``."""
    if not user.is_authenticated or not user.is_active:
        return queryset.none()
    if user.is_superuser or (action is Action.VIEW and _sees_everything(user)):
        return queryset
    guarded, path = guard_of(queryset.model)
    condition = _granted(user, guarded, action, f"{path}__in" if path else "pk__in")
    if guarded is _known().workload:
        condition = _workload_condition(user, action, condition)
    return queryset.filter(condition)


def own_grants[ModelT: models.Model](
    user: Actor, queryset: QuerySet[ModelT], action: Action
) -> QuerySet[ModelT]:
    """Rows whose guard itself grants ``action`` to ``user`` (directly or through a team),
    before the rules derived from other objects: what ``user`` was given, not what it may
    do now. For finding what a user controls, never for deciding what it may do."""
    guarded, path = guard_of(queryset.model)
    return queryset.filter(_granted(user, guarded, action, f"{path}__in" if path else "pk__in"))


# --- authority follows the artifact -------------------------------------------------------
# A workload's own EDIT and SHARE (start, restart, change settings, promote, rename, share)
# count only while the holder may run the workload's artifact: EDIT on the repository of a
# draft, VIEW (CONSUMER) on the repository of a locked version, the rule that creating the
# workload passed. Otherwise someone revoked from a draft would keep running every later
# edit of it. The repository's OWNERs see and delete (and so may stop) every workload that
# runs one of its drafts: those workloads block deleting the draft.
RUN_ACTIONS = frozenset({Action.EDIT, Action.SHARE})
DRAFT_OWNER_ACTIONS = frozenset({Action.VIEW, Action.DELETE})
# Stopping takes away no more than deleting does, so whoever may delete a workload may
# stop it: its own OWNERs and the OWNERs of the draft's repository, besides its EDITORs.
STOP_RIGHTS = frozenset({Action.EDIT, Action.DELETE})
DRAFT_REFUSAL = (
    "This workload runs a draft: starting, restarting, changing the settings of or "
    "sharing it needs EDIT (the EDITOR role) on the draft's repository."
)
VERSION_REFUSAL = (
    "Starting, restarting, changing the settings of or sharing this workload needs VIEW "
    "(the CONSUMER role) on the repository of the version it runs."
)
DRAFT_OWNER_REFUSAL = (
    "As an OWNER of the draft's repository you may see, stop and delete this workload; "
    "starting, changing or sharing it needs the workload's own EDITOR or OWNER role."
)


def may_stop(granted: frozenset[Action]) -> bool:
    """Whether rights ``granted`` on a workload (from ``rights``) let the caller stop it."""
    return bool(granted & STOP_RIGHTS)


@dataclass(frozen=True)
class _Known:
    workload: type[models.Model]
    repository: type[models.Model]
    draft: str


@functools.cache
def _known() -> _Known:
    # Imported late, like ``_guards``.
    from artifacts.constants import ArtifactStatus
    from repositories.models import ArtifactRepository
    from workloads.models import Workload

    return _Known(workload=Workload, repository=ArtifactRepository, draft=ArtifactStatus.DRAFT)


def _workload_condition(user: Actor, action: Action, own: Q) -> Q:
    """The rules of ``_workload_rights`` as a filter: subqueries on grants, no row checks."""
    known = _known()
    draft = Q(artifact__status=known.draft)
    on_repository = "artifact__repository__in"
    if action in RUN_ACTIONS:
        # Staff see every repository, so they may run any locked version they hold.
        runs_version = (
            Q()
            if _sees_everything(user)
            else _granted(user, known.repository, Action.VIEW, on_repository)
        )
        edits_draft = _granted(user, known.repository, Action.EDIT, on_repository)
        return own & ((draft & edits_draft) | (~draft & runs_version))
    if action in DRAFT_OWNER_ACTIONS:
        return own | (draft & _granted(user, known.repository, Action.SHARE, on_repository))
    return own


def _workload_rights(
    user: Actor, workloads: list[models.Model]
) -> tuple[dict[Any, frozenset[Action]], dict[Any, str]]:
    """Each workload's rights after the artifact's rules, and why any were withheld.

    One query for the grants on the workloads and on their repositories together, and
    one for the artifacts' state unless the workloads came with their artifact.
    """
    known = _known()
    artifacts = _artifact_states(workloads)
    rows = [
        *_grant_rows(user, known.workload, {w.pk for w in workloads}),
        *_grant_rows(user, known.repository, {r for r, _ in artifacts.values()}),
    ]
    # Codenames name their model (``change_workload``), so one UNION serves both.
    actions = {codename(a, g): (g, a) for g in (known.workload, known.repository) for a in Action}
    held: dict[Any, set[Action]] = defaultdict(set)
    on_repository: dict[Any, set[Action]] = defaultdict(set)
    for object_id, perm in rows[0].union(*rows[1:], all=True):
        if perm in actions:
            model, action = actions[perm]
            (held if model is known.workload else on_repository)[object_id].add(action)
    staff_view = {Action.VIEW} if _sees_everything(user) else set()
    result: dict[Any, frozenset[Action]] = {}
    refusals: dict[Any, str] = {}
    for workload in workloads:
        repository_id, status = artifacts[workload.artifact_id]  # type: ignore[attr-defined]
        is_draft = status == known.draft
        on_artifact = on_repository[repository_id] | staff_view
        granted = frozenset(held[workload.pk] | staff_view)
        if (Action.EDIT if is_draft else Action.VIEW) not in on_artifact and granted & RUN_ACTIONS:
            granted -= RUN_ACTIONS
            refusals[workload.pk] = DRAFT_REFUSAL if is_draft else VERSION_REFUSAL
        if is_draft and Action.SHARE in on_artifact:
            refusals.setdefault(workload.pk, DRAFT_OWNER_REFUSAL)
            granted |= DRAFT_OWNER_ACTIONS
        result[workload.pk] = granted
    return result, refusals


def _artifact_states(workloads: list[models.Model]) -> dict[Any, tuple[Any, str]]:
    """Each workload's artifact as (repository id, status): from the artifact the workload
    was read with, or else in one query."""
    from artifacts.models import Artifact

    states: dict[Any, tuple[Any, str]] = {}
    missing: set[Any] = set()
    for workload in workloads:
        if type(workload).artifact.is_cached(workload):  # type: ignore[attr-defined]
            artifact = workload.artifact  # type: ignore[attr-defined]
            states[artifact.pk] = (artifact.repository_id, artifact.status)
        else:
            missing.add(workload.artifact_id)  # type: ignore[attr-defined]
    if missing:
        rows = Artifact.objects.filter(pk__in=missing).order_by()
        for pk, repository_id, status in rows.values_list("pk", "repository_id", "status"):
            states[pk] = (repository_id, status)
    return states


def _grant_rows(
    user: Actor, guarded: type[models.Model], ids: Iterable[Any]
) -> list[QuerySet[Any]]:
    """(object id, codename) of the grants on ``ids`` to ``user`` and to its teams."""
    ids = list(ids)
    return [
        user_grants(guarded)
        .filter(user_id=user.pk, content_object_id__in=ids)
        .values_list("content_object_id", "permission__codename"),
        group_grants(guarded)
        .filter(group__user=user.pk, content_object_id__in=ids)
        .values_list("content_object_id", "permission__codename"),
    ]


def rights_for_many(
    user: Actor, guarded_ids: Iterable[Any], guarded: type[models.Model]
) -> dict[Any, frozenset[Action]]:
    """Each guarded object's rights for ``user``, in two queries whatever the count."""
    ids = list(guarded_ids)
    if not user.is_authenticated or not user.is_active or not ids:
        return dict.fromkeys(ids, frozenset())
    if user.is_superuser:
        return dict.fromkeys(ids, ALL_ACTIONS)
    by_codename = {codename(a, guarded): a for a in Action}
    found: dict[Any, set[Action]] = defaultdict(set)
    user_rows, group_rows = _grant_rows(user, guarded, ids)
    for object_id, perm in [*user_rows, *group_rows]:
        if perm in by_codename:
            found[object_id].add(by_codename[perm])
    staff_view = {Action.VIEW} if _sees_everything(user) else set()
    return {i: frozenset(found.get(i, set()) | staff_view) for i in ids}


def _guard_id(obj: models.Model) -> Any:
    _, path = guard_of(type(obj))
    return getattr(obj, f"{path}_id") if path else obj.pk


def rights(user: Actor, obj: models.Model) -> frozenset[Action]:
    return PageRights(user, [obj]).of(obj)


def require(user: Actor, action: Action, obj: models.Model) -> None:
    """Raise NotFound when ``user`` may not even see ``obj``, Forbidden when it may not act
    (with the reason, when a rule withheld a right that ``obj`` itself grants)."""
    page = PageRights(user, [obj])
    granted = page.of(obj)
    if Action.VIEW not in granted:
        raise NotFound()
    if action not in granted:
        refusal = page.refusal(obj)
        raise Forbidden(refusal) if refusal else Forbidden()


def get_for_user[ModelT: models.Model](
    user: Actor, queryset: QuerySet[ModelT], action: Action = Action.VIEW, **lookup: Any
) -> ModelT:
    """One object for ``user``: 404 when missing or invisible, 403 when ``action`` is denied."""
    obj = visible(user, queryset).filter(**lookup).first()
    if obj is None:
        raise NotFound()
    if action is not Action.VIEW:
        require(user, action, obj)
    return obj


class PageRights:
    """Rights for every row of a page, fetched once, for buttons and ``permissions`` fields."""

    def __init__(self, user: Actor, objects: Iterable[models.Model]) -> None:
        self._by_guard: dict[Any, frozenset[Action]] = {}
        self._refusals: dict[Any, str] = {}
        objects = list(objects)
        if objects:
            guarded, _ = guard_of(type(objects[0]))
            if guarded is _known().workload and _holds_grants(user):
                self._by_guard, self._refusals = _workload_rights(user, objects)
            else:
                self._by_guard = rights_for_many(user, {_guard_id(o) for o in objects}, guarded)

    def of(self, obj: models.Model) -> frozenset[Action]:
        return self._by_guard.get(_guard_id(obj), frozenset())

    def refusal(self, obj: models.Model) -> str:
        """Why a rule withheld rights that ``obj`` itself grants, or "" when none did."""
        return self._refusals.get(_guard_id(obj), "")


def _holds_grants(user: Actor) -> bool:
    """Superusers hold everything already; anonymous and inactive users hold nothing."""
    return bool(user.is_authenticated and user.is_active and not user.is_superuser)


class Audience(enum.StrEnum):
    """Who may call a route that is not about one object."""

    PUBLIC = "public"  # sign-in and sign-out pages
    SIGNED_IN = "signed in"  # lists (filtered by ``visible``) and creating new objects
    STAFF = "staff"


ViewT = TypeVar("ViewT", bound=Callable[..., Any])


def route_permission(rule: Action | Audience, on: str = "") -> Callable[[ViewT], ViewT]:
    """Declare a route's permission decision, enforced by the services and selectors it calls.

    ``@route_permission(Action.EDIT, on="artifact")`` reads "needs EDIT on the artifact";
    a test walks every URL and fails for a route without a declaration, so no route is
    added without someone deciding who may use it.
    """

    def declare(view: ViewT) -> ViewT:
        view.permission_rule = (rule, on)  # type: ignore[attr-defined]
        return view

    return declare
