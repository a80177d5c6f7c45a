"""Workloads in a browser: the list, a draft workload's page, and promoting it in a dialog."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Page, expect

from artifacts.models import Artifact
from artifacts.services import artifact_create, artifact_lock
from tests.conftest import artifact_body
from workloads.models import InvokeSample, Proton, Workload
from workloads.services import workload_create

pytestmark = pytest.mark.django_db(transaction=True)


def running(workload: Workload, replicas: int) -> None:
    """What the worker records once the containers are ready (no worker runs here)."""
    Workload.objects.filter(pk=workload.pk).update(status="running")
    Proton.objects.filter(workload=workload).update(
        status="running",
        running_since=timezone.now(),
        replicas=[
            {
                "name": f"{workload.pk}-{i}-web",
                "status": "ready",
                "address": f"127.0.0.1:{41000 + i}",
            }
            for i in range(replicas)
        ],
    )


def traffic(workload: Workload) -> None:
    """Half an hour of requests, a few of them failing, as the invoke proxy records them."""
    now = timezone.now()
    Workload.objects.filter(pk=workload.pk).update(stats_reset_at=now - timedelta(minutes=40))
    InvokeSample.objects.bulk_create(
        InvokeSample(
            workload=workload,
            at=now - timedelta(minutes=minute, seconds=second),
            status_code=500 if (minute + second) % 23 == 0 else 200,
            latency_ms=20 + (minute * 7 + second) % 35,
        )
        for minute in range(30)
        for second in range(0, 60, 4 + minute % 5)
    )


def test_promote_a_draft_workload_through_the_dialog(
    page: Page,
    live_server: Any,
    e2e_user: Callable[..., User],
    sign_in: Callable[[Page, str], None],
    screenshot: Callable[[Page, str], None],
) -> None:
    ana = e2e_user("ana")
    stable = artifact_create(actor=ana, data=artifact_body(name="checkout-api"))
    artifact_lock(actor=ana, artifact_id=stable.pk)
    version_workload = workload_create(
        actor=ana, data={"name": "checkout", "artifactId": stable.pk, "importance": "critical"}
    )
    running(version_workload, 3)
    draft = artifact_create(actor=ana, data=artifact_body(name="storefront"))
    workload = workload_create(
        actor=ana,
        data={
            "name": "storefront-preview",
            "artifactId": draft.pk,
            "description": "The new storefront, tried out before it replaces the old one.",
            "importance": "moderate",
            "runtime": {"containerGroups": [{"name": "default", "replicaCount": 2}]},
        },
    )
    running(workload, 2)
    traffic(workload)
    sign_in(page, "ana")

    page.get_by_role("link", name="Workloads", exact=True).click()
    rows = page.get_by_role("table", name="Workloads").locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("draft")
    expect(rows.first).to_contain_text(re.compile(r"in 7 h 5\d min"))
    screenshot(page, "workloads")

    rows.first.get_by_role("link", name="storefront-preview").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("storefront-preview")
    status = page.get_by_role("region", name="Status")
    expect(status).to_contain_text(re.compile(r"7 h 5\d min left"))
    expect(page.get_by_role("table", name="Protons")).to_contain_text("127.0.0.1:41001")
    expect(page.get_by_role("img", name="Requests per minute", exact=False)).to_be_visible()
    screenshot(page, "workload")

    page.get_by_role("link", name="Promote").click()
    dialog = page.get_by_role("dialog", name="Promote “storefront-preview”")
    expect(dialog).to_contain_text("locked as version 1 of “storefront”")
    expect(dialog).to_contain_text("The workload is not restarted")
    screenshot(page, "workload-promote")
    dialog.get_by_role("button", name="Promote and lock as version 1").click()

    expect(page.get_by_role("status")).to_have_text(
        "Promoted: the artifact is locked as version 1."
    )
    expect(page.locator(".page-head")).to_contain_text("Locked · version 1")
    expect(status).not_to_contain_text("Time to live")
    expect(page.get_by_role("link", name="Promote")).to_have_count(0)
    expect(page.get_by_role("button", name="Save and replace")).to_be_visible()
    assert Artifact.objects.get(pk=draft.pk).version == 1
    assert Workload.objects.get(pk=workload.pk).expires_at is None
