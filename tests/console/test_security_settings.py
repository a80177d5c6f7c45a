"""Production mode (BERTH_PRODUCTION=1), the cache and the Content-Security-Policy header.

Settings are read once per process, so each mode is loaded in a subprocess of its own with
the environment under test.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'self'; "
    "object-src 'none'"
)
# Everything that could change the mode from outside the test; each test sets its own.
MODE_VARIABLES = {
    "BERTH_PRODUCTION",
    "BERTH_SECRET_KEY",
    "BERTH_DEBUG",
    "BERTH_ALLOWED_HOSTS",
    "BERTH_TRUST_X_FORWARDED_PROTO",
    "BERTH_TRUST_X_FORWARDED_FOR",
    "BERTH_CSRF_TRUSTED_ORIGINS",
    "BERTH_CACHE_URL",
    "BERTH_MAX_REQUEST_BYTES",
    "DJANGO_SETTINGS_MODULE",
    # Set by tests/e2e/conftest.py for Playwright in this process; never in a deployment,
    # and `check --deploy` rightly reports it.
    "DJANGO_ALLOW_ASYNC_UNSAFE",
}
PRINT_SETTINGS = """
import json, django
from django.conf import settings
django.setup()
names = [
    "DEBUG", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD",
    "SESSION_COOKIE_HTTPONLY", "SECURE_CONTENT_TYPE_NOSNIFF", "X_FRAME_OPTIONS",
    "SECURE_REFERRER_POLICY", "SECURE_PROXY_SSL_HEADER", "CSRF_TRUSTED_ORIGINS", "CACHES",
    "BERTH_TRUST_X_FORWARDED_FOR", "BERTH_MAX_REQUEST_BYTES", "BERTH_SOURCE_MAX_BYTES",
]
print(json.dumps({name: getattr(settings, name) for name in names}))
"""


def secret() -> str:
    return secrets.token_urlsafe(50)  # 67 characters


def run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in MODE_VARIABLES}
    environment["DJANGO_SETTINGS_MODULE"] = "console.settings"
    environment.update(env)
    return subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def settings_with(**env: str) -> dict[str, Any]:
    result = run(["-c", PRINT_SETTINGS], **env)
    assert result.returncode == 0, result.stderr
    loaded: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


def test_check_deploy_finds_nothing_in_production_mode() -> None:
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        BERTH_PRODUCTION="1",
        BERTH_SECRET_KEY=secret(),
        BERTH_ALLOWED_HOSTS="berth.example.com",
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_still_warns_outside_production_mode() -> None:
    """The counterpart: the same check does see the development defaults."""
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"])

    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W018"):
        assert warning in result.stdout + result.stderr


@pytest.mark.parametrize(
    "key",
    [None, "", "berth-embedded-default-key-do-not-use-in-production-0123456789"],
    ids=["missing", "empty", "embedded-default"],
)
def test_production_mode_refuses_to_start_without_a_secret(key: str | None) -> None:
    env = {"BERTH_PRODUCTION": "1", "BERTH_ALLOWED_HOSTS": "berth.example.com"}
    if key is not None:
        env["BERTH_SECRET_KEY"] = key

    result = run(["manage.py", "check"], **env)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "BERTH_SECRET_KEY is missing or the embedded development key" in result.stderr


def test_production_mode_turns_on_https_only_settings() -> None:
    loaded = settings_with(
        BERTH_PRODUCTION="1",
        BERTH_SECRET_KEY=secret(),
        BERTH_TRUST_X_FORWARDED_PROTO="1",
        BERTH_CSRF_TRUSTED_ORIGINS="https://berth.example.com, https://console.example.com",
    )

    assert loaded["DEBUG"] is False
    assert loaded["SESSION_COOKIE_SECURE"] is True
    assert loaded["CSRF_COOKIE_SECURE"] is True
    assert loaded["SECURE_SSL_REDIRECT"] is True
    assert loaded["SECURE_HSTS_SECONDS"] == 31536000
    assert loaded["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert loaded["SECURE_HSTS_PRELOAD"] is True
    assert loaded["SESSION_COOKIE_HTTPONLY"] is True
    assert loaded["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert loaded["X_FRAME_OPTIONS"] == "DENY"
    assert loaded["SECURE_REFERRER_POLICY"] == "same-origin"
    assert loaded["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert loaded["CSRF_TRUSTED_ORIGINS"] == [
        "https://berth.example.com",
        "https://console.example.com",
    ]


def test_development_mode_keeps_plain_http_working() -> None:
    loaded = settings_with()

    assert loaded["DEBUG"] is True
    assert loaded["SESSION_COOKIE_SECURE"] is False
    assert loaded["SECURE_SSL_REDIRECT"] is False
    assert loaded["SECURE_HSTS_SECONDS"] == 0
    # A client must not be able to claim HTTPS unless a proxy is trusted to say so.
    assert loaded["SECURE_PROXY_SSL_HEADER"] is None
    assert loaded["BERTH_TRUST_X_FORWARDED_FOR"] is False
    assert loaded["CSRF_TRUSTED_ORIGINS"] == []


@pytest.mark.parametrize(
    "key",
    ["abcde", "x" * 49, "ab" * 40, "abcd" * 20],
    ids=["5-characters", "49-characters", "2-distinct", "4-distinct"],
)
def test_production_mode_refuses_a_short_or_monotonous_secret(key: str) -> None:
    result = run(
        ["manage.py", "check"],
        BERTH_PRODUCTION="1",
        BERTH_SECRET_KEY=key,
        BERTH_ALLOWED_HOSTS="berth.example.com",
    )

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "at least 50 characters and 5 different ones" in result.stderr
    assert key not in result.stderr  # the refusal never repeats the secret


def test_production_mode_accepts_a_secret_just_long_and_varied_enough() -> None:
    loaded = settings_with(BERTH_PRODUCTION="1", BERTH_SECRET_KEY="abcde" * 10)

    assert loaded["DEBUG"] is False


@pytest.mark.parametrize("debug", ["1", "true", "on"])
def test_production_mode_refuses_debug(debug: str) -> None:
    result = run(
        ["manage.py", "check"],
        BERTH_PRODUCTION="1",
        BERTH_SECRET_KEY=secret(),
        BERTH_DEBUG=debug,
        BERTH_ALLOWED_HOSTS="berth.example.com",
    )

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "BERTH_DEBUG is on" in result.stderr


def test_production_mode_accepts_debug_explicitly_off() -> None:
    loaded = settings_with(BERTH_PRODUCTION="1", BERTH_SECRET_KEY=secret(), BERTH_DEBUG="0")

    assert loaded["DEBUG"] is False


def test_the_cache_is_local_memory_unless_a_redis_url_is_given() -> None:
    local = settings_with()["CACHES"]["default"]
    shared = settings_with(BERTH_CACHE_URL="redis://cache.internal:6379/2")["CACHES"]["default"]

    assert local == {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    assert shared == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://cache.internal:6379/2",
    }


def test_an_unsupported_cache_url_is_refused() -> None:
    result = run(["manage.py", "check"], BERTH_CACHE_URL="memcached://cache.internal:11211")

    assert result.returncode != 0
    assert "BERTH_CACHE_URL must be redis:// or rediss://" in result.stderr


def test_the_request_limit_defaults_to_the_upload_limit_plus_one_mebibyte() -> None:
    loaded = settings_with(BERTH_SOURCE_MAX_BYTES="5000000")

    assert loaded["BERTH_SOURCE_MAX_BYTES"] == 5000000
    assert loaded["BERTH_MAX_REQUEST_BYTES"] == 5000000 + 2**20


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/login/", "/api/v2/docs", "/api/v2/openapi.json"])
def test_responses_carry_the_policy_in_development_mode(path: str) -> None:
    response = Client().get(path)

    assert response.status_code == 200
    assert response["Content-Security-Policy"] == POLICY
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
