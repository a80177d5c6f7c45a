"""``manage.py ensurebaseimage``: the offline busybox base image, built once and registered."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from artifacts.base_image import ensure_base_image


class Command(BaseCommand):
    help = "Build the busybox base image, push it to the registry and register it."

    def handle(self, *args: Any, **options: Any) -> None:
        version = ensure_base_image(log=lambda line: self.stdout.write(line, ending="\n"))
        self.stdout.write(f"Execution environment busybox {version.label}: {version.base_image}")
