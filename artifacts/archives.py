"""Uploaded source archives: checked before they are stored, unpacked safely for a build.

Both steps refuse anything that could write outside the build directory or exhaust the
machine: absolute paths, ``..``, links pointing outside, device files and FIFOs, more
files or more unpacked bytes than allowed. Unpacking counts the bytes it actually writes
instead of trusting sizes declared in the archive, so a lying zip cannot grow past the
limit either.
"""

from __future__ import annotations

import posixpath
import stat
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from artifacts.constants import SOURCE_SUFFIXES

CHUNK = 1 << 16


class ArchiveRejected(Exception):
    """The archive breaks a rule; the message says which, for the person who uploaded it."""


@dataclass(frozen=True)
class Limits:
    max_files: int
    max_unpacked_bytes: int


@dataclass(frozen=True)
class ArchiveSummary:
    file_count: int
    unpacked_size: int
    files: frozenset[str]  # normalised relative paths of regular files


@dataclass(frozen=True)
class _Entry:
    name: str
    kind: str  # "file", "dir", "symlink", "hardlink"
    size: int
    link: str = ""


def archive_kind(filename: str) -> str:
    lowered = filename.lower()
    for suffix in SOURCE_SUFFIXES:
        if lowered.endswith(suffix):
            return "zip" if suffix == ".zip" else "tar"
    raise ArchiveRejected(f"Upload a {', '.join(SOURCE_SUFFIXES)} archive.")


def inspect_archive(path: Path, filename: str, limits: Limits) -> ArchiveSummary:
    """Check every entry against the rules and the limits without unpacking anything."""
    files: set[str] = set()
    count = total = 0
    for entry in _entries(path, archive_kind(filename)):
        name = _safe_name(entry.name)
        if entry.kind in ("symlink", "hardlink"):
            _check_link(name, entry)
        if entry.kind != "dir":
            count += 1
            total += entry.size
            _check_limits(count, total, limits)
        if entry.kind == "file":
            files.add(name)
    return ArchiveSummary(file_count=count, unpacked_size=total, files=frozenset(files))


def extract_archive(path: Path, filename: str, destination: Path, limits: Limits) -> None:
    """Unpack into ``destination`` (an empty directory), enforcing the rules again."""
    kind = archive_kind(filename)
    inspect_archive(path, filename, limits)
    if kind == "tar":
        with tarfile.open(path, mode="r:*") as archive:
            # The "data" filter refuses absolute paths, escaping links and special files,
            # and drops ownership and setuid bits; the inspection above has said why first.
            archive.extractall(destination, filter="data")
        return
    written = 0
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            name = _safe_name(info.filename)
            target = destination / name
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as source:
                if _zip_mode(info) and stat.S_ISLNK(_zip_mode(info)):
                    target.symlink_to(source.read(4096).decode())
                    continue
                with target.open("wb") as sink:
                    written = _copy_capped(source, sink, written, limits.max_unpacked_bytes)


def _copy_capped(source: IO[bytes], sink: IO[bytes], written: int, cap: int) -> int:
    while chunk := source.read(CHUNK):
        written += len(chunk)
        if written > cap:
            raise ArchiveRejected(f"The archive unpacks to more than {_human(cap)}.")
        sink.write(chunk)
    return written


def _entries(path: Path, kind: str) -> Iterator[_Entry]:
    try:
        if kind == "tar":
            yield from _tar_entries(path)
        else:
            yield from _zip_entries(path)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as error:
        raise ArchiveRejected(f"The archive cannot be read: {error}.") from None


def _tar_entries(path: Path) -> Iterator[_Entry]:
    with tarfile.open(path, mode="r:*") as archive:
        for member in archive:
            if member.isreg():
                yield _Entry(member.name, "file", member.size)
            elif member.isdir():
                yield _Entry(member.name, "dir", 0)
            elif member.issym():
                yield _Entry(member.name, "symlink", 0, member.linkname)
            elif member.islnk():
                yield _Entry(member.name, "hardlink", 0, member.linkname)
            else:
                raise ArchiveRejected(
                    f"{member.name!r} is a device file or FIFO; only files, folders and "
                    "links are allowed."
                )


def _zip_entries(path: Path) -> Iterator[_Entry]:
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            mode = _zip_mode(info)
            if info.is_dir():
                yield _Entry(info.filename, "dir", 0)
            elif mode and stat.S_ISLNK(mode):
                with archive.open(info) as link:
                    yield _Entry(info.filename, "symlink", 0, link.read(4096).decode())
            elif stat.S_IFMT(mode) not in (0, stat.S_IFREG):  # 0: written without a type
                raise ArchiveRejected(f"{info.filename!r} is not a regular file.")
            else:
                yield _Entry(info.filename, "file", info.file_size)


def _zip_mode(info: zipfile.ZipInfo) -> int:
    return info.external_attr >> 16


def _safe_name(name: str) -> str:
    if "\\" in name or "\x00" in name:
        raise ArchiveRejected(f"{name!r} has a character that is not allowed in a path.")
    if name.startswith("/"):
        raise ArchiveRejected(f"{name!r} is an absolute path; use paths relative to the root.")
    if ".." in name.split("/"):
        raise ArchiveRejected(f"{name!r} contains '..'; paths must stay inside the archive.")
    return posixpath.normpath(name)


def _check_link(name: str, entry: _Entry) -> None:
    target = entry.link
    if target.startswith("/"):
        raise ArchiveRejected(f"{name!r} links to the absolute path {target!r}.")
    base = posixpath.dirname(name) if entry.kind == "symlink" else ""
    resolved = posixpath.normpath(posixpath.join(base, target))
    if resolved == ".." or resolved.startswith("../"):
        raise ArchiveRejected(f"{name!r} links to {target!r}, outside the archive.")


def _check_limits(count: int, total: int, limits: Limits) -> None:
    if count > limits.max_files:
        raise ArchiveRejected(f"The archive holds more than {limits.max_files} files.")
    if total > limits.max_unpacked_bytes:
        raise ArchiveRejected(
            f"The archive unpacks to more than {_human(limits.max_unpacked_bytes)}."
        )


def _human(size: int) -> str:
    return f"{size / 2**20:g} MiB" if size >= 2**20 else f"{size} bytes"
