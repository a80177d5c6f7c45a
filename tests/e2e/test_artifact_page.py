"""The artifact page in a browser: locking through the dialog, cloning, and the changes tab."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from artifacts.models import Artifact
from artifacts.services import artifact_create, artifact_lock, artifact_update
from tests.conftest import artifact_body, primary_container, sidecar_container

pytestmark = pytest.mark.django_db(transaction=True)


def body_with_details() -> dict[str, Any]:
    web = primary_container(
        entrypoint=["gunicorn", "--bind", "0.0.0.0:8080", "app:wsgi"],
        environmentVars=[
            {"name": "LOG_LEVEL", "value": "info"},
            {"name": "DATABASE_HOST", "value": "db.internal"},
        ],
        livenessProbe={"path": "/live", "periodSeconds": 30},
    )
    spec = {"containerGroups": [{"name": "default", "containers": [web, sidecar_container()]}]}
    return artifact_body(spec=spec)


def test_lock_through_the_dialog_updates_the_page_without_a_reload(
    page: Page,
    live_server: Any,
    e2e_user: Callable[..., User],
    sign_in: Callable[[Page, str], None],
    screenshot: Callable[[Page, str], None],
) -> None:
    ana = e2e_user("ana")
    artifact = artifact_create(actor=ana, data=body_with_details())
    sign_in(page, "ana")
    page.goto(f"{live_server.url}/artifacts/{artifact.pk}/")
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text("Draft")
    expect(page.get_by_role("article", name="Container web")).to_contain_text("LOG_LEVEL")
    # A full reload would drop this marker; an in-place update keeps it.
    page.evaluate("window.berthSamePage = true")

    page.get_by_role("link", name="Lock", exact=True).click()
    dialog = page.get_by_role("dialog", name="Lock “web-service”")
    expect(dialog).to_contain_text("This draft becomes version 1")
    screenshot(page, "artifact-lock")
    dialog.get_by_role("button", name="Lock as version 1").click()

    expect(dialog).to_have_count(0)
    expect(heading).to_contain_text("Locked · version 1")
    expect(page.get_by_role("status")).to_have_text("Locked as version 1")
    expect(page.get_by_role("link", name="Lock", exact=True)).to_have_count(0)
    expect(page.get_by_role("link", name="Clone to new draft")).to_be_visible()
    assert page.evaluate("window.berthSamePage") is True
    assert Artifact.objects.get(pk=artifact.pk).version == 1
    screenshot(page, "artifact")


def test_changes_tab_shows_what_a_clone_changed(
    page: Page,
    live_server: Any,
    e2e_user: Callable[..., User],
    sign_in: Callable[[Page, str], None],
    screenshot: Callable[[Page, str], None],
) -> None:
    ana = e2e_user("ana")
    first = artifact_create(actor=ana, data=body_with_details())
    artifact_lock(actor=ana, artifact_id=first.pk)
    sign_in(page, "ana")
    page.goto(f"{live_server.url}/artifacts/{first.pk}/")

    page.get_by_role("link", name="Clone to new draft").click()
    dialog = page.get_by_role("dialog", name="Clone to a new draft")
    expect(dialog.get_by_label("Name of the new draft")).to_have_value("web-service")
    dialog.get_by_label("Name of the new draft").fill("web-service-next")
    dialog.get_by_role("button", name="Clone").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("web-service-next")
    expect(page.get_by_role("status")).to_have_text("Cloned into a new draft “web-service-next”")
    clone = Artifact.objects.get(name="web-service-next")
    expect(page).to_have_url(f"{live_server.url}/artifacts/{clone.pk}/")

    spec = clone.spec
    web = spec["containerGroups"][0]["containers"][0]
    web["environmentVars"][0]["value"] = "debug"
    web["imageUri"] = "registry.example.com/team/web:1.1"
    artifact_update(actor=ana, artifact_id=clone.pk, data={"spec": spec})
    page.reload()
    page.get_by_role("link", name="Changes").click()

    changes = page.get_by_role("table", name="Changes since version 1")
    expect(changes.locator("tbody tr")).to_have_count(3)
    expect(changes).to_contain_text("spec.containerGroups[default].containers[web].imageUri")
    env_path = "spec.containerGroups[default].containers[web].environmentVars[LOG_LEVEL].value"
    expect(changes.get_by_role("row", name=env_path).get_by_role("cell")).to_have_text(
        [env_path, "changed", '"info"', '"debug"']
    )
    expect(page).to_have_url(f"{live_server.url}/artifacts/{clone.pk}/?tab=changes")
    screenshot(page, "artifact-diff")
