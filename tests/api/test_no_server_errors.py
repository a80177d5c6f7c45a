"""Inputs that once answered 500, and the classes behind them: each answers 4xx in the
API's JSON shape. (The fuzzer in test_fuzz.py looks for more; these pin what it found.)"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from tests.conftest import ARTIFACTS, ApiClient

pytestmark = pytest.mark.django_db

BEYOND_INT64 = str(2**63)
WORKLOADS = "/api/v2/workloads"


def test_a_multipart_upload_without_a_boundary_is_invalid_input(api: ApiClient) -> None:
    artifact = api.create_artifact()

    response = api.client.post(
        f"{ARTIFACTS}/{artifact['id']}/source",
        data=b"--x\r\nContent-Disposition: form-data; name=file\r\n\r\nA\r\n--x--\r\n",
        content_type="multipart/form-data",
        headers=api.headers,
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body"]


@pytest.mark.parametrize("path", [WORKLOADS, ARTIFACTS, "/api/v2/artifactRepositories"])
@pytest.mark.parametrize("parameter", ["offset", "limit"])
def test_numeric_query_parameters_beyond_64_bits_are_invalid(
    api: ApiClient, path: str, parameter: str
) -> None:
    response = api.get(path, **{parameter: BEYOND_INT64})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", parameter]


def test_the_largest_offset_accepted_reads_an_empty_page(api: ApiClient) -> None:
    schema = api.get("/api/v2/openapi.json").json()
    parameters = schema["paths"][WORKLOADS]["get"]["parameters"]
    largest = next(p for p in parameters if p["name"] == "offset")["schema"]["maximum"]

    response = api.get(WORKLOADS, offset=str(largest))

    assert response.status_code == 200
    assert response.json()["data"] == []


@pytest.mark.parametrize(
    "entry",
    [
        {"shareRecipientType": {}, "role": ""},
        {"shareRecipientType": ["user"], "role": "EDITOR", "username": "sam"},
        {"shareRecipientType": "user", "role": {}, "username": "sam"},
        {"shareRecipientType": "user", "role": "EDITOR", "id": 2**63},
        {"shareRecipientType": "group", "role": "EDITOR", "id": str(2**40)},
        {"shareRecipientType": "user", "role": "EDITOR", "id": "\u00b2"},
    ],
)
def test_a_role_entry_of_the_wrong_types_is_invalid(api: ApiClient, entry: dict[str, Any]) -> None:
    artifact = api.create_artifact()
    body = {"operation": "updateRoles", "roles": [entry]}

    response = api.patch(f"{ARTIFACTS}/{artifact['id']}/sharedRoles", body)

    assert response.status_code == 422, response.content
    assert response.json()["detail"][0]["loc"][:3] == ["body", "roles", 0]


def test_a_json_body_over_the_limit_is_too_large_and_says_the_limit(api: ApiClient) -> None:
    body = json.dumps({"name": "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE})

    response = api.client.post(
        ARTIFACTS, data=body, content_type="application/json", headers=api.headers
    )

    assert response.status_code == 413
    assert str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE) in response.json()["detail"]


@pytest.mark.parametrize("path", ["/api/v2/nothing-here", f"{ARTIFACTS}/abc/nothing-here"])
def test_an_unknown_api_path_answers_json_404(api: ApiClient, path: str) -> None:
    response = api.get(path)

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_a_wrong_method_answers_json_405_with_allow(api: ApiClient) -> None:
    response = api.put(ARTIFACTS, {})

    assert response.status_code == 405
    assert response.json() == {"detail": "Method not allowed."}
    assert set(response["Allow"].split(", ")) == {"GET", "HEAD", "POST"}


@pytest.mark.parametrize("path", [ARTIFACTS, WORKLOADS, "/api/v2/openapi.json"])
def test_head_answers_wherever_get_does_with_its_headers_and_no_body(
    api: ApiClient, path: str
) -> None:
    got = api.get(path)

    head = Client().head(path, headers=api.headers)

    assert head.status_code == got.status_code == 200
    assert head.content == b""
    assert head["Content-Type"] == got["Content-Type"]
    assert head["Content-Length"] == str(len(got.content))


def test_head_on_a_missing_object_is_404(api: ApiClient) -> None:
    head = Client().head(f"{ARTIFACTS}/65f0a1b2c3d4e5f6a7b8c9d0", headers=api.headers)

    assert head.status_code == 404
