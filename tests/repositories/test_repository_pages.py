"""The repository page: tabs, rename, the delete dialog, and what it costs in queries.

Sharing from the page and the recipient search are in ``test_sharing_pages``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from artifacts.services import artifact_create, artifact_lock
from console.sharing import Role, grants
from repositories.models import ArtifactRepository
from repositories.services import repository_share
from tests.conftest import artifact_body, primary_container, sidecar_container

HTMX = {"HX-Request": "true"}
DIGEST = "sha256:" + "0123456789abcdef" * 4
PINNED_IMAGE = f"registry.example.com/team/web@{DIGEST}"
TABS = ("versions", "drafts", "sharing", "activity")


def client_for(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def draft_in(repository: ArtifactRepository | None, owner: User, name: str) -> Any:
    body = artifact_body(name=name)
    if repository is not None:
        body["artifactRepositoryId"] = repository.pk
    return artifact_create(actor=owner, data=body)


def version_in(repository: ArtifactRepository, owner: User, name: str) -> Any:
    body = artifact_body(name=name, artifactRepositoryId=repository.pk)
    body["spec"]["containerGroups"][0]["containers"] = [
        primary_container(imageUri=PINNED_IMAGE),
        sidecar_container(),
    ]
    return artifact_lock(actor=owner, artifact_id=artifact_create(actor=owner, data=body).pk)


def share_with(owner: User, repository: ArtifactRepository, username: str, role: str) -> None:
    repository_share(
        actor=owner,
        repository_id=repository.pk,
        data={
            "operation": "updateRoles",
            "roles": [{"shareRecipientType": "user", "username": username, "role": role}],
        },
    )


def roles_of(repository: ArtifactRepository) -> dict[str, Role]:
    return {grant.name: grant.role for grant in grants(repository)}


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    """Users without a password (hashing one is slow): these tests sign in with
    ``force_login``. Overrides the suite's fixture, and so ``owner``, ``stranger``, ``staff``."""

    def make(username: str, **extra: Any) -> User:
        return User.objects.create(username=username, **extra)

    return make


@pytest.fixture
def repository(owner: User) -> ArtifactRepository:
    """One locked version (v1, its image pinned by digest) and one draft."""
    first = draft_in(None, owner, "payments-api")
    repository = first.repository
    artifact_lock(actor=owner, artifact_id=first.pk)
    draft_in(repository, owner, "payments-next")
    return ArtifactRepository.objects.get(pk=repository.pk)


@pytest.fixture
def empty_repository(owner: User) -> ArtifactRepository:
    """Drafts only, so it may be deleted."""
    first = draft_in(None, owner, "scratch-one")
    draft_in(first.repository, owner, "scratch-two")
    return first.repository


@pytest.fixture
def consumer(owner: User, repository: ArtifactRepository, make_user: Callable[..., User]) -> User:
    user = make_user("connor")
    share_with(owner, repository, "connor", "CONSUMER")
    return user


@pytest.fixture
def editor(owner: User, repository: ArtifactRepository, make_user: Callable[..., User]) -> User:
    user = make_user("edith")
    share_with(owner, repository, "edith", "EDITOR")
    return user


def page(user: User, repository: ArtifactRepository, tab: str = "versions", **kw: Any) -> Any:
    return client_for(user).get(f"/repositories/{repository.pk}/?tab={tab}", **kw)


# --- tabs ----------------------------------------------------------------------------------


def test_the_owner_sees_every_tab_with_its_rows_and_every_control(
    owner: User, repository: ArtifactRepository
) -> None:
    version_in(repository, owner, "payments-api-pinned")
    versions = page(owner, repository, "versions").content.decode()
    for label in ("Locked versions", "Drafts", "Sharing", "Activity"):
        assert label in versions
    v1, v2 = repository.artifacts.filter(status="locked").order_by("version")
    # Each version links to its artifact, newest first.
    assert versions.index(f'href="/artifacts/{v2.pk}/"') < versions.index(
        f'href="/artifacts/{v1.pk}/"'
    )
    assert versions.index(">v2<") < versions.index(">v1<")
    assert "@sha256:0123456789ab…" in versions  # the digest, shortened
    assert f'title="{PINNED_IMAGE}"' in versions
    assert "web:1.0" in versions  # an image without a digest shows its reference
    assert f'href="/artifacts/new/?repository={repository.pk}"' in versions
    assert "Rename or describe" in versions
    assert f'hx-get="/repositories/{repository.pk}/delete/"' in versions

    drafts = page(owner, repository, "drafts").content.decode()
    draft = repository.artifacts.get(status="draft")
    assert f'<a href="/artifacts/{draft.pk}/"><strong>payments-next</strong>' in drafts
    assert "payments-api-pinned" not in drafts

    activity = page(owner, repository, "activity").content.decode()
    # The audit log of the repository, newest first: its creation comes last.
    assert "<strong>olga</strong>" in activity
    assert activity.index("<code>artifact.lock</code>") < activity.index(
        "<code>repository.create</code>"
    )

    sharing = page(owner, repository, "sharing").content.decode()
    assert 'aria-label="Role of olga"' in sharing
    assert 'hx-get="/recipients/"' in sharing


def test_a_tab_requested_by_htmx_is_only_the_tab_region(
    owner: User, repository: ArtifactRepository
) -> None:
    response = page(owner, repository, "drafts", headers={**HTMX, "HX-Target": "repository-tabs"})

    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert 'role="tablist"' in body
    assert 'id="tab-drafts" aria-selected="true"' in body
    assert "payments-next" in body
    assert "HX-Request" in response["Vary"]


def test_htmx_following_a_redirect_here_gets_the_whole_page(
    owner: User, repository: ArtifactRepository
) -> None:
    # What htmx sends for HX-Location (after deleting a draft, say): no HX-Target.
    body = page(owner, repository, "drafts", headers=HTMX).content.decode()

    assert "<html" in body


def test_long_tabs_come_in_pages(owner: User, repository: ArtifactRepository) -> None:
    for number in range(25):  # 26 drafts with the fixture's
        draft_in(repository, owner, f"draft-{number:02}")
    tab = f"/repositories/{repository.pk}/?tab=drafts"

    first = page(owner, repository, "drafts").content.decode()
    second = client_for(owner).get(f"{tab}&offset=25").content.decode()

    assert first.count("badge-draft") == 25
    assert f'href="{tab}&offset=25"' in first
    assert "Newer</a>" not in first
    assert second.count("badge-draft") == 1
    assert "payments-next" in second  # the oldest draft, on the last page
    assert f'href="{tab}&offset=0"' in second
    assert "Older</a>" not in second


def test_an_unknown_tab_shows_the_versions(owner: User, repository: ArtifactRepository) -> None:
    body = page(owner, repository, "nonsense").content.decode()

    assert 'id="tab-versions" aria-selected="true"' in body


def test_a_consumer_reads_every_tab_but_gets_no_change_controls(
    consumer: User, repository: ArtifactRepository
) -> None:
    for tab in TABS:
        body = page(consumer, repository, tab).content.decode()
        assert "payments" in body
        assert "/artifacts/new/" not in body
        assert f"/repositories/{repository.pk}/edit/" not in body
        assert f"/repositories/{repository.pk}/delete/" not in body
    sharing = page(consumer, repository, "sharing").content.decode()
    assert "connor" in sharing  # the list, read-only
    assert "Consumer" in sharing
    assert "Only owners change roles." in sharing
    assert '<select name="role"' not in sharing
    assert "/recipients/" not in sharing
    assert "Remove olga" not in sharing


def test_a_consumer_is_refused_every_change(consumer: User, repository: ArtifactRepository) -> None:
    client = client_for(consumer)
    base = f"/repositories/{repository.pk}"

    assert client.get(f"{base}/edit/").status_code == 403
    assert client.post(f"{base}/edit/", {"name": "mine now"}).status_code == 403
    assert client.get(f"{base}/delete/").status_code == 403
    assert client.post(f"{base}/delete/").status_code == 403
    shared = client.post(
        f"{base}/sharing/",
        {"operation": "add", "q": "connor", "recipient_type": "user", "role": "OWNER"},
    )
    assert shared.status_code == 403
    assert roles_of(repository)["connor"] is Role.CONSUMER
    assert ArtifactRepository.objects.get(pk=repository.pk).name == "payments-api"


def test_an_editor_may_rename_and_start_drafts_but_not_delete_or_share(
    editor: User, repository: ArtifactRepository
) -> None:
    body = page(editor, repository).content.decode()
    sharing = page(editor, repository, "sharing").content.decode()

    assert "Rename or describe" in body
    assert f'href="/artifacts/new/?repository={repository.pk}"' in body
    assert f"/repositories/{repository.pk}/delete/" not in body
    assert '<select name="role"' not in sharing


@pytest.mark.parametrize("path", ["", "edit/", "delete/", "sharing/"])
def test_a_stranger_gets_404_and_the_anonymous_sign_in(
    stranger: User, repository: ArtifactRepository, path: str
) -> None:
    url = f"/repositories/{repository.pk}/{path}"

    assert client_for(stranger).get(url).status_code == 404
    if path:  # the page itself is read-only (405 for a POST)
        assert client_for(stranger).post(url, {"name": "x"}).status_code == 404
    anonymous = client_for(None).get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/login/")


def test_staff_read_the_page_without_controls(staff: User, repository: ArtifactRepository) -> None:
    body = page(staff, repository).content.decode()

    assert "payments-api" in body
    assert "Rename or describe" not in body
    assert "your role: <strong>Consumer</strong>" in body  # staff may view, nothing more


# --- rename ------------------------------------------------------------------------------------


def test_rename_opens_a_form_in_the_head(owner: User, repository: ArtifactRepository) -> None:
    response = client_for(owner).get(f"/repositories/{repository.pk}/edit/", headers=HTMX)

    body = response.content.decode()
    assert "<html" not in body
    assert 'name="name" value="payments-api"' in body
    assert 'hx-target="#repository-head"' in body


def test_a_blank_name_is_refused_inline_with_422(
    owner: User, repository: ArtifactRepository
) -> None:
    response = client_for(owner).post(
        f"/repositories/{repository.pk}/edit/",
        {"name": "   ", "description": "kept in the form"},
        headers=HTMX,
    )

    body = response.content.decode()
    assert response.status_code == 422
    assert 'aria-invalid="true" aria-describedby="repository-name-error"' in body
    assert 'id="repository-name-error"' in body
    assert "kept in the form" in body
    assert ArtifactRepository.objects.get(pk=repository.pk).name == "payments-api"


def test_rename_and_describe_save_and_show_the_head(
    owner: User, repository: ArtifactRepository
) -> None:
    response = client_for(owner).post(
        f"/repositories/{repository.pk}/edit/",
        {"name": "payments", "description": "Takes the money."},
        headers=HTMX,
    )

    saved = ArtifactRepository.objects.get(pk=repository.pk)
    assert response.status_code == 200
    assert (saved.name, saved.description) == ("payments", "Takes the money.")
    assert "<h1>payments <span" in response.content.decode()
    assert "toast" in response["HX-Trigger"]


def test_rename_without_javascript_redirects_to_the_page(
    owner: User, repository: ArtifactRepository
) -> None:
    response = client_for(owner).post(
        f"/repositories/{repository.pk}/edit/", {"name": "payments", "description": ""}
    )

    assert response.status_code == 303
    assert response["Location"] == f"/repositories/{repository.pk}/"


# --- delete ------------------------------------------------------------------------------------


def test_the_delete_dialog_names_the_drafts_that_go_with_it(
    owner: User, empty_repository: ArtifactRepository
) -> None:
    response = client_for(owner).get(f"/repositories/{empty_repository.pk}/delete/", headers=HTMX)

    body = response.content.decode()
    assert body.lstrip().startswith("<dialog data-open")
    assert "<li>scratch-one</li>" in body
    assert "<li>scratch-two</li>" in body
    assert "Delete repository</button>" in body


def test_deleting_takes_the_drafts_along_and_returns_to_the_list(
    owner: User, empty_repository: ArtifactRepository
) -> None:
    response = client_for(owner).post(f"/repositories/{empty_repository.pk}/delete/", headers=HTMX)

    assert response.status_code == 204
    assert response["HX-Redirect"] == "/repositories/"
    assert not ArtifactRepository.objects.filter(pk=empty_repository.pk).exists()
    assert not owner.created_artifacts.exists()


def test_without_javascript_delete_is_a_page_and_a_redirect(
    owner: User, empty_repository: ArtifactRepository
) -> None:
    client = client_for(owner)
    url = f"/repositories/{empty_repository.pk}/delete/"

    confirm = client.get(url).content.decode()
    deleted = client.post(url)

    assert "<html" in confirm
    assert "Back to the repository" in confirm
    assert deleted.status_code == 303
    assert deleted["Location"] == "/repositories/"
    assert "Deleted the repository scratch-one." in client.get("/repositories/").content.decode()


def test_a_repository_with_locked_versions_explains_why_it_stays(
    owner: User, repository: ArtifactRepository
) -> None:
    client = client_for(owner)
    url = f"/repositories/{repository.pk}/delete/"

    dialog = client.get(url, headers=HTMX).content.decode()
    refused = client.post(url, headers=HTMX)

    assert "cannot be deleted: it holds 1 locked version," in dialog
    assert "Delete repository</button>" not in dialog
    assert refused.status_code == 409
    assert "which are permanent; it cannot be deleted." in refused.content.decode()
    assert "Delete repository</button>" not in refused.content.decode()
    assert ArtifactRepository.objects.filter(pk=repository.pk).exists()


# --- query counts --------------------------------------------------------------------------


def queries_per_tab(user: User, repository: ArtifactRepository) -> dict[str, int]:
    client = client_for(user)
    counts = {}
    for tab in TABS:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/repositories/{repository.pk}/?tab={tab}").status_code == 200
        counts[tab] = len(queries)
    return counts


def test_the_page_costs_a_fixed_number_of_queries_whatever_it_holds(
    owner: User, repository: ArtifactRepository, make_user: Callable[..., User]
) -> None:
    few = queries_per_tab(owner, repository)
    for number in range(6):
        draft_in(repository, owner, f"draft-{number}")
        version_in(repository, owner, f"version-{number}")
        share_with(owner, repository, make_user(f"reader{number}").username, "CONSUMER")

    many = queries_per_tab(owner, repository)

    assert many == few
    # Session, user, the repository with its counts, the rights (user and team grants),
    # then one page of artifacts, or the grants (users and teams) on the sharing tab, or
    # the audit events (a count and a page) on the activity tab.
    assert many == {"versions": 6, "drafts": 6, "sharing": 7, "activity": 7}
