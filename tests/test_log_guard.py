"""The log guard can fail: it sees every logger at every level and knows the run's secrets."""

from __future__ import annotations

import logging

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import User

from console.auth import api_key_create
from tests.conftest import ApiClient, artifact_body, primary_container
from tests.log_guard import leaks, recorder

pytestmark = pytest.mark.django_db


def logged(message: str) -> list[str]:
    """The guard's verdict on one DEBUG line of a project logger (taken off the guard's
    record, so this test does not fail for the leak it made on purpose)."""
    logging.getLogger("workloads.operations").debug("starting with %s", message)
    return leaks(recorder.take())


def test_a_key_of_any_origin_is_caught(owner: User) -> None:
    _, key = api_key_create(actor=owner, name="script")

    assert logged(key) == ["workloads.operations DEBUG starting with <api key>"]
    assert logged("berth_" + "x" * 43) != []


def test_a_password_is_caught_once_django_has_checked_it(owner: User) -> None:
    authenticate(username=owner.username, password="a-wrong-guess-42")

    assert logged("a-wrong-guess-42") != []
    assert logged("pw-" + owner.username) != []  # the fixture's, hashed when olga was made


def test_an_environment_value_is_caught_once_an_artifact_holds_it(api: ApiClient) -> None:
    env = [{"name": "TOKEN", "value": "tok-3141592653"}]
    group = {"name": "default", "containers": [primary_container(environmentVars=env)]}
    api.create_artifact(**artifact_body(spec={"containerGroups": [group]}))

    assert logged("value tok-3141592653 in a traceback") != []


def test_ordinary_lines_pass() -> None:
    assert logged("proton 65f0a1b2c3d4e5f6a7b8c9d0 started") == []
