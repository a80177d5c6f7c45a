"""Sharing through the repository page's autocomplete, and the API keys page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from playwright.sync_api import Browser, Page, expect

from artifacts.services import artifact_create
from tests.conftest import ARTIFACTS, artifact_body
from tests.e2e.test_repository_page import settled

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_owner_shares_with_a_consumer_who_then_sees_the_repository(
    page: Page,
    browser: Browser,
    browser_context_args: dict[str, Any],
    live_server: Any,
    e2e_user: Callable[..., User],
    sign_in: Callable[[Page, str], None],
    screenshot: Callable[[Page, str], None],
) -> None:
    ana = e2e_user("ana")
    e2e_user("bruno")
    e2e_user("brunhilde")
    repository = artifact_create(actor=ana, data=artifact_body(name="payments-api")).repository
    sign_in(page, "ana")
    page.goto(f"{live_server.url}/repositories/{repository.pk}/")

    page.get_by_role("tab", name="Sharing").click()
    page.get_by_label("User or team").press_sequentially("bru", delay=40)
    expect(page.get_by_role("button", name="brunhilde (user)")).to_be_visible()
    screenshot(page, "sharing-autocomplete")
    page.get_by_role("button", name="bruno (user)").click()
    expect(page.get_by_label("User or team")).to_have_value("bruno")
    page.get_by_label("Role", exact=True).select_option(label="Consumer")
    page.get_by_role("button", name="Share", exact=True).click()

    expect(page.get_by_label("Role of bruno")).to_have_value("CONSUMER")
    settled(page)
    expect(page.get_by_role("status").filter(has_text="Shared with bruno")).to_be_visible()
    # The last owner may not step down; the refusal is shown next to the change.
    page.get_by_label("Role of ana").select_option(label="Editor")
    expect(page.get_by_role("alert")).to_contain_text("This would leave no OWNER")
    expect(page.get_by_label("Role of ana")).to_have_value("OWNER")
    screenshot(page, "sharing")

    context = browser.new_context(**browser_context_args)
    try:
        bruno = context.new_page()
        sign_in(bruno, "bruno")
        rows = bruno.get_by_role("table", name="Repositories").locator("tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("payments-api")
        expect(rows.first).to_contain_text("CONSUMER")
    finally:
        context.close()


def test_an_api_key_is_shown_once_and_revoked_through_a_dialog(
    page: Page,
    live_server: Any,
    e2e_user: Callable[..., User],
    sign_in: Callable[[Page, str], None],
    screenshot: Callable[[Page, str], None],
) -> None:
    e2e_user("ana")
    sign_in(page, "ana")
    page.get_by_text("ana", exact=True).click()  # the user menu
    page.get_by_role("link", name="API keys").click()

    page.get_by_label("Name of a new key").fill("ci deploys")
    page.get_by_role("button", name="Create key").click()
    secret = page.locator("#new-key-secret")
    expect(secret).to_contain_text("berth_")
    expect(page.get_by_role("button", name="Copy")).to_be_visible()
    settled(page)
    screenshot(page, "api-keys")
    key = secret.inner_text()
    # A client of its own: the browser's session cookie would authenticate on its own.
    assert Client().get(ARTIFACTS, headers={"Authorization": f"Bearer {key}"}).status_code == 200

    page.get_by_role("link", name="Revoke ci deploys").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("401 Unauthorized")
    dialog.get_by_role("button", name="Revoke key").click()

    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.get_by_role("table", name="API keys")).to_contain_text("revoked")
    expect(page.locator("#new-key-secret")).to_have_count(0)
    assert Client().get(ARTIFACTS, headers={"Authorization": f"Bearer {key}"}).status_code == 401
