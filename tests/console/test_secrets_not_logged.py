"""No key or password reaches the log, whatever a client sends, even with DEBUG on (where
the bearer class django-ninja ships logs a header with another scheme in full)."""

from __future__ import annotations

import base64
import logging
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from console.auth import api_key_create, api_key_revoke
from tests.log_guard import leaks

pytestmark = pytest.mark.django_db

ARTIFACTS = "/api/v2/artifacts"
INVOKE = "/api/v2/endpoints/workloads/0123456789abcdef01234567/predict"
PASSWORD = "olgas-password-9"
WRONG_PASSWORD = "not-olgas-password-7"


@pytest.fixture
def olga() -> User:
    return User.objects.create_user(username="olga", password=PASSWORD, is_staff=True)


def authorization_headers(key: str, revoked: str) -> list[str]:
    basic = base64.b64encode(f"olga:{PASSWORD}".encode()).decode()
    return [
        f"Token {key}",
        f"Basic {basic}",
        f"Bearer{key}",
        key,
        f"Bearer {revoked}",
        f"Bearer {key[:-1]}x",
        f"Bearer {key} {key}",
    ]


def test_wrong_schemes_and_bad_keys_leave_no_key_in_the_log(
    olga: User, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.DEBUG = True
    caplog.set_level(logging.DEBUG)
    _, key = api_key_create(actor=olga, name="script")
    revoked_row, revoked = api_key_create(actor=olga, name="old")
    api_key_revoke(actor=olga, key_id=revoked_row.id)
    client = Client()

    answers = [
        client.get(path, headers={"Authorization": header}).status_code
        for header in authorization_headers(key, revoked)
        for path in (ARTIFACTS, INVOKE)
    ]

    assert set(answers) <= {401, 429}, answers
    assert key not in caplog.text
    assert revoked not in caplog.text
    assert leaks(caplog.messages) == []


@pytest.mark.parametrize("path", ["/login/", "/admin/login/"])
def test_failed_sign_ins_leave_no_password_in_the_log(
    olga: User, path: str, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.DEBUG = True
    caplog.set_level(logging.DEBUG)
    client = Client()

    # Wrong passwords until the throttle answers, a password typed as the username, the
    # right one while blocked.
    answers = [
        client.post(path, {"username": "olga", "password": WRONG_PASSWORD}).status_code
        for _ in range(6)
    ]
    answers.append(client.post(path, {"username": PASSWORD, "password": PASSWORD}).status_code)
    answers.append(client.post(path, {"username": "olga", "password": PASSWORD}).status_code)

    assert answers[-1] == 429
    for password in (PASSWORD, WRONG_PASSWORD):
        assert password not in caplog.text
    assert leaks(caplog.messages) == []
