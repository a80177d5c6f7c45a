from __future__ import annotations

from django.contrib import admin

from artifacts.models import ExecutionEnvironment, ExecutionEnvironmentVersion


class VersionInline(admin.TabularInline):
    model = ExecutionEnvironmentVersion
    extra = 1


@admin.register(ExecutionEnvironment)
class ExecutionEnvironmentAdmin(admin.ModelAdmin):
    list_display = ["name", "id", "created_at"]
    search_fields = ["name"]
    inlines = [VersionInline]
