"""The Content-Security-Policy in a browser: the main console pages, their tabs, dialogs and
htmx swaps work under the strict policy, with no violation and nothing on the console."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import ConsoleMessage, Page, expect

from artifacts.services import artifact_create, artifact_lock
from console.teams import team_add_member, team_create
from tests.conftest import artifact_body
from workloads.services import workload_create

pytestmark = pytest.mark.django_db(transaction=True)

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'self'; "
    "object-src 'none'"
)
# Runs in every document before its own scripts, so no violation can happen unseen.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__violations.push(
    event.effectiveDirective + " blocked " + (event.blockedURI || "inline") +
    " at " + event.sourceFile + ":" + event.lineNumber + " " + (event.sample || "")
  );
});
"""
# Violation events are queued as tasks: let the ones already queued run before reading them.
PENDING_TASKS = "() => new Promise((resolve) => setTimeout(() => setTimeout(resolve)))"


class Watch:
    """Everything a page reports that the policy or a script refused."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.console: list[str] = []
        page.add_init_script(RECORD_VIOLATIONS)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.console.append(f"uncaught: {error}"))

    def _console(self, message: ConsoleMessage) -> None:
        self.console.append(f"{message.type}: {message.text} ({self.page.url})")

    def violations(self) -> list[str]:
        self.page.evaluate(PENDING_TASKS)
        return list(self.page.evaluate("window.__violations"))

    def assert_clean(self) -> None:
        """The current document, as it is now, has broken nothing."""
        assert self.violations() == []
        assert self.console == []

    def visit(self, path: str) -> None:
        """Leave the current document (checked first: leaving forgets its violations) for
        ``path``, which must come with the policy."""
        self.assert_clean()
        response = self.page.goto(self.base_url + path)
        assert response is not None
        assert response.status == 200
        assert response.headers.get("content-security-policy") == POLICY


def settled(page: Page) -> None:
    """htmx wires what it swapped in ~20 ms later, when it drops ``htmx-added``."""
    expect(page.locator(".htmx-added")).to_have_count(0)


@pytest.fixture
def watch(page: Page, live_server: Any) -> Watch:
    return Watch(page, live_server.url)


def test_the_policy_blocks_inline_script_and_the_watch_reports_it(
    page: Page, watch: Watch, e2e_user: Callable[..., User], sign_in: Callable[[Page, str], None]
) -> None:
    """The canary: what the other test relies on to see a violation does see one."""
    e2e_user("ana")
    sign_in(page, "ana")

    page.evaluate(
        """() => {
          const script = document.createElement("script");
          script.textContent = "window.inlineRan = true";
          document.body.appendChild(script);
        }"""
    )

    assert page.evaluate("window.inlineRan === undefined")
    violations = watch.violations()
    assert len(violations) == 1
    assert violations[0].startswith("script-src-elem blocked inline")


def test_main_pages_work_under_the_policy(
    page: Page, watch: Watch, e2e_user: Callable[..., User], sign_in: Callable[[Page, str], None]
) -> None:
    ana = e2e_user("ana", is_staff=True, is_superuser=True)  # teams: superusers only
    first = artifact_create(actor=ana, data=artifact_body(name="payments-api"))
    artifact_lock(actor=ana, artifact_id=first.pk)
    draft = artifact_create(
        actor=ana,
        data=artifact_body(name="payments-api-next", artifactRepositoryId=first.repository_id),
    )
    artifact_create(actor=ana, data=artifact_body(name="search-api"))
    team = team_create(actor=ana, name="platform")
    team_add_member(actor=ana, team=team.pk, username="ana")
    workload = workload_create(actor=ana, data={"name": "checkout", "artifactId": first.pk})
    # The sign-in page and the front page it leads to are watched too.
    sign_in(page, "ana")

    # Repository list, narrowed by a search (an htmx swap).
    watch.visit("/")
    repositories = page.get_by_role("table", name="Repositories")
    expect(repositories).to_contain_text("search-api")
    page.get_by_label("Search repositories").fill("payments")
    expect(repositories).not_to_contain_text("search-api")
    expect(repositories).to_contain_text("payments-api")

    # The repository page and each of its tabs.
    watch.visit(f"/repositories/{first.repository_id}/")
    for tab in ("Drafts", "Workloads", "Sharing", "Activity", "Locked versions"):
        settled(page)
        page.get_by_role("tab", name=tab).click()
        expect(page.get_by_role("tab", name=tab)).to_have_attribute("aria-selected", "true")

    # The draft's page, each tab, and the lock dialog opened and closed.
    watch.visit(f"/artifacts/{draft.pk}/")
    views = page.get_by_role("navigation", name="Views of this artifact")
    for tab in ("Builds", "JSON", "YAML", "Changes", "Containers"):
        settled(page)
        views.get_by_role("link", name=tab, exact=True).click()
        expect(views.get_by_role("link", name=tab, exact=True)).to_have_attribute(
            "aria-selected", "true"
        )
    settled(page)
    page.get_by_role("link", name="Lock", exact=True).click()
    dialog = page.get_by_role("dialog", name="Lock “payments-api-next”")
    expect(dialog).to_contain_text("This draft becomes version 2")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)

    # The draft editor, adding a sidecar.
    watch.visit("/artifacts/new/")
    page.get_by_role("button", name="+ Add sidecar").click()
    expect(page.get_by_label("Name of container 2", exact=True)).to_be_visible()

    # API keys: create one (the secret is shown), open the revoke dialog, cancel it.
    watch.visit("/api-keys/")
    page.get_by_label("Name of a new key").fill("laptop")
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_role("status")).to_contain_text("Your new key “laptop”")
    settled(page)
    page.get_by_role("link", name="Revoke laptop").click()
    revoke = page.get_by_role("dialog")
    expect(revoke).to_contain_text("Revoke the key “laptop”?")
    revoke.get_by_role("button", name="Cancel").click()
    expect(revoke).to_have_count(0)

    # Teams, as staff.
    watch.visit("/teams/")
    page.get_by_role("link", name="platform").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("platform")

    # Workloads: the list, searched, and one workload's page.
    watch.visit("/workloads/")
    workloads = page.get_by_role("table", name="Workloads")
    expect(workloads).to_contain_text("checkout")
    page.get_by_label("Search workloads").fill("nothing-matches-this")
    expect(workloads).to_contain_text("No workload matches.")
    watch.visit(f"/workloads/{workload.pk}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("checkout")

    # The API docs (django-ninja's Swagger UI): rendered and expanded under the same policy.
    watch.visit("/api/v2/docs")
    page.locator(".opblock-summary").first.click()
    expect(page.get_by_role("button", name="Try it out").first).to_be_visible()

    watch.assert_clean()
