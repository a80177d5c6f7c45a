from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from artifacts.models import ExecutionEnvironment, ExecutionEnvironmentVersion
from console.admin import StaffReadOnlyAdmin, is_staff, is_superuser


class VersionInline(admin.TabularInline):
    """Base images every generated Dockerfile builds on: superusers change them, as for
    the environment itself (``StaffReadOnlyAdmin``)."""

    model = ExecutionEnvironmentVersion
    extra = 1

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_staff(request)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_superuser(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_superuser(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_superuser(request)


@admin.register(ExecutionEnvironment)
class ExecutionEnvironmentAdmin(StaffReadOnlyAdmin):
    list_display = ["name", "id", "created_at"]
    search_fields = ["name"]
    inlines = [VersionInline]
