"""The draft editor's pages: create and edit drafts, inline errors, add/remove, who may."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.test import Client

from artifacts.models import Artifact
from artifacts.services import artifact_create, artifact_lock
from console.sharing import Role, grant_role
from tests.conftest import artifact_body

NEW = "/artifacts/new/"
HTMX = {"HX-Request": "true"}
PORT_TOO_LOW = "Input should be greater than or equal to 1024"


def edit_url(artifact: Artifact) -> str:
    return f"/artifacts/{artifact.pk}/edit/"


def two_containers(**overrides: str) -> dict[str, str]:
    """The editor's fields for a primary with port and readiness probe, and one sidecar."""
    fields = {
        "name": "orders-api",
        "description": "Takes orders",
        "type": "service",
        "group-name": "default",
        "primary": "0",
        "containers-0-name": "web",
        "containers-0-source": "image",
        "containers-0-imageUri": "registry.example.com/shop/web:1.0",
        "containers-0-port": "8080",
        "containers-0-entrypoint": "python -m web --workers 2",
        "containers-0-env-0-name": "LOG_LEVEL",
        "containers-0-env-0-value": "debug",
        "containers-0-readinessProbe-path": "/ready",
        "containers-0-readinessProbe-periodSeconds": "5",
        "containers-1-name": "proxy",
        "containers-1-source": "image",
        "containers-1-imageUri": "registry.example.com/shop/proxy:2.0",
        "action": "save",
    }
    fields.update(overrides)
    return fields


TYPED = {
    key: value
    for key, value in two_containers().items()
    if key not in ("primary", "action", "type", "description", "group-name")
    and not key.endswith("-source")
}


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def value_of(html: str, name: str) -> str | None:
    match = re.search(rf'<input id="[^"]*" name="{re.escape(name)}" value="([^"]*)"', html)
    return match.group(1) if match else None


def field_block(html: str, name: str) -> str:
    """The ``<div class="field">`` that holds the input ``name``: label, input, errors."""
    for block in re.findall(r'<div class="field[^"]*">.*?</div>', html, re.DOTALL):
        if f'name="{name}"' in block:
            return block
    raise AssertionError(f"no field {name}")


def assert_kept(html: str, typed: dict[str, str]) -> None:
    assert {name: value_of(html, name) for name in typed} == typed


@pytest.fixture
def owner_client(owner: User) -> Client:
    return client_for(owner)


@pytest.fixture
def draft(owner: User) -> Artifact:
    return artifact_create(
        actor=owner, data=artifact_body(tags=[{"name": "team", "value": "shop"}])
    )


@pytest.fixture
def persona(make_user: Callable[..., User], draft: Artifact) -> Callable[[str], Client]:
    """A signed-in client holding ``role`` ("EDITOR", "CONSUMER", or "" for none) on the draft."""

    def make(role: str) -> Client:
        user = make_user(f"someone-{role.lower() or 'stranger'}")
        if role:
            grant_role(draft.repository, user, Role(role))
        return client_for(user)

    return make


def test_the_new_artifact_page_starts_with_one_primary_container(owner_client: Client) -> None:
    response = owner_client.get(NEW)
    html = response.content.decode()
    assert response.status_code == 200
    assert value_of(html, "containers-0-name") == ""
    assert 'name="primary" value="0" checked' in html
    assert 'name="containers-1-name"' not in html
    assert '<select id="f-type" name="type"' in html


def test_the_repository_list_links_to_the_new_artifact_page(owner_client: Client) -> None:
    html = owner_client.get("/repositories/").content.decode()
    assert f'href="{NEW}">New artifact</a>' in html


def test_creating_a_two_container_draft_opens_a_repository(
    owner: User, owner_client: Client
) -> None:
    response = owner_client.post(NEW, two_containers())
    artifact = Artifact.objects.get()
    assert response.status_code == 303
    assert response["Location"] == f"/artifacts/{artifact.pk}/"
    assert artifact.name == "orders-api"
    assert artifact.repository.name == "orders-api"
    assert artifact.repository.creator == owner
    web, proxy = artifact.spec["containerGroups"][0]["containers"]
    assert web["primary"] is True
    assert web["port"] == 8080
    assert web["entrypoint"] == ["python", "-m", "web", "--workers", "2"]
    assert web["environmentVars"] == [{"name": "LOG_LEVEL", "value": "debug"}]
    assert web["readinessProbe"]["path"] == "/ready"
    assert web["readinessProbe"]["periodSeconds"] == 5
    assert proxy["primary"] is False
    assert "port" not in proxy


def test_an_htmx_save_redirects_the_client_with_a_toast(owner_client: Client) -> None:
    response = owner_client.post(NEW, two_containers(), headers=HTMX)
    artifact = Artifact.objects.get()
    assert response.status_code == 204
    assert response["HX-Redirect"] == f"/artifacts/{artifact.pk}/"
    (message,) = get_messages(response.wsgi_request)
    assert "orders-api" in str(message)


def test_a_bad_port_comes_back_422_next_to_its_field_and_keeps_every_value(
    owner_client: Client,
) -> None:
    response = owner_client.post(NEW, two_containers(**{"containers-0-port": "80"}))
    html = response.content.decode()
    assert response.status_code == 422
    assert not Artifact.objects.exists()
    port = field_block(html, "containers-0-port")
    assert 'aria-invalid="true" aria-describedby="f-containers-0-port-error"' in port
    assert f'<ul class="errorlist" id="f-containers-0-port-error"><li>{PORT_TOO_LOW}</li>' in port
    assert html.count(PORT_TOO_LOW) == 1
    assert "Not saved: 1 problem to fix." in html
    assert_kept(html, {**TYPED, "containers-0-port": "80"})
    assert 'name="primary" value="0" checked' in html
    assert 'name="description" rows="2">Takes orders</textarea>' in html


def test_an_htmx_save_with_problems_swaps_in_the_editor_alone(owner_client: Client) -> None:
    response = owner_client.post(NEW, two_containers(**{"containers-0-port": "80"}), headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 422
    assert html.lstrip().startswith('<form class="editor"')
    assert "<html" not in html
    assert PORT_TOO_LOW in field_block(html, "containers-0-port")


def test_a_port_that_is_not_a_number_comes_back_as_typed(owner_client: Client) -> None:
    response = owner_client.post(NEW, two_containers(**{"containers-0-port": "80a"}))
    html = response.content.decode()
    assert response.status_code == 422
    assert value_of(html, "containers-0-port") == "80a"
    assert "Input should be a valid integer" in field_block(html, "containers-0-port")


def test_every_problem_is_reported_at_once_and_unplaced_ones_go_to_the_banner(
    owner_client: Client,
) -> None:
    fields = two_containers(
        **{
            "group-name": "Not_A_Label",
            "containers-1-port": "9000",
            "containers-1-env-0-name": "1BAD",
            "containers-1-env-0-value": "x",
        }
    )
    html = owner_client.post(NEW, fields).content.decode()
    assert "Not saved: 3 problems to fix." in html
    assert "A sidecar must not set a port" in field_block(html, "containers-1-port")
    assert "should match pattern" in field_block(html, "containers-1-env-0-name")
    banner = re.search(r'<div class="banner banner-error" role="alert">(.*?)</div>', html, re.S)
    assert banner is not None
    assert "spec.containerGroups.0.name: Use 1-63 lowercase letters" in banner.group(1)


def test_adding_a_sidecar_keeps_every_typed_value(owner_client: Client) -> None:
    response = owner_client.post(NEW, two_containers(action="add-container"), headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert not Artifact.objects.exists()
    assert "<html" not in html
    assert_kept(html, {**TYPED, "containers-2-name": "", "containers-2-imageUri": ""})
    assert 'name="primary" value="0" checked' in html
    assert 'name="primary" value="2" aria-label="Primary (container 3)"' in html
    assert 'aria-label="Remove container 3"' in html


def test_removing_a_container_moves_the_later_ones_up_with_their_values(
    owner_client: Client,
) -> None:
    fields = two_containers(
        **{
            "containers-2-name": "metrics",
            "containers-2-source": "build",
            "containers-2-dockerfile-path": "./docker/Dockerfile",
            "containers-2-imageUri": "typed-then-switched-to-build",
            "action": "remove-container-1",
        }
    )
    html = owner_client.post(NEW, fields).content.decode()
    assert value_of(html, "containers-1-name") == "metrics"
    assert value_of(html, "containers-1-dockerfile-path") == "./docker/Dockerfile"
    assert value_of(html, "containers-1-imageUri") == "typed-then-switched-to-build"
    assert 'name="containers-1-source" value="build" checked' in html
    assert 'name="containers-2-name"' not in html
    assert "proxy" not in html


def test_adding_and_removing_environment_variables_keep_the_other_values(
    owner_client: Client,
) -> None:
    added = owner_client.post(NEW, two_containers(action="add-env-0")).content.decode()
    assert_kept(added, {**TYPED, "containers-0-env-1-name": "", "containers-0-env-1-value": ""})
    removed = owner_client.post(NEW, two_containers(action="remove-env-0-0")).content.decode()
    kept = {k: v for k, v in TYPED.items() if "-env-" not in k}
    assert_kept(removed, kept)
    assert 'name="containers-0-env-0-name"' not in removed


def test_a_new_draft_goes_into_the_chosen_repository_with_its_type(
    draft: Artifact, persona: Callable[[str], Client]
) -> None:
    url = f"{NEW}?repository={draft.repository_id}"
    editor = persona("EDITOR")
    page = editor.get(url).content.decode()
    assert '<input type="hidden" name="type" value="service">' in page
    assert 'name="type"' in page
    assert '<select id="f-type"' not in page
    response = editor.post(url, two_containers(name="orders-v2"))
    assert response.status_code == 303
    created = Artifact.objects.get(name="orders-v2")
    assert created.repository_id == draft.repository_id


def test_a_type_other_than_the_repository_s_is_refused_by_the_service(
    draft: Artifact, owner_client: Client
) -> None:
    url = f"{NEW}?repository={draft.repository_id}"
    response = owner_client.post(url, two_containers(type="nim"))
    assert response.status_code == 422
    assert "this artifact&#x27;s type must be service" in field_block(
        response.content.decode(), "type"
    )


def test_new_drafts_in_a_repository_need_edit_rights_there(
    draft: Artifact, persona: Callable[[str], Client]
) -> None:
    url = f"{NEW}?repository={draft.repository_id}"
    consumer, stranger = persona("CONSUMER"), persona("")
    assert consumer.get(url).status_code == 403
    assert consumer.post(url, two_containers()).status_code == 403
    assert stranger.get(url).status_code == 404
    assert stranger.post(url, two_containers()).status_code == 404
    assert Artifact.objects.count() == 1


def test_editing_a_draft_shows_its_values_and_saves_changes(
    draft: Artifact, owner_client: Client
) -> None:
    page = owner_client.get(edit_url(draft)).content.decode()
    assert value_of(page, "name") == "web-service"
    assert value_of(page, "containers-0-port") == "8080"
    assert value_of(page, "containers-1-imageUri") == "registry.example.com/team/proxy:2.0"
    fields = {
        "name": "web-service",
        "type": "service",
        "group-name": "default",
        "primary": "0",
        "containers-0-name": "web",
        "containers-0-source": "image",
        "containers-0-imageUri": "registry.example.com/team/web:1.1",
        "containers-0-port": "9090",
        "containers-0-readinessProbe-path": "/ready",
        "containers-0-livenessProbe-enabled": "on",
        "containers-0-livenessProbe-path": "/live",
    }
    response = owner_client.post(edit_url(draft), fields)
    draft.refresh_from_db()
    assert response.status_code == 303
    assert response["Location"] == f"/artifacts/{draft.pk}/"
    (web,) = draft.spec["containerGroups"][0]["containers"]
    assert web["port"] == 9090
    assert web["livenessProbe"]["path"] == "/live"
    assert draft.tags == [{"name": "team", "value": "shop"}]


def test_editing_with_problems_comes_back_422_and_changes_nothing(
    draft: Artifact, persona: Callable[[str], Client]
) -> None:
    before = draft.spec
    response = persona("EDITOR").post(
        edit_url(draft), two_containers(**{"containers-0-port": "80"})
    )
    draft.refresh_from_db()
    assert response.status_code == 422
    assert PORT_TOO_LOW in field_block(response.content.decode(), "containers-0-port")
    assert draft.spec == before


def test_a_locked_artifact_cannot_be_edited_and_offers_a_clone(
    owner: User, draft: Artifact, owner_client: Client
) -> None:
    artifact_lock(actor=owner, artifact_id=draft.pk)
    page = owner_client.get(edit_url(draft))
    html = page.content.decode()
    assert page.status_code == 409
    assert "Version 1 is locked and can never change" in html
    assert f'action="/artifacts/{draft.pk}/clone/"' in html
    assert 'name="containers-0-name"' not in html
    response = owner_client.post(edit_url(draft), two_containers())
    assert response.status_code == 409
    draft.refresh_from_db()
    assert draft.name == "web-service"


def test_an_artifact_locked_while_editing_is_refused_by_the_service(
    owner: User, draft: Artifact, owner_client: Client
) -> None:
    page = owner_client.get(edit_url(draft))
    assert page.status_code == 200
    artifact_lock(actor=owner, artifact_id=draft.pk)
    response = owner_client.post(edit_url(draft), two_containers(), headers=HTMX)
    assert response.status_code == 409
    assert response.content.decode().lstrip().startswith('<section class="card refused"')


def test_consumers_get_403_and_strangers_404_on_the_edit_page(
    draft: Artifact, persona: Callable[[str], Client]
) -> None:
    consumer, stranger = persona("CONSUMER"), persona("")
    assert consumer.get(edit_url(draft)).status_code == 403
    assert consumer.post(edit_url(draft), two_containers()).status_code == 403
    assert stranger.get(edit_url(draft)).status_code == 404
    assert stranger.post(edit_url(draft), two_containers()).status_code == 404
    assert Client().get(edit_url(draft))["Location"].startswith("/login/")
    draft.refresh_from_db()
    assert draft.name == "web-service"


def test_a_draft_with_several_container_groups_is_left_to_the_api(
    owner: User, owner_client: Client
) -> None:
    body = artifact_body()
    (group,) = body["spec"]["containerGroups"]
    body["spec"]["containerGroups"].append({**group, "name": "second"})
    artifact = artifact_create(actor=owner, data=body)
    page = owner_client.get(edit_url(artifact))
    assert page.status_code == 200
    assert "This draft has 2 container groups" in page.content.decode()
    assert '<form class="editor"' not in page.content.decode()
    response = owner_client.post(edit_url(artifact), two_containers())
    artifact.refresh_from_db()
    assert response.status_code == 409
    assert len(artifact.spec["containerGroups"]) == 2
    assert artifact.name == "web-service"


def test_anonymous_visitors_are_sent_to_sign_in(db: Any) -> None:
    response = Client().post(NEW, two_containers())
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert not Artifact.objects.exists()


def test_a_save_over_someone_elses_save_is_refused_and_keeps_what_was_typed(
    owner_client: Client, owner: User
) -> None:
    from artifacts.services import artifact_create, artifact_update
    from tests.conftest import artifact_body

    draft = artifact_create(actor=owner, data=artifact_body(name="shared-draft"))
    page = owner_client.get(f"/artifacts/{draft.pk}/edit/").content.decode()
    loaded = re.search(r'name="etag" value="([^"]+)"', page)
    assert loaded is not None
    artifact_update(actor=owner, artifact_id=draft.pk, data={"description": "saved elsewhere"})

    posted = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page))
    posted["name"] = "my rename"
    response = owner_client.post(f"/artifacts/{draft.pk}/edit/", posted | {"action": "save"})

    assert response.status_code == 412
    assert "Someone else changed this" in response.content.decode()
    assert 'value="my rename"' in response.content.decode()
    draft.refresh_from_db()
    assert (draft.name, draft.description) == ("shared-draft", "saved elsewhere")


def test_the_editor_of_a_draft_built_from_source_offers_upload_and_build(
    owner_client: Client, owner: User
) -> None:
    from tests.conftest import primary_container

    web = primary_container(imageBuildConfig={"dockerfile": {"source": "provided"}})
    del web["imageUri"]
    draft = artifact_create(
        actor=owner,
        data=artifact_body(spec={"containerGroups": [{"name": "default", "containers": [web]}]}),
    )
    page = owner_client.get(f"/artifacts/{draft.pk}/edit/").content.decode()
    assert f'action="/artifacts/{draft.pk}/source/"' in page
    assert 'aria-label="Source archive"' in page
    assert f'action="/artifacts/{draft.pk}/builds/start/"' in page
