"""Workload runtime engines behind one interface, chosen by ``BERTH_RUNTIME``."""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

from workloads.runtimes.base import Runtime

ENGINES = {
    "podman": "workloads.runtimes.podman.PodmanRuntime",
    "kubernetes": "workloads.runtimes.kubernetes.KubernetesRuntime",
}


def configured_runtime() -> Runtime:
    engine: type[Runtime] = import_string(ENGINES[settings.BERTH_RUNTIME])
    return engine()
