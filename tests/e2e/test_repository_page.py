"""The repository page in a browser: tabs swap in place with their own URLs, and delete
goes through a dialog that names what goes with the repository."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from artifacts.services import artifact_create, artifact_lock
from repositories.models import ArtifactRepository
from tests.conftest import artifact_body, primary_container, sidecar_container

pytestmark = pytest.mark.django_db(transaction=True)


def settled(page: Page) -> None:
    """Wait until htmx has wired up what it swapped in (it does so ~20 ms later, when it
    drops ``htmx-added``); a click made earlier would bypass htmx."""
    expect(page.locator(".htmx-added")).to_have_count(0)


PINNED = "registry.example.com/payments/api@sha256:" + "9f86d081884c7d65" * 4


def test_tabs_switch_in_place_and_keep_their_url(
    page: Page,
    live_server: Any,
    e2e_user: Callable[..., User],
    sign_in: Callable[[Page, str], None],
    screenshot: Callable[[Page, str], None],
) -> None:
    ana = e2e_user("ana")
    body = artifact_body(name="payments-api", description="Takes the money.")
    body["spec"]["containerGroups"][0]["containers"] = [
        primary_container(imageUri=PINNED),
        sidecar_container(),
    ]
    first = artifact_create(actor=ana, data=body)
    artifact_lock(actor=ana, artifact_id=first.pk)
    second = artifact_create(actor=ana, data={**body, "artifactRepositoryId": first.repository_id})
    artifact_lock(actor=ana, artifact_id=second.pk)
    artifact_create(
        actor=ana,
        data=artifact_body(name="payments-api-next", artifactRepositoryId=first.repository_id),
    )
    sign_in(page, "ana")

    page.get_by_role("link", name="payments-api").click()
    versions = page.get_by_role("table", name="Locked versions")
    expect(versions.locator("tbody tr")).to_have_count(2)
    expect(versions).to_contain_text("@sha256:9f86d081884c…")
    screenshot(page, "repository")

    page.get_by_role("tab", name="Drafts").click()
    expect(page).to_have_url(f"{live_server.url}/repositories/{first.repository_id}/?tab=drafts")
    expect(page.get_by_role("tab", name="Drafts")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_role("table", name="Drafts")).to_contain_text("payments-api-next")

    page.get_by_role("tab", name="Activity").click()
    # The audit log: the repository made, three drafts made, two locked; newest first.
    activity = page.get_by_role("list", name="Activity").locator("li")
    expect(activity).to_have_count(6)
    expect(activity.first).to_contain_text("artifact.create")
    expect(activity.last).to_contain_text("repository.create")

    page.go_back()
    expect(page.get_by_role("table", name="Drafts")).to_be_visible()
    expect(page.get_by_role("heading", name="payments-api")).to_be_visible()


def test_rename_in_place_and_delete_through_the_dialog(
    page: Page,
    live_server: Any,
    e2e_user: Callable[..., User],
    sign_in: Callable[[Page, str], None],
    screenshot: Callable[[Page, str], None],
) -> None:
    ana = e2e_user("ana")
    first = artifact_create(actor=ana, data=artifact_body(name="scratch"))
    artifact_create(
        actor=ana, data=artifact_body(name="scratch-two", artifactRepositoryId=first.repository_id)
    )
    sign_in(page, "ana")
    page.goto(f"{live_server.url}/repositories/{first.repository_id}/")

    page.get_by_role("link", name="Rename or describe").click()
    page.get_by_label("Name").fill("")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_label("Name")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Name").fill("sandbox")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="sandbox")).to_be_visible()
    settled(page)

    page.get_by_role("link", name="Delete").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("list", name="Drafts deleted with it")).to_contain_text("scratch-two")
    screenshot(page, "repository-delete")
    dialog.get_by_role("button", name="Delete repository").click()

    expect(page).to_have_url(f"{live_server.url}/repositories/")
    expect(page.get_by_role("heading", name="Repositories")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Deleted the repository sandbox.")
    assert not ArtifactRepository.objects.filter(pk=first.repository_id).exists()
