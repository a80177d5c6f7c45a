"""Oversized requests are refused with 413 at the web layer, before their body is read."""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client, override_settings

ARTIFACTS = "/api/v2/artifacts"


@pytest.mark.django_db
@override_settings(BERTH_MAX_REQUEST_BYTES=1000)
def test_a_body_over_the_limit_is_413_and_one_at_the_limit_goes_through() -> None:
    client = Client()

    over = client.post(ARTIFACTS, "x" * 1001, content_type="application/json")
    at_limit = client.post(ARTIFACTS, "x" * 1000, content_type="application/json")

    assert over.status_code == 413
    assert over.json() == {"detail": "The request body is 1001 bytes; the limit is 1000 bytes."}
    # Anonymous: the API's own answer, so the request reached it.
    assert at_limit.status_code == 401


@pytest.mark.django_db
def test_the_default_limit_leaves_room_for_a_full_source_upload() -> None:
    assert settings.BERTH_MAX_REQUEST_BYTES == settings.BERTH_SOURCE_MAX_BYTES + 2**20


@pytest.mark.django_db(transaction=True)
def test_the_server_answers_413_without_waiting_for_the_body(live_server: Any) -> None:
    """A multipart POST with a CSRF cookie is parsed by the CSRF check before any view runs:
    if anything read the declared 10 GiB body, which never comes, no answer would arrive."""
    address = urlsplit(live_server.url)
    declared = 10 * 2**30
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=10)
    try:
        connection.putrequest("POST", "/login/")
        connection.putheader("Content-Type", "multipart/form-data; boundary=berth")
        connection.putheader("Content-Length", str(declared))
        # With a well-formed CSRF cookie the CSRF check looks for the token in the body.
        connection.putheader("Cookie", "csrftoken=" + "a" * 32)
        connection.endheaders()  # the headers only: not one byte of the body follows
        response = connection.getresponse()
        body = json.loads(response.read())
    finally:
        connection.close()

    assert response.status == 413
    assert body == {
        "detail": f"The request body is {declared} bytes; the limit is "
        f"{settings.BERTH_MAX_REQUEST_BYTES} bytes."
    }
