"""Hostile archives for tests: one format-neutral list of entries, written as tar or zip,
and a listing of a sandbox that shows anything created or modified outside a destination."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

# What an attacker can put in an archive; zip has no hard links, so "hardlink" exists only
# in tar (zip says "device" or "FIFO" with the Unix mode bits).
KINDS = ("file", "dir", "symlink", "hardlink", "fifo", "chr", "blk")
FORMATS = ("tar", "tar.gz", "zip")


@dataclass(frozen=True)
class Item:
    """One archive entry as the attacker writes it (names and targets are not normalised)."""

    name: str
    kind: str = "file"
    data: bytes = b""
    link: str = ""  # symlink target, or the archive name a hard link repeats
    mode: int = 0o644


def file(name: str, data: bytes = b"canary", mode: int = 0o644) -> Item:
    return Item(name, "file", data, mode=mode)


def folder(name: str) -> Item:
    return Item(name, "dir", mode=0o755)


def symlink(name: str, target: str) -> Item:
    return Item(name, "symlink", link=target, mode=0o777)


def hardlink(name: str, target: str) -> Item:
    return Item(name, "hardlink", link=target)


def special(name: str, kind: str) -> Item:
    return Item(name, kind)


def expressible(items: list[Item], fmt: str) -> bool:
    return fmt != "zip" or all(item.kind != "hardlink" for item in items)


def write_archive(stem: Path, items: list[Item], fmt: str) -> Path:
    """Write ``items`` in order as ``<stem>.<fmt>``; returns the archive's path."""
    path = stem.with_name(f"{stem.name}.{fmt}")
    path.write_bytes(zip_bytes(items) if fmt == "zip" else tar_bytes(items, gzip=fmt != "tar"))
    return path


TAR_TYPES = {
    "file": tarfile.REGTYPE,
    "dir": tarfile.DIRTYPE,
    "symlink": tarfile.SYMTYPE,
    "hardlink": tarfile.LNKTYPE,
    "fifo": tarfile.FIFOTYPE,
    "chr": tarfile.CHRTYPE,
    "blk": tarfile.BLKTYPE,
}


def tar_bytes(items: list[Item], gzip: bool = True) -> bytes:
    buffer = io.BytesIO()
    # PAX: names and link targets of any length, as GNU tar and Python write them.
    with tarfile.open(
        fileobj=buffer, mode="w:gz" if gzip else "w", format=tarfile.PAX_FORMAT
    ) as tar:
        for item in items:
            info = tarfile.TarInfo(item.name)
            info.type = TAR_TYPES[item.kind]
            info.linkname = item.link
            info.mode = item.mode
            info.size = len(item.data) if item.kind == "file" else 0
            tar.addfile(info, io.BytesIO(item.data) if item.kind == "file" else None)
    return buffer.getvalue()


ZIP_TYPES = {
    "file": stat.S_IFREG,
    "dir": stat.S_IFDIR,
    "symlink": stat.S_IFLNK,
    "fifo": stat.S_IFIFO,
    "chr": stat.S_IFCHR,
    "blk": stat.S_IFBLK,
}


def zip_bytes(items: list[Item]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name": duplicates are the point
        for item in items:
            name = (
                item.name + "/" if item.kind == "dir" and not item.name.endswith("/") else item.name
            )
            info = zipfile.ZipInfo(name)
            # Unix mode in the high 16 bits, as Info-ZIP writes it; that is how zip says
            # "symlink" (the entry's data is then the target).
            info.external_attr = (ZIP_TYPES[item.kind] | item.mode) << 16
            if item.kind == "dir":
                info.external_attr |= 0x10  # MS-DOS directory bit
            archive.writestr(info, item.link.encode() if item.kind == "symlink" else item.data)
    return buffer.getvalue()


def snapshot(root: Path, skip: tuple[Path, ...] = ()) -> dict[str, tuple[object, ...]]:
    """Everything under ``root`` (never following links), except the ``skip`` subtrees:
    type, mode, size, modification time, and the content or link target."""
    listing: dict[str, tuple[object, ...]] = {}
    skipped = {os.fspath(path) for path in skip}

    def visit(directory: str) -> None:
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.path in skipped:
                    continue
                info = entry.stat(follow_symlinks=False)
                if stat.S_ISLNK(info.st_mode):
                    detail: object = os.readlink(entry.path)
                elif stat.S_ISREG(info.st_mode):
                    detail = hashlib.sha256(Path(entry.path).read_bytes()).hexdigest()
                else:
                    detail = None
                listing[os.path.relpath(entry.path, root)] = (
                    stat.S_IFMT(info.st_mode),
                    stat.S_IMODE(info.st_mode),
                    info.st_size if not stat.S_ISDIR(info.st_mode) else 0,
                    info.st_mtime_ns,
                    info.st_nlink if not stat.S_ISDIR(info.st_mode) else 0,
                    detail,
                )
                if stat.S_ISDIR(info.st_mode):
                    visit(entry.path)

    visit(os.fspath(root))
    return listing
