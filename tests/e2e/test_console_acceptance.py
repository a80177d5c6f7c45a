"""The console's acceptance path, end to end in one browser session.

Create a repository with a two-container draft through the editor (a bad port is shown
inline and nothing typed is lost), lock it through the dialog (version 1), clone it,
edit the clone, lock it (version 2), read the diff; then share the repository with a
second user as CONSUMER, who sees it without any write control and whose direct POST to
the lock URL is refused with 403.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect

from artifacts.models import Artifact

pytestmark = pytest.mark.django_db(transaction=True)


def test_create_lock_clone_edit_lock_diff_and_share(
    page: Page,
    browser: Browser,
    live_server: Any,
    e2e_user: Callable[..., User],
    sign_in: Callable[[Page, str], None],
    screenshot: Callable[[Page, str], None],
) -> None:
    e2e_user("ana")
    e2e_user("bruno")
    sign_in(page, "ana")

    def field(label: str) -> Any:
        return page.get_by_label(label, exact=True)

    # A new repository with a primary (port, readiness probe) and a sidecar.
    page.get_by_role("link", name="New artifact").click()
    typed = {
        "Artifact name": "orders-api",
        "Name of container 1": "web",
        "Image URI of container 1": "registry.example.com/shop/web:1.0",
        "Port of container 1": "70",
        "Readiness probe path of container 1": "/ready",
    }
    for label, value in typed.items():
        field(label).fill(value)
    page.get_by_role("button", name="+ Add sidecar").click()
    field("Name of container 2").fill("proxy")
    field("Image URI of container 2").fill("registry.example.com/shop/proxy:2.0")
    page.get_by_role("button", name="Save draft").first.click()
    expect(field("Port of container 1")).to_have_attribute("aria-invalid", "true")
    for label, value in typed.items():
        expect(field(label)).to_have_value(value)
    expect(field("Name of container 2")).to_have_value("proxy")
    field("Port of container 1").fill("8080")
    page.get_by_role("button", name="Save draft").first.click()
    expect(page).to_have_url(re.compile(r"/artifacts/[0-9a-f]{24}/$"))
    first = Artifact.objects.get()

    # Lock through the dialog: the page shows version 1 in place.
    page.get_by_role("link", name="Lock", exact=True).click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("version 1")
    dialog.get_by_role("button", name="Lock as version 1").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Locked · version 1")
    screenshot(page, "acceptance-locked")

    # Clone (same name), edit the clone's image, lock it as version 2.
    page.get_by_role("link", name="Clone to new draft").click()
    page.get_by_role("dialog").get_by_role("button", name="Clone").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Draft")
    clone = Artifact.objects.exclude(pk=first.pk).get()
    page.get_by_role("link", name="Edit", exact=True).click()
    field("Image URI of container 1").fill("registry.example.com/shop/web:1.1")
    page.get_by_role("button", name="Save draft").first.click()
    expect(page).to_have_url(f"{live_server.url}/artifacts/{clone.pk}/")
    page.get_by_role("link", name="Lock", exact=True).click()
    page.get_by_role("dialog").get_by_role("button", name="Lock as version 2").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Locked · version 2")

    # The diff shows exactly the one change.
    page.get_by_role("link", name="Changes").click()
    changes = page.get_by_role("table", name="Changes since version 1")
    expect(changes.locator("tbody tr")).to_have_count(1)
    expect(changes).to_contain_text("imageUri")
    expect(changes).to_contain_text("registry.example.com/shop/web:1.0")
    expect(changes).to_contain_text("registry.example.com/shop/web:1.1")
    screenshot(page, "acceptance-diff")

    # A third draft for the consumer to try to lock; then share as CONSUMER.
    page.get_by_role("link", name="Clone to new draft").click()
    page.get_by_role("dialog").get_by_role("button", name="Clone").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Draft")
    draft = Artifact.objects.get(status="draft")
    page.goto(f"{live_server.url}/repositories/{first.repository_id}/")
    page.get_by_role("tab", name="Sharing").click()
    page.get_by_label("User or team").fill("bruno")
    page.get_by_label("Role", exact=True).select_option(label="Consumer")
    page.get_by_role("button", name="Share", exact=True).click()
    expect(page.get_by_label("Role of bruno")).to_have_value("CONSUMER")

    # Bruno sees the repository and the draft, but no write control, and the server
    # refuses a hand-made lock request.
    other = browser.new_context(viewport={"width": 1280, "height": 860})
    bruno = other.new_page()
    sign_in(bruno, "bruno")
    expect(bruno.get_by_role("table", name="Repositories")).to_contain_text("orders-api")
    bruno.goto(f"{live_server.url}/artifacts/{draft.pk}/")
    expect(bruno.get_by_role("heading", level=1)).to_contain_text("orders-api")
    for control in ("Edit", "Lock", "Delete", "Clone to new draft"):
        expect(bruno.get_by_role("link", name=control, exact=True)).to_have_count(0)
    bruno.goto(f"{live_server.url}/repositories/{first.repository_id}/?tab=sharing")
    expect(bruno.get_by_role("button", name="Share", exact=True)).to_have_count(0)
    token = next(c["value"] for c in other.cookies() if c["name"] == "csrftoken")
    refused = bruno.request.post(
        f"{live_server.url}/artifacts/{draft.pk}/lock/",
        headers={"X-CSRFToken": token, "Referer": f"{live_server.url}/"},
    )
    assert refused.status == 403
    draft.refresh_from_db()
    assert draft.status == "draft"
    screenshot(bruno, "acceptance-consumer")
    other.close()
