"""Reading tar and zip archives as one stream of entries, and the rule for entry names.

Nothing here touches the destination: tar members are read with ``tarfile`` only as a
reader (``extractfile``), zip members with ``ZipFile.open``. Both formats become the same
four kinds of entry, so the model and the writer have one shape to reason about; anything
else (devices, FIFOs, sockets, unknown tar types) is refused here.
"""

from __future__ import annotations

import lzma
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import IO, Literal

CHUNK = 1 << 16
NAME_MAX = 255  # bytes in one path component, as on Linux
PATH_MAX = 4096  # bytes in a whole path, as on Linux
LINK_TARGET_MAX = 1024  # plenty for a source tree; keeps link resolution cheap

Kind = Literal["file", "dir", "symlink", "hardlink"]

# What a damaged or hostile archive makes the readers raise. gzip's BadGzipFile and bz2's
# errors are OSErrors; encrypted zips raise RuntimeError, unknown compressions
# NotImplementedError.
READ_ERRORS: tuple[type[BaseException], ...] = (
    tarfile.TarError,
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    EOFError,
    OSError,
    zlib.error,
    lzma.LZMAError,
    NotImplementedError,
    RuntimeError,
    UnicodeDecodeError,
)


class ArchiveRejected(Exception):
    """The archive breaks a rule; the message says which, for the person who uploaded it."""


class BadPath(ValueError):
    """A name or link source that cannot be a path inside the destination."""

    def __init__(self, reason: str, *, outside: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.outside = outside  # absolute or "..": it points out, not merely malformed


@dataclass(frozen=True)
class Entry:
    """One archive member, as both the model and the writer see it."""

    name: str  # exactly as in the archive, for messages
    kind: Kind
    size: int = 0  # declared by the archive; the writer counts what it really writes
    link: str = ""  # a symlink's target, or the archive name a hard link repeats
    executable: bool = False
    chunks: Callable[[], Iterator[bytes]] | None = field(default=None, compare=False, repr=False)


def path_components(name: str) -> list[str]:
    """The components of an archive name, relative to the destination (``[]`` is the
    destination itself). One rule for the model and the writer: no absolute names, no
    ``..`` anywhere (not even ``a/../b``: it is never needed and a writer that resolved it
    would have to trust what ``a`` is), no backslash (a separator elsewhere), no NUL, and
    Linux's length limits so that every path stays one the kernel resolves in full."""
    if "\x00" in name or "\\" in name:
        raise BadPath("has a character that is not allowed in a path (backslash or NUL).")
    if name.startswith("/"):
        raise BadPath("is an absolute path; use paths relative to the root.", outside=True)
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise BadPath("contains '..'; paths must stay inside the archive.", outside=True)
    if any(len(part.encode(errors="surrogateescape")) > NAME_MAX for part in parts):
        raise BadPath(f"has a component longer than {NAME_MAX} bytes.")
    if len("/".join(parts).encode(errors="surrogateescape")) >= PATH_MAX:
        raise BadPath(f"is longer than {PATH_MAX - 1} bytes.")
    return parts


def read_entries(path: Path | IO[bytes], kind: str) -> Iterator[Entry]:
    """The archive's entries in order, from a file or an open binary stream. A consumer
    must read an entry's ``chunks`` before asking for the next entry (tar is read as a
    stream)."""
    try:
        if kind == "tar":
            yield from _tar_entries(path)
        else:
            yield from _zip_entries(path)
    except READ_ERRORS as error:
        raise ArchiveRejected(f"The archive cannot be read: {error}.") from None


def _special(name: str) -> ArchiveRejected:
    return ArchiveRejected(
        f"{name!r} is a device file, FIFO or other special file; only files, folders and "
        "links are allowed."
    )


def _tar_entries(path: Path | IO[bytes]) -> Iterator[Entry]:
    source = {"name": path} if isinstance(path, Path) else {"fileobj": path}
    with tarfile.open(mode="r:*", **source) as archive:
        for member in archive:
            if member.isreg():  # also contiguous and sparse files: extractfile reads them
                yield Entry(
                    member.name,
                    "file",
                    member.size,
                    executable=bool(member.mode & 0o111),
                    chunks=_reader(partial(archive.extractfile, member)),
                )
            elif member.isdir():
                yield Entry(member.name, "dir")
            elif member.issym():
                yield Entry(member.name, "symlink", link=member.linkname)
            elif member.islnk():
                yield Entry(member.name, "hardlink", link=member.linkname)
            else:
                raise _special(member.name)


def _zip_entries(path: Path | IO[bytes]) -> Iterator[Entry]:
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            # Unix mode bits in the high half, where Info-ZIP and Python put them; 0 from
            # archivers that write none (then a trailing "/" means a folder).
            mode = info.external_attr >> 16
            kind = stat.S_IFMT(mode)
            if kind == stat.S_IFDIR or (kind == 0 and info.filename.endswith("/")):
                yield Entry(info.filename, "dir")
            elif kind == stat.S_IFLNK and not info.filename.endswith("/"):
                with archive.open(info) as stored:
                    # One byte past the limit, so that the model sees it is too long.
                    target = stored.read(LINK_TARGET_MAX + 1).decode("utf-8")
                yield Entry(info.filename, "symlink", link=target)
            elif kind in (0, stat.S_IFREG) and not info.filename.endswith("/"):
                yield Entry(
                    info.filename,
                    "file",
                    info.file_size,
                    executable=bool(mode & 0o111),
                    chunks=_reader(partial(archive.open, info)),
                )
            else:
                raise _special(info.filename)


def _reader(open_member: Callable[[], IO[bytes] | None]) -> Callable[[], Iterator[bytes]]:
    """A member's content in chunks; reading errors (a bad CRC, a truncated stream) become
    ArchiveRejected here because they surface in the writer, outside ``read_entries``."""

    def chunks() -> Iterator[bytes]:
        try:
            stream = open_member()
            if stream is None:  # tarfile: not a regular file after all
                raise ArchiveRejected("The archive cannot be read: a file has no content.")
            with stream:
                while chunk := stream.read(CHUNK):
                    yield chunk
        except READ_ERRORS as error:
            raise ArchiveRejected(f"The archive cannot be read: {error}.") from None

    return chunks
