"""Browser tests: Playwright driving Debian's Chromium against a live Django server."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

# Playwright's sync API runs an event loop in the test thread; Django's ORM refuses to run
# inside one unless told that this is deliberate.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("BERTH_CHROMIUM", "/usr/bin/chromium")
# Screenshots of the main pages, kept after the run for people to look at (see README).
# Not under test-results/: pytest-playwright empties that folder at the start of a run.
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
PASSWORD = "e2e-password-1"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": {"width": 1280, "height": 860}}


@pytest.fixture
def e2e_user(transactional_db: Any) -> Callable[..., User]:
    """Make a user who can sign in with ``PASSWORD``."""

    def make(username: str, **extra: Any) -> User:
        return User.objects.create_user(username=username, password=PASSWORD, **extra)

    return make


@pytest.fixture
def sign_in(live_server: Any) -> Callable[[Any, str], None]:
    """Sign ``page`` in as ``username`` through the real sign-in form."""

    def do(page: Any, username: str) -> None:
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{live_server.url}/")

    return do


@pytest.fixture
def screenshot() -> Callable[[Any, str], None]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page: Any, name: str) -> None:
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    return take
