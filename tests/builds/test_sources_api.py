"""Source upload through the API: refused archives answer 422 with a clear message."""

from __future__ import annotations

import io
import tarfile
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.utils import timezone

from artifacts.builds import builds_sweep
from artifacts.constants import BuildStatus
from artifacts.models import Artifact, ImageBuild, SourceArchive
from tests.build_fixtures import source_archive
from tests.conftest import ARTIFACTS, ApiClient, artifact_body, primary_container

pytestmark = pytest.mark.django_db


def draft_built_from_source(api: ApiClient) -> dict[str, Any]:
    web = primary_container(imageBuildConfig={"dockerfile": {"source": "provided"}})
    del web["imageUri"]
    return api.create_artifact(spec={"containerGroups": [{"name": "default", "containers": [web]}]})


def tar_upload(members: list[tarfile.TarInfo], name: str = "src.tar.gz") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        dockerfile = tarfile.TarInfo("Dockerfile")
        dockerfile.size = 11
        archive.addfile(dockerfile, io.BytesIO(b"FROM scratch"[:11]))
        for member in members:
            archive.addfile(member, io.BytesIO(bytes(member.size)) if member.size else None)
    return SimpleUploadedFile(name, buffer.getvalue())


def post_source(api: ApiClient, artifact_id: str, upload: Any, **fields: str) -> Any:
    return api.client.post(
        f"{ARTIFACTS}/{artifact_id}/source", {"file": upload, **fields}, headers=api.headers
    )


def member(
    name: str, kind: bytes = tarfile.REGTYPE, link: str = "", size: int = 0
) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = kind, link, size
    return info


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (member("../../etc/cron.d/evil", size=3), "'..'"),
        (member("/etc/passwd", size=3), "absolute path"),
        (member("escape", tarfile.SYMTYPE, "../../../etc/shadow"), "outside the archive"),
        (member("disk", tarfile.BLKTYPE), "device file"),
    ],
    ids=["path-traversal", "absolute-path", "symlink-escape", "device-file"],
)
def test_dangerous_archives_are_refused_with_422(
    api: ApiClient, bad: tarfile.TarInfo, message: str
) -> None:
    artifact = draft_built_from_source(api)
    response = post_source(api, artifact["id"], tar_upload([bad]))
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["loc"] == ["body", "file"]
    assert message in problem["msg"]
    assert SourceArchive.objects.count() == 0


@override_settings(BERTH_SOURCE_MAX_UNPACKED_BYTES=1024 * 1024)
def test_an_oversized_archive_is_refused(api: ApiClient) -> None:
    artifact = draft_built_from_source(api)
    response = post_source(
        api, artifact["id"], tar_upload([member("big.bin", size=2 * 1024 * 1024)])
    )
    assert response.status_code == 422
    assert "unpacks to more than 1 MiB" in response.json()["detail"][0]["msg"]


@override_settings(BERTH_SOURCE_MAX_BYTES=1000)
def test_an_upload_over_the_byte_limit_is_refused(api: ApiClient) -> None:
    artifact = draft_built_from_source(api)
    upload = SimpleUploadedFile("src.tar", bytes(5000))
    response = post_source(api, artifact["id"], upload)
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "too_large"


def test_a_missing_dockerfile_is_refused(api: ApiClient) -> None:
    artifact = draft_built_from_source(api)
    response = post_source(api, artifact["id"], source_archive({"app.py": "print(1)"}))
    assert response.status_code == 422
    assert "Dockerfile" in response.json()["detail"][0]["msg"]


def test_an_accepted_upload_records_its_digest_and_sets_code_ref(api: ApiClient) -> None:
    artifact = draft_built_from_source(api)
    response = post_source(api, artifact["id"], source_archive({"Dockerfile": "FROM scratch\n"}))
    assert response.status_code == 201
    body = response.json()
    source = SourceArchive.objects.get(pk=body["codeRef"])
    assert len(source.sha256) == 64
    assert source.sha256 == body["sha256"]
    assert source.file.read().startswith(b"\x1f\x8b")  # stored through the storage API
    spec = Artifact.objects.get(pk=artifact["id"]).spec
    assert spec["containerGroups"][0]["containers"][0]["imageBuildConfig"]["codeRef"] == source.id


def test_wrong_extension_and_unknown_container_are_refused(api: ApiClient) -> None:
    artifact = draft_built_from_source(api)
    response = post_source(api, artifact["id"], SimpleUploadedFile("src.rar", b"Rar!"))
    assert response.status_code == 422
    response = post_source(
        api, artifact["id"], source_archive({"Dockerfile": "x"}), container="nope"
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "container"]


def test_locked_artifacts_take_no_source_and_strangers_see_nothing(
    api: ApiClient, stranger_api: ApiClient
) -> None:
    locked = api.create_artifact()
    api.patch(f"{ARTIFACTS}/{locked['id']}", {"status": "locked"})
    assert post_source(api, locked["id"], source_archive({"Dockerfile": "x"})).status_code == 409
    draft = draft_built_from_source(api)
    response = post_source(stranger_api, draft["id"], source_archive({"Dockerfile": "x"}))
    assert response.status_code == 404
    assert stranger_api.post(f"{ARTIFACTS}/{draft['id']}/builds").status_code == 404


def test_building_without_source_names_the_missing_code_ref(api: ApiClient) -> None:
    artifact = draft_built_from_source(api)
    response = api.post(f"{ARTIFACTS}/{artifact['id']}/builds")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == "codeRef"
    plain = api.create_artifact(**artifact_body(name="prebuilt"))
    assert api.post(f"{ARTIFACTS}/{plain['id']}/builds").status_code == 422


def test_the_sweep_fails_builds_whose_worker_went_silent(api: ApiClient, owner: Any) -> None:
    artifact = draft_built_from_source(api)
    spec_before = Artifact.objects.get(pk=artifact["id"]).spec
    long_ago = timezone.now() - timedelta(minutes=10)
    silent = ImageBuild.objects.create(
        artifact_id=artifact["id"],
        container_name="web",
        config_fingerprint="x",
        status=BuildStatus.IN_PROGRESS,
        heartbeat_at=long_ago,
        creator=owner,
    )
    alive = ImageBuild.objects.create(
        artifact_id=artifact["id"],
        container_name="web",
        config_fingerprint="x",
        status=BuildStatus.IN_PROGRESS,
        heartbeat_at=timezone.now(),
        creator=owner,
    )
    assert builds_sweep() == 1
    silent.refresh_from_db()
    alive.refresh_from_db()
    assert silent.status == BuildStatus.FAILED
    assert "stopped responding" in silent.message
    assert silent.finished_at is not None
    assert alive.status == BuildStatus.IN_PROGRESS
    assert Artifact.objects.get(pk=artifact["id"]).spec == spec_before


def test_code_ref_cannot_point_at_source_uploaded_elsewhere(api: ApiClient) -> None:
    other = draft_built_from_source(api)
    uploaded = post_source(api, other["id"], source_archive({"Dockerfile": "FROM scratch\n"}))
    foreign = uploaded.json()["codeRef"]
    artifact = draft_built_from_source(api)
    spec = artifact["spec"]
    spec["containerGroups"][0]["containers"][0]["imageBuildConfig"]["codeRef"] = foreign
    response = api.patch(f"{ARTIFACTS}/{artifact['id']}", {"spec": spec})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == "codeRef"
    # The same reference is fine within its own repository: the upload's artifact keeps it.
    own = api.get(f"{ARTIFACTS}/{other['id']}").json()["spec"]
    assert api.put(f"{ARTIFACTS}/{other['id']}", {"name": "again", "spec": own}).status_code == 200
