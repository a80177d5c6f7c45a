"""The workload pages through Django's test client: list, page, settings, promote, stats.

No worker runs here, so a new workload stays ``submitted``; tests that need another status
set it on the row, as the worker would.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from artifacts.models import Artifact
from artifacts.services import artifact_create, artifact_lock
from repositories.services import repository_share
from tests.conftest import artifact_body, primary_container, sidecar_container
from workloads.constants import EventKind, EventStatus, ProtonRole, ProtonStatus
from workloads.models import InvokeSample, Proton, Workload, WorkloadEvent
from workloads.services import workload_create, workload_share
from workloads.stats import record_invoke, stats_series

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def persona(username: str, **extra: Any) -> Any:
    """A user who signs in with force_login, so without a password to hash."""

    @pytest.fixture
    def make(db: Any) -> User:
        return User.objects.create_user(username, **extra)

    return make


owner = persona("olga")
consumer = persona("bob")
stranger = persona("sam")


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def run(user: User, artifact: Artifact, name: str = "svc", **body: Any) -> Workload:
    return workload_create(actor=user, data={"name": name, "artifactId": artifact.pk, **body})


@pytest.fixture
def draft(owner: User) -> Artifact:
    return artifact_create(actor=owner, data=artifact_body())


@pytest.fixture
def workload(owner: User, consumer: User, draft: Artifact) -> Workload:
    """Olga's workload on her draft, shared with Bob as CONSUMER of the workload."""
    created = run(owner, draft, description="The shop's front end", importance="high")
    roles = [{"shareRecipientType": "user", "username": "bob", "role": "CONSUMER"}]
    workload_share(
        actor=owner, workload_id=created.pk, data={"operation": "updateRoles", "roles": roles}
    )
    return created


@pytest.fixture
def version_workload(owner: User) -> Workload:
    """A workload on version 1 of another repository, running."""
    artifact = artifact_create(actor=owner, data=artifact_body(name="stable"))
    artifact_lock(actor=owner, artifact_id=artifact.pk)
    created = run(owner, artifact, name="stable-svc")
    Workload.objects.filter(pk=created.pk).update(status="running")
    return created


def url(name: str, workload: Workload) -> str:
    return reverse(name, args=[workload.pk])


def html(response: Any) -> str:
    return response.content.decode()


# --- list ----------------------------------------------------------------------------------


def test_the_list_shows_each_workload_with_its_artifact_status_endpoint_and_ttl(
    owner: User, workload: Workload, version_workload: Workload
) -> None:
    response = client_for(owner).get(reverse("workload-list"))

    body = html(response)
    assert response.status_code == 200
    rows = re.findall(r"<tr>.*?</tr>", body.split("<tbody>")[1], re.S)
    assert len(rows) == 2
    newest, oldest = rows
    assert "stable-svc" in newest
    assert "v1" in newest
    assert "Running" in newest
    assert f"/api/v2/endpoints/workloads/{version_workload.pk}/" in newest
    assert "in 7 h" not in newest
    assert "—" in newest
    assert "svc" in oldest
    assert "draft" in oldest
    assert "Submitted" in oldest
    assert "High" in oldest
    assert re.search(r"in 7 h 5\d min", oldest)
    assert 'aria-current="page">Workloads' in body


def test_the_list_searches_filters_by_status_and_answers_htmx_with_the_rows_alone(
    owner: User, workload: Workload, version_workload: Workload
) -> None:
    client = client_for(owner)

    searched = html(client.get(reverse("workload-list"), {"search": "stable"}, headers=HTMX))
    running = html(client.get(reverse("workload-list"), {"status": "running"}))
    nothing = html(client.get(reverse("workload-list"), {"status": "stopped"}))

    assert "<html" not in searched
    assert "stable-svc" in searched
    assert url("workload-detail", workload) not in searched
    assert "stable-svc" in running
    assert url("workload-detail", workload) not in running
    assert "No workload matches." in nothing


def test_a_stranger_lists_nothing_and_gets_404_for_the_page(
    stranger: User, workload: Workload
) -> None:
    client = client_for(stranger)

    assert "No workloads yet." in html(client.get(reverse("workload-list")))
    for name in ("workload-detail", "workload-status", "workload-promote", "workload-delete"):
        assert client.get(url(name, workload)).status_code == 404
    assert client.post(url("workload-stop", workload)).status_code == 404
    new = f"{reverse('workload-new')}?artifact={workload.artifact_id}"
    assert client.get(new).status_code == 404
    anonymous = Client().get(url("workload-detail", workload))
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"].startswith(reverse("login"))
    assert (
        client.post(url("workload-settings", workload), {"g0-mode": "replicas"}).status_code == 404
    )


# --- the page --------------------------------------------------------------------------------


def test_the_owner_sees_status_endpoint_ttl_and_every_control(
    owner: User, workload: Workload
) -> None:
    body = html(client_for(owner).get(url("workload-detail", workload)))

    assert "The shop&#x27;s front end" in body
    assert 'id="workload-endpoint">http://testserver/api/v2/endpoints/workloads/' in body
    assert 'data-copy-target="workload-endpoint"' in body
    assert re.search(r'class="ttl">7 h 5\d min left</strong>', body)
    # Submitted: the status region polls, and stopping is what makes sense.
    assert 'hx-trigger="every 2s, workload:changed from:body"' in body
    for name in ("workload-stop", "workload-settings", "workload-promote", "workload-delete"):
        assert url(name, workload) in body, name
    assert url("workload-start", workload) not in body
    assert url("workload-stats-clear", workload) in body
    assert "Save and restart" in body
    assert "Saving restarts the workload" in body


def test_a_consumer_of_the_workload_reads_it_but_gets_no_controls_and_403_on_every_change(
    consumer: User, workload: Workload
) -> None:
    client = client_for(consumer)
    body = html(client.get(url("workload-detail", workload)))

    assert "your role: <strong>Consumer</strong>" in body
    assert 'aria-label="Runtime settings"' in body  # read-only, as a table
    for name in (
        "workload-settings",
        "workload-start",
        "workload-stop",
        "workload-promote",
        "workload-delete",
        "workload-stats-clear",
    ):
        assert url(name, workload) not in body, name
        assert client.post(url(name, workload)).status_code == 403, name
    assert client.get(url("workload-promote", workload)).status_code == 403
    assert client.get(url("workload-delete", workload)).status_code == 403
    assert Workload.objects.get(pk=workload.pk).status == "submitted"


def test_a_running_version_workload_offers_start_never_promote_and_polls_no_more(
    owner: User, version_workload: Workload
) -> None:
    client = client_for(owner)
    body = html(client.get(url("workload-detail", version_workload)))
    settled = client.get(url("workload-status", version_workload) + "?poll=1", headers=HTMX)

    assert "Locked · version 1" in body
    assert url("workload-promote", version_workload) not in body
    assert "Time to live" not in body
    assert "Save and replace" in body
    assert "rolling replacement" in body
    assert 'hx-trigger="workload:changed from:body"' in body
    assert settled.status_code == 286
    assert 'hx-trigger="workload:changed from:body"' in html(settled)


def test_a_settled_draft_workload_polls_slowly_to_count_its_ttl_down(
    owner: User, workload: Workload
) -> None:
    Workload.objects.filter(pk=workload.pk).update(status="running")

    response = client_for(owner).get(url("workload-status", workload) + "?poll=1", headers=HTMX)

    assert response.status_code == 200
    assert 'hx-trigger="every 30s, workload:changed from:body"' in html(response)
    assert "left</strong>" in html(response)


def test_protons_show_replicas_and_an_errored_protons_message_and_log_tail(
    owner: User, workload: Workload
) -> None:
    Proton.objects.filter(workload=workload).update(
        status=ProtonStatus.ERRORED,
        message="The readiness probe failed 3 times.",
        log_tail="GET /ready 404\nGET /ready 404",
        replicas=[{"name": "r-0", "status": "failed", "address": "127.0.0.1:4100"}],
    )
    Workload.objects.filter(pk=workload.pk).update(status="errored")

    body = html(client_for(owner).get(url("workload-status", workload), headers=HTMX))

    assert "<html" not in body
    assert "The readiness probe failed 3 times." in body
    assert re.search(r'<pre class="code log-tail"[^>]*>GET /ready 404\nGET /ready 404</pre>', body)
    assert "<code>r-0</code>" in body
    assert "127.0.0.1:4100" in body
    assert url("workload-start", workload) in body
    assert url("workload-stop", workload) not in body
    # The history comes along, swapped out of band.
    assert re.search(r'<section id="workload-history"[^>]*hx-swap-oob="true"', body)


# --- settings --------------------------------------------------------------------------------


def settings_post(**fields: str) -> dict[str, str]:
    return {"g0-mode": "replicas", "g0-replicaCount": "1", **fields}


def test_refused_settings_come_back_with_422_errors_at_their_fields_and_the_typed_values(
    owner: User, workload: Workload
) -> None:
    before = Workload.objects.get(pk=workload.pk).runtime
    data = settings_post(**{"g0-replicaCount": "0", "g0-c1-memory": "lots", "g0-c0-cpu": "250m"})

    response = client_for(owner).post(url("workload-settings", workload), data, headers=HTMX)

    body = html(response)
    assert response.status_code == 422
    assert "<html" not in body
    assert 'id="workload-settings"' in body
    assert re.search(
        r'name="g0-replicaCount" value="0".*?aria-invalid="true".*?'
        r'id="settings-g0-replicaCount-error">Input should be greater than or equal to 1',
        body,
        re.S,
    )
    assert re.search(r'name="g0-c1-memory" value="lots".*?should match pattern', body, re.S)
    assert 'name="g0-c0-cpu" value="250m"' in body
    assert Workload.objects.get(pk=workload.pk).runtime == before


def test_autoscaling_problems_land_next_to_their_fields(owner: User, workload: Workload) -> None:
    data = {
        "g0-mode": "autoscaling",
        "g0-minReplicaCount": "4",
        "g0-maxReplicaCount": "2",
        "g0-scalingMetric": "gpuCacheUtilization",
        "g0-target": "",
    }

    body = html(client_for(owner).post(url("workload-settings", workload), data, headers=HTMX))

    assert re.search(r'id="settings-g0-maxReplicaCount-error">maxReplicaCount must be', body)
    assert re.search(r'id="settings-g0-scalingMetric-error">gpuCacheUtilization is a GPU', body)
    assert re.search(r'id="settings-g0-target-error">Field required', body)
    assert 'value="autoscaling" checked' in body


def test_saving_a_draft_workload_restarts_it_with_200(owner: User, workload: Workload) -> None:
    data = settings_post(**{"g0-replicaCount": "3", "g0-c0-cpu": "500m", "g0-c0-memory": "256Mi"})

    response = client_for(owner).post(url("workload-settings", workload), data, headers=HTMX)

    assert response.status_code == 200
    events = json.loads(response.headers["HX-Trigger"])
    assert events["toast"]["message"] == "Saved. The workload restarts with the new settings."
    assert "workload:changed" in events
    group = Workload.objects.get(pk=workload.pk).runtime["containerGroups"][0]
    assert group["replicaCount"] == 3
    assert group["containers"][0] == {
        "name": "web",
        "resourceAllocation": {"cpu": "500m", "memory": "256Mi"},
    }
    assert 'name="g0-replicaCount" value="3"' in html(response)
    assert WorkloadEvent.objects.filter(workload=workload, kind=EventKind.RESTART).count() == 1


def test_saving_a_version_workload_starts_a_replacement_with_202_then_409(
    owner: User, version_workload: Workload
) -> None:
    client = client_for(owner)
    settings = url("workload-settings", version_workload)

    accepted = client.post(settings, settings_post(**{"g0-replicaCount": "2"}), headers=HTMX)
    refused = client.post(settings, settings_post(**{"g0-replicaCount": "4"}), headers=HTMX)
    status = html(client.get(url("workload-status", version_workload), headers=HTMX))

    assert accepted.status_code == 202
    assert "rolling replacement started" in accepted.headers["HX-Trigger"]
    assert refused.status_code == 409
    assert "A replacement is running; wait for it to finish." in html(refused)
    assert 'name="g0-replicaCount" value="4"' in html(refused)
    assert "A rolling replacement is running" in status
    assert "every 2s" in status


def test_settings_without_javascript_redirect_back_to_the_page(
    owner: User, workload: Workload
) -> None:
    response = client_for(owner).post(url("workload-settings", workload), settings_post())

    assert response.status_code == 303
    assert response.headers["Location"] == url("workload-detail", workload)


# --- promote ---------------------------------------------------------------------------------


def test_the_promote_dialog_says_what_promoting_does(owner: User, workload: Workload) -> None:
    body = html(client_for(owner).get(url("workload-promote", workload), headers=HTMX))

    assert body.lstrip().startswith("<dialog data-open")
    assert "locked as <strong>version 1</strong>" in body
    assert "This is permanent" in body
    assert "statistics are wiped" in body
    assert "8-hour time to live is removed" in body
    assert "not restarted" in body
    assert "Promote and lock as version 1" in body


def test_promoting_locks_the_artifact_and_removes_the_ttl(
    owner: User, workload: Workload, draft: Artifact
) -> None:
    client = client_for(owner)
    record_invoke(workload.pk, 200, 12.0)

    response = client.post(url("workload-promote", workload), headers=HTMX)

    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == url("workload-detail", workload)
    artifact = Artifact.objects.get(pk=draft.pk)
    assert (artifact.status, artifact.version) == ("locked", 1)
    promoted = Workload.objects.get(pk=workload.pk)
    assert promoted.expires_at is None
    assert not InvokeSample.objects.filter(workload=workload).exists()
    page = html(client.get(url("workload-detail", workload)))
    assert "Promoted: the artifact is locked as version 1." in page
    assert "Locked · version 1" in page
    assert "Time to live" not in page
    assert url("workload-promote", workload) not in page
    again = client.post(url("workload-promote", workload), headers=HTMX)
    assert again.status_code == 409
    assert "already locked as version 1" in html(again)


def test_a_draft_that_cannot_be_locked_is_not_promoted_and_the_dialog_says_why(
    owner: User,
) -> None:
    sidecar = sidecar_container(imageBuildConfig={"dockerfile": {"source": "provided"}})
    del sidecar["imageUri"]
    spec = {"containerGroups": [{"containers": [primary_container(), sidecar]}]}
    unbuilt = artifact_create(actor=owner, data=artifact_body(spec=spec))
    workload = run(owner, unbuilt)

    response = client_for(owner).post(url("workload-promote", workload), headers=HTMX)

    assert response.status_code == 422
    assert "The draft cannot be locked yet" in html(response)
    assert "spec.containerGroups[0].containers[1].imageUri" in html(response)
    assert Artifact.objects.get(pk=unbuilt.pk).status == "draft"
    assert Workload.objects.get(pk=workload.pk).expires_at is not None


# --- stats, start, stop, delete ------------------------------------------------------------


def test_stats_show_totals_quantiles_and_charts_and_clear(owner: User, workload: Workload) -> None:
    for status_code, latency in ((200, 10.0), (200, 20.0), (404, 30.0), (503, 40.0)):
        record_invoke(workload.pk, status_code, latency)
    client = client_for(owner)

    body = html(client.get(url("workload-detail", workload)))
    cleared = client.post(url("workload-stats-clear", workload), headers=HTMX)

    assert re.search(r"<dt>Total requests</dt><dd>4</dd>", body)
    assert "1 4xx · 1 5xx" in body
    assert "<dd>50.0 %</dd>" in body
    assert "<dt>p50</dt><dd>20.0 ms</dd>" in body
    assert "<dt>p99</dt><dd>40.0 ms</dd>" in body
    assert body.count('<rect class="bar"') == 1
    assert body.count('class="bar-errors"') == 1
    assert "4 requests, 2 errors" in body
    assert "mean 25.0 ms over 4 requests" in body
    assert cleared.status_code == 200
    assert "<dt>Total requests</dt><dd>0</dd>" in html(cleared)
    assert "Statistics cleared" in cleared.headers["HX-Trigger"]


def test_stats_series_cuts_the_period_into_slices_in_one_query(workload: Workload) -> None:
    now = timezone.now()
    Workload.objects.filter(pk=workload.pk).update(stats_reset_at=now - timedelta(hours=3))
    workload.refresh_from_db()
    for minutes_ago, status_code in ((170, 200), (170, 500), (5, 200)):
        InvokeSample.objects.create(
            workload=workload,
            at=now - timedelta(minutes=minutes_ago),
            status_code=status_code,
            latency_ms=minutes_ago,
        )

    with CaptureQueriesContext(connection) as queries:
        series = stats_series(workload, buckets=6)

    assert len(queries) == 1
    assert [bucket.requests for bucket in series] == [2, 0, 0, 0, 0, 1]
    assert series[0].errors == 1
    assert series[0].mean_latency_ms == 170.0
    assert series[0].requests_per_minute == round(2 / 30, 3)


def test_stop_then_start_answer_with_the_status_region(owner: User, workload: Workload) -> None:
    client = client_for(owner)

    stopped = client.post(url("workload-stop", workload), headers=HTMX)
    twice = client.post(url("workload-stop", workload), headers=HTMX)
    Workload.objects.filter(pk=workload.pk).update(status="stopped")
    started = client.post(url("workload-start", workload), headers=HTMX)

    assert stopped.status_code == 200
    assert "Stopping" in html(stopped)
    assert "Stopping the workload." in stopped.headers["HX-Trigger"]
    assert twice.status_code == 409
    assert "The workload is stopping." in html(twice)
    assert started.status_code == 200
    assert "Submitted" in html(started)
    assert Workload.objects.get(pk=workload.pk).status == "submitted"


def test_without_javascript_actions_redirect_and_a_refusal_shows_the_whole_page(
    owner: User, workload: Workload
) -> None:
    client = client_for(owner)

    stopped = client.post(url("workload-stop", workload))
    refused = client.post(url("workload-stop", workload))

    assert stopped.status_code == 303
    assert stopped.headers["Location"] == url("workload-detail", workload)
    assert refused.status_code == 409
    body = html(refused)
    assert "<html" in body
    assert 'id="workload-settings"' in body
    assert '<p class="banner banner-error" role="alert">The workload is stopping.</p>' in body


def test_delete_asks_first_then_stops_and_removes_the_workload(
    owner: User, workload: Workload
) -> None:
    client = client_for(owner)

    dialog = html(client.get(url("workload-delete", workload), headers=HTMX))
    response = client.post(url("workload-delete", workload), headers=HTMX)

    assert "Every container of the workload is stopped first" in dialog
    assert "Stop and delete" in dialog
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == reverse("workload-list")
    assert not Workload.objects.filter(pk=workload.pk).exists()


# --- a new workload --------------------------------------------------------------------------


def test_a_new_workload_runs_the_artifact_and_goes_to_its_page(
    owner: User, draft: Artifact
) -> None:
    client = client_for(owner)
    new = f"{reverse('workload-new')}?artifact={draft.pk}"

    form = html(client.get(new))
    created = client.post(
        new,
        {"artifactId": draft.pk, "name": "shop", "importance": "critical", "replicas": "2"},
        headers=HTMX,
    )

    assert 'name="name" value="web-service"' in form
    workload = Workload.objects.get(name="shop")
    assert created.status_code == 204
    assert created.headers["HX-Redirect"] == url("workload-detail", workload)
    assert workload.importance == "critical"
    assert workload.runtime["containerGroups"][0]["replicaCount"] == 2


def test_a_refused_new_workload_keeps_what_was_typed(
    owner: User, draft: Artifact, workload: Workload
) -> None:
    client = client_for(owner)
    new = f"{reverse('workload-new')}?artifact={draft.pk}"

    invalid = client.post(new, {"artifactId": draft.pk, "name": "", "replicas": "0"}, headers=HTMX)
    in_use = client.post(new, {"artifactId": draft.pk, "name": "again"}, headers=HTMX)

    assert invalid.status_code == 422
    assert re.search(r'name="replicas" value="0".*?greater than or equal to 1', html(invalid), re.S)
    assert 'id="workload-name-error"' in html(invalid)
    assert in_use.status_code == 409
    assert f"The draft already backs workload {workload.pk}" in html(in_use)
    assert 'name="name" value="again"' in html(in_use)


# --- links from other pages ------------------------------------------------------------------


def test_run_as_workload_is_offered_to_editors_of_drafts_and_viewers_of_versions(
    owner: User, consumer: User, draft: Artifact
) -> None:
    roles = [{"shareRecipientType": "user", "username": "bob", "role": "CONSUMER"}]
    repository_share(
        actor=owner,
        repository_id=draft.repository_id,
        data={"operation": "updateRoles", "roles": roles},
    )
    run_link = f"{reverse('workload-new')}?artifact={draft.pk}"
    page = reverse("artifact-detail", args=[draft.pk])

    assert run_link in html(client_for(owner).get(page))
    assert run_link not in html(client_for(consumer).get(page))
    artifact_lock(actor=owner, artifact_id=draft.pk)
    assert run_link in html(client_for(consumer).get(page))


def test_the_repository_page_lists_its_workloads(owner: User, workload: Workload) -> None:
    repository_id = workload.artifact.repository_id
    page = f"{reverse('repository-detail', args=[repository_id])}?tab=workloads"

    body = html(client_for(owner).get(page))

    assert 'id="tab-workloads" aria-selected="true"' in body
    assert url("workload-detail", workload) in body
    assert "Submitted" in body


# --- queries ---------------------------------------------------------------------------------


def page_queries(user: User, workload: Workload) -> int:
    client = client_for(user)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url("workload-detail", workload)).status_code == 200
    return len(queries)


def test_the_page_costs_a_fixed_number_of_queries(owner: User, workload: Workload) -> None:
    few = page_queries(owner, workload)
    for i in range(6):
        Proton.objects.create(
            workload=workload,
            artifact=workload.artifact,
            role=ProtonRole.CANDIDATE,
            replicas=[{"name": f"r-{i}", "status": "ready", "address": f"127.0.0.1:{4000 + i}"}],
        )
        WorkloadEvent.objects.create(
            workload=workload, kind=EventKind.REPLACEMENT, status=EventStatus.ERRORED, actor=owner
        )
        record_invoke(workload.pk, 200, float(i))
    many = page_queries(owner, workload)

    assert many == few
    # Session and user; the workload with its running replacement; the caller's rights
    # (users, teams); protons and history (each reads the workload and the running
    # replacement again); statistics (counts, latencies, the series).
    assert few <= 16
