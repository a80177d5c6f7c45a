"""An artifact's life through the API: create, edit, lock (one-way), clone, delete."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth.models import User
from guardian.shortcuts import get_perms

from artifacts.models import Artifact
from repositories.models import ArtifactRepository
from tests.conftest import (
    ARTIFACTS,
    REPOSITORIES,
    ApiClient,
    artifact_body,
    primary_container,
    sidecar_container,
)

OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")
OWNER_PERMS = {
    "view_artifactrepository",
    "change_artifactrepository",
    "delete_artifactrepository",
    "share_artifactrepository",
}


def url(artifact: dict[str, Any]) -> str:
    return f"{ARTIFACTS}/{artifact['id']}"


def repository_of(api: ApiClient, artifact: dict[str, Any]) -> dict[str, Any]:
    response = api.get(f"{REPOSITORIES}/{artifact['artifactRepositoryId']}")
    assert response.status_code == 200, response.content
    return response.json()


def lock(api: ApiClient, artifact: dict[str, Any]) -> dict[str, Any]:
    response = api.patch(url(artifact), {"status": "locked"})
    assert response.status_code == 200, response.content
    return response.json()


def build_spec() -> dict[str, Any]:
    """A spec whose sidecar (index 1) is still to be built from source: no imageUri yet."""
    sidecar = sidecar_container(imageBuildConfig={"dockerfile": {"source": "provided"}})
    del sidecar["imageUri"]
    return {"containerGroups": [{"name": "default", "containers": [primary_container(), sidecar]}]}


def assert_conflict(response: Any, code: str) -> None:
    assert response.status_code == 409, response.content
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["detail"], str)
    assert body["detail"]


# --- create and read -------------------------------------------------------------------


def test_create_answers_201_with_a_draft_in_a_new_repository_owned_by_the_creator(
    api: ApiClient, owner: User
) -> None:
    response = api.post(ARTIFACTS, artifact_body())

    assert response.status_code == 201, response.content
    artifact = response.json()
    assert OBJECT_ID.fullmatch(artifact["id"])
    assert OBJECT_ID.fullmatch(artifact["artifactRepositoryId"])
    assert artifact["status"] == "draft"
    assert artifact["version"] is None
    assert artifact["lockedAt"] is None
    assert artifact["lockedBy"] is None
    assert artifact["creator"] == "olga"
    assert artifact["name"] == "web-service"
    assert artifact["description"] == "A web service with a proxy sidecar"
    assert artifact["type"] == "service"
    assert set(artifact["permissions"]) == {"CAN_VIEW", "CAN_UPDATE", "CAN_DELETE", "CAN_SHARE"}

    repository = repository_of(api, artifact)
    assert repository["name"] == "web-service"
    assert repository["type"] == "service"
    assert repository["creator"] == "olga"
    assert repository["lastVersionNumber"] == 0
    assert repository["numArtifacts"] == 1
    # OWNER is stored as django-guardian grants on the repository.
    stored = ArtifactRepository.objects.get(pk=artifact["artifactRepositoryId"])
    assert set(get_perms(owner, stored)) == OWNER_PERMS


def test_create_stores_the_normalized_spec(api: ApiClient) -> None:
    artifact = api.create_artifact()

    web, proxy = artifact["spec"]["containerGroups"][0]["containers"]
    assert web["primary"] is True
    assert web["readinessProbe"]["port"] == 8080  # defaults to the container's port
    assert web["readinessProbe"]["periodSeconds"] == 10
    assert proxy["primary"] is False
    assert "port" not in proxy


def test_get_returns_what_create_returned(api: ApiClient) -> None:
    created = api.create_artifact()

    response = api.get(url(created))

    assert response.status_code == 200
    assert response.json() == created


def test_get_of_a_missing_id_is_404(api: ApiClient) -> None:
    response = api.get(f"{ARTIFACTS}/{'a' * 24}")

    assert response.status_code == 404
    assert isinstance(response.json()["detail"], str)


# --- PUT -------------------------------------------------------------------------------


def test_put_replaces_the_draft_and_resets_omitted_optional_fields(api: ApiClient) -> None:
    created = api.create_artifact(tags=[{"name": "team", "value": "red"}])
    assert created["description"]
    assert created["tags"] == [{"name": "team", "value": "red"}]
    body = artifact_body(
        name="renamed",
        spec={"containerGroups": [{"containers": [primary_container(port=9000)]}]},
    )
    del body["description"]

    response = api.put(url(created), body)

    assert response.status_code == 200, response.content
    replaced = response.json()
    assert replaced["id"] == created["id"]
    assert replaced["name"] == "renamed"
    assert replaced["description"] == ""
    assert replaced["tags"] == []
    containers = replaced["spec"]["containerGroups"][0]["containers"]
    assert [c["name"] for c in containers] == ["web"]
    assert containers[0]["port"] == 9000
    assert containers[0]["readinessProbe"]["port"] == 9000
    assert api.get(url(created)).json()["description"] == ""


def test_put_with_the_same_type_and_repository_is_accepted(api: ApiClient) -> None:
    created = api.create_artifact()

    response = api.put(
        url(created),
        artifact_body(type="service", artifactRepositoryId=created["artifactRepositoryId"]),
    )

    assert response.status_code == 200, response.content


def test_put_changing_type_is_422_at_type(api: ApiClient) -> None:
    created = api.create_artifact()

    response = api.put(url(created), artifact_body(type="nim", name="changed"))

    assert response.status_code == 422, response.content
    assert ["body", "type"] in [p["loc"] for p in response.json()["detail"]]
    assert api.get(url(created)).json()["name"] == "web-service"


def test_put_changing_repository_is_422_at_artifact_repository_id(api: ApiClient) -> None:
    created = api.create_artifact()
    other = api.create_artifact(name="other")

    response = api.put(
        url(created),
        artifact_body(name="moved", artifactRepositoryId=other["artifactRepositoryId"]),
    )

    assert response.status_code == 422, response.content
    assert ["body", "artifactRepositoryId"] in [p["loc"] for p in response.json()["detail"]]
    unchanged = api.get(url(created)).json()
    assert unchanged["artifactRepositoryId"] == created["artifactRepositoryId"]
    assert unchanged["name"] == "web-service"
    assert repository_of(api, other)["numArtifacts"] == 1


# --- PATCH -----------------------------------------------------------------------------


def test_patch_name_changes_only_the_name(api: ApiClient) -> None:
    created = api.create_artifact()

    response = api.patch(url(created), {"name": "  web-renamed  "})

    assert response.status_code == 200, response.content
    patched = response.json()
    assert patched["name"] == "web-renamed"
    assert patched["description"] == created["description"]
    assert patched["spec"] == created["spec"]
    assert patched["status"] == "draft"


def test_patch_spec_replaces_the_spec(api: ApiClient) -> None:
    created = api.create_artifact()
    spec = artifact_body()["spec"]
    spec["containerGroups"][0]["containers"][0]["environmentVars"] = [
        {"name": "LOG_LEVEL", "value": "debug"}
    ]

    response = api.patch(url(created), {"spec": spec})

    assert response.status_code == 200, response.content
    web = response.json()["spec"]["containerGroups"][0]["containers"][0]
    assert web["environmentVars"] == [{"name": "LOG_LEVEL", "value": "debug"}]
    assert response.json()["name"] == created["name"]
    fetched = api.get(url(created)).json()
    assert fetched["spec"]["containerGroups"][0]["containers"][0]["environmentVars"] == [
        {"name": "LOG_LEVEL", "value": "debug"}
    ]


def test_patch_status_draft_is_422(api: ApiClient) -> None:
    created = api.create_artifact()

    response = api.patch(url(created), {"status": "draft"})

    assert response.status_code == 422
    assert ["body", "status"] in [p["loc"] for p in response.json()["detail"]]


# --- lock ------------------------------------------------------------------------------


def test_lock_assigns_version_1_and_records_who_and_when(api: ApiClient) -> None:
    created = api.create_artifact()

    response = api.patch(url(created), {"status": "locked"})

    assert response.status_code == 200, response.content
    locked = response.json()
    assert locked["status"] == "locked"
    assert locked["version"] == 1
    assert locked["lockedBy"] == "olga"
    assert locked["lockedAt"] is not None
    assert locked["lockedAt"] >= created["createdAt"]
    assert locked["spec"] == created["spec"]
    assert repository_of(api, created)["lastVersionNumber"] == 1
    assert api.get(url(created)).json()["version"] == 1


def test_a_second_draft_in_the_repository_locks_as_version_2(api: ApiClient) -> None:
    first = api.create_artifact()
    second = api.create_artifact(name="second", artifactRepositoryId=first["artifactRepositoryId"])
    third = api.create_artifact(name="third", artifactRepositoryId=first["artifactRepositoryId"])

    assert lock(api, second)["version"] == 1
    assert lock(api, first)["version"] == 2
    assert repository_of(api, first)["lastVersionNumber"] == 2
    assert api.get(url(third)).json()["version"] is None


def test_versions_are_numbered_per_repository(api: ApiClient) -> None:
    a = api.create_artifact(name="a")
    b = api.create_artifact(name="b")

    assert lock(api, a)["version"] == 1
    assert lock(api, b)["version"] == 1


def test_lock_without_built_images_is_422_at_the_container_image_uri(api: ApiClient) -> None:
    created = api.create_artifact(spec=build_spec())

    response = api.patch(url(created), {"status": "locked"})

    assert response.status_code == 422, response.content
    locs = [p["loc"] for p in response.json()["detail"]]
    assert locs == [["body", "spec", "containerGroups", 0, "containers", 1, "imageUri"]]
    still = api.get(url(created)).json()
    assert still["status"] == "draft"
    assert still["version"] is None
    assert repository_of(api, created)["lastVersionNumber"] == 0


def test_failed_lock_in_a_patch_applies_none_of_its_changes(api: ApiClient) -> None:
    created = api.create_artifact(spec=build_spec())

    response = api.patch(url(created), {"name": "should-not-stick", "status": "locked"})

    assert response.status_code == 422, response.content
    still = api.get(url(created)).json()
    assert still["name"] == "web-service"
    assert still["status"] == "draft"


def test_patch_with_spec_and_status_locked_locks_the_changed_spec(api: ApiClient) -> None:
    created = api.create_artifact(spec=build_spec())
    built = artifact_body()["spec"]
    built["containerGroups"][0]["containers"][1]["imageUri"] = "registry.example.com/p@sha256:ab"

    response = api.patch(url(created), {"spec": built, "name": "built", "status": "locked"})

    assert response.status_code == 200, response.content
    locked = response.json()
    assert locked["status"] == "locked"
    assert locked["version"] == 1
    assert locked["name"] == "built"
    proxy = locked["spec"]["containerGroups"][0]["containers"][1]
    assert proxy["imageUri"] == "registry.example.com/p@sha256:ab"
    assert "imageBuildConfig" not in proxy
    assert api.get(url(created)).json()["spec"] == locked["spec"]
    assert Artifact.objects.get(pk=created["id"]).spec == locked["spec"]


# --- a locked artifact never changes ---------------------------------------------------


def test_patch_of_a_locked_artifact_is_409_artifact_locked(api: ApiClient) -> None:
    locked = lock(api, api.create_artifact())

    assert_conflict(api.patch(url(locked), {"name": "changed"}), "artifact_locked")
    assert_conflict(api.patch(url(locked), {"description": "changed"}), "artifact_locked")
    assert api.get(url(locked)).json() == locked


def test_put_of_a_locked_artifact_is_409(api: ApiClient) -> None:
    locked = lock(api, api.create_artifact())

    assert_conflict(api.put(url(locked), artifact_body(name="changed")), "artifact_locked")
    assert api.get(url(locked)).json() == locked


def test_relock_is_409_artifact_already_locked(api: ApiClient) -> None:
    locked = lock(api, api.create_artifact())

    assert_conflict(api.patch(url(locked), {"status": "locked"}), "artifact_already_locked")
    assert api.get(url(locked)).json()["version"] == 1
    assert repository_of(api, locked)["lastVersionNumber"] == 1


def test_delete_of_a_locked_artifact_is_409(api: ApiClient) -> None:
    locked = lock(api, api.create_artifact())

    assert_conflict(api.delete(url(locked)), "artifact_locked")
    assert api.get(url(locked)).status_code == 200


# --- clone -----------------------------------------------------------------------------


def test_clone_of_a_locked_version_is_a_new_draft_in_the_same_repository(api: ApiClient) -> None:
    locked = lock(api, api.create_artifact(tags=[{"name": "team", "value": "red"}]))

    response = api.post(f"{url(locked)}/clone", {})

    assert response.status_code == 201, response.content
    clone = response.json()
    assert clone["id"] != locked["id"]
    assert OBJECT_ID.fullmatch(clone["id"])
    assert clone["artifactRepositoryId"] == locked["artifactRepositoryId"]
    assert clone["status"] == "draft"
    assert clone["version"] is None
    assert clone["lockedAt"] is None
    assert clone["lockedBy"] is None
    assert clone["spec"] == locked["spec"]
    assert clone["name"] == locked["name"]
    assert clone["description"] == locked["description"]
    assert clone["tags"] == locked["tags"]
    assert repository_of(api, locked)["numArtifacts"] == 2
    # The clone is an ordinary draft: editable, and its lock yields the next version.
    assert api.patch(url(clone), {"name": "edited"}).status_code == 200
    assert lock(api, clone)["version"] == 2


def test_clone_with_a_name(api: ApiClient) -> None:
    locked = lock(api, api.create_artifact())

    response = api.post(f"{url(locked)}/clone", {"name": "web-service-next"})

    assert response.status_code == 201, response.content
    assert response.json()["name"] == "web-service-next"
    assert api.get(url(locked)).json()["name"] == "web-service"


def test_clone_leaves_the_source_untouched(api: ApiClient) -> None:
    locked = lock(api, api.create_artifact())

    api.post(f"{url(locked)}/clone", {"name": "copy"})

    assert api.get(url(locked)).json() == locked


# --- delete ----------------------------------------------------------------------------


def test_delete_a_draft_is_204_then_404(api: ApiClient) -> None:
    keep = api.create_artifact(name="keep")
    draft = api.create_artifact(name="drop", artifactRepositoryId=keep["artifactRepositoryId"])
    assert repository_of(api, keep)["numArtifacts"] == 2

    response = api.delete(url(draft))

    assert response.status_code == 204
    assert response.content == b""
    assert api.get(url(draft)).status_code == 404
    assert api.delete(url(draft)).status_code == 404
    assert repository_of(api, keep)["numArtifacts"] == 1
    assert not Artifact.objects.filter(pk=draft["id"]).exists()
