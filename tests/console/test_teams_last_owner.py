"""A team that is the only OWNER of something cannot be deleted out from under it."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group

from artifacts.services import artifact_create
from console.errors import Conflict
from console.sharing import Role, grant_role, grants
from console.teams import team_create, team_delete
from repositories.models import ArtifactRepository
from tests.conftest import artifact_body

pytestmark = pytest.mark.django_db


def test_deleting_the_only_owning_team_is_refused(owner: Any) -> None:
    artifact = artifact_create(actor=owner, data=artifact_body())
    repository = ArtifactRepository.objects.get(pk=artifact.repository_id)
    team = team_create(actor=None, name="platform")
    grant_role(repository, team, Role.OWNER)
    grant_role(repository, owner, Role.CONSUMER)  # the creator steps down to CONSUMER

    with pytest.raises(Conflict) as refused:
        team_delete(actor=None, team="platform")

    assert refused.value.code == "last_owner"
    assert repository.pk in refused.value.detail
    assert Group.objects.filter(name="platform").exists()
    assert any(g.role is Role.OWNER and g.name == "platform" for g in grants(repository))


def test_a_team_that_shares_ownership_can_go(owner: Any) -> None:
    artifact = artifact_create(actor=owner, data=artifact_body())
    repository = ArtifactRepository.objects.get(pk=artifact.repository_id)
    team = team_create(actor=None, name="platform")
    grant_role(repository, team, Role.OWNER)  # the creator stays OWNER too

    team_delete(actor=None, team="platform")

    assert not Group.objects.filter(name="platform").exists()
    assert [g.name for g in grants(repository) if g.role is Role.OWNER] == [owner.username]
