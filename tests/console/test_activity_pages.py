"""Activity pages: the audit log in the console, as far as each person may see it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from artifacts.services import artifact_create, artifact_lock
from tests.conftest import artifact_body

pytestmark = pytest.mark.django_db


def browser(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_activity_page_shows_what_you_may_see(owner: Any, stranger: Any) -> None:
    artifact = artifact_create(actor=owner, data=artifact_body(name="payments-api"))
    artifact_lock(actor=owner, artifact_id=artifact.id)

    mine = browser(owner).get("/activity/").content.decode()
    assert "artifact.lock" in mine
    assert "artifact.create" in mine
    assert "payments-api" in mine
    theirs = browser(stranger).get("/activity/").content.decode()
    assert "payments-api" not in theirs
    searched = browser(owner).get("/activity/", {"search": "lock"}).content.decode()
    assert "artifact.lock" in searched
    assert "artifact.create" not in searched


def test_the_repository_activity_tab_lists_its_events(owner: Any, stranger: Any) -> None:
    artifact = artifact_create(actor=owner, data=artifact_body(name="billing"))
    artifact_lock(actor=owner, artifact_id=artifact.id)
    tab = browser(owner).get(f"/repositories/{artifact.repository_id}/?tab=activity")
    text = tab.content.decode()
    assert tab.status_code == 200
    assert text.index("artifact.lock") < text.index("artifact.create")  # newest first
    assert "repository.create" in text
    assert (
        browser(stranger).get(f"/repositories/{artifact.repository_id}/?tab=activity").status_code
        == 404
    )
