"""Writing entries into a destination so that nothing can land outside it, even if the
model in front of it were wrong.

Every path is walked from a descriptor of the destination, one component at a time, with
``*at`` calls: folders are entered with ``O_DIRECTORY | O_NOFOLLOW`` (a link or a file in
the way fails with ELOOP/ENOTDIR instead of being followed), files are created with
``O_CREAT | O_EXCL | O_NOFOLLOW`` (never opened if anything is already there, so never
through a link), links with ``symlinkat`` (which refuses an existing name) and hard links
with ``linkat`` without AT_SYMLINK_FOLLOW, after checking that the source is a regular
file reached the same way. No path string is ever handed to the kernel whole, so neither
``..`` nor a link on the way, nor PATH_MAX, is resolved by anyone but this walk.

What it does not judge: where a symlink points. A symlink is only created, never used, so
an outward one cannot make the writer write outside; refusing it is the model's job,
because whoever reads the unpacked tree later would follow it.

Modes are Berth's, not the archive's: folders 0755, files 0644 or 0755 if any execute bit
was set (never setuid, setgid or sticky); ownership is never changed.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from artifacts.archives.entries import ArchiveRejected, BadPath, Entry, path_components
from artifacts.archives.model import human

DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
# What the kernel says when the walk meets a link, a file or a name too long to be inside.
IN_THE_WAY = (errno.ELOOP, errno.ENOTDIR, errno.ENAMETOOLONG)


def unpack(entries: Iterable[Entry], destination: Path, max_bytes: int) -> None:
    """Write ``entries`` into ``destination`` (an existing, empty folder), stopping once
    more than ``max_bytes`` would have been written."""
    root = os.open(destination, DIRECTORY)
    written = 0
    try:
        for entry in entries:
            written = _write(root, entry, written, max_bytes)
    finally:
        os.close(root)


def _write(root: int, entry: Entry, written: int, max_bytes: int) -> int:
    parts = _components(entry.name, repr(entry.name))
    if not parts:
        if entry.kind == "dir":
            return written
        raise ArchiveRejected(f"{entry.name!r} names the archive's root, not a {entry.kind}.")
    parent = _enter(root, parts[:-1], entry, create=True)
    name = parts[-1]
    try:
        if entry.kind == "dir":
            _make_folder(parent, name, entry)
        elif entry.kind == "file":
            written = _write_file(parent, name, entry, written, max_bytes)
        elif entry.kind == "symlink":
            os.symlink(entry.link, name, dir_fd=parent)
        elif entry.kind == "hardlink":
            _hard_link(root, parent, name, entry)
        else:  # the reader yields no other kind; a new one must be thought about first
            raise ArchiveRejected(f"{entry.name!r} is of a kind that cannot be unpacked.")
    except FileExistsError:
        raise ArchiveRejected(
            f"{entry.name!r} already exists in the destination; an entry may not replace another."
        ) from None
    except OSError as error:
        if error.errno in IN_THE_WAY:
            raise ArchiveRejected(f"{entry.name!r} cannot be written: {error.strerror}.") from None
        raise
    finally:
        os.close(parent)
    return written


def _components(name: str, subject: str) -> list[str]:
    try:
        return path_components(name)
    except BadPath as bad:
        raise ArchiveRejected(f"{subject} {bad.reason}") from None


def _enter(root: int, folders: list[str], entry: Entry, *, create: bool) -> int:
    """A new descriptor of the folder ``folders`` below ``root``, never following a link;
    missing folders are made (0755) when ``create``."""
    current = os.dup(root)
    try:
        for folder in folders:
            made = False
            if create:
                try:
                    os.mkdir(folder, 0o755, dir_fd=current)
                    made = True
                except FileExistsError:
                    pass  # a folder from an earlier entry, or something the open refuses
            try:
                child = os.open(folder, DIRECTORY, dir_fd=current)
            except OSError as error:
                if error.errno in (*IN_THE_WAY, errno.ENOENT):
                    raise ArchiveRejected(
                        f"{entry.name!r} goes through {folder!r}, which is not a folder that "
                        "was unpacked (a link, a file, or missing); nothing is written "
                        "through a link."
                    ) from None
                raise
            if made:
                os.fchmod(child, 0o755)  # not narrowed by the worker's umask
            os.close(current)
            current = child
    except BaseException:
        os.close(current)
        raise
    return current


def _make_folder(parent: int, name: str, entry: Entry) -> None:
    try:
        os.mkdir(name, 0o755, dir_fd=parent)
        made = True
    except FileExistsError:
        made = False  # fine if it is a real folder: the open below refuses anything else
    try:
        folder = os.open(name, DIRECTORY, dir_fd=parent)
    except OSError as error:
        if error.errno in IN_THE_WAY:
            raise ArchiveRejected(
                f"{entry.name!r} already exists in the destination and is not a folder; an "
                "entry may not replace another."
            ) from None
        raise
    try:
        if made:
            os.fchmod(folder, 0o755)
    finally:
        os.close(folder)


def _write_file(parent: int, name: str, entry: Entry, written: int, max_bytes: int) -> int:
    mode = 0o755 if entry.executable else 0o644
    descriptor = os.open(name, NEW_FILE, mode, dir_fd=parent)
    with open(descriptor, "wb", closefd=True) as sink:
        os.fchmod(descriptor, mode)  # exactly, whatever the umask
        for chunk in entry.chunks() if entry.chunks else ():
            # Counted as really written, not as declared: a zip can lie about its sizes.
            written += len(chunk)
            if written > max_bytes:
                raise ArchiveRejected(f"The archive unpacks to more than {human(max_bytes)}.")
            sink.write(chunk)
    return written


def _hard_link(root: int, parent: int, name: str, entry: Entry) -> None:
    source = _components(entry.link, f"{entry.name!r} is a hard link to {entry.link!r}, which")
    if not source:
        raise ArchiveRejected(f"{entry.name!r} is a hard link to the archive's root.")
    folder = _enter(root, source[:-1], entry, create=False)
    try:
        try:
            found = os.stat(source[-1], dir_fd=folder, follow_symlinks=False)
        except FileNotFoundError:
            found = None
        if found is None or not stat.S_ISREG(found.st_mode):
            raise ArchiveRejected(
                f"{entry.name!r} is a hard link to {entry.link!r}, which is not a regular "
                "file unpacked before it."
            )
        # follow_symlinks=False: linkat without AT_SYMLINK_FOLLOW links the name itself.
        os.link(source[-1], name, src_dir_fd=folder, dst_dir_fd=parent, follow_symlinks=False)
    finally:
        os.close(folder)
