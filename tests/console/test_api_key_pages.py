"""The API keys page: a new key's secret is shown once and works; revoked keys stop working."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from console.auth import api_key_create
from console.models import ApiKey
from tests.conftest import ARTIFACTS

HTMX = {"HX-Request": "true"}
SECRET = re.compile(r'<code id="new-key-secret">(berth_[^<]+)</code>')


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    """Users without a password (hashing one is slow); these tests use ``force_login``."""

    def make(username: str, **extra: Any) -> User:
        return User.objects.create(username=username, **extra)

    return make


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def call_api(secret: str) -> Any:
    return Client().get(ARTIFACTS, headers={"Authorization": f"Bearer {secret}"})


def test_a_new_key_is_shown_once_and_authenticates(owner: User) -> None:
    client = client_for(owner)

    created = client.post("/api-keys/", {"name": "ci deploys"}, headers=HTMX)

    body = created.content.decode()
    assert created.status_code == 200
    assert "<html" not in body
    assert "no-store" in created["Cache-Control"]
    match = SECRET.search(body)
    assert match is not None
    secret = match.group(1)
    assert 'data-copy-target="new-key-secret"' in body
    assert call_api(secret).status_code == 200
    key = ApiKey.objects.get(user=owner)
    assert key.name == "ci deploys"
    assert key.last_used_at is not None

    listed = client.get("/api-keys/").content.decode()
    assert "ci deploys" in listed
    assert f"{key.prefix}…" in listed
    assert secret not in listed
    assert "new-key-secret" not in listed


def test_without_javascript_the_whole_page_shows_the_secret(owner: User) -> None:
    response = client_for(owner).post("/api-keys/", {"name": "laptop"})

    body = response.content.decode()
    assert "<html" in body
    assert SECRET.search(body) is not None


def test_a_blank_name_is_refused_inline(owner: User) -> None:
    response = client_for(owner).post("/api-keys/", {"name": "  "}, headers=HTMX)

    assert response.status_code == 422
    assert 'id="key-name-error" role="alert">Give the key a name' in response.content.decode()
    assert not ApiKey.objects.exists()


def test_the_list_holds_only_the_users_own_keys(owner: User, stranger: User) -> None:
    api_key_create(actor=owner, name="mine")
    api_key_create(actor=stranger, name="theirs")

    body = client_for(owner).get("/api-keys/").content.decode()

    assert "mine" in body
    assert "theirs" not in body


def test_revoking_asks_first_then_the_key_stops_working(owner: User) -> None:
    key, secret = api_key_create(actor=owner, name="old laptop")
    client = client_for(owner)
    url = f"/api-keys/{key.pk}/revoke/"
    assert call_api(secret).status_code == 200

    dialog = client.get(url, headers=HTMX).content.decode()
    assert dialog.lstrip().startswith("<dialog data-open")
    assert "401 Unauthorized" in dialog
    assert call_api(secret).status_code == 200  # asking changed nothing

    revoked = client.post(url, headers=HTMX)

    body = revoked.content.decode()
    assert revoked.status_code == 200
    assert '<div id="dialogs" hx-swap-oob="innerHTML"></div>' in body
    assert "revoked" in body
    assert f'href="{url}"' not in body  # nothing left to revoke
    assert "toast" in revoked["HX-Trigger"]
    assert call_api(secret).status_code == 401


def test_revoking_without_javascript_is_a_page_and_a_redirect(owner: User) -> None:
    key, secret = api_key_create(actor=owner, name="old laptop")
    client = client_for(owner)
    url = f"/api-keys/{key.pk}/revoke/"

    confirm = client.get(url).content.decode()
    revoked = client.post(url)

    assert "<html" in confirm
    assert "Revoke key</button>" in confirm
    assert revoked.status_code == 303
    assert revoked["Location"] == "/api-keys/"
    assert call_api(secret).status_code == 401


def test_another_users_key_is_404(owner: User, stranger: User) -> None:
    key, secret = api_key_create(actor=stranger, name="theirs")
    client = client_for(owner)
    url = f"/api-keys/{key.pk}/revoke/"

    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
    assert client.post("/api-keys/000000000000000000000000/revoke/").status_code == 404
    assert call_api(secret).status_code == 200


def test_the_pages_are_for_signed_in_users(db: None) -> None:
    for response in (Client().get("/api-keys/"), Client().post("/api-keys/x/revoke/")):
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")


def test_the_user_menu_links_to_the_page(owner: User) -> None:
    body = client_for(owner).get("/").content.decode()

    assert '<a href="/api-keys/">API keys</a>' in body
