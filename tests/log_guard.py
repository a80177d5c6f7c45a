"""The log guard: no log line of the test run may carry an API key, a password or an
environment value.

Every record any logger emits, at any level, is kept while a test runs and checked when it
ends; a line that carries a secret fails that test (lines logged between tests are checked
at the end of the session). The guard learns the run's secrets as the code meets them:

- API keys by their shape (``berth_`` and a long token): minted or made up, a key is never
  logged;
- every password Django is asked to hash or check, right or wrong, through the test run's
  password hasher (``RecordingPasswordHasher``);
- every environment value of every artifact saved.

One logger is left out: ``django.db.backends`` echoes SQL, parameters included, only under
``DEBUG`` or while a test counts queries, and production mode refuses ``DEBUG``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from celery.signals import setup_logging
from django.contrib.auth.hashers import MD5PasswordHasher
from django.db.models.signals import post_save

from artifacts.models import Artifact
from console.auth import KEY_PREFIX

API_KEY = re.compile(re.escape(KEY_PREFIX) + r"[A-Za-z0-9_-]{20,}")
# Shorter values ("1", "info") occur in ordinary lines; none of the suite's secrets is so
# short.
SHORTEST_SECRET = 6
SQL_ECHO = "django.db.backends"

_secrets: set[str] = set()


def remember(secret: str) -> None:
    """Treat ``secret`` as a value no log line may contain."""
    if len(secret) >= SHORTEST_SECRET:
        _secrets.add(secret)


def leaks(lines: Iterable[str]) -> list[str]:
    """The lines that carry a secret, the secret masked."""
    found = []
    for line in lines:
        masked = API_KEY.sub("<api key>", line)
        for secret in _secrets:
            masked = masked.replace(secret, "<secret>")
        if masked != line:
            found.append(masked)
    return found


class RecordingPasswordHasher(MD5PasswordHasher):
    """MD5 (fast: the suite makes many users) that remembers every password it sees."""

    def encode(self, password: str, salt: str) -> str:
        remember(password)
        return super().encode(password, salt)


def _remember_environment(sender: Any, instance: Artifact, **kwargs: Any) -> None:
    for group in (instance.spec or {}).get("containerGroups") or []:
        for container in group.get("containers") or []:
            for variable in container.get("environmentVars") or []:
                if isinstance(variable, dict) and isinstance(variable.get("value"), str):
                    remember(variable["value"])


class Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith(SQL_ECHO):
            self.lines.append(self.format(record))

    def take(self) -> list[str]:
        lines, self.lines = self.lines, []
        return lines


recorder = Recorder()


def _keep_root_logger(**kwargs: Any) -> None:
    """The test worker would otherwise replace the root logger's handlers with its own."""


def pytest_configure(config: pytest.Config) -> None:
    post_save.connect(_remember_environment, sender=Artifact, weak=False)
    setup_logging.connect(_keep_root_logger, weak=False)


@pytest.fixture(scope="session", autouse=True)
def log_guard_installed() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)  # after Django's LOGGING, which sets INFO
    root.addHandler(recorder)
    yield
    root.removeHandler(recorder)
    root.setLevel(level)


@pytest.fixture(autouse=True)
def no_secret_logged(log_guard_installed: None) -> Iterator[None]:
    yield
    found = leaks(recorder.take())
    if found:
        pytest.fail("A log line carries a secret:\n" + "\n".join(found), pytrace=False)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    found = leaks(recorder.take())
    if found:
        print("\nA log line written between tests carries a secret:\n" + "\n".join(found))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
