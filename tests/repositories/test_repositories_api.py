"""Artifact repositories: opened implicitly by artifacts, typed by the first one, and managed."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from guardian.shortcuts import get_perms

from artifacts.models import Artifact
from repositories.models import ArtifactRepository, RepositoryUserPermission
from tests.conftest import ARTIFACTS, REPOSITORIES, ApiClient, artifact_body, primary_container

NEW_ID = "0123456789abcdef01234567"


def nim_body(**overrides: Any) -> dict[str, Any]:
    spec = {
        "containerGroups": [
            {"containers": [primary_container(name="nim", imageUri="nvcr.io/nim/llm:1.0")]}
        ],
        "storage": {"mode": "dedicatedPvc", "pvcSize": "100Gi"},
    }
    return artifact_body(**({"name": "llm", "type": "nim", "spec": spec} | overrides))


def repository(api: ApiClient, repository_id: str) -> dict[str, Any]:
    response = api.get(f"{REPOSITORIES}/{repository_id}")
    assert response.status_code == 200, response.content
    return response.json()


def lock(api: ApiClient, artifact: dict[str, Any]) -> dict[str, Any]:
    response = api.patch(f"{ARTIFACTS}/{artifact['id']}", {"status": "locked"})
    assert response.status_code == 200, response.content
    return response.json()


def locs(response: Any) -> list[list[Any]]:
    return [problem["loc"] for problem in response.json()["detail"]]


# --- implicit creation -----------------------------------------------------------------


def test_artifact_without_repository_id_opens_a_new_repository_each_time(api: ApiClient) -> None:
    first = api.create_artifact(name="first")
    second = api.create_artifact(name="second")

    assert first["artifactRepositoryId"] != second["artifactRepositoryId"]
    assert repository(api, first["artifactRepositoryId"])["name"] == "first"
    assert repository(api, second["artifactRepositoryId"])["name"] == "second"
    assert api.get(REPOSITORIES).json()["totalCount"] == 2


def refusal(response: Any) -> tuple[int, Any]:
    return response.status_code, response.json()


def test_an_unknown_repository_id_is_refused_exactly_like_a_foreign_one(
    api: ApiClient, stranger_api: ApiClient
) -> None:
    # Clients never choose repository ids: otherwise a free id (201) and another team's id
    # (404) would tell a stranger which ids exist.
    foreign = api.create_artifact()["artifactRepositoryId"]

    unknown_answer = stranger_api.post(ARTIFACTS, artifact_body(artifactRepositoryId=NEW_ID))
    foreign_answer = stranger_api.post(ARTIFACTS, artifact_body(artifactRepositoryId=foreign))

    assert refusal(unknown_answer) == (404, {"detail": "Not found."})
    assert refusal(unknown_answer) == refusal(foreign_answer)
    assert not ArtifactRepository.objects.filter(pk=NEW_ID).exists()
    assert stranger_api.get(ARTIFACTS).json()["totalCount"] == 0


def test_a_deleted_repositorys_id_cannot_be_claimed_and_its_history_stays_hidden(
    api: ApiClient, stranger_api: ApiClient
) -> None:
    secret = "s3cr3t-token-in-an-entrypoint"
    created = api.create_artifact(description=f"uses {secret}")
    repository_id = created["artifactRepositoryId"]
    assert api.delete(f"{ARTIFACTS}/{created['id']}").status_code == 204
    assert api.delete(f"{REPOSITORIES}/{repository_id}").status_code == 204

    for claimant in (stranger_api, api):  # not even its former owner can bring it back
        answer = claimant.post(ARTIFACTS, artifact_body(artifactRepositoryId=repository_id))
        assert refusal(answer) == (404, {"detail": "Not found."})
    assert not ArtifactRepository.objects.filter(pk=repository_id).exists()
    for reader in (stranger_api, api):
        events = reader.get(f"/api/v2/auditEvents?objectId={repository_id}").json()
        assert events["totalCount"] == 0
        assert secret not in str(reader.get("/api/v2/auditEvents").json())


def test_a_new_repository_gets_a_fresh_server_chosen_id(api: ApiClient, owner: User) -> None:
    deleted = api.create_artifact()
    api.delete(f"{ARTIFACTS}/{deleted['id']}")
    api.delete(f"{REPOSITORIES}/{deleted['artifactRepositoryId']}")

    response = api.post(ARTIFACTS, artifact_body())

    assert response.status_code == 201, response.content
    repository_id = response.json()["artifactRepositoryId"]
    assert repository_id != deleted["artifactRepositoryId"]
    created = repository(api, repository_id)
    assert created["name"] == "web-service"
    assert created["type"] == "service"
    assert created["creator"] == "olga"
    assert created["numArtifacts"] == 1
    assert created["lastVersionNumber"] == 0
    assert set(created["permissions"]) == {"CAN_VIEW", "CAN_UPDATE", "CAN_DELETE", "CAN_SHARE"}
    held = ArtifactRepository.objects.get(pk=repository_id)
    assert "share_artifactrepository" in get_perms(owner, held)


def test_an_existing_own_repository_id_adds_the_artifact_to_it(api: ApiClient) -> None:
    first = api.create_artifact()
    repository_id = first["artifactRepositoryId"]

    second = api.create_artifact(name="second", artifactRepositoryId=repository_id)
    third = api.create_artifact(name="third", artifactRepositoryId=repository_id)

    assert second["artifactRepositoryId"] == repository_id
    assert third["artifactRepositoryId"] == repository_id
    held = repository(api, repository_id)
    assert held["numArtifacts"] == 3
    assert held["name"] == "web-service"  # named after the first artifact, not renamed
    assert ArtifactRepository.objects.count() == 1
    listed = api.get(REPOSITORIES).json()
    assert listed["totalCount"] == 1
    assert listed["data"][0]["numArtifacts"] == 3


@pytest.mark.parametrize(
    "bad_id",
    ["0123456789ABCDEF01234567", "0123456789abcdef0123456", "0123456789abcdef012345678", "x" * 24],
)
def test_a_malformed_repository_id_is_422_and_creates_nothing(api: ApiClient, bad_id: str) -> None:
    response = api.post(ARTIFACTS, artifact_body(artifactRepositoryId=bad_id))

    assert response.status_code == 422, response.content
    assert ["body", "artifactRepositoryId"] in locs(response)
    assert ArtifactRepository.objects.count() == 0
    assert Artifact.objects.count() == 0


def test_type_differing_from_the_repository_is_422_at_type(api: ApiClient) -> None:
    first = api.create_artifact()
    repository_id = first["artifactRepositoryId"]

    response = api.post(ARTIFACTS, nim_body(artifactRepositoryId=repository_id))

    assert response.status_code == 422, response.content
    assert locs(response) == [["body", "type"]]
    assert repository(api, repository_id)["numArtifacts"] == 1
    assert repository(api, repository_id)["type"] == "service"


def test_a_nim_repository_takes_its_type_from_its_first_artifact(api: ApiClient) -> None:
    nim = api.create_artifact(**nim_body())

    held = repository(api, nim["artifactRepositoryId"])

    assert nim["type"] == "nim"
    assert held["type"] == "nim"
    assert nim["spec"]["storage"] == {"mode": "dedicatedPvc", "pvcSize": "100Gi"}


def test_omitted_type_inherits_the_repository_type(api: ApiClient) -> None:
    nim = api.create_artifact(**nim_body())
    body = nim_body(name="llm-2", artifactRepositoryId=nim["artifactRepositoryId"])
    del body["type"]

    response = api.post(ARTIFACTS, body)

    assert response.status_code == 201, response.content
    assert response.json()["type"] == "nim"
    assert response.json()["spec"]["storage"]["pvcSize"] == "100Gi"
    assert repository(api, nim["artifactRepositoryId"])["numArtifacts"] == 2


def test_omitted_type_without_repository_is_service(api: ApiClient) -> None:
    body = artifact_body()
    del body["type"]

    response = api.post(ARTIFACTS, body)

    assert response.status_code == 201, response.content
    assert response.json()["type"] == "service"
    assert repository(api, response.json()["artifactRepositoryId"])["type"] == "service"


def test_a_stranger_naming_the_owners_repository_gets_404_and_creates_nothing(
    api: ApiClient, stranger_api: ApiClient
) -> None:
    first = api.create_artifact()
    repository_id = first["artifactRepositoryId"]

    response = stranger_api.post(ARTIFACTS, artifact_body(artifactRepositoryId=repository_id))

    assert response.status_code == 404, response.content
    assert response.json() == {"detail": "Not found."}
    assert repository(api, repository_id)["numArtifacts"] == 1
    assert Artifact.objects.filter(repository_id=repository_id).count() == 1
    assert not Artifact.objects.filter(creator__username="sam", repository_id=repository_id)
    assert stranger_api.get(ARTIFACTS).json()["totalCount"] == 0


# --- versions --------------------------------------------------------------------------


def test_versions_lists_locked_artifacts_newest_first(api: ApiClient) -> None:
    first = api.create_artifact(name="v")
    repository_id = first["artifactRepositoryId"]
    others = [
        api.create_artifact(name=f"v{i}", artifactRepositoryId=repository_id) for i in range(3)
    ]
    lock(api, first)
    lock(api, others[0])
    lock(api, others[1])
    draft = others[2]

    response = api.get(f"{REPOSITORIES}/{repository_id}/versions")

    assert response.status_code == 200, response.content
    page = response.json()
    assert page["totalCount"] == 3
    assert page["count"] == 3
    assert [a["version"] for a in page["data"]] == [3, 2, 1]
    assert [a["id"] for a in page["data"]] == [others[1]["id"], others[0]["id"], first["id"]]
    assert all(a["status"] == "locked" for a in page["data"])
    assert draft["id"] not in [a["id"] for a in page["data"]]
    ascending = api.get(f"{REPOSITORIES}/{repository_id}/versions", orderBy="version").json()
    assert [a["version"] for a in ascending["data"]] == [1, 2, 3]
    assert repository(api, repository_id)["lastVersionNumber"] == 3


def test_versions_of_a_repository_with_only_drafts_is_empty(api: ApiClient) -> None:
    draft = api.create_artifact()

    page = api.get(f"{REPOSITORIES}/{draft['artifactRepositoryId']}/versions").json()

    assert page["totalCount"] == 0
    assert page["data"] == []


def test_versions_of_a_missing_repository_is_404(api: ApiClient) -> None:
    assert api.get(f"{REPOSITORIES}/{'e' * 24}/versions").status_code == 404


# --- PATCH -----------------------------------------------------------------------------


def test_patch_renames_describes_and_tags_the_repository(api: ApiClient) -> None:
    artifact = api.create_artifact()
    repository_id = artifact["artifactRepositoryId"]
    tags = [{"name": "team", "value": "red"}, {"name": "tier"}]

    response = api.patch(
        f"{REPOSITORIES}/{repository_id}",
        {"name": "  Web lineage ", "description": "All web builds", "tags": tags},
    )

    assert response.status_code == 200, response.content
    patched = response.json()
    assert patched["name"] == "Web lineage"
    assert patched["description"] == "All web builds"
    assert patched["tags"] == [{"name": "team", "value": "red"}, {"name": "tier", "value": ""}]
    assert repository(api, repository_id) == patched
    # The repository's metadata is its own; the artifact keeps its name.
    assert api.get(f"{ARTIFACTS}/{artifact['id']}").json()["name"] == "web-service"


def test_patch_of_one_field_leaves_the_others(api: ApiClient) -> None:
    repository_id = api.create_artifact()["artifactRepositoryId"]
    api.patch(f"{REPOSITORIES}/{repository_id}", {"description": "kept"})

    response = api.patch(f"{REPOSITORIES}/{repository_id}", {"name": "renamed"})

    assert response.status_code == 200
    assert response.json()["description"] == "kept"
    assert response.json()["name"] == "renamed"


def test_patch_with_an_unknown_field_is_422_and_changes_nothing(api: ApiClient) -> None:
    repository_id = api.create_artifact()["artifactRepositoryId"]

    response = api.patch(f"{REPOSITORIES}/{repository_id}", {"name": "new", "type": "nim"})

    assert response.status_code == 422, response.content
    assert locs(response) == [["body", "type"]]
    unchanged = repository(api, repository_id)
    assert unchanged["name"] == "web-service"
    assert unchanged["type"] == "service"


def test_patch_with_a_blank_name_is_422(api: ApiClient) -> None:
    repository_id = api.create_artifact()["artifactRepositoryId"]

    response = api.patch(f"{REPOSITORIES}/{repository_id}", {"name": ""})

    assert response.status_code == 422
    assert locs(response) == [["body", "name"]]


# --- DELETE ----------------------------------------------------------------------------


def test_delete_cascades_to_drafts(api: ApiClient) -> None:
    first = api.create_artifact()
    repository_id = first["artifactRepositoryId"]
    second = api.create_artifact(name="second", artifactRepositoryId=repository_id)
    other = api.create_artifact(name="elsewhere")

    response = api.delete(f"{REPOSITORIES}/{repository_id}")

    assert response.status_code == 204
    assert api.get(f"{REPOSITORIES}/{repository_id}").status_code == 404
    assert api.get(f"{ARTIFACTS}/{first['id']}").status_code == 404
    assert api.get(f"{ARTIFACTS}/{second['id']}").status_code == 404
    assert not Artifact.objects.filter(repository_id=repository_id).exists()
    assert not RepositoryUserPermission.objects.filter(content_object_id=repository_id).exists()
    assert api.get(f"{ARTIFACTS}/{other['id']}").status_code == 200
    assert api.get(ARTIFACTS).json()["totalCount"] == 1


def test_delete_of_a_repository_holding_a_locked_version_is_409_and_deletes_nothing(
    api: ApiClient,
) -> None:
    first = api.create_artifact()
    repository_id = first["artifactRepositoryId"]
    draft = api.create_artifact(name="draft", artifactRepositoryId=repository_id)
    lock(api, first)

    response = api.delete(f"{REPOSITORIES}/{repository_id}")

    assert response.status_code == 409, response.content
    assert response.json()["code"] == "repository_has_versions"
    assert isinstance(response.json()["detail"], str)
    assert repository(api, repository_id)["numArtifacts"] == 2
    assert api.get(f"{ARTIFACTS}/{first['id']}").status_code == 200
    assert api.get(f"{ARTIFACTS}/{draft['id']}").status_code == 200


def test_delete_of_a_missing_repository_is_404(api: ApiClient) -> None:
    assert api.delete(f"{REPOSITORIES}/{'d' * 24}").status_code == 404
