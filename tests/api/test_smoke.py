from __future__ import annotations

from tests.conftest import ARTIFACTS, ApiClient


def test_created_artifact_is_listed(api: ApiClient) -> None:
    created = api.create_artifact()
    listed = api.get(ARTIFACTS).json()
    assert listed["totalCount"] == 1
    assert listed["data"][0]["id"] == created["id"]
    assert created["spec"]["containerGroups"][0]["containers"][0]["readinessProbe"]["port"] == 8080
