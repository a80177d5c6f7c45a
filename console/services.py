"""Helpers every service uses: the shape checks that come before any rule."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from console.errors import Invalid, Problem


def unknown_fields(data: Mapping[str, Any], allowed: Iterable[str]) -> list[Problem]:
    """Bodies name only known fields; a typo must not be silently ignored."""
    allowed = set(allowed)
    return [
        Problem((key,), "Extra inputs are not permitted", "extra_forbidden")
        for key in data
        if key not in allowed
    ]


def reject_unknown_fields(data: Mapping[str, Any], allowed: Iterable[str]) -> None:
    problems = unknown_fields(data, allowed)
    if problems:
        raise Invalid(problems)


def missing_fields(data: Mapping[str, Any], required: Iterable[str]) -> list[Problem]:
    return [
        Problem((key,), "Field required", "missing") for key in required if data.get(key) is None
    ]
