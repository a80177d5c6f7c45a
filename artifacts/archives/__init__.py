"""Uploaded source archives: checked before they are stored, unpacked safely for a build.

Three small parts, so that each can be read (and tested) on its own:

- ``entries``: reads tar/zip into one stream of entries (file, folder, symlink, hard link)
  and holds the rule for names; refuses devices, FIFOs and unreadable archives.
- ``model``: the rules, in one place. A virtual tree of what unpacking creates decides,
  entry by entry, what may be unpacked; inspection at upload and extraction at build time
  both run it, so they cannot disagree.
- ``writer``: creates entries relative to a descriptor of the destination, never following
  a link, so that even a mistake in the model cannot write outside it. It does not rely on
  ``tarfile``'s extraction filters, which have public bypasses on the interpreters Berth
  runs on (CVE-2025-4517 and friends, fixed only in 3.12.11 / 3.13.4).
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

from artifacts.archives.entries import ArchiveRejected, BadPath, path_components, read_entries
from artifacts.archives.model import ArchiveModel, ArchiveSummary, Limits
from artifacts.archives.writer import unpack
from artifacts.constants import SOURCE_SUFFIXES

__all__ = [
    "ArchiveRejected",
    "ArchiveSummary",
    "Limits",
    "archive_kind",
    "extract_archive",
    "inspect_archive",
    "read_member",
]


def archive_kind(filename: str) -> str:
    lowered = filename.lower()
    for suffix in SOURCE_SUFFIXES:
        if lowered.endswith(suffix):
            return "zip" if suffix == ".zip" else "tar"
    raise ArchiveRejected(f"Upload a {', '.join(SOURCE_SUFFIXES)} archive.")


def inspect_archive(path: Path, filename: str, limits: Limits) -> ArchiveSummary:
    """Check every entry against the rules and the limits without unpacking anything."""
    model = ArchiveModel(limits)
    for entry in read_entries(path, archive_kind(filename)):
        model.admit(entry)
    return model.finish()


def extract_archive(path: Path, filename: str, destination: Path, limits: Limits) -> None:
    """Unpack into ``destination`` (an existing, empty folder) what the model admits.

    One pass: each entry is admitted by the model, then written. If the model refuses an
    entry (or, at the end, a link that a later entry turned outward), what was written so
    far stays inside ``destination``; the caller throws the folder away.
    """
    model = ArchiveModel(limits)
    entries = model.admitted(read_entries(path, archive_kind(filename)))
    unpack(entries, destination, limits.max_unpacked_bytes)


def read_member(stream: IO[bytes], filename: str, name: str, max_bytes: int) -> bytes | None:
    """The first ``max_bytes`` of the regular file ``name`` in an archive, without unpacking
    anything; None when the archive has no such file (or it is a link or a folder). Names
    are compared by the same rule extraction uses, so this reads what a build would see."""
    try:
        wanted = path_components(name)
    except BadPath:
        return None
    for entry in read_entries(stream, archive_kind(filename)):
        try:
            if path_components(entry.name) != wanted:
                continue
        except BadPath:
            continue
        if entry.kind != "file" or entry.chunks is None:
            return None
        content = b""
        for chunk in entry.chunks():
            content += chunk
            if len(content) >= max_bytes:
                break
        return content[:max_bytes]
    return None
