"""The model of an archive: the one place that decides which entries may be unpacked.

It walks the entries in order, as the writer will, and keeps a virtual tree of what
unpacking them creates: folders, files, and links with their targets. Upload inspection
runs it alone; extraction runs it in front of the writer, entry by entry, so both refuse
the same archives with the same message. It never asks the file system anything, so it
cannot be fooled the way ``os.path.realpath`` is past PATH_MAX (CVE-2025-4517).

Rules, each refused with a message that names the entry:

- names: see ``path_components`` (absolute, ``..``, backslash, NUL, too long);
- nothing is written through a link: no entry under a link or a file, no entry that
  replaces an earlier one (a folder may be repeated: tar's ``./`` and archivers that list a
  folder after its files do that);
- a symlink's target is relative, at most ``LINK_TARGET_MAX`` bytes, and resolves inside,
  following the tree's own links (at most 40, like Linux) where they really point;
- a hard link repeats a regular file that an earlier entry put inside;
- at most ``max_files`` entries that are not folders, ``max_unpacked_bytes`` declared.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from artifacts.archives.entries import (
    LINK_TARGET_MAX,
    PATH_MAX,
    ArchiveRejected,
    BadPath,
    Entry,
    path_components,
)

MAX_LINKS_FOLLOWED = 40  # Linux's limit for one lookup
MAX_RESOLVE_STEPS = 1024  # components walked for one link: bounds the work an upload costs


@dataclass(frozen=True)
class Limits:
    max_files: int
    max_unpacked_bytes: int


@dataclass(frozen=True)
class ArchiveSummary:
    file_count: int
    unpacked_size: int
    files: frozenset[str]  # normalised relative paths of regular files (and hard links)


@dataclass(frozen=True)
class _Node:
    kind: Literal["dir", "file", "symlink"]
    target: str = ""


class _LinkRefused(Exception):
    """Why a link's target is refused; the caller adds the entry's name."""


class ArchiveModel:
    """Feed it every entry in archive order (``admit``), then call ``finish``."""

    def __init__(self, limits: Limits) -> None:
        self._limits = limits
        self._tree: dict[str, _Node] = {"": _Node("dir")}  # "" is the destination
        # Links whose target went through a name that did not exist yet: a later entry can
        # still change where they point, so they are judged again on the finished tree.
        self._unsettled: list[tuple[Entry, list[str]]] = []
        self._count = 0
        self._size = 0
        self._files: set[str] = set()

    def admitted(self, entries: Iterable[Entry]) -> Iterator[Entry]:
        """``entries``, each admitted before it is passed on; finished after the last."""
        for entry in entries:
            self.admit(entry)
            yield entry
        self.finish()

    def admit(self, entry: Entry) -> None:
        try:
            parts = path_components(entry.name)
        except BadPath as bad:
            raise ArchiveRejected(f"{entry.name!r} {bad.reason}") from None
        if not parts:
            if entry.kind == "dir":
                return  # "./": the destination itself
            raise ArchiveRejected(f"{entry.name!r} names the archive's root, not a {entry.kind}.")
        self._enter_parents(entry, parts)
        key = "/".join(parts)
        existing = self._tree.get(key)
        if existing is not None:
            if existing.kind == "dir" and entry.kind == "dir":
                return
            raise ArchiveRejected(
                f"{entry.name!r} appears twice (first as a {_noun(existing.kind)}); an entry "
                "may not replace another."
            )
        if entry.kind == "dir":
            self._tree[key] = _Node("dir")
            return
        self._count_entry(entry)
        if entry.kind == "symlink":
            self._check_target_text(entry)
            # In the tree before it is resolved, so that a link through itself is a loop.
            self._tree[key] = _Node("symlink", entry.link)
            if self._resolve(entry, parts):
                self._unsettled.append((entry, parts))
            return
        if entry.kind == "hardlink":
            self._check_hard_link(entry)
        self._tree[key] = _Node("file")
        self._files.add(key)

    def finish(self) -> ArchiveSummary:
        for entry, parts in self._unsettled:
            self._resolve(entry, parts)
        return ArchiveSummary(self._count, self._size, frozenset(self._files))

    def _enter_parents(self, entry: Entry, parts: list[str]) -> None:
        """Every folder above the entry must be a real folder; missing ones are created
        (as the writer does), links and files refused: writing under them is the escape."""
        for depth in range(1, len(parts)):
            key = "/".join(parts[:depth])
            node = self._tree.get(key)
            if node is None:
                self._tree[key] = _Node("dir")
            elif node.kind != "dir":
                raise ArchiveRejected(
                    f"{entry.name!r} is inside {key!r}, which is a {_noun(node.kind)}; "
                    "nothing may be written through a link or into a file."
                )

    def _count_entry(self, entry: Entry) -> None:
        self._count += 1
        self._size += entry.size
        if self._count > self._limits.max_files:
            raise ArchiveRejected(f"The archive holds more than {self._limits.max_files} files.")
        if self._size > self._limits.max_unpacked_bytes:
            raise ArchiveRejected(
                f"The archive unpacks to more than {human(self._limits.max_unpacked_bytes)}."
            )

    def _check_target_text(self, entry: Entry) -> None:
        target = entry.link
        if target.startswith("/"):
            raise ArchiveRejected(f"{entry.name!r} links to the absolute path {target!r}.")
        if not target or "\x00" in target or "\\" in target:
            raise ArchiveRejected(f"{entry.name!r} links to {target!r}, which is not a valid path.")
        if len(target.encode(errors="surrogateescape")) > LINK_TARGET_MAX:
            raise ArchiveRejected(
                f"{entry.name!r} links to a target longer than {LINK_TARGET_MAX} bytes."
            )

    def _check_hard_link(self, entry: Entry) -> None:
        start = f"{entry.name!r} is a hard link to {entry.link!r}"
        try:
            source = "/".join(path_components(entry.link))
        except BadPath as bad:
            raise ArchiveRejected(
                f"{start}, outside the archive." if bad.outside else f"{start}, which {bad.reason}"
            ) from None
        node = self._tree.get(source)
        if node is None:
            raise ArchiveRejected(
                f"{start}, which is not in the archive before it; a hard link may only repeat "
                "a file unpacked earlier."
            )
        if node.kind != "file":
            raise ArchiveRejected(
                f"{start}, which is a {_noun(node.kind)}; a hard link may only repeat a "
                "regular file."
            )

    def _resolve(self, entry: Entry, parts: list[str]) -> bool:
        """Follow the link ``entry`` (at ``parts``) through the tree as the kernel would;
        refuse it if it leaves the destination. True when it went through a name that is
        not in the tree (or through a file): from there the rest is judged as text, which
        only refuses more than the kernel would, and it is judged again by ``finish``."""
        try:
            return self._walk(parts[:-1], entry.link)
        except _LinkRefused as refused:
            raise ArchiveRejected(f"{entry.name!r} links to {entry.link!r}, {refused}") from None

    def _walk(self, position: list[str], target: str) -> bool:
        pending = deque(target.split("/"))
        followed = steps = 0
        unsettled = False
        while pending:
            steps += 1
            if steps > MAX_RESOLVE_STEPS:
                raise _LinkRefused(f"which takes more than {MAX_RESOLVE_STEPS} steps to resolve.")
            part = pending.popleft()
            if part in ("", "."):
                continue
            if part == "..":
                # ``position`` is where the walk really is (links already replaced by their
                # targets), so this is the real parent, not the textual one.
                if not position:
                    raise _LinkRefused("outside the archive.")
                position.pop()
                continue
            position.append(part)
            if len("/".join(position).encode(errors="surrogateescape")) >= PATH_MAX:
                raise _LinkRefused(f"which resolves to a path longer than {PATH_MAX - 1} bytes.")
            if unsettled:
                continue
            node = self._tree.get("/".join(position))
            if node is None or node.kind == "file":
                unsettled = True
            elif node.kind == "symlink":
                followed += 1
                if followed > MAX_LINKS_FOLLOWED:
                    raise _LinkRefused(
                        f"which goes through more than {MAX_LINKS_FOLLOWED} links (a loop?)."
                    )
                position.pop()
                pending.extendleft(reversed(node.target.split("/")))
        return unsettled


def _noun(kind: str) -> str:
    return {"dir": "folder", "symlink": "link"}.get(kind, kind)


def human(size: int) -> str:
    return f"{size / 2**20:g} MiB" if size >= 2**20 else f"{size} bytes"
