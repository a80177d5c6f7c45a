"""``manage.py createapikey USERNAME [--name NAME]``: the new key alone on the last line."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from console.auth import api_key_create
from console.errors import Invalid


class Command(BaseCommand):
    help = "Create an API key for a user and print it once (it is stored only as a hash)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="command line", help="A label for the key.")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None or not user.is_active:
            raise CommandError(f"No active user named {options['username']!r}.")
        try:
            key, secret = api_key_create(actor=user, name=options["name"])
        except Invalid as invalid:
            raise CommandError(str(invalid)) from None
        self.stderr.write(f"Created API key {key.name!r} ({key.id}) for {user.get_username()}.")
        self.stderr.write("Store it now: it cannot be shown again.")
        self.stdout.write(secret)
