"""A locked artifact's ``permissions`` lists only what can still be done with it."""

from __future__ import annotations

from typing import Any

from tests.conftest import ARTIFACTS, REPOSITORIES, ApiClient

LOCKED_OWNER_RIGHTS = ["CAN_SHARE", "CAN_VIEW"]
DRAFT_OWNER_RIGHTS = ["CAN_DELETE", "CAN_SHARE", "CAN_UPDATE", "CAN_VIEW"]


def locked(api: ApiClient, artifact: dict[str, Any]) -> dict[str, Any]:
    response = api.patch(f"{ARTIFACTS}/{artifact['id']}", {"status": "locked"})
    assert response.status_code == 200, response.content
    body: dict[str, Any] = response.json()
    return body


def test_a_locked_artifact_offers_no_update_and_no_delete(api: ApiClient) -> None:
    version = locked(api, api.create_artifact())

    fetched = api.get(f"{ARTIFACTS}/{version['id']}").json()
    repository = api.get(f"{REPOSITORIES}/{version['artifactRepositoryId']}").json()

    assert version["permissions"] == LOCKED_OWNER_RIGHTS
    assert fetched["permissions"] == LOCKED_OWNER_RIGHTS
    # The repository itself still takes new drafts and may be renamed or shared.
    assert repository["permissions"] == DRAFT_OWNER_RIGHTS


def test_list_rows_narrow_locked_versions_and_leave_drafts_alone(
    api: ApiClient, editor_api: ApiClient, shared_artifact: dict[str, Any]
) -> None:
    version = locked(api, shared_artifact)
    draft = api.post(f"{ARTIFACTS}/{version['id']}/clone", {"name": "next"}).json()

    owner_rows = {row["id"]: row["permissions"] for row in api.get(ARTIFACTS).json()["data"]}
    editor_rows = {
        row["id"]: row["permissions"] for row in editor_api.get(ARTIFACTS).json()["data"]
    }

    assert owner_rows == {version["id"]: LOCKED_OWNER_RIGHTS, draft["id"]: DRAFT_OWNER_RIGHTS}
    assert editor_rows == {version["id"]: ["CAN_VIEW"], draft["id"]: ["CAN_UPDATE", "CAN_VIEW"]}
