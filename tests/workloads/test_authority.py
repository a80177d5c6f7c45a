"""Authority follows the artifact: a workload on a draft runs on its repository's EDIT.

The issue's scenario through the API: an EDITOR runs the owner's draft, the owner revokes
the EDITOR, and from then on the former EDITOR can no longer start, restart, change or
share that workload, the workload is stopped, and the repository's OWNER sees, stops and
deletes it. No worker runs here: where the worker would act, the test calls the same
operation the worker task calls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

from console.accounts import user_set_flags
from console.models import AuditEvent
from console.teams import team_add_member, team_create, team_delete, team_remove_member
from tests.conftest import ARTIFACTS, REPOSITORIES, ApiClient, share
from tests.workloads.test_workload_lifecycle import http_artifact, primary_containers, settled
from workloads import operations
from workloads.models import Workload

pytestmark = pytest.mark.django_db
WORKLOADS = "/api/v2/workloads"
SCALED = {"runtime": {"containerGroups": [{"name": "default", "replicaCount": 2}]}}


def roles(**by_username: str) -> dict[str, Any]:
    return {
        "operation": "updateRoles",
        "roles": [
            {"shareRecipientType": "user", "username": name, "role": role}
            for name, role in by_username.items()
        ],
    }


def team_role(team: Group, role: str) -> dict[str, Any]:
    return {
        "operation": "updateRoles",
        "roles": [{"shareRecipientType": "group", "name": team.name, "role": role}],
    }


def run(api: ApiClient, artifact_id: str) -> dict[str, Any]:
    """A workload on ``artifact_id``, marked running as the worker would once it is up."""
    response = api.post(WORKLOADS, {"name": "svc", "artifactId": artifact_id})
    assert response.status_code == 201, response.content
    Workload.objects.filter(pk=response.json()["id"]).update(status="running")
    return dict(response.json())


def status_of(workload: dict[str, Any]) -> Workload:
    return Workload.objects.get(pk=workload["id"])


def listed(api: ApiClient, **params: Any) -> list[str]:
    response = api.get(WORKLOADS, **params)
    assert response.status_code == 200, response.content
    return [w["id"] for w in response.json()["data"]]


def console(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def refused_everything_that_runs(api: ApiClient, workload: dict[str, Any]) -> None:
    """Start, restart (settings), share and promote all answer 403 with the reason."""
    path = f"{WORKLOADS}/{workload['id']}"
    for response in (
        api.post(f"{path}/start"),
        api.patch(f"{path}/settings", SCALED),
        api.patch(f"{path}/sharedRoles", roles(sam="OWNER")),
        api.post(f"{path}/promote"),
    ):
        assert response.status_code == 403, response.content
        assert "EDIT" in response.json()["detail"], response.content


def test_revoking_an_editor_stops_and_freezes_the_workload_and_the_owner_cleans_up(
    api: ApiClient,
    editor_api: ApiClient,
    stranger: User,
    owner: User,
    shared_artifact: dict[str, Any],
) -> None:
    workload = run(editor_api, shared_artifact["id"])
    repository = shared_artifact["artifactRepositoryId"]

    revoked = api.patch(f"{REPOSITORIES}/{repository}/sharedRoles", roles(edith="NO_ROLE"))
    assert revoked.status_code == 204, revoked.content

    # Stopped, with the reason on the workload and in the audit log; the worker then
    # takes the containers down through the stop task's operation.
    stopped = status_of(workload)
    assert stopped.status == "stopping"
    assert "no longer holds EDIT" in stopped.status_message
    event = AuditEvent.objects.get(action="workload.stop", object_id=workload["id"])
    assert event.actor == owner
    assert "no longer holds EDIT" in event.changes["reason"]
    operations.workload_stop_now(workload["id"])
    assert status_of(workload).status == "stopped"

    # The former EDITOR still sees the workload (it holds the workload's OWNER role) and
    # may delete it, but runs nothing of the draft any more.
    assert editor_api.get(f"{ARTIFACTS}/{shared_artifact['id']}").status_code == 404
    seen = editor_api.get(f"{WORKLOADS}/{workload['id']}").json()
    assert seen["permissions"] == ["CAN_DELETE", "CAN_VIEW"]
    assert "no longer holds EDIT" in seen["statusMessage"]
    clock = status_of(workload).expires_at
    refused_everything_that_runs(editor_api, workload)
    assert status_of(workload).status == "stopped"
    assert status_of(workload).expires_at == clock  # the 8-hour clock was not renewed

    # The repository's OWNER sees it everywhere, but may not start or share it.
    assert listed(api) == [workload["id"]]
    assert listed(api, artifactId=shared_artifact["id"]) == [workload["id"]]
    assert listed(api, repositoryId=repository) == [workload["id"]]
    as_owner = api.get(f"{WORKLOADS}/{workload['id']}").json()
    assert as_owner["permissions"] == ["CAN_DELETE", "CAN_VIEW"]
    assert api.post(f"{WORKLOADS}/{workload['id']}/start").status_code == 403
    shared = api.patch(f"{WORKLOADS}/{workload['id']}/sharedRoles", roles(sam="OWNER"))
    assert shared.status_code == 403
    browser = console(owner)
    assert workload["id"] in browser.get(reverse("workload-list")).content.decode()
    tab = browser.get(reverse("repository-detail", args=[repository]), {"tab": "workloads"})
    assert workload["id"] in tab.content.decode()
    page = browser.get(reverse("workload-detail", args=[workload["id"]])).content.decode()
    assert reverse("workload-delete", args=[workload["id"]]) in page
    assert reverse("workload-start", args=[workload["id"]]) not in page
    former = console(User.objects.get(username="edith"))
    frozen = former.get(reverse("workload-detail", args=[workload["id"]])).content.decode()
    assert "authority-note" in frozen
    assert reverse("workload-start", args=[workload["id"]]) not in frozen

    # She deletes the workload, then her draft.
    assert api.delete(f"{WORKLOADS}/{workload['id']}").status_code == 204
    assert api.delete(f"{ARTIFACTS}/{shared_artifact['id']}").status_code == 204


def test_the_repository_owner_stops_a_running_draft_workload_of_an_editor(
    api: ApiClient,
    editor_api: ApiClient,
    consumer_api: ApiClient,
    owner: User,
    shared_artifact: dict[str, Any],
) -> None:
    workload = run(editor_api, shared_artifact["id"])

    # A CONSUMER of the repository (through its team) is no OWNER: it sees nothing.
    assert listed(consumer_api) == []
    assert consumer_api.post(f"{WORKLOADS}/{workload['id']}/stop").status_code == 404
    # The console offers the OWNER the Stop button, not Start, and stopping works.
    page = console(owner).get(reverse("workload-detail", args=[workload["id"]])).content.decode()
    assert reverse("workload-stop", args=[workload["id"]]) in page
    stop = api.post(f"{WORKLOADS}/{workload['id']}/stop")
    assert stop.status_code == 202, stop.content
    assert stop.json()["status"] == "stopping"
    # Still an EDITOR, the runner may start it again; the OWNER may not.
    operations.workload_stop_now(workload["id"])
    assert api.post(f"{WORKLOADS}/{workload['id']}/start").status_code == 403
    assert editor_api.post(f"{WORKLOADS}/{workload['id']}/start").status_code == 202


def test_a_workload_shared_onward_gives_no_authority_over_the_draft(
    api: ApiClient,
    editor_api: ApiClient,
    stranger_api: ApiClient,
    shared_artifact: dict[str, Any],
) -> None:
    workload = run(editor_api, shared_artifact["id"])
    # The EDITOR may share the workload while it holds EDIT, but the stranger it gave
    # OWNER to holds no EDIT on the draft's repository, so cannot restart it.
    given = editor_api.patch(f"{WORKLOADS}/{workload['id']}/sharedRoles", roles(sam="OWNER"))
    assert given.status_code == 204, given.content
    assert stranger_api.get(f"{WORKLOADS}/{workload['id']}").status_code == 200
    refused_everything_that_runs(stranger_api, workload)


def test_losing_edit_only_in_one_of_two_ways_keeps_the_workload_running(
    api: ApiClient, editor_api: ApiClient, editor: User, shared_artifact: dict[str, Any]
) -> None:
    repository = shared_artifact["artifactRepositoryId"]
    writers = team_create(actor=None, name="writers")
    team_add_member(actor=None, team=writers.name, username=editor.username)
    share(repository, writers, "EDITOR")
    workload = run(editor_api, shared_artifact["id"])

    lowered = api.patch(f"{REPOSITORIES}/{repository}/sharedRoles", team_role(writers, "CONSUMER"))
    assert lowered.status_code == 204, lowered.content
    assert status_of(workload).status == "running"  # still an EDITOR directly

    lowered = api.patch(f"{REPOSITORIES}/{repository}/sharedRoles", roles(edith="CONSUMER"))
    assert lowered.status_code == 204, lowered.content
    assert status_of(workload).status == "stopping"


@pytest.fixture
def writers(make_user: Callable[..., User], shared_artifact: dict[str, Any]) -> Group:
    """A team holding EDITOR on the shared repository, with ``walt`` as its member."""
    make_user("walt")
    team = team_create(actor=None, name="writers")
    team_add_member(actor=None, team=team.name, username="walt")
    share(shared_artifact["artifactRepositoryId"], team, "EDITOR")
    return team


def test_leaving_the_team_that_held_edit_stops_the_members_workload(
    writers: Group, shared_artifact: dict[str, Any]
) -> None:
    walt = ApiClient(User.objects.get(username="walt"))
    workload = run(walt, shared_artifact["id"])

    team_remove_member(actor=None, team=writers.name, username="walt")

    stopped = status_of(workload)
    assert stopped.status == "stopping"
    assert "writers" in stopped.status_message
    assert AuditEvent.objects.filter(action="workload.stop", object_id=workload["id"]).exists()
    # The team was his only way into the repository; the workload is still his.
    assert walt.get(f"{WORKLOADS}/{workload['id']}").json()["permissions"] == [
        "CAN_DELETE",
        "CAN_VIEW",
    ]
    refused_everything_that_runs(walt, workload)


def test_deactivating_a_user_stops_the_workloads_they_run_on_drafts(
    editor_api: ApiClient, shared_artifact: dict[str, Any]
) -> None:
    workload = run(editor_api, shared_artifact["id"])
    # Not its only OWNER, or the last-OWNER guard would refuse the deactivation.
    path = f"{WORKLOADS}/{workload['id']}/sharedRoles"
    assert editor_api.patch(path, roles(olga="OWNER")).status_code == 204
    root = User.objects.create_superuser("root", password=None)

    user_set_flags(actor=root, user=User.objects.get(username="edith"), is_active=False)

    stopped = status_of(workload)
    assert stopped.status == "stopping"
    assert "deactivated" in stopped.status_message
    assert AuditEvent.objects.filter(action="workload.stop", object_id=workload["id"]).exists()


def test_deleting_the_team_that_held_edit_stops_its_members_workloads(
    writers: Group, shared_artifact: dict[str, Any]
) -> None:
    walt = ApiClient(User.objects.get(username="walt"))
    workload = run(walt, shared_artifact["id"])

    team_delete(actor=None, team=writers.name)

    assert "team writers was deleted" in status_of(workload).status_message
    refused_everything_that_runs(walt, workload)


def test_lowering_the_team_to_consumer_stops_its_members_workloads(
    api: ApiClient, writers: Group, shared_artifact: dict[str, Any]
) -> None:
    walt = ApiClient(User.objects.get(username="walt"))
    workload = run(walt, shared_artifact["id"])
    repository = shared_artifact["artifactRepositoryId"]

    lowered = api.patch(f"{REPOSITORIES}/{repository}/sharedRoles", team_role(writers, "CONSUMER"))

    assert lowered.status_code == 204, lowered.content
    assert status_of(workload).status == "stopping"
    refused_everything_that_runs(walt, workload)


def test_a_locked_version_keeps_running_but_its_runner_without_view_cannot_restart_it(
    api: ApiClient, consumer_api: ApiClient, team: Group, shared_artifact: dict[str, Any]
) -> None:
    """Decision: a locked version cannot change under its workload, so revoking its
    runner does not stop it (that would take down what others may rely on); but running
    it again needs VIEW (CONSUMER) on the repository, as creating it did. The repository's
    OWNERs gain nothing on workloads of locked versions: those are their runners'."""
    locked = api.patch(f"{ARTIFACTS}/{shared_artifact['id']}", {"status": "locked"})
    assert locked.status_code == 200, locked.content
    workload = run(consumer_api, shared_artifact["id"])
    repository = shared_artifact["artifactRepositoryId"]

    revoked = api.patch(f"{REPOSITORIES}/{repository}/sharedRoles", team_role(team, "NO_ROLE"))

    assert revoked.status_code == 204, revoked.content
    assert status_of(workload).status == "running"
    path = f"{WORKLOADS}/{workload['id']}"
    for response in (
        consumer_api.patch(f"{path}/settings", SCALED),
        consumer_api.patch(f"{path}/sharedRoles", roles(sam="OWNER")),
    ):
        assert response.status_code == 403, response.content
        assert "VIEW" in response.json()["detail"]
    assert consumer_api.post(f"{path}/stop").status_code == 202
    operations.workload_stop_now(workload["id"])
    assert consumer_api.post(f"{path}/start").status_code == 403
    assert listed(api) == []
    assert api.get(path).status_code == 404
    assert consumer_api.delete(path).status_code == 204


def test_workload_lists_cost_the_same_for_the_owner_whatever_the_page_holds(
    django_assert_num_queries: Callable[..., Any],
    api: ApiClient,
    editor_api: ApiClient,
    editor: User,
) -> None:
    """Workloads on her drafts join the OWNER's list by a subquery, not a check per row."""

    def add(count: int) -> None:
        for _ in range(count):
            artifact = api.create_artifact()
            share(artifact["artifactRepositoryId"], editor, "EDITOR")
            run(editor_api, artifact["id"])
            run(api, api.create_artifact()["id"])

    add(1)
    api.get(WORKLOADS)  # warm-up: records the key's last use
    # key lookup + COUNT + page (with the artifacts) + running replacements + one UNION of
    # the grants on the workloads and on their repositories
    with django_assert_num_queries(5):
        assert len(listed(api, limit=100)) == 2
    add(3)
    with django_assert_num_queries(5):
        assert len(listed(api, limit=100)) == 8


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("celery_worker_thread", "podman_settings")
def test_revoking_the_editor_really_stops_the_containers(
    api: ApiClient,
    editor_api: ApiClient,
    editor: User,
    http_image: str,
    podman_cleanup: set[str],
) -> None:
    """The same revocation on real podman and a real worker: the containers go away."""
    artifact = http_artifact(api, http_image)
    repository = artifact["artifactRepositoryId"]
    share(repository, editor, "EDITOR")
    workload_id = editor_api.post(WORKLOADS, {"name": "svc", "artifactId": artifact["id"]}).json()[
        "id"
    ]
    podman_cleanup.add(workload_id)
    assert settled(editor_api, workload_id)["status"] == "running"

    revoked = api.patch(f"{REPOSITORIES}/{repository}/sharedRoles", roles(edith="NO_ROLE"))

    assert revoked.status_code == 204, revoked.content
    assert settled(api, workload_id)["status"] == "stopped"
    assert primary_containers(workload_id) == []
