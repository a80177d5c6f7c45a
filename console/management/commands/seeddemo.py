"""``manage.py seeddemo``: the demo account and sample repositories for ``make run``.

Idempotent: running it again changes nothing once the demo user owns its samples.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from artifacts.models import Artifact, ExecutionEnvironmentVersion
from artifacts.services import artifact_clone, artifact_create, artifact_lock

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "berth-demo"  # noqa: S105 (a documented demo credential)
SAMPLES = Path(__file__).resolve().parents[2] / "demo"
# Samples whose images are pinned get locked, so the demo shows versions as well as drafts.
LOCKED_SAMPLES = {"service-prebuilt.json", "agent-with-sidecar.json"}


class Command(BaseCommand):
    help = "Create the demo account (demo / berth-demo) and sample repositories."

    def handle(self, *args: Any, **options: Any) -> None:
        user, created = get_user_model().objects.get_or_create(username=DEMO_USERNAME)
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        if Artifact.objects.filter(creator=user).exists():
            self.stdout.write("Demo data already present.")
            return
        with transaction.atomic():
            for sample in sorted(SAMPLES.glob("*.json")):
                artifact = artifact_create(actor=user, data=json.loads(sample.read_text()))
                if sample.name in LOCKED_SAMPLES:
                    artifact_lock(actor=user, artifact_id=artifact.id)
                    artifact_clone(actor=user, artifact_id=artifact.id, data={})
            self._runnable_sample(user)
        self.stdout.write(f"Demo account: {DEMO_USERNAME} / {DEMO_PASSWORD}")

    def _runnable_sample(self, user: Any) -> None:
        """A locked artifact whose image is really there (the offline base image from
        ``ensurebaseimage``), so "Run as workload" serves a page on this machine."""
        base = ExecutionEnvironmentVersion.objects.filter(environment__name="busybox").first()
        if base is None:
            return
        serve = "mkdir -p /tmp/www && echo 'Hello from Berth' > /tmp/www/index.html && " + (
            "exec httpd -f -v -p 8080 -h /tmp/www"
        )
        hello = artifact_create(
            actor=user,
            data={
                "name": "hello-httpd",
                "description": "busybox httpd serving one page: runs here with no download",
                "spec": {
                    "containerGroups": [
                        {
                            "containers": [
                                {
                                    "name": "web",
                                    "imageUri": base.base_image,
                                    "port": 8080,
                                    "entrypoint": ["/bin/sh", "-c", serve],
                                    "readinessProbe": {"path": "/index.html", "periodSeconds": 1},
                                }
                            ]
                        }
                    ]
                },
            },
        )
        artifact_lock(actor=user, artifact_id=hello.id)
