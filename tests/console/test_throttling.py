"""Failed-attempt throttles: sign-ins per (username, address), API keys per address."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client, override_settings

from console.auth import api_key_create
from console.login_views import WAIT_MESSAGE
from console.throttle import FailureThrottle

pytestmark = pytest.mark.django_db

PASSWORD = "right-password-1"
ARTIFACTS = "/api/v2/artifacts"
INVOKE = "/api/v2/endpoints/workloads/0123456789abcdef01234567/predict"
THROTTLED = {"detail": "Too many failed attempts; try again later."}


@pytest.fixture(autouse=True)
def fresh_counts() -> Iterator[None]:
    """The counts live in the process's cache; no test may inherit another's."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def ana() -> User:
    return User.objects.create_user(username="ana", password=PASSWORD)


def sign_in(password: str, address: str = "127.0.0.1", username: str = "ana") -> tuple[Any, Client]:
    """The sign-in form's answer, and the client (with its session) that posted it."""
    client = Client(REMOTE_ADDR=address)
    return client.post("/login/", {"username": username, "password": password}), client


def bad_key(client: Client, path: str = ARTIFACTS, **extra: str) -> int:
    response = client.get(path, headers={"Authorization": "Bearer berth_not-a-key"}, **extra)
    return response.status_code


# Sign-in form


def test_the_sixth_failed_sign_in_is_told_to_wait_even_with_the_right_password(
    ana: User,
) -> None:
    for _ in range(5):
        failed, _client = sign_in("wrong-password")
        assert failed.status_code == 200
        assert "Your username and password did not match." in failed.content.decode()

    refused, client = sign_in(PASSWORD)

    assert refused.status_code == 429
    assert WAIT_MESSAGE in refused.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_block_is_per_username_and_address(ana: User) -> None:
    User.objects.create_user(username="ben", password=PASSWORD)
    for _ in range(5):
        sign_in("wrong-password")

    elsewhere, client = sign_in(PASSWORD, address="10.0.0.2")
    other_user, _client = sign_in(PASSWORD, username="ben")
    # The name typed in another case is the same bucket, not a way around it.
    other_case, _client = sign_in("wrong-password", username="ANA")

    assert elsewhere.status_code == 302
    assert client.session["_auth_user_id"] == str(ana.pk)
    assert other_user.status_code == 302
    assert other_case.status_code == 429


def test_a_successful_sign_in_forgets_earlier_failures(ana: User) -> None:
    for _ in range(4):
        sign_in("wrong-password")
    assert sign_in(PASSWORD)[0].status_code == 302

    statuses = [sign_in("wrong-password")[0].status_code for _ in range(6)]

    assert statuses == [200, 200, 200, 200, 200, 429]


def test_an_unknown_username_is_throttled_like_a_known_one() -> None:
    statuses = [sign_in("whatever", username="nobody")[0].status_code for _ in range(6)]

    assert statuses == [200, 200, 200, 200, 200, 429]


# API keys: the API and the invoke proxy share one count per address


def test_the_21st_bad_key_in_a_minute_is_429_and_then_even_a_good_key_waits(ana: User) -> None:
    _, secret = api_key_create(actor=ana, name="laptop")
    client = Client()

    statuses = [bad_key(client) for _ in range(20)]
    refused = client.get(ARTIFACTS, headers={"Authorization": "Bearer berth_not-a-key"})
    good_key = client.get(ARTIFACTS, headers={"Authorization": f"Bearer {secret}"})
    other_address = Client(REMOTE_ADDR="10.0.0.2").get(
        ARTIFACTS, headers={"Authorization": f"Bearer {secret}"}
    )

    assert statuses == [401] * 20
    assert refused.status_code == 429
    assert refused.json() == THROTTLED
    assert good_key.status_code == 429
    assert other_address.status_code == 200


def test_good_keys_do_not_count(ana: User) -> None:
    _, secret = api_key_create(actor=ana, name="laptop")
    client = Client()

    for _ in range(30):
        assert (
            client.get(ARTIFACTS, headers={"Authorization": f"Bearer {secret}"}).status_code == 200
        )

    assert [bad_key(client) for _ in range(21)] == [401] * 20 + [429]


def test_the_invoke_proxy_counts_into_the_same_bucket() -> None:
    client = Client()

    api_failures = [bad_key(client) for _ in range(10)]
    proxy_failures = [bad_key(client, INVOKE) for _ in range(10)]
    refused = client.post(INVOKE, headers={"Authorization": "Bearer berth_not-a-key"})

    assert api_failures + proxy_failures == [401] * 20
    assert refused.status_code == 429
    assert refused.json() == THROTTLED


@override_settings(BERTH_TRUST_X_FORWARDED_FOR=True)
def test_behind_a_trusted_proxy_the_last_forwarded_address_is_counted() -> None:
    proxy = Client(REMOTE_ADDR="10.0.0.1")

    # The client controls every entry but the last, which its proxy appended.
    spoofed = [bad_key(proxy, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 203.0.113.7") for n in range(21)]
    other_client = bad_key(proxy, HTTP_X_FORWARDED_FOR="198.51.100.9")

    assert spoofed == [401] * 20 + [429]
    assert other_client == 401


def test_without_a_trusted_proxy_forwarded_addresses_are_ignored() -> None:
    client = Client()

    statuses = [bad_key(client, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}") for n in range(21)]

    assert statuses == [401] * 20 + [429]


# The helper itself


def test_a_throttle_forgets_failures_when_its_window_ends() -> None:
    throttle = FailureThrottle("test-window", limit=2, window=1)
    throttle.failed("ana", "127.0.0.1")
    throttle.failed("ana", "127.0.0.1")
    assert throttle.blocked("ana", "127.0.0.1")
    assert not throttle.blocked("ana", "10.0.0.2")

    time.sleep(1.2)

    assert not throttle.blocked("ana", "127.0.0.1")
