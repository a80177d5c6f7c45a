"""Image builder engines behind one small interface, chosen by ``BERTH_BUILDER``.

``buildah`` (the local default) builds and pushes with the daemonless buildah CLI;
``buildkit`` hands the build to a remote BuildKit daemon through ``buildctl``. Both stream
their output line by line and stop promptly when the caller asks them to.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

from artifacts.builders.base import Builder

ENGINES = {
    "buildah": "artifacts.builders.buildah.BuildahBuilder",
    "buildkit": "artifacts.builders.buildkit.BuildKitBuilder",
}


def configured_builder() -> Builder:
    engine: type[Builder] = import_string(ENGINES[settings.BERTH_BUILDER])
    return engine()
