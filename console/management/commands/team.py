"""``manage.py team``: create and delete teams, add and remove members, list them."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser

from console import teams
from console.errors import BerthError


class Command(BaseCommand):
    help = "Manage teams: create NAME | delete TEAM | add TEAM USER... | remove TEAM USER... | list"

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        actions.add_parser("create").add_argument("name")
        actions.add_parser("delete").add_argument("team", help="name or id")
        for action in ("add", "remove"):
            sub = actions.add_parser(action)
            sub.add_argument("team", help="name or id")
            sub.add_argument("usernames", nargs="+")
        actions.add_parser("list")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            self._run(options)
        except BerthError as error:
            raise CommandError(error.detail) from None

    def _run(self, options: dict[str, Any]) -> None:
        action = options["action"]
        if action == "create":
            team = teams.team_create(actor=None, name=options["name"])
            self.stdout.write(f"Created team {team.name} (id {team.pk}).")
        elif action == "delete":
            teams.team_delete(actor=None, team=options["team"])
            self.stdout.write(f"Deleted team {options['team']}.")
        elif action in ("add", "remove"):
            change = teams.team_add_member if action == "add" else teams.team_remove_member
            for username in options["usernames"]:
                change(actor=None, team=options["team"], username=username)
            self.stdout.write(
                f"Team {options['team']}: {action} {', '.join(options['usernames'])}."
            )
        else:
            for team in Group.objects.order_by("name").prefetch_related("user_set"):
                members = ", ".join(sorted(u.username for u in team.user_set.all()))
                self.stdout.write(f"{team.pk}\t{team.name}\t{members}")
