"""Field-level differences between two artifacts (or two specs), changes only.

Lists of named things are compared by name, not by position: container groups, the
containers of a group, a container's environment variables and tags. Inserting a sidecar
therefore shows one added container, not every later container as changed. Other lists
(an entrypoint) are values in their own right and compare whole.

Paths name what they point at: ``spec.containerGroups[default].containers[web].port``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from artifacts.constants import DEFAULT_GROUP_NAME

ChangeKind = Literal["added", "removed", "changed"]

# The lists whose items are matched by name, and the name an item has when it sets none
# (a container group without a name is the default group).
NAMED_LISTS: dict[str, str | None] = {
    "containerGroups": DEFAULT_GROUP_NAME,
    "containers": None,
    "environmentVars": None,
    "tags": None,
}


@dataclass(frozen=True)
class Change:
    """One difference: what is at ``path`` was added, removed or changed."""

    path: str
    kind: ChangeKind
    before: Any = None
    after: Any = None


def spec_diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[Change]:
    """Every field that differs between ``before`` and ``after``, in document order."""
    return list(_diff_values("", "", before, after))


def artifact_diff(before: Any, after: Any) -> list[Change]:
    """The differences between two artifacts' ``name``, ``description`` and ``spec``."""
    return spec_diff(comparable(before), comparable(after))


def comparable(artifact: Any) -> dict[str, Any]:
    """The parts of an artifact a reader compares between versions."""
    return {"name": artifact.name, "description": artifact.description, "spec": artifact.spec}


def path_label(loc: Sequence[str | int], document: Any) -> str:
    """``loc`` (a JSON path into ``document``) written like a diff path: list indices of
    named lists become the item's name, so a reader sees which container is meant."""
    path, node = "", document
    for key, step in zip(("", *loc), loc, strict=False):
        if isinstance(step, int):
            item = node[step] if isinstance(node, list) and 0 <= step < len(node) else None
            name = _name_of(str(key), item) if isinstance(item, Mapping) else None
            path += f"[{name if name is not None else step}]"
            node = item
        else:
            path = _join(path, step)
            node = node.get(step) if isinstance(node, Mapping) else None
    return path


def _diff_values(path: str, key: str, before: Any, after: Any) -> Iterator[Change]:
    old, new = _named_items(key, before), _named_items(key, after)
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        yield from _diff_mappings(path, before, after)
    elif old is not None and new is not None:
        yield from _diff_named_lists(path, old, new)
    elif before != after:
        yield Change(path, "changed", before, after)


def _diff_mappings(
    path: str, before: Mapping[str, Any], after: Mapping[str, Any]
) -> Iterator[Change]:
    for key in [*before, *(k for k in after if k not in before)]:
        here = _join(path, key)
        if key not in after:
            yield Change(here, "removed", before=before[key])
        elif key not in before:
            yield Change(here, "added", after=after[key])
        else:
            yield from _diff_values(here, key, before[key], after[key])


def _diff_named_lists(
    path: str, old: Mapping[str, Mapping[str, Any]], new: Mapping[str, Mapping[str, Any]]
) -> Iterator[Change]:
    for name, item in old.items():
        here = f"{path}[{name}]"
        if name in new:
            yield from _diff_values(here, "", item, new[name])
        else:
            yield Change(here, "removed", before=item)
    for name, item in new.items():
        if name not in old:
            yield Change(f"{path}[{name}]", "added", after=item)


def _named_items(key: str, value: Any) -> dict[str, Mapping[str, Any]] | None:
    """The list's items by name, or None when it is not a list of uniquely named items
    (then it compares as a whole value, which is always correct if less precise)."""
    if key not in NAMED_LISTS or not isinstance(value, list):
        return None
    items: dict[str, Mapping[str, Any]] = {}
    for item in value:
        name = _name_of(key, item) if isinstance(item, Mapping) else None
        if name is None or name in items:
            return None
        items[name] = item
    return items


def _name_of(key: str, item: Mapping[str, Any]) -> str | None:
    if key not in NAMED_LISTS:
        return None
    name = item.get("name", NAMED_LISTS[key])
    return name if isinstance(name, str) else None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
