"""``manage.py createapikey``: prints a working key alone on the last line of stdout."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client

from console.models import ApiKey
from tests.conftest import ARTIFACTS, ApiClient


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("createapikey", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_last_line_is_the_key_and_it_authenticates(owner: User, api: ApiClient) -> None:
    artifact = api.create_artifact()

    out, err = run("olga", "--name", "ci")

    key = out.splitlines()[-1]  # the raw line: nothing but the key on it
    assert key
    assert key == key.strip()
    assert " " not in key
    assert key.startswith("berth_")
    response = Client().get(ARTIFACTS, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200, response.content
    assert [row["id"] for row in response.json()["data"]] == [artifact["id"]]
    stored = ApiKey.objects.get(user=owner, name="ci")
    assert stored.digest != key  # shown once, stored only as a digest
    assert key not in err
    assert "ci" in err


def test_each_run_makes_a_new_key(owner: User) -> None:
    first = run("olga", "--name", "ci")[0].strip().splitlines()[-1]
    second = run("olga", "--name", "ci")[0].strip().splitlines()[-1]

    assert first != second
    assert ApiKey.objects.filter(user=owner, name="ci").count() == 2
    for key in (first, second):
        response = Client().get(ARTIFACTS, headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 200


def test_the_key_acts_as_its_user(owner: User, stranger: User, api: ApiClient) -> None:
    api.create_artifact()

    key = run("sam", "--name", "ci")[0].strip().splitlines()[-1]

    response = Client().get(ARTIFACTS, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200
    assert response.json()["totalCount"] == 0


def test_an_unknown_user_is_a_command_error(db: None) -> None:
    with pytest.raises(CommandError, match="nobody"):
        run("nobody", "--name", "ci")

    assert ApiKey.objects.count() == 0


def test_an_inactive_user_is_a_command_error(owner: User) -> None:
    owner.is_active = False
    owner.save()

    with pytest.raises(CommandError):
        run("olga", "--name", "ci")

    assert ApiKey.objects.count() == 0


def test_a_blank_name_is_a_command_error(owner: User) -> None:
    with pytest.raises(CommandError):
        run("olga", "--name", "   ")

    assert ApiKey.objects.count() == 0
