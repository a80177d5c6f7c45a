"""Source archives: what is refused (422 at upload) and why, and safe unpacking."""

from __future__ import annotations

import io
import re
import tarfile
import zipfile
from pathlib import Path

import pytest

from artifacts.archives import ArchiveRejected, Limits, extract_archive, inspect_archive

LIMITS = Limits(max_files=20, max_unpacked_bytes=64 * 1024)


def make_tar(
    path: Path, members: list[tarfile.TarInfo], data: dict[str, bytes] | None = None
) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for info in members:
            body = (data or {}).get(info.name)
            if body is not None:
                info.size = len(body)
            archive.addfile(info, io.BytesIO(body) if body is not None else None)
    return path


def entry(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info


def test_a_plain_archive_is_summarised(tmp_path: Path) -> None:
    path = make_tar(
        tmp_path / "ok.tar.gz",
        [
            entry("Dockerfile"),
            entry("app", tarfile.DIRTYPE),
            entry("app/main.py"),
            entry("link", tarfile.SYMTYPE, "app/main.py"),
        ],
        {"Dockerfile": b"FROM scratch\n", "app/main.py": b"print(1)\n"},
    )
    summary = inspect_archive(path, "ok.tar.gz", LIMITS)
    assert summary.files == {"Dockerfile", "app/main.py"}
    assert summary.file_count == 3
    assert summary.unpacked_size == len(b"FROM scratch\n") + len(b"print(1)\n")


@pytest.mark.parametrize(
    ("member", "complaint"),
    [
        (entry("../escape.txt"), "'..'"),
        (entry("app/../../escape.txt"), "'..'"),
        (entry("/etc/passwd"), "absolute path"),
        (entry("evil", tarfile.SYMTYPE, "../../etc/passwd"), "outside the archive"),
        (entry("app/evil", tarfile.SYMTYPE, "../../outside"), "outside the archive"),
        (entry("evil", tarfile.SYMTYPE, "/etc/passwd"), "absolute path"),
        (entry("hard", tarfile.LNKTYPE, "../outside"), "outside the archive"),
        (entry("dev", tarfile.CHRTYPE), "device file"),
        (entry("fifo", tarfile.FIFOTYPE), "device file"),
    ],
    ids=[
        "dotdot",
        "nested-dotdot",
        "absolute",
        "symlink-escape",
        "nested-symlink-escape",
        "symlink-absolute",
        "hardlink-escape",
        "char-device",
        "fifo",
    ],
)
def test_dangerous_entries_are_refused(
    tmp_path: Path, member: tarfile.TarInfo, complaint: str
) -> None:
    path = make_tar(tmp_path / "bad.tar.gz", [entry("Dockerfile"), member])
    with pytest.raises(ArchiveRejected, match=re.escape(complaint)):
        inspect_archive(path, "bad.tar.gz", LIMITS)


def test_too_many_files_are_refused(tmp_path: Path) -> None:
    path = make_tar(tmp_path / "many.tar.gz", [entry(f"f{i}") for i in range(21)])
    with pytest.raises(ArchiveRejected, match="more than 20 files"):
        inspect_archive(path, "many.tar.gz", LIMITS)


def test_a_gzip_bomb_is_refused_before_it_is_unpacked(tmp_path: Path) -> None:
    # 1 MiB of zeros compresses to about 1 KiB; the limit is 64 KiB unpacked.
    path = make_tar(tmp_path / "bomb.tar.gz", [entry("zeros")], {"zeros": bytes(2**20)})
    assert path.stat().st_size < 16 * 1024
    with pytest.raises(ArchiveRejected, match="unpacks to more than"):
        inspect_archive(path, "bomb.tar.gz", LIMITS)


def test_a_zip_that_lies_about_its_size_is_stopped_while_unpacking(tmp_path: Path) -> None:
    path = tmp_path / "liar.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros", bytes(2**20))
    # Rewrite the central directory's declared size to something small.
    raw = bytearray(path.read_bytes())
    central = raw.rfind(b"PK\x01\x02")
    raw[central + 24 : central + 28] = (100).to_bytes(4, "little")
    path.write_bytes(bytes(raw))
    assert inspect_archive(path, "liar.zip", LIMITS).unpacked_size == 100
    destination = tmp_path / "out"
    destination.mkdir()
    with pytest.raises((ArchiveRejected, zipfile.BadZipFile)):
        extract_archive(path, "liar.zip", destination, LIMITS)
    assert (
        sum(f.stat().st_size for f in destination.rglob("*") if f.is_file())
        <= LIMITS.max_unpacked_bytes
    )


def test_zip_traversal_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("../../escape", b"x")
    with pytest.raises(ArchiveRejected, match=r"'\.\.'"):
        inspect_archive(path, "bad.zip", LIMITS)


def test_unknown_formats_and_garbage_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.rar"
    path.write_bytes(b"Rar!")
    with pytest.raises(ArchiveRejected, match="Upload a"):
        inspect_archive(path, "x.rar", LIMITS)
    garbage = tmp_path / "x.tar.gz"
    garbage.write_bytes(b"not an archive")
    with pytest.raises(ArchiveRejected, match="cannot be read"):
        inspect_archive(garbage, "x.tar.gz", LIMITS)


def test_extraction_writes_only_inside_the_destination(tmp_path: Path) -> None:
    path = make_tar(
        tmp_path / "ok.tar.gz",
        [entry("Dockerfile"), entry("src", tarfile.DIRTYPE), entry("src/a.txt")],
        {"Dockerfile": b"FROM scratch\n", "src/a.txt": b"hello"},
    )
    destination = tmp_path / "out"
    destination.mkdir()
    extract_archive(path, "ok.tar.gz", destination, LIMITS)
    assert (destination / "src" / "a.txt").read_bytes() == b"hello"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.tar.gz", "out"]
