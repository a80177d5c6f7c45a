"""The draft editor in a browser: build a two-container draft, see an inline error, fix, save."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from artifacts.models import Artifact
from artifacts.services import artifact_create
from tests.conftest import artifact_body

pytestmark = pytest.mark.django_db(transaction=True)

PORT_TOO_LOW = "Input should be greater than or equal to 1024"


def test_new_draft_with_a_sidecar_shows_a_bad_port_inline_and_saves_once_fixed(
    page: Page,
    live_server: Any,
    e2e_user: Callable[..., User],
    sign_in: Callable[[Page, str], None],
    screenshot: Callable[[Page, str], None],
) -> None:
    e2e_user("ana")
    sign_in(page, "ana")
    page.get_by_role("link", name="New artifact").click()
    expect(page).to_have_url(f"{live_server.url}/artifacts/new/")

    def field(label: str) -> Any:
        return page.get_by_label(label, exact=True)

    typed = {
        "Artifact name": "orders-api",
        "Name of container 1": "web",
        "Image URI of container 1": "registry.example.com/shop/web:1.0",
        "Port of container 1": "8080",
        "Readiness probe path of container 1": "/ready",
    }
    for label, value in typed.items():
        field(label).fill(value)
    page.get_by_role("button", name="+ Add sidecar").click()
    expect(field("Name of container 2")).to_be_visible()
    sidecar = {
        "Name of container 2": "proxy",
        "Image URI of container 2": "registry.example.com/shop/proxy:2.0",
    }
    for label, value in sidecar.items():
        field(label).fill(value)
    expect(field("Primary (container 1)")).to_be_checked()
    # The sidecar's build inputs stay hidden until "Build from source" is chosen.
    expect(field("Dockerfile path of container 2")).to_be_hidden()
    screenshot(page, "editor")

    field("Port of container 1").fill("80")
    page.get_by_role("button", name="Save draft").first.click()
    port = field("Port of container 1")
    expect(port).to_have_accessible_description(PORT_TOO_LOW)
    expect(port).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("alert")).to_contain_text("Not saved: 1 problem to fix.")
    for label, value in {**typed, **sidecar, "Port of container 1": "80"}.items():
        expect(field(label)).to_have_value(value)
    assert not Artifact.objects.exists()
    screenshot(page, "editor-error")

    port.fill("8080")
    page.get_by_role("button", name="Save draft").first.click()
    expect(page).to_have_url(re.compile(rf"^{live_server.url}/artifacts/[0-9a-f]{{24}}/$"))
    artifact = Artifact.objects.get()
    assert page.url == f"{live_server.url}/artifacts/{artifact.pk}/"
    expect(page.get_by_role("status")).to_contain_text("Draft “orders-api” created.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("orders-api")
    names = [c["name"] for c in artifact.spec["containerGroups"][0]["containers"]]
    assert names == ["web", "proxy"]


def test_editing_a_draft_toggles_inputs_without_scripts_and_adds_a_variable(
    page: Page,
    live_server: Any,
    e2e_user: Callable[..., User],
    sign_in: Callable[[Page, str], None],
    screenshot: Callable[[Page, str], None],
) -> None:
    draft = artifact_create(actor=e2e_user("ben"), data=artifact_body())
    sign_in(page, "ben")
    page.goto(f"{live_server.url}/artifacts/{draft.pk}/edit/")

    def field(label: str) -> Any:
        return page.get_by_label(label, exact=True)

    expect(field("Port of container 1")).to_have_value("8080")
    field("Build from source (container 2)").check()
    expect(field("Image URI of container 2")).to_be_hidden()
    expect(field("Dockerfile path of container 2")).to_be_visible()
    field("Use an image (container 2)").check()
    expect(field("Image URI of container 2")).to_have_value("registry.example.com/team/proxy:2.0")
    expect(field("Liveness probe path of container 1")).to_be_hidden()
    field("Liveness probe enabled (container 1)").check()
    field("Liveness probe path of container 1").fill("/live")
    page.get_by_role("button", name="Add a variable to container 1").click()
    field("Name of variable 1 of container 1").fill("LOG_LEVEL")
    field("Value of variable 1 of container 1").fill("debug")
    expect(field("Liveness probe path of container 1")).to_have_value("/live")
    screenshot(page, "editor-edit")

    page.get_by_role("button", name="Save draft").first.click()
    expect(page).to_have_url(f"{live_server.url}/artifacts/{draft.pk}/")
    draft.refresh_from_db()
    web = draft.spec["containerGroups"][0]["containers"][0]
    assert web["environmentVars"] == [{"name": "LOG_LEVEL", "value": "debug"}]
    assert web["livenessProbe"]["path"] == "/live"
