"""Builds end to end: real buildah, a real registry, a real Celery worker on a real broker."""

from __future__ import annotations

import subprocess
import time
from typing import Any

import pytest

from artifacts.models import ExecutionEnvironment, ExecutionEnvironmentVersion
from tests.build_fixtures import skopeo_inspect, source_archive, wait_for
from tests.conftest import ARTIFACTS, ApiClient, artifact_body, primary_container, sidecar_container

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("celery_worker_thread"),
]


def built_artifact(api: ApiClient, dockerfile: dict[str, Any] | None = None) -> dict[str, Any]:
    web = primary_container(imageBuildConfig={"dockerfile": dockerfile or {"source": "provided"}})
    del web["imageUri"]
    body = artifact_body(
        spec={"containerGroups": [{"name": "default", "containers": [web, sidecar_container()]}]}
    )
    return api.create_artifact(**body)


def upload(api: ApiClient, artifact_id: str, files: dict[str, str]) -> Any:
    return api.client.post(
        f"{ARTIFACTS}/{artifact_id}/source",
        {"file": source_archive(files), "container": "web"},
        headers=api.headers,
    )


def start(api: ApiClient, artifact_id: str) -> str:
    response = api.post(f"{ARTIFACTS}/{artifact_id}/builds")
    assert response.status_code == 202, response.content
    (build_id,) = response.json()["buildIds"]
    return str(build_id)


def finished(
    api: ApiClient, artifact_id: str, build_id: str, timeout: float = 90
) -> dict[str, Any]:
    def ended() -> dict[str, Any] | None:
        build = api.get(f"{ARTIFACTS}/{artifact_id}/builds/{build_id}").json()
        return build if build["status"] in ("COMPLETED", "FAILED", "CANCELLED") else None

    return dict(wait_for(ended, timeout=timeout))


def logs(api: ApiClient, artifact_id: str, build_id: str) -> str:
    response = api.get(f"{ARTIFACTS}/{artifact_id}/builds/{build_id}/logs")
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


def test_a_build_with_a_run_step_completes_and_the_draft_can_be_locked(
    api: ApiClient, build_settings: str
) -> None:
    artifact = built_artifact(api)
    dockerfile = (
        f"FROM {build_settings}\nRUN echo compiled-by-berth > /tmp/marker\n"
        "COPY . /app\nUSER 1000:1000\nEXPOSE 8080\n"
    )
    uploaded = upload(api, artifact["id"], {"Dockerfile": dockerfile, "index.html": "hi"})
    assert uploaded.status_code == 201, uploaded.content
    code_ref = uploaded.json()["codeRef"]
    web = api.get(f"{ARTIFACTS}/{artifact['id']}").json()["spec"]["containerGroups"][0][
        "containers"
    ][0]
    assert web["imageBuildConfig"]["codeRef"] == code_ref

    build_id = start(api, artifact["id"])
    build = finished(api, artifact["id"], build_id)

    assert build["status"] == "COMPLETED", logs(api, artifact["id"], build_id)
    assert "@sha256:" in build["imageUri"]
    web = api.get(f"{ARTIFACTS}/{artifact['id']}").json()["spec"]["containerGroups"][0][
        "containers"
    ][0]
    assert web["imageUri"] == build["imageUri"]
    assert skopeo_inspect(build["imageUri"])["Digest"] == build["imageUri"].split("@")[1]
    text = logs(api, artifact["id"], build_id)
    assert "compiled-by-berth" in text
    assert '"buildId": "' + build_id + '"' in text

    locked = api.patch(f"{ARTIFACTS}/{artifact['id']}", {"status": "locked"})
    assert locked.status_code == 200, locked.content
    assert locked.json()["version"] == 1
    assert "imageBuildConfig" not in locked.json()["spec"]["containerGroups"][0]["containers"][0]


def test_a_failing_run_step_fails_the_build_and_leaves_the_draft_alone(
    api: ApiClient, build_settings: str
) -> None:
    artifact = built_artifact(api)
    upload(
        api,
        artifact["id"],
        {"Dockerfile": f"FROM {build_settings}\nRUN echo about-to-fail && false\n"},
    )
    before = api.get(f"{ARTIFACTS}/{artifact['id']}").json()

    build_id = start(api, artifact["id"])
    build = finished(api, artifact["id"], build_id)

    assert build["status"] == "FAILED"
    assert build["imageUri"] is None
    text = logs(api, artifact["id"], build_id)
    assert "about-to-fail" in text
    assert "exit status 1" in text
    after = api.get(f"{ARTIFACTS}/{artifact['id']}").json()
    assert after["spec"] == before["spec"]


def test_cancel_stops_the_builder_within_seconds(api: ApiClient, build_settings: str) -> None:
    artifact = built_artifact(api)
    upload(api, artifact["id"], {"Dockerfile": f"FROM {build_settings}\nRUN sleep 47\n"})
    build_id = start(api, artifact["id"])
    wait_for(lambda: pgrep("sleep 47"), timeout=60)  # the RUN step is running

    asked = time.monotonic()
    response = api.delete(f"{ARTIFACTS}/{artifact['id']}/builds/{build_id}")
    assert response.status_code == 202
    build = finished(api, artifact["id"], build_id, timeout=15)

    assert build["status"] == "CANCELLED"
    assert time.monotonic() - asked < 8
    assert pgrep("sleep 47") == []
    assert pgrep(build_id) == []
    again = api.delete(f"{ARTIFACTS}/{artifact['id']}/builds/{build_id}")
    assert again.status_code == 409


def test_an_image_that_runs_as_root_is_refused(api: ApiClient, build_settings: str) -> None:
    artifact = built_artifact(api)
    upload(api, artifact["id"], {"Dockerfile": f"FROM {build_settings}\nUSER 0\n"})
    build = finished(api, artifact["id"], start(api, artifact["id"]))
    assert build["status"] == "FAILED"
    assert "root" in build["message"]


def test_a_generated_dockerfile_builds_on_the_environment_base_image(
    api: ApiClient, build_settings: str
) -> None:
    environment = ExecutionEnvironment.objects.create(name="busybox")
    version = ExecutionEnvironmentVersion.objects.create(
        environment=environment, label="1", base_image=build_settings
    )
    artifact = built_artifact(
        api,
        {
            "source": "generated",
            "executionEnvironmentId": environment.id,
            "executionEnvironmentVersionId": version.id,
            "entrypoint": ["httpd", "-f", "-p", "8080"],
        },
    )
    assert upload(api, artifact["id"], {"index.html": "hello"}).status_code == 201
    build_id = start(api, artifact["id"])
    build = finished(api, artifact["id"], build_id)
    assert build["status"] == "COMPLETED", logs(api, artifact["id"], build_id)
    assert "FROM " + build_settings in logs(api, artifact["id"], build_id)


def test_an_edit_during_the_build_is_not_overwritten(api: ApiClient, build_settings: str) -> None:
    artifact = built_artifact(api)
    files = {
        "Dockerfile": f"FROM {build_settings}\nRUN sleep 2\n",
        "Dockerfile.alt": f"FROM {build_settings}\n",
    }
    upload(api, artifact["id"], files)
    build_id = start(api, artifact["id"])
    wait_for(lambda: "sleep 2" in logs(api, artifact["id"], build_id), timeout=60)

    spec = api.get(f"{ARTIFACTS}/{artifact['id']}").json()["spec"]
    spec["containerGroups"][0]["containers"][0]["imageBuildConfig"]["dockerfile"]["path"] = (
        "./Dockerfile.alt"
    )
    assert api.patch(f"{ARTIFACTS}/{artifact['id']}", {"spec": spec}).status_code == 200
    build = finished(api, artifact["id"], build_id)

    assert build["status"] == "FAILED"
    assert "changed during the build" in build["message"]
    web = api.get(f"{ARTIFACTS}/{artifact['id']}").json()["spec"]["containerGroups"][0][
        "containers"
    ][0]
    assert "imageUri" not in web
    assert web["imageBuildConfig"]["dockerfile"]["path"] == "./Dockerfile.alt"


def pgrep(pattern: str) -> list[str]:
    result = subprocess.run(  # noqa: S603
        ["pgrep", "-f", pattern],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    # pgrep -f never lists itself; nothing else here runs with these words in its command.
    return result.stdout.split()
