"""The repository list: search as you type, and the back button restores the list."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from artifacts.services import artifact_create
from tests.conftest import artifact_body

pytestmark = pytest.mark.django_db(transaction=True)


def test_search_narrows_as_you_type_and_back_restores(
    page: Page,
    live_server: Any,
    e2e_user: Callable[..., User],
    sign_in: Callable[[Page, str], None],
    screenshot: Callable[[Page, str], None],
) -> None:
    ana = e2e_user("ana")
    for name in ("payments-api", "payments-worker", "search-index"):
        artifact_create(actor=ana, data=artifact_body(name=name))
    sign_in(page, "ana")
    rows = page.get_by_role("table", name="Repositories").locator("tbody tr")
    expect(rows).to_have_count(3)
    screenshot(page, "repositories")

    page.get_by_label("Search repositories").press_sequentially("paym", delay=40)
    expect(rows).to_have_count(2)
    expect(page).to_have_url(
        f"{live_server.url}/repositories/?search=paym&scope=all&type=&sort=-updatedAt"
    )
    page.get_by_label("Search repositories").fill("search-i")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("search-index")

    page.go_back()
    # The restored page is the whole page with the earlier list, not a bare fragment.
    expect(page.get_by_role("heading", name="Repositories")).to_be_visible()
    expect(page.get_by_label("Search repositories")).to_have_value("paym")
    expect(rows).to_have_count(2)
