"""The console shows a build's log growing while it runs, the result when it ends, and
locks the built draft."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from artifacts.services import artifact_create
from tests.conftest import artifact_body, primary_container

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("celery_worker_thread"),
]


def test_the_log_grows_while_the_build_runs_and_the_built_draft_locks(
    page: Page,
    live_server: Any,
    build_settings: str,
    e2e_user: Callable[..., User],
    sign_in: Callable[[Page, str], None],
    screenshot: Callable[[Page, str], None],
    tmp_path: Any,
) -> None:
    ana = e2e_user("ana")
    web = primary_container(imageBuildConfig={"dockerfile": {"source": "provided"}})
    del web["imageUri"]
    draft = artifact_create(
        actor=ana,
        data=artifact_body(spec={"containerGroups": [{"name": "default", "containers": [web]}]}),
    )
    archive = tmp_path / "source.tar.gz"
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(
        f"FROM {build_settings}\n"
        "RUN for i in 1 2 3 4 5 6; do echo tick-$i; sleep 1; done\n"
        "EXPOSE 8080\n"
    )
    import tarfile

    with tarfile.open(archive, "w:gz") as tar:
        tar.add(dockerfile, arcname="Dockerfile")

    sign_in(page, "ana")
    page.goto(f"{live_server.url}/artifacts/{draft.id}/?tab=builds")
    page.get_by_label("Source archive").set_input_files(str(archive))
    page.get_by_role("button", name="Upload source").click()
    expect(page.locator("#builds").get_by_role("status")).to_contain_text("Uploaded source.tar.gz")
    page.get_by_role("button", name="Build", exact=True).click()
    builds = page.get_by_role("table", name="Builds of this artifact")
    expect(builds).to_contain_text("web")
    builds.get_by_role("link", name="Log").first.click()

    log = page.get_by_label("Build log")
    expect(log).to_contain_text("tick-2", timeout=30_000)
    partway = log.inner_text()
    assert "tick-6" not in partway
    screenshot(page, "build-log")
    expect(log).to_contain_text("tick-6", timeout=30_000)
    assert len(log.inner_text()) > len(partway)  # the same page, grown without a reload
    expect(page.locator("#build-status")).to_have_text("Completed", timeout=30_000)
    expect(log).to_contain_text("Pushed ")

    # The built draft locks through the console's dialog, as through the API.
    page.goto(f"{live_server.url}/artifacts/{draft.id}/")
    page.get_by_role("link", name="Lock", exact=True).click()
    dialog = page.get_by_role("dialog", name=f"Lock “{draft.name}”")
    expect(dialog).not_to_contain_text("It cannot be locked yet")
    dialog.get_by_role("button", name="Lock as version 1").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Locked · version 1")
