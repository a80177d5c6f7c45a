"""``codeRef`` must name source uploaded to the same repository.

The upload endpoint sets it; a body may carry it back unchanged (a GET, edited, PUT back),
and a clone keeps it, but nobody may point a build at source they did not upload there.
"""

from __future__ import annotations

from typing import Any

from artifacts.containers import containers
from artifacts.models import SourceArchive
from console.errors import Problem


def code_ref_problems(spec: dict[str, Any], repository_id: str | None) -> list[Problem]:
    refs = {
        path: config["codeRef"]
        for path, container in containers(spec)
        if isinstance(config := container.get("imageBuildConfig"), dict) and config.get("codeRef")
    }
    if not refs:
        return []
    known = set(
        SourceArchive.objects.filter(
            pk__in=refs.values(), artifact__repository_id=repository_id
        ).values_list("pk", flat=True)
    )
    return [
        Problem(
            (*path, "imageBuildConfig", "codeRef"),
            "codeRef is set by uploading source to this artifact; no such upload here.",
            "unknown_code_ref",
        )
        for path, ref in refs.items()
        if ref not in known
    ]
