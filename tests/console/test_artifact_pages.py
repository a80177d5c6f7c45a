"""The artifact page and its lock, clone and delete dialogs, through Django's test client."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from artifacts.models import Artifact
from artifacts.services import artifact_clone, artifact_create, artifact_lock, artifact_update
from repositories.services import repository_share
from tests.conftest import artifact_body, primary_container, sidecar_container

HTMX = {"HX-Request": "true"}
IMAGE = "127.0.0.1:5050/berth/base/python"


def persona(username: str, **extra: Any) -> Any:
    """A user fixture. Personas sign in with force_login, so they get no password: hashing
    one costs a second of CPU, which would dominate this module's run time."""

    @pytest.fixture
    def make(db: Any) -> User:
        return User.objects.create_user(username, **extra)

    return make


owner = persona("olga")
editor = persona("edith")
consumer = persona("bob")
stranger = persona("sam")
staff = persona("stella", is_staff=True)


@pytest.fixture
def draft(owner: User, editor: User, consumer: User) -> Artifact:
    """Olga's draft, shared with Edith as EDITOR and with Bob as CONSUMER."""
    artifact = artifact_create(actor=owner, data=rich_body())
    roles = [
        {"shareRecipientType": "user", "username": username, "role": role}
        for username, role in (("edith", "EDITOR"), ("bob", "CONSUMER"))
    ]
    data = {"operation": "updateRoles", "roles": roles}
    repository_share(actor=owner, repository_id=artifact.repository_id, data=data)
    return artifact


def rich_body() -> dict[str, Any]:
    web = primary_container(
        entrypoint=["gunicorn", "app:wsgi"],
        environmentVars=[{"name": "LOG_LEVEL", "value": "debug"}],
        livenessProbe={"path": "/live", "periodSeconds": 30},
    )
    return artifact_body(spec={"containerGroups": [{"containers": [web, sidecar_container()]}]})


def client_for(user: User | None, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    if user is not None:
        client.force_login(user)
    return client


def page(artifact: Artifact, tab: str = "") -> str:
    url = reverse("artifact-detail", args=[artifact.pk])
    return f"{url}?tab={tab}" if tab else url


def url(name: str, artifact: Artifact) -> str:
    return reverse(name, args=[artifact.pk])


def html(response: Any) -> str:
    return response.content.decode()


def toast_of(response: Any) -> str:
    return json.loads(response.headers["HX-Trigger"])["toast"]["message"]


def reload(artifact: Artifact) -> Artifact:
    return Artifact.objects.get(pk=artifact.pk)


# The page ---------------------------------------------------------------------------------


def test_page_shows_containers_probes_and_environment(owner: User, draft: Artifact) -> None:
    response = client_for(owner).get(page(draft))

    assert response.status_code == 200
    body = html(response)
    assert "<h1>web-service" in body
    assert '<span class="badge badge-draft">Draft</span>' in body
    assert 'aria-label="Container web"' in body
    assert 'aria-label="Container proxy"' in body
    assert "registry.example.com/team/web:1.0" in body
    assert "<dd>8080</dd>" in body
    assert "<code>gunicorn</code> <code>app:wsgi</code>" in body
    assert "<td><code>LOG_LEVEL</code></td><td><code>debug</code></td>" in body
    assert "<td>Readiness</td><td><code>/ready</code></td><td>8080</td>" in body
    assert (
        "<td>Liveness</td><td><code>/live</code></td><td>8080</td><td>0 s</td><td>30 s</td>" in body
    )
    assert "none (sidecars serve no traffic)" in body
    assert response.headers["Vary"] == "HX-Request, Cookie"


def test_json_and_yaml_tabs_show_the_spec_with_a_copy_button(owner: User, draft: Artifact) -> None:
    client = client_for(owner)

    as_json = html(client.get(page(draft, "json")))
    as_yaml = html(client.get(page(draft, "yaml")))

    assert "&quot;containerGroups&quot;: [" in as_json
    assert 'data-copy-target="spec-text"' in as_json
    assert 'id="spec-text"' in as_json
    assert "containerGroups:\n- name: default\n  containers:\n  - name: web" in as_yaml
    assert "LOG_LEVEL" in as_yaml


def test_a_tab_link_gets_the_panel_alone_and_other_htmx_requests_the_whole_page(
    owner: User, draft: Artifact
) -> None:
    client = client_for(owner)

    panel = html(client.get(page(draft, "yaml"), headers={**HTMX, "HX-Target": "tab-panel"}))
    whole = html(client.get(page(draft), headers=HTMX))

    assert "<html" not in panel
    assert 'id="artifact-header"' not in panel
    assert "containerGroups:" in panel
    assert '<a href="?tab=yaml" hx-get="?tab=yaml"' in panel
    assert "<html" in whole
    assert 'id="artifact-header"' in whole


ACTIONS = ("artifact-edit", "artifact-clone", "artifact-lock", "artifact-delete")


@pytest.mark.parametrize(
    ("persona", "shown"),
    [
        ("owner", ACTIONS),
        ("editor", ACTIONS),
        ("consumer", ()),
        ("staff", ()),  # staff see every repository but act only where granted
    ],
)
def test_actions_shown_on_a_draft_follow_the_role(
    persona: str, shown: tuple[str, ...], draft: Artifact, request: pytest.FixtureRequest
) -> None:
    response = client_for(request.getfixturevalue(persona)).get(page(draft))

    assert response.status_code == 200
    body = html(response)
    assert 'aria-label="Container web"' in body
    assert [name for name in ACTIONS if url(name, draft) in body] == list(shown)
    assert ('aria-label="Actions"' in body) == bool(shown)


@pytest.mark.parametrize(
    ("persona", "shown"), [("owner", True), ("editor", True), ("consumer", False)]
)
def test_a_locked_version_offers_only_clone(
    persona: str, shown: bool, owner: User, draft: Artifact, request: pytest.FixtureRequest
) -> None:
    artifact_lock(actor=owner, artifact_id=draft.pk)

    body = html(client_for(request.getfixturevalue(persona)).get(page(draft)))

    assert "Locked · version 1" in body
    assert [name for name in ACTIONS if url(name, draft) in body] == (
        ["artifact-clone"] if shown else []
    )


def test_stranger_gets_404_and_anonymous_the_sign_in_page(stranger: User, draft: Artifact) -> None:
    assert client_for(stranger).get(page(draft)).status_code == 404
    assert client_for(stranger).get(page(draft, "json")).status_code == 404
    assert client_for(stranger).get(reverse("artifact-detail", args=["f" * 24])).status_code == 404
    anonymous = client_for(None).get(page(draft))
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", ["artifact-lock", "artifact-clone", "artifact-delete"])
def test_dialogs_answer_403_to_a_consumer_and_404_to_a_stranger(
    name: str, consumer: User, stranger: User, draft: Artifact
) -> None:
    for user, status in ((consumer, 403), (stranger, 404)):
        client = client_for(user)
        assert client.get(url(name, draft), headers=HTMX).status_code == status
        assert client.post(url(name, draft), {"name": "x"}, headers=HTMX).status_code == status
    assert reload(draft).status == "draft"
    assert Artifact.objects.count() == 1


# Query counts -----------------------------------------------------------------------------


@pytest.mark.parametrize("tab", ["containers", "changes"])
def test_page_query_count_is_pinned_whatever_the_number_of_containers(
    owner: User, tab: str, django_assert_num_queries: Any
) -> None:
    small = artifact_create(actor=owner, data=artifact_body())
    artifact_lock(actor=owner, artifact_id=small.pk)
    sidecars = [sidecar_container(name=f"side-{i}") for i in range(12)]
    large = artifact_clone(actor=owner, artifact_id=small.pk, data={})
    artifact_update(
        actor=owner,
        artifact_id=large.pk,
        data={"spec": {"containerGroups": [{"containers": [primary_container(), *sidecars]}]}},
    )
    client = client_for(owner)
    # Session, user, the artifact with its repository and people, and the rights (user and
    # team grants); the changes tab adds the version it compares with.
    expected = 5 if tab == "containers" else 6

    for artifact in (small, large):
        with django_assert_num_queries(expected):
            response = client.get(page(artifact, tab))
        assert response.status_code == 200
    assert "side-11" in html(client.get(page(large, tab)))


# Changes ----------------------------------------------------------------------------------


def test_changes_of_a_draft_are_against_the_latest_locked_version(
    owner: User, draft: Artifact
) -> None:
    client = client_for(owner)
    before_any_lock = html(client.get(page(draft, "changes")))
    artifact_lock(actor=owner, artifact_id=draft.pk)
    clone = artifact_clone(actor=owner, artifact_id=draft.pk, data={"name": "web-service-2"})
    spec = clone.spec
    spec["containerGroups"][0]["containers"].insert(
        0, sidecar_container(name="metrics", imageUri="registry.example.com/metrics:1")
    )
    spec["containerGroups"][0]["containers"][1]["port"] = 9090
    artifact_update(actor=owner, artifact_id=clone.pk, data={"spec": spec})

    # Paths may wrap between their parts: the markup between them is not what is checked.
    body = html(client.get(page(clone, "changes"))).replace(".<wbr>", ".")

    assert "This repository has no locked version yet" in before_any_lock
    assert f'<a href="{page(draft)}">version 1</a> (“web-service”)' in body
    assert "the latest locked version" in body
    rows = body.split("<tbody>")[1].split("</tbody>")[0].count("<tr ")
    assert rows == 3  # the name, the port and the added sidecar: nothing else moved
    assert (
        '<tr class="diff-changed"><td class="diff-path" title="name"><code>name</code></td>'
        "<td>changed</td>"
        "<td>&quot;web-service&quot;</td><td>&quot;web-service-2&quot;</td></tr>"
    ) in body
    assert (
        "<code>spec.containerGroups[default].containers[web].port</code></td><td>changed</td>"
        "<td>8080</td><td>9090</td>"
    ) in body
    assert (
        '<tr class="diff-added"><td class="diff-path" '
        'title="spec.containerGroups[default].containers[metrics]">'
    ) in body


def test_changes_of_version_n_are_against_version_n_minus_1(owner: User, draft: Artifact) -> None:
    artifact_lock(actor=owner, artifact_id=draft.pk)
    second = artifact_clone(actor=owner, artifact_id=draft.pk, data={})
    artifact_lock(actor=owner, artifact_id=second.pk)
    third = artifact_clone(actor=owner, artifact_id=second.pk, data={"name": "third"})
    artifact_lock(actor=owner, artifact_id=third.pk)
    # A draft cloned from an old version still compares with the latest one.
    from_first = artifact_clone(actor=owner, artifact_id=draft.pk, data={})
    client = client_for(owner)

    first_changes = html(client.get(page(draft, "changes")))
    second_changes = html(client.get(page(second, "changes")))
    third_changes = html(client.get(page(third, "changes")))

    assert "Version 1 is the first version of this repository" in first_changes
    assert f'<a href="{page(draft)}">version 1</a>' in second_changes
    assert "No changes since version 1." in second_changes
    assert f'<a href="{page(second)}">version 2</a>' in third_changes
    assert "&quot;third&quot;" in third_changes
    assert f'<a href="{page(third)}">version 3</a>' in html(client.get(page(from_first, "changes")))


# Lock -------------------------------------------------------------------------------------


def test_lock_dialog_names_the_version_it_will_assign(owner: User, draft: Artifact) -> None:
    artifact_lock(actor=owner, artifact_id=draft.pk)
    clone = artifact_clone(actor=owner, artifact_id=draft.pk, data={})

    response = client_for(owner).get(url("artifact-lock", clone), headers=HTMX)

    assert response.status_code == 200
    body = html(response)
    assert body.lstrip().startswith('<dialog data-open aria-labelledby="lock-title">')
    assert "Locking is permanent" in body
    assert "becomes <strong>version 2</strong>" in body
    assert "Lock as version 2</button>" in body
    assert "data-close-dialog" in body


def test_a_draft_built_from_source_shows_its_build_and_why_it_cannot_be_locked(owner: User) -> None:
    web = primary_container(imageBuildConfig={"dockerfile": {"source": "provided"}})
    del web["imageUri"]
    artifact = artifact_create(
        actor=owner,
        data=artifact_body(spec={"containerGroups": [{"containers": [web, sidecar_container()]}]}),
    )
    client = client_for(owner)

    shown = html(client.get(page(artifact)))
    dialog = html(client.get(url("artifact-lock", artifact), headers=HTMX))
    refused = client.post(url("artifact-lock", artifact), headers=HTMX)

    assert "Dockerfile <code>./Dockerfile</code> from the uploaded source" in shown
    assert "not uploaded yet" in shown

    for body in (dialog, html(refused)):
        assert "It cannot be locked yet" in body
        assert "<code>spec.containerGroups[default].containers[web].imageUri</code>" in body
        assert "build this container&#x27;s image first" in body
        assert "Lock as version" not in body
    assert refused.status_code == 422
    assert reload(artifact).status == "draft"


def test_a_draft_whose_image_was_built_offers_lock_and_locks_like_the_api(owner: User) -> None:
    web = primary_container(imageBuildConfig={"dockerfile": {"source": "provided"}})
    del web["imageUri"]
    artifact = artifact_create(
        actor=owner, data=artifact_body(spec={"containerGroups": [{"containers": [web]}]})
    )
    # The spec as a completed build leaves it: the build config stays beside the pinned
    # image (artifacts.builds writes it); only locking drops the config.
    built = reload(artifact)
    built.spec["containerGroups"][0]["containers"][0]["imageUri"] = f"{IMAGE}@sha256:{'a' * 64}"
    built.save(update_fields=["spec"])
    client = client_for(owner)

    dialog = html(client.get(url("artifact-lock", artifact), headers=HTMX))
    locked = client.post(url("artifact-lock", artifact), headers=HTMX)

    assert "It cannot be locked yet" not in dialog
    assert "Lock as version 1</button>" in dialog
    assert locked.status_code == 200, html(locked)
    assert (reload(artifact).status, reload(artifact).version) == ("locked", 1)
    assert "imageBuildConfig" not in json.dumps(reload(artifact).spec)


@pytest.mark.parametrize("persona", ["owner", "editor"])
def test_posting_lock_with_htmx_updates_the_header_in_place(
    persona: str, draft: Artifact, request: pytest.FixtureRequest
) -> None:
    user = request.getfixturevalue(persona)
    client = client_for(user)

    response = client.post(url("artifact-lock", draft), headers=HTMX)
    again = client.post(url("artifact-lock", draft), headers=HTMX)

    assert response.status_code == 200
    body = html(response)
    assert body.lstrip().startswith(
        '<div id="artifact-header" class="artifact-header" hx-swap-oob="true">'
    )
    assert "Locked · version 1" in body
    assert url("artifact-clone", draft) in body
    assert url("artifact-lock", draft) not in body
    assert "<html" not in body
    assert 'id="tab-panel"' not in body
    assert toast_of(response) == "Locked as version 1"
    assert json.loads(response.headers["HX-Trigger"])["artifact:changed"] == {"id": draft.pk}
    locked = reload(draft)
    assert (locked.status, locked.version, locked.locked_by) == ("locked", 1, user)
    assert again.status_code == 409
    assert "The artifact is already locked as version 1." in html(again)
    assert "<dialog data-open" in html(again)


def test_without_javascript_dialogs_are_pages_and_forms_redirect(
    owner: User, draft: Artifact
) -> None:
    client = client_for(owner)
    repository_page = reverse("repository-detail", args=[draft.repository_id])

    dialog = html(client.get(url("artifact-lock", draft)))
    cloned = client.post(url("artifact-clone", draft), {"name": "plain"})
    clone = Artifact.objects.get(name="plain")
    locked = client.post(url("artifact-lock", draft))
    deleted = client.post(url("artifact-delete", clone))

    assert "<html" in dialog
    assert '<dialog data-open open aria-labelledby="lock-title">' in dialog
    assert f'<a class="btn" href="{page(draft)}">Cancel</a>' in dialog
    assert f'method="post" action="{url("artifact-lock", draft)}"' in dialog
    assert [(r.status_code, r.headers["Location"]) for r in (cloned, locked, deleted)] == [
        (303, page(clone)),
        (303, page(draft)),
        (303, repository_page),
    ]
    # The messages travel with the session and show on the next page as toasts.
    shown = html(client.get(page(draft)))
    assert 'data-toast="Cloned into a new draft “plain”"' in shown
    assert 'data-toast="Locked as version 1"' in shown
    assert 'data-toast="Deleted the draft “plain”"' in shown
    assert reload(draft).status == "locked"
    assert not Artifact.objects.filter(pk=clone.pk).exists()


def test_a_post_without_the_csrf_token_is_rejected(owner: User, draft: Artifact) -> None:
    client = client_for(owner, enforce_csrf_checks=True)

    for name in ("artifact-lock", "artifact-clone", "artifact-delete"):
        assert client.post(url(name, draft), headers=HTMX).status_code == 403
    assert reload(draft).status == "draft"
    assert Artifact.objects.count() == 1


# Clone ------------------------------------------------------------------------------------


def test_clone_asks_for_a_name_then_goes_to_the_new_draft(owner: User, draft: Artifact) -> None:
    client = client_for(owner)

    dialog = html(client.get(url("artifact-clone", draft), headers=HTMX))
    response = client.post(url("artifact-clone", draft), {"name": "web-service-next"}, headers=HTMX)

    assert '<label for="clone-name">Name of the new draft</label>' in dialog
    assert 'name="name" value="web-service"' in dialog

    clone = Artifact.objects.get(name="web-service-next")
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == page(clone)
    assert flashed(response) == ["Cloned into a new draft “web-service-next”"]
    assert (clone.status, clone.repository_id, clone.spec) == (
        "draft",
        draft.repository_id,
        draft.spec,
    )


def test_an_invalid_clone_name_shows_the_error_next_to_the_field(
    owner: User, draft: Artifact
) -> None:
    response = client_for(owner).post(url("artifact-clone", draft), {"name": "   "}, headers=HTMX)

    assert response.status_code == 422
    body = html(response)
    assert '<div class="field field-error">' in body
    assert 'aria-invalid="true" aria-describedby="clone-name-errors"' in body
    assert '<ul class="errorlist" id="clone-name-errors"><li>' in body
    assert Artifact.objects.count() == 1


# Delete -----------------------------------------------------------------------------------


def test_delete_explains_itself_then_goes_to_the_repository(owner: User, draft: Artifact) -> None:
    client = client_for(owner)

    dialog = html(client.get(url("artifact-delete", draft), headers=HTMX))
    response = client.post(url("artifact-delete", draft), headers=HTMX)

    assert "Delete the draft “web-service”" in dialog
    assert "The locked versions of “web-service” are not affected." in dialog
    assert 'class="btn-danger">Delete draft</button>' in dialog
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == reverse(
        "repository-detail", args=[draft.repository_id]
    )
    assert flashed(response) == ["Deleted the draft “web-service”"]
    assert not Artifact.objects.filter(pk=draft.pk).exists()


def test_a_locked_version_explains_why_it_cannot_be_deleted(owner: User, draft: Artifact) -> None:
    artifact_lock(actor=owner, artifact_id=draft.pk)
    client = client_for(owner)

    dialog = html(client.get(url("artifact-delete", draft), headers=HTMX))
    refused = client.post(url("artifact-delete", draft), headers=HTMX)

    assert "Version 1 cannot be deleted" in dialog
    assert "Locked versions are permanent" in dialog
    assert "Delete draft" not in dialog
    assert '<button type="button" data-close-dialog>Close</button>' in dialog
    assert refused.status_code == 409
    assert "Version 1 is locked and can never change" in html(refused)
    assert Artifact.objects.filter(pk=draft.pk).exists()


def flashed(response: Any) -> list[str]:
    """Messages queued for the next page (redirects carry their message in the session)."""
    return [str(message) for message in get_messages(response.wsgi_request)]
