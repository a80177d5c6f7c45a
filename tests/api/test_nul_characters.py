"""NUL characters are refused at the edge: PostgreSQL cannot hold or compare them."""

from __future__ import annotations

import pytest

from tests.conftest import ARTIFACTS, ApiClient, artifact_body

pytestmark = pytest.mark.django_db


def test_a_body_with_nul_is_invalid_at_its_path(api: ApiClient) -> None:
    response = api.post(ARTIFACTS, artifact_body(name="bad\x00name"))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "name"]
    assert response.json()["detail"][0]["type"] == "nul_character"


def test_nul_in_a_query_is_invalid_and_in_a_path_names_nothing(api: ApiClient) -> None:
    searched = api.get(ARTIFACTS, search="a\x00b")
    assert searched.status_code == 422
    assert searched.json()["detail"][0]["loc"] == ["query", "search"]
    assert api.get(f"{ARTIFACTS}/abc%00def").status_code == 404


def test_a_workload_names_its_artifact_by_a_real_id(api: ApiClient) -> None:
    response = api.post("/api/v2/workloads", {"name": "w", "artifactId": "\x00x"})
    assert response.status_code == 422
    response = api.post("/api/v2/workloads", {"name": "w", "artifactId": "not-an-id"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "artifactId"]
