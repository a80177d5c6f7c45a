"""Seed a benchmark database fast: ``python -m tests.perf.seed --count N`` (DATABASE_URL set).

Migrates, then writes with ``bulk_create`` only (no services: they would take minutes at
100k): N repositories, each with a locked version 1 and a draft (2N artifacts with a
two-container spec), their guardian grants, and one *reader* who sees exactly 1% of the
repositories — some it owns, some shared with it directly, most through a team, as in a
real installation. Prints one line ``BENCH-SEED {json}`` with what the harness needs (an
API key, a session cookie, ids). ``--explain`` instead prints the query plans of the two
list endpoints for that reader and ``--sql-timings`` their median run times (run them on a
seeded database).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

SEED_MARKER = "BENCH-SEED "
READER = "bench-reader"
READER_TEAM = "bench-readers"
BATCH = 2000
# The spec every seeded artifact carries: a primary service and a sidecar, the common shape.
SPEC: dict[str, Any] = {
    "containerGroups": [
        {
            "name": "default",
            "containers": [
                {
                    "name": "api",
                    "primary": True,
                    "imageUri": "registry.example.com/team/api@sha256:"
                    "4f6c1d0b0e5a3c2f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f",
                    "port": 8080,
                    "environmentVars": [
                        {"name": "LOG_LEVEL", "value": "info"},
                        {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://127.0.0.1:4318"},
                    ],
                    "readinessProbe": {"path": "/ready", "periodSeconds": 5},
                    "livenessProbe": {"path": "/health"},
                },
                {
                    "name": "otel-collector",
                    "primary": False,
                    "imageUri": "registry.example.com/observability/otel-collector:0.120.0",
                    "entrypoint": ["/otelcol", "--config=/etc/otel/config.yaml"],
                },
            ],
        }
    ]
}


@dataclass(frozen=True)
class SeedResult:
    count: int
    repositories: int
    artifacts: int
    user_grants: int
    group_grants: int
    visible_repositories: int
    visible_artifacts: int
    api_key: str
    session_id: str
    artifact_id: str  # a locked artifact the reader sees through its team
    owned_repository_ids: list[str]  # where the reader may create and lock
    seconds: float


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
    import django

    django.setup()


@contextlib.contextmanager
def _explicit_timestamps(*models: Any) -> Iterator[None]:
    """Let bulk_create store the given created/updated times.

    ``auto_now``/``auto_now_add`` would stamp every row with the same instant, which makes
    the default ``-created_at`` ordering meaningless; seeded data should look aged.
    """
    fields = [
        f for m in models for f in m._meta.get_fields() if f.name in ("created_at", "updated_at")
    ]
    saved = [(f, f.auto_now, f.auto_now_add) for f in fields]
    for field in fields:
        field.auto_now = field.auto_now_add = False
    try:
        yield
    finally:
        for field, auto_now, auto_now_add in saved:
            field.auto_now, field.auto_now_add = auto_now, auto_now_add


def _object_id(rng: random.Random, at: datetime) -> str:
    # Same shape as console.ids.new_object_id (creation second + random), but reproducible.
    return f"{int(at.timestamp()) & 0xFFFFFFFF:08x}{rng.getrandbits(64):016x}"


def _reader_split(visible: int) -> tuple[int, int, int]:
    """How many of the reader's repositories it owns, holds directly, and sees via its team.

    It owns at least 4 so that create+lock can give each load connection its own repository
    (locks on one repository queue on its row, which would measure contention, not cost).
    """
    owned = max(4, visible // 4)
    direct = max(1, visible // 4)
    return owned, direct, max(0, visible - owned - direct)


def seed(count: int, *, rng_seed: int = 42) -> SeedResult:
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group, Permission, User
    from django.contrib.contenttypes.models import ContentType
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test import Client

    from artifacts.constants import ArtifactStatus, ArtifactType
    from artifacts.models import Artifact
    from artifacts.validators import locked_form, spec_normalized
    from console.auth import api_key_create
    from console.permissions import Action, codename
    from console.sharing import ROLE_ACTIONS, Role
    from repositories.models import (
        ArtifactRepository,
        RepositoryGroupPermission,
        RepositoryUserPermission,
    )

    started = time.monotonic()
    rng = random.Random(rng_seed)  # noqa: S311 (reproducible data, not secrets)
    call_command("migrate", interactive=False, verbosity=0)

    content_type = ContentType.objects.get_for_model(ArtifactRepository)
    permission_ids = {
        action: Permission.objects.get(
            content_type=content_type, codename=codename(action, ArtifactRepository)
        ).pk
        for action in Action
    }

    def role_permissions(role: Role) -> list[int]:
        return [permission_ids[a] for a in sorted(ROLE_ACTIONS[role])]

    draft_spec = spec_normalized(SPEC, artifact_type=ArtifactType.SERVICE, status="draft")
    locked_spec = locked_form(
        spec_normalized(SPEC, artifact_type=ArtifactType.SERVICE, status="locked")
    )

    visible = max(1, count // 100)
    owned_n, direct_n, _team_n = _reader_split(visible)
    if owned_n + direct_n > count:
        raise SystemExit(f"--count {count} is too small: the reader needs {owned_n} repositories")
    reader_rows = rng.sample(range(count), min(visible, count))
    owned_rows = set(reader_rows[:owned_n])
    direct_rows = set(reader_rows[owned_n : owned_n + direct_n])
    team_rows = set(reader_rows[owned_n + direct_n :])

    with transaction.atomic():
        unusable = make_password(None)
        reader = User.objects.create(username=READER, password=unusable)
        # Enough owners that no one user's grants dominate the permission tables.
        others = User.objects.bulk_create(
            User(username=f"bench-user-{i:04d}", password=unusable)
            for i in range(max(20, count // 200))
        )
        reader_team = Group.objects.create(name=READER_TEAM)
        teams = Group.objects.bulk_create(Group(name=f"bench-team-{i:02d}") for i in range(10))
        membership = User.groups.through
        membership.objects.bulk_create(
            [membership(user_id=reader.pk, group_id=reader_team.pk)]
            + [membership(user_id=u.pk, group_id=reader_team.pk) for u in others[:5]]
            + [
                membership(user_id=u.pk, group_id=teams[i % len(teams)].pk)
                for i, u in enumerate(others)
            ]
        )

        # A year of history, oldest first; updates a little after creation.
        now = datetime.now(tz=UTC)
        step = timedelta(days=365) / count
        repositories: list[ArtifactRepository] = []
        artifacts: list[Artifact] = []
        user_rows: list[RepositoryUserPermission] = []
        group_rows: list[RepositoryGroupPermission] = []
        for i in range(count):
            created = now - timedelta(days=365) + step * i
            owner = reader if i in owned_rows else others[i % len(others)]
            repository = ArtifactRepository(
                id=_object_id(rng, created),
                name=f"service-{i:06d}",
                description=f"Benchmark service number {i}",
                type=ArtifactType.SERVICE,
                last_version_number=1,
                creator_id=owner.pk,
                tags=[{"name": "team", "value": f"team-{i % 10}"}],
                created_at=created,
                updated_at=created + timedelta(hours=2 + rng.random() * 48),
            )
            repositories.append(repository)
            locked_at = created + timedelta(hours=1)
            artifacts.append(
                Artifact(
                    id=_object_id(rng, created),
                    repository_id=repository.id,
                    name=repository.name,
                    description="First release",
                    type=ArtifactType.SERVICE,
                    status=ArtifactStatus.LOCKED,
                    version=1,
                    spec=locked_spec,
                    tags=repository.tags,
                    creator_id=owner.pk,
                    locked_at=locked_at,
                    locked_by_id=owner.pk,
                    created_at=created,
                    updated_at=locked_at,
                )
            )
            artifacts.append(
                Artifact(
                    id=_object_id(rng, locked_at),
                    repository_id=repository.id,
                    name=repository.name,
                    description="Next release, in progress",
                    type=ArtifactType.SERVICE,
                    status=ArtifactStatus.DRAFT,
                    spec=draft_spec,
                    tags=repository.tags,
                    creator_id=owner.pk,
                    created_at=locked_at,
                    updated_at=repository.updated_at,
                )
            )
            # Every repository has its creator as OWNER, as repository_open does.
            user_rows += [
                RepositoryUserPermission(
                    user_id=owner.pk, permission_id=p, content_object_id=repository.id
                )
                for p in role_permissions(Role.OWNER)
            ]
            # Typical sharing: half with a team as consumers, a third with a colleague.
            if i % 2 == 0:
                group_rows.append(
                    RepositoryGroupPermission(
                        group_id=teams[i % len(teams)].pk,
                        permission_id=permission_ids[Action.VIEW],
                        content_object_id=repository.id,
                    )
                )
            colleague = others[(i + 1) % len(others)]
            if i % 3 == 0 and colleague.pk != owner.pk:
                user_rows += [
                    RepositoryUserPermission(
                        user_id=colleague.pk, permission_id=p, content_object_id=repository.id
                    )
                    for p in role_permissions(Role.EDITOR)
                ]
            if i in direct_rows:
                role = Role.EDITOR if i % 2 else Role.CONSUMER
                user_rows += [
                    RepositoryUserPermission(
                        user_id=reader.pk, permission_id=p, content_object_id=repository.id
                    )
                    for p in role_permissions(role)
                ]
            if i in team_rows:
                group_rows.append(
                    RepositoryGroupPermission(
                        group_id=reader_team.pk,
                        permission_id=permission_ids[Action.VIEW],
                        content_object_id=repository.id,
                    )
                )

        with _explicit_timestamps(ArtifactRepository, Artifact):
            ArtifactRepository.objects.bulk_create(repositories, batch_size=BATCH)
            Artifact.objects.bulk_create(artifacts, batch_size=BATCH)
        RepositoryUserPermission.objects.bulk_create(user_rows, batch_size=BATCH)
        RepositoryGroupPermission.objects.bulk_create(group_rows, batch_size=BATCH)
        _key, secret = api_key_create(actor=reader, name="bench")

    # The console page needs a session; force_login writes it to the session table.
    client = Client()
    client.force_login(reader)
    session_id = client.cookies["sessionid"].value

    # Fresh statistics, as autovacuum would have by the time a real table grew this big;
    # without them the planner guesses and the figures say nothing about production.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")

    by_row = {i: r.id for i, r in enumerate(repositories)}
    through_team = sorted(team_rows) or sorted(direct_rows)
    artifact_id = artifacts[2 * through_team[0]].id  # that repository's locked version
    seen = _visible_artifacts(reader)
    if seen != 2 * len(reader_rows):
        raise SystemExit(f"seed check: the reader sees {seen} artifacts, not {2 * visible}")
    return SeedResult(
        count=count,
        repositories=len(repositories),
        artifacts=len(artifacts),
        user_grants=len(user_rows),
        group_grants=len(group_rows),
        visible_repositories=len(reader_rows),
        visible_artifacts=seen,
        api_key=secret,
        session_id=session_id,
        artifact_id=artifact_id,
        owned_repository_ids=[by_row[i] for i in sorted(owned_rows)],
        seconds=round(time.monotonic() - started, 1),
    )


def _visible_artifacts(user: Any) -> int:
    from artifacts.models import Artifact
    from console.permissions import visible

    return visible(user, Artifact.objects.all()).count()


def _list_sql() -> list[tuple[str, str]]:
    """The exact SQL (count, then page) the two list endpoints run for the reader."""
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from artifacts.schemas import ArtifactListQuery
    from artifacts.selectors import artifact_list
    from repositories.schemas import RepositoryListQuery
    from repositories.selectors import repository_list

    reader = User.objects.get(username=READER)
    artifacts = artifact_list(user=reader, query=ArtifactListQuery(limit=20))
    # The console's repositories page sorts by last update by default.
    repositories = repository_list(
        user=reader, query=RepositoryListQuery(order_by="-updatedAt", limit=20)
    )
    found = []
    for title, queryset in (("artifact list", artifacts), ("repositories page", repositories)):
        # Captured rather than rebuilt by hand, so it stays what the endpoint really runs.
        with CaptureQueriesContext(connection) as captured:
            queryset.count()
            list(queryset[:20])
        for label, query in zip(("count", "page"), captured.captured_queries, strict=True):
            found.append((f"{title} {label}", query["sql"]))
    return found


def explain() -> str:
    """EXPLAIN ANALYZE of each list query, with its SQL."""
    from django.db import connection

    parts = []
    for label, sql in _list_sql():
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        parts.append(f"--- {label}\n{sql}\n\n{plan}")
    return "\n\n".join(parts)


def sql_timings(repeat: int = 25) -> dict[str, float]:
    """Median milliseconds of each list query run alone: the database's share of the
    endpoint's latency, free of the HTTP load's noise."""
    from django.db import connection

    timings = {}
    for label, sql in _list_sql():
        samples = []
        with connection.cursor() as cursor:
            for _ in range(repeat):
                started = time.perf_counter()
                cursor.execute(sql)
                cursor.fetchall()
                samples.append((time.perf_counter() - started) * 1000)
        timings[label] = round(statistics.median(samples), 2)
    return timings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=1000, help="repositories to seed")
    parser.add_argument("--explain", action="store_true", help="print the list query plans")
    parser.add_argument("--sql-timings", action="store_true", help="time the list queries")
    args = parser.parse_args(argv)
    if not os.environ.get("DATABASE_URL"):
        # The seed is for PostgreSQL; refuse rather than fill the developer's SQLite file.
        print("seed: set DATABASE_URL to an empty PostgreSQL database", file=sys.stderr)
        return 2
    _setup_django()
    if args.explain:
        print(explain())
        return 0
    if args.sql_timings:
        print(SEED_MARKER + json.dumps(sql_timings()))
        return 0
    result = seed(args.count)
    print(SEED_MARKER + json.dumps(asdict(result)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
