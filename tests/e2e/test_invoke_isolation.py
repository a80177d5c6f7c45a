"""A hostile workload's page, opened by a signed-in user through the invoke link, cannot act
as the console: its cookies, CSP and CORS headers never reach the browser, and its script
can neither read the console's cookies nor call the console's API with the viewer's session.

The page (tests/proxy_fixtures.HOSTILE_PAGE) tries what issue 10 found working: read the
CSRF cookie, read the API, and grant its author OWNER on the viewer's repository.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from console.sharing import grants
from repositories.models import ArtifactRepository
from tests.build_fixtures import wait_for
from tests.conftest import ApiClient, artifact_body, primary_container
from tests.proxy_fixtures import UPSTREAM_PORT, upstream_image

__all__ = ["upstream_image"]  # a fixture, used by name

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("celery_worker_thread", "podman_settings"),
]
SANDBOX_POLICY = "sandbox allow-scripts allow-forms allow-popups"


def test_a_hostile_workload_page_cannot_act_as_the_console(
    page: Page,
    live_server: Any,
    e2e_user: Callable[..., User],
    sign_in: Callable[[Page, str], None],
    screenshot: Callable[[Page, str], None],
    upstream_image: str,
    podman_cleanup: set[str],
) -> None:
    ana = e2e_user("ana")
    e2e_user("mallory")
    api = ApiClient(ana)
    web = primary_container(
        imageUri=upstream_image,
        port=UPSTREAM_PORT,
        readinessProbe={"path": "/ready", "periodSeconds": 1, "failureThreshold": 3},
    )
    artifact = api.create_artifact(
        **artifact_body(spec={"containerGroups": [{"name": "default", "containers": [web]}]})
    )
    repository_id = artifact["artifactRepositoryId"]
    created = api.post("/api/v2/workloads", {"name": "hostile", "artifactId": artifact["id"]})
    assert created.status_code == 201, created.content
    workload_id = created.json()["id"]
    podman_cleanup.add(workload_id)
    wait_for(
        lambda: api.get(f"/api/v2/workloads/{workload_id}").json()["status"] == "running",
        timeout=60,
    )

    sign_in(page, "ana")
    console_cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    assert {"sessionid", "csrftoken"} <= set(console_cookies)

    response = page.goto(
        f"{live_server.url}/api/v2/endpoints/workloads/{workload_id}/page"
        f"?repository={repository_id}&grantee=mallory"
    )
    assert response is not None
    assert response.status == 200
    headers = response.headers
    assert "set-cookie" not in headers
    assert not [name for name in headers if name.startswith("access-control-")]
    assert headers["content-security-policy"] == SANDBOX_POLICY
    assert headers["x-content-type-options"] == "nosniff"

    # The script ran (it wrote its findings) and got nothing of the console's.
    for key in ("cookie", "read", "write"):
        expect(page.locator(f"#{key}")).to_have_count(1, timeout=15_000)
    screenshot(page, "invoke-isolation")
    findings = {key: page.locator(f"#{key}").inner_text() for key in ("cookie", "read", "write")}
    assert findings["cookie"].startswith("blocked:"), findings
    assert findings["read"].startswith("blocked:"), findings
    assert findings["write"].startswith("blocked:"), findings

    # No cookie of the workload's on the console's host; the console's own are unchanged.
    after = {c["name"]: c["value"] for c in page.context.cookies()}
    assert after == console_cookies
    # And the grant did not happen.
    repository = ArtifactRepository.objects.get(pk=repository_id)
    assert "mallory" not in {grant.name for grant in grants(repository)}
