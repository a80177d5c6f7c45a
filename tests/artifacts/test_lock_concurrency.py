"""Versions stay gapless and unique when many drafts of one repository lock at once."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection

from artifacts.constants import ArtifactStatus
from artifacts.models import Artifact
from artifacts.services import artifact_create, artifact_lock
from repositories.models import ArtifactRepository
from tests.conftest import artifact_body

PARALLEL_LOCKS = 20


@pytest.mark.django_db(transaction=True)
def test_parallel_locks_get_versions_one_to_twenty(owner: User) -> None:
    first = artifact_create(actor=owner, data=artifact_body(name="draft-0"))
    repository_id = first.repository_id
    drafts = [first] + [
        artifact_create(
            actor=owner, data=artifact_body(name=f"draft-{i}", artifactRepositoryId=repository_id)
        )
        for i in range(1, PARALLEL_LOCKS)
    ]
    start = threading.Barrier(PARALLEL_LOCKS)
    errors: list[BaseException] = []

    def lock(artifact_id: str) -> None:
        # Each thread has its own database connection, as separate web workers would.
        try:
            start.wait()
            artifact_lock(actor=owner, artifact_id=artifact_id)
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=lock, args=(d.id,)) for d in drafts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    versions = sorted(
        Artifact.objects.filter(repository_id=repository_id).values_list("version", flat=True)
    )
    assert versions == list(range(1, PARALLEL_LOCKS + 1))
    assert set(
        Artifact.objects.filter(repository_id=repository_id).values_list("status", flat=True)
    ) == {ArtifactStatus.LOCKED}
    assert ArtifactRepository.objects.get(pk=repository_id).last_version_number == PARALLEL_LOCKS


@pytest.mark.django_db(transaction=True)
def test_parallel_locks_of_the_same_draft_lock_it_once(owner: User) -> None:
    draft = artifact_create(actor=owner, data=artifact_body())
    start = threading.Barrier(5)
    outcomes: list[Any] = []

    def lock() -> None:
        try:
            start.wait()
            outcomes.append(artifact_lock(actor=owner, artifact_id=draft.id).version)
        except BaseException as error:  # collected for the assertion
            outcomes.append(type(error).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=lock) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes, key=str) == [1, "Conflict", "Conflict", "Conflict", "Conflict"]
    assert ArtifactRepository.objects.get(pk=draft.repository_id).last_version_number == 1
