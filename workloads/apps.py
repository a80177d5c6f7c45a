from __future__ import annotations

from django.apps import AppConfig


class WorkloadsConfig(AppConfig):
    name = "workloads"

    def ready(self) -> None:
        # Locking a draft resets the statistics of the workload that runs it.
        from workloads import receivers  # noqa: F401
