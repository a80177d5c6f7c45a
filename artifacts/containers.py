"""Finding containers inside a stored spec (wire shape) by name."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from console.errors import Invalid

SpecPath = tuple[str | int, ...]


def containers(spec: dict[str, Any]) -> Iterator[tuple[SpecPath, dict[str, Any]]]:
    """Every container with its JSON path under ``spec``."""
    for gi, group in enumerate(spec.get("containerGroups", [])):
        for ci, container in enumerate(group.get("containers", [])):
            yield ("spec", "containerGroups", gi, "containers", ci), container


def find_container(spec: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((c for _, c in containers(spec) if c.get("name") == name), None)


def built_from_source(spec: dict[str, Any]) -> list[tuple[SpecPath, dict[str, Any]]]:
    return [(path, c) for path, c in containers(spec) if c.get("imageBuildConfig") is not None]


def build_container(spec: dict[str, Any], name: str | None) -> tuple[str, dict[str, Any]]:
    """The container (and its ``imageBuildConfig``) that source is for.

    ``name`` picks it; without a name there must be exactly one container built from source.
    """
    candidates = built_from_source(spec)
    if name is not None:
        chosen = [c for _, c in candidates if c["name"] == name]
        if not chosen:
            raise Invalid.at(
                "container",
                msg=f"No container named {name!r} is built from source (imageBuildConfig).",
                type="unknown_container",
            )
    elif len(candidates) != 1:
        raise Invalid.at(
            "container",
            msg="Name the container the source is for: "
            + (
                "none is built from source (imageBuildConfig)."
                if not candidates
                else f"{len(candidates)} are built from source."
            ),
            type="container_required",
        )
    else:
        chosen = [candidates[0][1]]
    return chosen[0]["name"], chosen[0]["imageBuildConfig"]
