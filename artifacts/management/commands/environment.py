"""``manage.py environment``: add execution environments and their base-image versions."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from artifacts.environments import environment_add, environment_version_add
from artifacts.models import ExecutionEnvironment
from console.errors import BerthError


class Command(BaseCommand):
    help = "add NAME [--description D] | version ENV LABEL BASE_IMAGE | list"

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        add = actions.add_parser("add")
        add.add_argument("name")
        add.add_argument("--description", default="")
        version = actions.add_parser("version")
        version.add_argument("environment", help="name or id")
        version.add_argument("label")
        version.add_argument("base_image")
        actions.add_parser("list")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["action"] == "add":
                env = environment_add(name=options["name"], description=options["description"])
                self.stdout.write(f"Added execution environment {env.name} ({env.id}).")
            elif options["action"] == "version":
                version = environment_version_add(
                    environment=options["environment"],
                    label=options["label"],
                    base_image=options["base_image"],
                )
                self.stdout.write(f"Added {version} ({version.id}): {version.base_image}")
            else:
                for env in ExecutionEnvironment.objects.prefetch_related("versions"):
                    for version in env.versions.all():
                        self.stdout.write(
                            f"{env.id}\t{env.name}\t{version.id}\t{version.label}\t"
                            f"{version.base_image}"
                        )
        except BerthError as error:
            raise CommandError(error.detail) from None
