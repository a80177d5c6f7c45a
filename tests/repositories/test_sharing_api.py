"""``sharedRoles`` of repositories and artifacts: roles, recipients, rules, and their effect.

Personas (tests/conftest.py): ``owner`` (olga) created the repository and is its OWNER;
``editor`` (edith) holds EDITOR directly; ``consumer`` (connor) holds CONSUMER only through
the team ``readers``; ``stranger`` (sam) holds nothing; ``staff`` (stella) sees everything.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command

from console import teams
from tests.conftest import ARTIFACTS, REPOSITORIES, TEAM_NAME, ApiClient, share

MISSING_ID = "0123456789abcdef01234567"
OWNER_RIGHTS = ["CAN_DELETE", "CAN_SHARE", "CAN_UPDATE", "CAN_VIEW"]
EDITOR_RIGHTS = ["CAN_UPDATE", "CAN_VIEW"]
CONSUMER_RIGHTS = ["CAN_VIEW"]


def roles_url(repository_id: str) -> str:
    return f"{REPOSITORIES}/{repository_id}/sharedRoles"


def update(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"operation": "updateRoles", "roles": list(entries)}


def user_entry(user: User, role: str, *, by: str = "username") -> dict[str, Any]:
    key = {"username": user.username, "id": user.pk, "id-as-text": str(user.pk)}[by]
    return {
        "shareRecipientType": "user",
        "role": role,
        ("username" if by == "username" else "id"): key,
    }


def team_entry(group: Group, role: str, *, by: str = "name") -> dict[str, Any]:
    value = {"name": group.name, "id": str(group.pk), "id-as-number": group.pk}[by]
    return {"shareRecipientType": "group", "role": role, ("name" if by == "name" else "id"): value}


def roles_of(api: ApiClient, repository_id: str) -> dict[tuple[str, str], str]:
    """{(recipient type, name): role} as the owner's GET lists them."""
    response = api.get(roles_url(repository_id))
    assert response.status_code == 200, response.content
    return {
        (row["shareRecipientType"], row["name"]): row["role"] for row in response.json()["data"]
    }


def patched(api: ApiClient, repository_id: str, body: dict[str, Any]) -> Any:
    return api.patch(roles_url(repository_id), body)


def assert_204(response: Any) -> None:
    assert response.status_code == 204, response.content


def locs(response: Any) -> list[list[Any]]:
    assert response.status_code == 422, response.content
    return [problem["loc"] for problem in response.json()["detail"]]


@pytest.fixture
def repository_id(shared_artifact: dict[str, Any]) -> str:
    return shared_artifact["artifactRepositoryId"]


@pytest.fixture
def private_repository_id(api: ApiClient) -> str:
    """A repository only the owner holds a role on."""
    return api.create_artifact(name="private-service")["artifactRepositoryId"]


# --- what GET lists ---------------------------------------------------------------------


def test_get_lists_users_first_then_teams_in_the_list_envelope(
    api: ApiClient, repository_id: str, owner: User, editor: User, team: Group
) -> None:
    response = api.get(roles_url(repository_id))

    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["totalCount"], body["next"], body["previous"]) == (
        3,
        3,
        None,
        None,
    )
    assert body["data"] == [
        {"id": str(editor.pk), "name": "edith", "shareRecipientType": "user", "role": "EDITOR"},
        {"id": str(owner.pk), "name": "olga", "shareRecipientType": "user", "role": "OWNER"},
        {"id": str(team.pk), "name": TEAM_NAME, "shareRecipientType": "group", "role": "CONSUMER"},
    ]


def test_roles_are_paged_like_any_list(api: ApiClient, repository_id: str) -> None:
    first = api.get(roles_url(repository_id), limit=2).json()
    second = api.get(roles_url(repository_id), limit=2, offset=2).json()

    assert (first["count"], first["totalCount"], second["count"]) == (2, 3, 1)
    assert first["next"].endswith(f"{roles_url(repository_id)}?limit=2&offset=2")
    assert second["next"] is None
    assert [row["name"] for row in first["data"] + second["data"]] == ["edith", "olga", TEAM_NAME]
    assert api.get(roles_url(repository_id), limit=101).status_code == 422


@pytest.mark.parametrize("client", ["api", "editor_api", "consumer_api", "staff_api"])
def test_everyone_who_sees_the_repository_may_read_its_roles(
    client: str, request: pytest.FixtureRequest, repository_id: str
) -> None:
    response = request.getfixturevalue(client).get(roles_url(repository_id))

    assert response.status_code == 200
    assert response.json()["totalCount"] == 3


# --- roles: aliases and letter case -----------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "listed"),
    [
        ("OWNER", "OWNER"),
        ("owner", "OWNER"),
        ("EDITOR", "EDITOR"),
        ("Editor", "EDITOR"),
        ("READ_WRITE", "EDITOR"),
        ("read_write", "EDITOR"),
        ("USER", "EDITOR"),
        ("user", "EDITOR"),
        ("CONSUMER", "CONSUMER"),
        ("consumer", "CONSUMER"),
        ("READ_ONLY", "CONSUMER"),
        ("read_only", "CONSUMER"),
        ("OBSERVER", "CONSUMER"),
        ("Observer", "CONSUMER"),
    ],
)
def test_role_aliases_in_any_case_are_listed_under_their_canonical_upper_case_name(
    api: ApiClient, private_repository_id: str, stranger: User, sent: str, listed: str
) -> None:
    assert_204(patched(api, private_repository_id, update(user_entry(stranger, sent))))

    assert roles_of(api, private_repository_id)[("user", "sam")] == listed


@pytest.mark.parametrize("role", ["ADMIN", "", "NONE", "READ", "owner ", None, 3])
def test_an_unknown_role_is_422_at_the_role(
    api: ApiClient, private_repository_id: str, stranger: User, role: Any
) -> None:
    entry = {"shareRecipientType": "user", "username": stranger.username, "role": role}

    response = patched(api, private_repository_id, update(entry))

    assert locs(response) == [["body", "roles", 0, "role"]]
    assert ("user", "sam") not in roles_of(api, private_repository_id)


# --- recipients: users by id or username, teams by id or name ---------------------------


@pytest.mark.parametrize("by", ["username", "id", "id-as-text"])
def test_a_user_is_named_by_username_or_id(
    api: ApiClient,
    stranger_api: ApiClient,
    private_repository_id: str,
    stranger: User,
    by: str,
) -> None:
    assert stranger_api.get(f"{REPOSITORIES}/{private_repository_id}").status_code == 404

    assert_204(patched(api, private_repository_id, update(user_entry(stranger, "CONSUMER", by=by))))

    assert roles_of(api, private_repository_id)[("user", "sam")] == "CONSUMER"
    assert stranger_api.get(f"{REPOSITORIES}/{private_repository_id}").status_code == 200


@pytest.mark.parametrize("by", ["name", "id", "id-as-number"])
def test_a_team_is_named_by_name_or_id_and_its_members_get_the_role(
    api: ApiClient,
    consumer_api: ApiClient,
    private_repository_id: str,
    team: Group,
    by: str,
) -> None:
    assert consumer_api.get(f"{REPOSITORIES}/{private_repository_id}").status_code == 404

    assert_204(patched(api, private_repository_id, update(team_entry(team, "consumer", by=by))))

    assert roles_of(api, private_repository_id)[("group", TEAM_NAME)] == "CONSUMER"
    assert consumer_api.get(f"{REPOSITORIES}/{private_repository_id}").status_code == 200


def test_the_id_a_get_lists_names_the_same_team_in_a_patch(
    api: ApiClient, repository_id: str, consumer_api: ApiClient, shared_artifact: dict[str, Any]
) -> None:
    listed = api.get(roles_url(repository_id)).json()["data"]
    team_row = next(row for row in listed if row["shareRecipientType"] == "group")

    entry = {"shareRecipientType": "group", "id": team_row["id"], "role": "EDITOR"}
    assert_204(patched(api, repository_id, update(entry)))

    assert roles_of(api, repository_id)[("group", TEAM_NAME)] == "EDITOR"
    edit = consumer_api.patch(f"{ARTIFACTS}/{shared_artifact['id']}", {"description": "by team"})
    assert edit.status_code == 200, edit.content


@pytest.mark.parametrize(
    ("entry", "loc"),
    [
        ({"shareRecipientType": "user", "username": "nobody", "role": "EDITOR"}, "username"),
        ({"shareRecipientType": "user", "id": 987654, "role": "EDITOR"}, "id"),
        ({"shareRecipientType": "user", "id": "987654", "role": "EDITOR"}, "id"),
        ({"shareRecipientType": "user", "id": "not-a-number", "role": "EDITOR"}, "id"),
        ({"shareRecipientType": "group", "name": "no-such-team", "role": "CONSUMER"}, "name"),
        ({"shareRecipientType": "group", "id": "987654", "role": "CONSUMER"}, "id"),
        ({"shareRecipientType": "user", "role": "EDITOR"}, "username"),
        ({"shareRecipientType": "group", "role": "EDITOR"}, "name"),
    ],
)
def test_an_unknown_recipient_is_422_at_the_key_that_named_it(
    api: ApiClient, private_repository_id: str, entry: dict[str, Any], loc: str
) -> None:
    before = roles_of(api, private_repository_id)

    response = patched(api, private_repository_id, update(entry))

    assert locs(response) == [["body", "roles", 0, loc]]
    assert roles_of(api, private_repository_id) == before


def test_each_unknown_recipient_is_reported_at_its_own_index(
    api: ApiClient, private_repository_id: str, stranger: User
) -> None:
    response = patched(
        api,
        private_repository_id,
        update(
            user_entry(stranger, "CONSUMER"),
            {"shareRecipientType": "user", "username": "nobody", "role": "EDITOR"},
            {"shareRecipientType": "group", "name": "ghosts", "role": "CONSUMER"},
        ),
    )

    assert locs(response) == [["body", "roles", 1, "username"], ["body", "roles", 2, "name"]]


def test_an_inactive_user_cannot_be_given_a_role(
    api: ApiClient, private_repository_id: str, make_user: Callable[..., User]
) -> None:
    make_user("gone", is_active=False)

    response = patched(
        api,
        private_repository_id,
        update({"shareRecipientType": "user", "username": "gone", "role": "EDITOR"}),
    )

    assert locs(response) == [["body", "roles", 0, "username"]]


def test_a_name_key_of_the_other_recipient_type_is_rejected(
    api: ApiClient, private_repository_id: str, team: Group
) -> None:
    entry = {"shareRecipientType": "group", "username": team.name, "role": "EDITOR"}

    response = patched(api, private_repository_id, update(entry))

    assert ["body", "roles", 0, "username"] in locs(response)
    assert ("group", TEAM_NAME) not in roles_of(api, private_repository_id)


def test_an_unknown_recipient_type_is_422_at_the_type(
    api: ApiClient, private_repository_id: str, stranger: User
) -> None:
    entry = {"shareRecipientType": "robot", "username": stranger.username, "role": "EDITOR"}

    response = patched(api, private_repository_id, update(entry))

    assert ["body", "roles", 0, "shareRecipientType"] in locs(response)


# --- the body: operation and number of entries ------------------------------------------


def test_zero_entries_is_422_at_roles(api: ApiClient, private_repository_id: str) -> None:
    response = patched(api, private_repository_id, update())

    assert locs(response) == [["body", "roles"]]


def test_101_entries_is_422_at_roles_and_changes_nothing(
    api: ApiClient, private_repository_id: str, stranger: User
) -> None:
    entries = [user_entry(stranger, "CONSUMER")] * 101

    response = patched(api, private_repository_id, update(*entries))

    assert locs(response) == [["body", "roles"]]
    assert ("user", "sam") not in roles_of(api, private_repository_id)


def test_100_entries_are_accepted_and_the_last_one_for_a_recipient_wins(
    api: ApiClient, private_repository_id: str, stranger: User
) -> None:
    entries = [user_entry(stranger, "CONSUMER")] * 99 + [user_entry(stranger, "EDITOR")]

    assert_204(patched(api, private_repository_id, update(*entries)))

    assert roles_of(api, private_repository_id)[("user", "sam")] == "EDITOR"


def test_an_entry_that_is_not_an_object_is_422_at_its_index(
    api: ApiClient, private_repository_id: str, stranger: User
) -> None:
    response = patched(api, private_repository_id, update(user_entry(stranger, "EDITOR"), "sam"))

    assert locs(response) == [["body", "roles", 1]]
    assert ("user", "sam") not in roles_of(api, private_repository_id)


@pytest.mark.parametrize("body", [[], "updateRoles", None])
def test_a_body_that_is_not_an_object_is_422(
    api: ApiClient, private_repository_id: str, body: Any
) -> None:
    response = api.client.patch(
        roles_url(private_repository_id),
        data=json.dumps(body),
        content_type="application/json",
        headers=api.headers,
    )

    assert locs(response) == [["body"]]


def test_missing_roles_is_422_at_roles(api: ApiClient, private_repository_id: str) -> None:
    response = patched(api, private_repository_id, {"operation": "updateRoles"})

    assert locs(response) == [["body", "roles"]]


@pytest.mark.parametrize("operation", ["addRoles", "UPDATEROLES", "", None, 1])
def test_an_operation_other_than_update_roles_is_422_and_changes_nothing(
    api: ApiClient, private_repository_id: str, stranger: User, operation: Any
) -> None:
    body = {"operation": operation, "roles": [user_entry(stranger, "EDITOR")]}

    response = patched(api, private_repository_id, body)

    assert locs(response) == [["body", "operation"]]
    assert ("user", "sam") not in roles_of(api, private_repository_id)


def test_a_missing_operation_is_422(
    api: ApiClient, private_repository_id: str, stranger: User
) -> None:
    response = patched(api, private_repository_id, {"roles": [user_entry(stranger, "EDITOR")]})

    assert locs(response) == [["body", "operation"]]


def test_unknown_body_fields_are_422(
    api: ApiClient, private_repository_id: str, stranger: User
) -> None:
    body = update(user_entry(stranger, "EDITOR")) | {"notify": True}

    response = patched(api, private_repository_id, body)

    assert locs(response) == [["body", "notify"]]
    assert ("user", "sam") not in roles_of(api, private_repository_id)


# --- who may change roles ---------------------------------------------------------------


@pytest.mark.parametrize("client", ["editor_api", "consumer_api", "staff_api"])
def test_only_owners_change_roles_others_who_see_it_get_403(
    client: str,
    request: pytest.FixtureRequest,
    api: ApiClient,
    repository_id: str,
    stranger: User,
) -> None:
    before = roles_of(api, repository_id)

    response = request.getfixturevalue(client).patch(
        roles_url(repository_id), update(user_entry(stranger, "OWNER"))
    )

    assert response.status_code == 403, response.content
    assert roles_of(api, repository_id) == before


def test_an_editor_cannot_promote_itself(
    api: ApiClient, editor_api: ApiClient, repository_id: str, editor: User
) -> None:
    response = editor_api.patch(roles_url(repository_id), update(user_entry(editor, "OWNER")))

    assert response.status_code == 403
    assert roles_of(api, repository_id)[("user", "edith")] == "EDITOR"


def test_a_stranger_gets_404_on_get_and_patch_like_for_a_missing_id(
    api: ApiClient, stranger_api: ApiClient, repository_id: str, stranger: User
) -> None:
    body = update(user_entry(stranger, "OWNER"))
    missing_get = stranger_api.get(roles_url(MISSING_ID))
    missing_patch = stranger_api.patch(roles_url(MISSING_ID), body)

    hidden_get = stranger_api.get(roles_url(repository_id))
    hidden_patch = stranger_api.patch(roles_url(repository_id), body)

    assert (hidden_get.status_code, hidden_get.json()) == (404, missing_get.json())
    assert (hidden_patch.status_code, hidden_patch.json()) == (404, missing_patch.json())
    assert ("user", "sam") not in roles_of(api, repository_id)


def test_anonymous_callers_get_401(anonymous_api: ApiClient, repository_id: str) -> None:
    assert anonymous_api.get(roles_url(repository_id)).status_code == 401
    assert anonymous_api.patch(roles_url(repository_id), update()).status_code == 401


def test_a_superuser_may_change_roles_without_a_grant(
    api: ApiClient, repository_id: str, make_user: Callable[..., User], stranger: User
) -> None:
    root = ApiClient(make_user("root", is_superuser=True, is_staff=True))

    assert_204(root.patch(roles_url(repository_id), update(user_entry(stranger, "CONSUMER"))))

    assert roles_of(api, repository_id)[("user", "sam")] == "CONSUMER"


def test_a_new_owner_may_share_and_delete(
    api: ApiClient, editor_api: ApiClient, repository_id: str, editor: User, stranger: User
) -> None:
    assert_204(patched(api, repository_id, update(user_entry(editor, "OWNER"))))

    assert_204(editor_api.patch(roles_url(repository_id), update(user_entry(stranger, "EDITOR"))))
    assert roles_of(api, repository_id)[("user", "sam")] == "EDITOR"
    assert editor_api.delete(f"{REPOSITORIES}/{repository_id}").status_code == 204


# --- revoking -------------------------------------------------------------------------


@pytest.mark.parametrize("spelled", ["NO_ROLE", "no_role", "No_Role"])
def test_no_role_revokes_a_user_from_the_next_request(
    api: ApiClient,
    editor_api: ApiClient,
    repository_id: str,
    shared_artifact: dict[str, Any],
    editor: User,
    spelled: str,
) -> None:
    assert editor_api.get(f"{REPOSITORIES}/{repository_id}").status_code == 200

    assert_204(patched(api, repository_id, update(user_entry(editor, spelled))))

    assert editor_api.get(f"{REPOSITORIES}/{repository_id}").status_code == 404
    assert editor_api.get(f"{ARTIFACTS}/{shared_artifact['id']}").status_code == 404
    assert editor_api.get(REPOSITORIES).json()["totalCount"] == 0
    assert ("user", "edith") not in roles_of(api, repository_id)


def test_no_role_revokes_a_team_from_the_next_request(
    api: ApiClient,
    consumer_api: ApiClient,
    repository_id: str,
    shared_artifact: dict[str, Any],
    team: Group,
) -> None:
    assert consumer_api.get(f"{ARTIFACTS}/{shared_artifact['id']}").status_code == 200

    assert_204(patched(api, repository_id, update(team_entry(team, "NO_ROLE", by="id"))))

    assert consumer_api.get(f"{REPOSITORIES}/{repository_id}").status_code == 404
    assert consumer_api.get(f"{ARTIFACTS}/{shared_artifact['id']}").status_code == 404
    assert consumer_api.get(ARTIFACTS).json()["totalCount"] == 0
    assert ("group", TEAM_NAME) not in roles_of(api, repository_id)


def test_no_role_for_someone_without_a_role_changes_nothing(
    api: ApiClient, repository_id: str, stranger: User
) -> None:
    before = roles_of(api, repository_id)

    assert_204(patched(api, repository_id, update(user_entry(stranger, "NO_ROLE"))))

    assert roles_of(api, repository_id) == before


# --- the last OWNER ---------------------------------------------------------------------


@pytest.mark.parametrize("role", ["NO_ROLE", "EDITOR", "consumer", "READ_ONLY"])
def test_the_last_owner_cannot_be_removed_or_downgraded(
    api: ApiClient, repository_id: str, owner: User, role: str
) -> None:
    before = roles_of(api, repository_id)

    response = patched(api, repository_id, update(user_entry(owner, role)))

    assert response.status_code == 409, response.content
    assert response.json()["code"] == "last_owner"
    assert roles_of(api, repository_id) == before


def test_a_rejected_last_owner_change_applies_none_of_its_other_entries(
    api: ApiClient, stranger_api: ApiClient, repository_id: str, owner: User, stranger: User
) -> None:
    before = roles_of(api, repository_id)

    response = patched(
        api, repository_id, update(user_entry(stranger, "EDITOR"), user_entry(owner, "NO_ROLE"))
    )

    assert response.status_code == 409
    assert response.json()["code"] == "last_owner"
    assert roles_of(api, repository_id) == before
    assert stranger_api.get(f"{REPOSITORIES}/{repository_id}").status_code == 404


@pytest.mark.parametrize("order", ["add first", "remove first"])
def test_handing_ownership_over_in_one_request_succeeds(
    api: ApiClient,
    editor_api: ApiClient,
    repository_id: str,
    owner: User,
    editor: User,
    order: str,
) -> None:
    entries = [user_entry(editor, "OWNER"), user_entry(owner, "NO_ROLE")]
    if order == "remove first":
        entries.reverse()

    assert_204(patched(api, repository_id, update(*entries)))

    assert roles_of(editor_api, repository_id)[("user", "edith")] == "OWNER"
    assert ("user", "olga") not in roles_of(editor_api, repository_id)
    assert api.get(f"{REPOSITORIES}/{repository_id}").status_code == 404


def test_an_owning_team_counts_as_an_owner(
    api: ApiClient, consumer_api: ApiClient, repository_id: str, owner: User, team: Group
) -> None:
    assert_204(
        patched(api, repository_id, update(team_entry(team, "OWNER"), user_entry(owner, "NO_ROLE")))
    )

    assert roles_of(consumer_api, repository_id) == {
        ("user", "edith"): "EDITOR",
        ("group", TEAM_NAME): "OWNER",
    }
    last_team = consumer_api.patch(roles_url(repository_id), update(team_entry(team, "EDITOR")))
    assert last_team.status_code == 409
    assert last_team.json()["code"] == "last_owner"


def test_one_of_two_owners_may_leave(
    api: ApiClient, repository_id: str, owner: User, editor: User
) -> None:
    assert_204(patched(api, repository_id, update(user_entry(editor, "OWNER"))))

    assert_204(patched(api, repository_id, update(user_entry(owner, "CONSUMER"))))

    assert roles_of(api, repository_id)[("user", "olga")] == "CONSUMER"
    assert api.patch(roles_url(repository_id), update()).status_code == 403


# --- atomicity --------------------------------------------------------------------------


def test_a_valid_grant_next_to_an_unknown_recipient_is_not_applied(
    api: ApiClient, stranger_api: ApiClient, repository_id: str, stranger: User, team: Group
) -> None:
    before = roles_of(api, repository_id)

    response = patched(
        api,
        repository_id,
        update(
            user_entry(stranger, "EDITOR"),
            team_entry(team, "NO_ROLE"),
            {"shareRecipientType": "user", "username": "nobody", "role": "EDITOR"},
        ),
    )

    assert locs(response) == [["body", "roles", 2, "username"]]
    assert roles_of(api, repository_id) == before
    assert stranger_api.get(f"{REPOSITORIES}/{repository_id}").status_code == 404


def test_a_valid_grant_next_to_a_bad_role_is_not_applied(
    api: ApiClient, repository_id: str, stranger: User, editor: User
) -> None:
    before = roles_of(api, repository_id)

    response = patched(
        api, repository_id, update(user_entry(stranger, "EDITOR"), user_entry(editor, "BOSS"))
    )

    assert locs(response) == [["body", "roles", 1, "role"]]
    assert roles_of(api, repository_id) == before


# --- the most permissive grant wins -----------------------------------------------------


def test_direct_consumer_and_team_editor_can_edit(
    api: ApiClient,
    consumer_api: ApiClient,
    repository_id: str,
    shared_artifact: dict[str, Any],
    consumer: User,
    team: Group,
) -> None:
    share(repository_id, consumer, "CONSUMER")
    share(repository_id, team, "EDITOR")

    edit = consumer_api.patch(f"{ARTIFACTS}/{shared_artifact['id']}", {"description": "mine"})

    assert edit.status_code == 200, edit.content
    assert edit.json()["permissions"] == EDITOR_RIGHTS
    assert consumer_api.get(f"{REPOSITORIES}/{repository_id}").json()["permissions"] == (
        EDITOR_RIGHTS
    )


def test_direct_editor_and_team_consumer_can_still_edit(
    consumer_api: ApiClient,
    repository_id: str,
    shared_artifact: dict[str, Any],
    consumer: User,
) -> None:
    share(repository_id, consumer, "EDITOR")  # the team keeps CONSUMER

    edit = consumer_api.patch(f"{ARTIFACTS}/{shared_artifact['id']}", {"description": "mine"})

    assert edit.status_code == 200, edit.content


def test_direct_consumer_and_team_owner_can_share(
    api: ApiClient,
    consumer_api: ApiClient,
    repository_id: str,
    consumer: User,
    team: Group,
    stranger: User,
) -> None:
    share(repository_id, consumer, "CONSUMER")
    share(repository_id, team, "OWNER")

    response = consumer_api.patch(roles_url(repository_id), update(user_entry(stranger, "EDITOR")))

    assert_204(response)
    assert consumer_api.get(f"{REPOSITORIES}/{repository_id}").json()["permissions"] == (
        OWNER_RIGHTS
    )


def test_revoking_the_direct_grant_leaves_the_team_grant(
    api: ApiClient,
    consumer_api: ApiClient,
    repository_id: str,
    shared_artifact: dict[str, Any],
    consumer: User,
) -> None:
    share(repository_id, consumer, "EDITOR")

    assert_204(patched(api, repository_id, update(user_entry(consumer, "NO_ROLE"))))

    artifact = consumer_api.get(f"{ARTIFACTS}/{shared_artifact['id']}")
    assert artifact.status_code == 200
    assert artifact.json()["permissions"] == CONSUMER_RIGHTS
    edit = consumer_api.patch(f"{ARTIFACTS}/{shared_artifact['id']}", {"description": "x"})
    assert edit.status_code == 403


# --- team membership takes effect on the next request -----------------------------------


def test_joining_and_leaving_a_team_through_the_services(
    stranger_api: ApiClient, repository_id: str, shared_artifact: dict[str, Any], stranger: User
) -> None:
    repository_url = f"{REPOSITORIES}/{repository_id}"
    assert stranger_api.get(repository_url).status_code == 404

    teams.team_add_member(actor=None, team=TEAM_NAME, username=stranger.username)

    assert stranger_api.get(repository_url).status_code == 200
    assert stranger_api.get(f"{ARTIFACTS}/{shared_artifact['id']}").status_code == 200
    assert stranger_api.get(REPOSITORIES).json()["totalCount"] == 1

    teams.team_remove_member(actor=None, team=TEAM_NAME, username=stranger.username)

    assert stranger_api.get(repository_url).status_code == 404
    assert stranger_api.get(f"{ARTIFACTS}/{shared_artifact['id']}").status_code == 404
    assert stranger_api.get(REPOSITORIES).json()["totalCount"] == 0


def test_joining_and_leaving_a_team_with_the_team_command(
    consumer_api: ApiClient,
    stranger_api: ApiClient,
    repository_id: str,
    team: Group,
    stranger: User,
) -> None:
    repository_url = f"{REPOSITORIES}/{repository_id}"

    call_command("team", "add", str(team.pk), stranger.username)
    assert stranger_api.get(repository_url).status_code == 200

    call_command("team", "remove", TEAM_NAME, stranger.username, "connor")
    assert stranger_api.get(repository_url).status_code == 404
    assert consumer_api.get(repository_url).status_code == 404


def test_deleting_a_team_revokes_its_grant(
    api: ApiClient, consumer_api: ApiClient, repository_id: str, team: Group
) -> None:
    call_command("team", "delete", TEAM_NAME)

    assert consumer_api.get(f"{REPOSITORIES}/{repository_id}").status_code == 404
    assert ("group", TEAM_NAME) not in roles_of(api, repository_id)


def test_a_new_team_shared_by_the_owner_reaches_its_members(
    api: ApiClient, stranger_api: ApiClient, private_repository_id: str, stranger: User
) -> None:
    call_command("team", "create", "platform")
    call_command("team", "add", "platform", stranger.username)

    assert_204(
        patched(
            api,
            private_repository_id,
            update({"shareRecipientType": "group", "name": "platform", "role": "OBSERVER"}),
        )
    )

    response = stranger_api.get(f"{REPOSITORIES}/{private_repository_id}")
    assert response.status_code == 200
    assert response.json()["permissions"] == CONSUMER_RIGHTS


# --- /artifacts/{id}/sharedRoles is the repository's ------------------------------------


@pytest.mark.parametrize("client", ["api", "editor_api", "consumer_api", "staff_api"])
def test_an_artifacts_roles_are_its_repositorys(
    client: str,
    request: pytest.FixtureRequest,
    repository_id: str,
    shared_artifact: dict[str, Any],
) -> None:
    caller = request.getfixturevalue(client)

    of_artifact = caller.get(f"{ARTIFACTS}/{shared_artifact['id']}/sharedRoles")
    of_repository = caller.get(roles_url(repository_id))

    assert of_artifact.status_code == 200
    assert of_artifact.json()["data"] == of_repository.json()["data"]
    assert of_artifact.json()["totalCount"] == 3


def test_patching_an_artifacts_roles_changes_its_repositorys(
    api: ApiClient,
    stranger_api: ApiClient,
    repository_id: str,
    shared_artifact: dict[str, Any],
    stranger: User,
) -> None:
    sibling = api.create_artifact(name="sibling", artifactRepositoryId=repository_id)

    response = api.patch(
        f"{ARTIFACTS}/{shared_artifact['id']}/sharedRoles", update(user_entry(stranger, "USER"))
    )

    assert_204(response)
    assert roles_of(api, repository_id)[("user", "sam")] == "EDITOR"
    assert stranger_api.get(f"{REPOSITORIES}/{repository_id}").status_code == 200
    assert stranger_api.get(f"{ARTIFACTS}/{sibling['id']}").json()["permissions"] == EDITOR_RIGHTS


def test_an_artifacts_roles_follow_the_same_rules(
    api: ApiClient,
    editor_api: ApiClient,
    stranger_api: ApiClient,
    shared_artifact: dict[str, Any],
    owner: User,
    stranger: User,
) -> None:
    url = f"{ARTIFACTS}/{shared_artifact['id']}/sharedRoles"

    last_owner = api.patch(url, update(user_entry(owner, "NO_ROLE")))
    unknown = api.patch(url, update({"shareRecipientType": "group", "name": "x", "role": "OWNER"}))
    by_editor = editor_api.patch(url, update(user_entry(stranger, "OWNER")))
    by_stranger = stranger_api.patch(url, update(user_entry(stranger, "OWNER")))
    missing = stranger_api.patch(
        f"{ARTIFACTS}/{MISSING_ID}/sharedRoles", update(user_entry(stranger, "OWNER"))
    )

    assert (last_owner.status_code, last_owner.json()["code"]) == (409, "last_owner")
    assert locs(unknown) == [["body", "roles", 0, "name"]]
    assert by_editor.status_code == 403
    assert (by_stranger.status_code, by_stranger.json()) == (404, missing.json())
    assert stranger_api.get(url).status_code == 404


# --- ``permissions``: the caller's effective rights -------------------------------------


@pytest.fixture
def superuser_api(make_user: Callable[..., User]) -> ApiClient:
    return ApiClient(make_user("root", is_superuser=True))


PERSONA_RIGHTS = [
    ("api", OWNER_RIGHTS),
    ("editor_api", EDITOR_RIGHTS),
    ("consumer_api", CONSUMER_RIGHTS),
    ("staff_api", CONSUMER_RIGHTS),
    ("superuser_api", OWNER_RIGHTS),
]


@pytest.mark.parametrize(("client", "expected"), PERSONA_RIGHTS)
def test_permissions_of_one_repository_and_one_artifact(
    client: str,
    expected: list[str],
    request: pytest.FixtureRequest,
    repository_id: str,
    shared_artifact: dict[str, Any],
) -> None:
    caller = request.getfixturevalue(client)

    repository = caller.get(f"{REPOSITORIES}/{repository_id}")
    artifact = caller.get(f"{ARTIFACTS}/{shared_artifact['id']}")

    assert repository.json()["permissions"] == expected
    assert artifact.json()["permissions"] == expected


@pytest.mark.parametrize(("client", "expected"), PERSONA_RIGHTS)
def test_permissions_in_list_rows_are_each_rows_own(
    client: str,
    expected: list[str],
    request: pytest.FixtureRequest,
    api: ApiClient,
    repository_id: str,
    shared_artifact: dict[str, Any],
    staff: User,
) -> None:
    """A second repository the caller owns sits in the same page with different rights."""
    caller = request.getfixturevalue(client)
    own = caller.create_artifact(name="own-service")
    own_rights = OWNER_RIGHTS  # whoever creates a repository owns it, staff included

    repositories = {
        row["id"]: row["permissions"] for row in caller.get(REPOSITORIES).json()["data"]
    }
    artifacts = {row["id"]: row["permissions"] for row in caller.get(ARTIFACTS).json()["data"]}

    assert repositories == {repository_id: expected, own["artifactRepositoryId"]: own_rights}
    assert artifacts == {shared_artifact["id"]: expected, own["id"]: own_rights}


def test_permissions_follow_a_role_change_on_the_next_request(
    api: ApiClient, consumer_api: ApiClient, repository_id: str, team: Group
) -> None:
    url = f"{REPOSITORIES}/{repository_id}"
    assert consumer_api.get(url).json()["permissions"] == CONSUMER_RIGHTS

    assert_204(patched(api, repository_id, update(team_entry(team, "READ_WRITE"))))

    assert consumer_api.get(url).json()["permissions"] == EDITOR_RIGHTS


def test_owner_sees_every_right_after_creating_through_the_api(
    api: ApiClient, private_repository_id: str
) -> None:
    listed = api.get(REPOSITORIES).json()["data"]

    assert [row["permissions"] for row in listed] == [OWNER_RIGHTS]
