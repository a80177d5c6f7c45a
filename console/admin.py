"""What the Django admin may change about users and teams: nothing that skips the domain.

Staff who are not superusers read the admin and change nothing, as in the console.
Superusers change users' flags and delete users and teams only through the services
(``console.accounts``, ``console.teams``), so the last-OWNER guard and the audit log hold
here as everywhere. Team membership is shown, not edited: it changes on the console's team
pages or with ``manage.py team``. Bulk deletion is not offered: it deletes rows directly.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import ActionLocation
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.contrib.auth.models import Group, User
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from console import accounts, teams
from console.errors import Conflict
from console.permissions import signed_in

MEMBERSHIP_POINTER = (
    "Team membership changes on the console's team pages or with `manage.py team add|remove` "
    "(superusers only; audited, and every repository keeps an active OWNER)."
)


class StaffReadOnlyAdmin(admin.ModelAdmin):
    """Staff read; only superusers add, change or delete, whatever model permissions say."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_staff(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_staff(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_superuser(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_superuser(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_superuser(request)

    def get_actions(
        self, request: HttpRequest, action_location: Any = ActionLocation.CHANGE_LIST
    ) -> dict[str, Any]:
        actions = super().get_actions(request, action_location=action_location)
        # It deletes with one queryset.delete(), past delete_model and so past the services.
        actions.pop("delete_selected", None)
        return actions

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """Say why an object cannot go instead of offering a confirmation the service
        would refuse."""
        obj = self.get_object(request, unquote(object_id))
        refusal = self.delete_refusal(obj) if obj is not None and is_superuser(request) else None
        if refusal is not None:
            self.message_user(request, refusal.detail, messages.ERROR)
            opts = self.opts
            return HttpResponseRedirect(
                reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[object_id])
            )
        return super().delete_view(request, object_id, extra_context)

    def delete_refusal(self, obj: Any) -> Conflict | None:
        return None


def is_staff(request: HttpRequest) -> bool:
    """Staff read the admin (they read everything in the console too)."""
    return bool(request.user.is_active and request.user.is_staff)


def is_superuser(request: HttpRequest) -> bool:
    """Only superusers change anything through the admin."""
    return bool(request.user.is_active and request.user.is_superuser)


class GuardedUserChangeForm(UserChangeForm):
    """Refuses, next to the checkbox, to deactivate a repository's last active OWNER."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        # Before _post_clean, the instance still holds the stored flags.
        if self.instance.is_active and cleaned.get("is_active") is False:
            refusal = accounts.removal_refusal(self.instance, accounts.DEACTIVATING)
            if refusal:
                self.add_error("is_active", refusal.detail)
        return cleaned


admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class BerthUserAdmin(StaffReadOnlyAdmin, UserAdmin):
    form = GuardedUserChangeForm
    readonly_fields = ("groups", "user_permissions", "last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "email")}),
        ("Flags", {"fields": accounts.USER_FLAGS}),
        ("Teams", {"fields": ("groups",), "description": MEMBERSHIP_POINTER}),
        # Berth's rules read object grants (roles), not model permissions; shown for the record.
        ("Model permissions", {"fields": ("user_permissions",)}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )

    def save_model(self, request: HttpRequest, obj: User, form: forms.Form, change: bool) -> None:
        if not change:  # the add form sets a username and a password, no flags
            super().save_model(request, obj, form, change)
            return
        # The other fields are saved here; the flags only through the service.
        flags = {name: form.cleaned_data[name] for name in accounts.USER_FLAGS}
        stored = User.objects.values(*accounts.USER_FLAGS).get(pk=obj.pk)
        for name, value in stored.items():
            setattr(obj, name, value)
        super().save_model(request, obj, form, change)
        accounts.user_set_flags(actor=_actor(request), user=obj, **flags)

    def delete_model(self, request: HttpRequest, obj: User) -> None:
        accounts.user_delete(actor=_actor(request), user=obj)

    def delete_refusal(self, obj: User) -> Conflict | None:
        return accounts.removal_refusal(obj, accounts.DELETING)


@admin.register(Group)
class BerthGroupAdmin(StaffReadOnlyAdmin, GroupAdmin):
    """Teams are created and their members changed on the team pages; here they are read
    and, by superusers, deleted through ``team_delete``."""

    fieldsets = ((None, {"fields": ("name", "members"), "description": MEMBERSHIP_POINTER}),)
    readonly_fields = ("name", "members")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Members")
    def members(self, team: Group) -> str:
        return ", ".join(sorted(team.user_set.values_list("username", flat=True))) or "—"

    def delete_model(self, request: HttpRequest, obj: Group) -> None:
        teams.team_delete(actor=_actor(request), team=obj.pk)

    def delete_refusal(self, obj: Group) -> Conflict | None:
        return teams.team_delete_refusal(obj)


def _actor(request: HttpRequest) -> User:
    # The admin lets only signed-in, active staff this far.
    return signed_in(request.user)
