"""Generated archives of links, link chains, hard links, folders and files, in any order
over a small alphabet of names, so that names collide and links land on each other.

For each, on tar.gz and zip: (a) unpacking succeeds or raises ArchiveRejected, nothing
else; (b) nothing outside the destination is created or modified, by the model-checked
extraction or by the physical writer alone; (c) the upload check and the extraction agree;
(d) what is accepted unpacks every regular file at its normalised path with its content,
never under a link, and every link left behind resolves inside the destination.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from artifacts.archives import (
    ArchiveRejected,
    Limits,
    archive_kind,
    extract_archive,
    inspect_archive,
)
from artifacts.archives.entries import read_entries
from artifacts.archives.writer import unpack
from tests.archive_fixtures import Item, file, folder, hardlink, snapshot, symlink, write_archive

LIMITS = Limits(max_files=50, max_unpacked_bytes=64 * 1024)
ABSOLUTE = "@"  # replaced by the sandbox's absolute path inside the test body

# Four names, so that entries collide and land under each other's links. Odd spellings
# (refused or normalised), absolute targets and hard links to nowhere are drawn rarely, or
# most archives would be refused at their first such entry and test nothing else; names
# under an earlier link and hard links to an earlier file are drawn often, because those
# are where extraction goes wrong.
COMPONENT = st.sampled_from(["a", "b", "c", "l"])
PLAIN_NAME = st.lists(COMPONENT, min_size=1, max_size=3).map("/".join)
ODD_NAME = st.sampled_from(["./a", "a//b", "a/./l", "../a", "a/../b", "/a", f"{ABSOLUTE}/victim/x"])
RELATIVE_TARGET = st.lists(st.sampled_from(["a", "b", "l", "..", "."]), min_size=1, max_size=4).map(
    "/".join
)
ABSOLUTE_TARGET = st.sampled_from(
    [ABSOLUTE, f"{ABSOLUTE}/victim", f"{ABSOLUTE}/outside.txt", f"{ABSOLUTE}/x/y/z/model/a"]
)
OUTSIDE_SOURCE = st.sampled_from(["../../../../outside.txt", f"{ABSOLUTE}/outside.txt"])
KIND = st.sampled_from(["file", "file", "dir", "symlink", "symlink", "hardlink"])


def rarely(draw: st.DrawFn) -> bool:
    return draw(st.integers(0, 15)) == 0


@st.composite
def archives(draw: st.DrawFn) -> list[Item]:
    items: list[Item] = []
    for _ in range(draw(st.integers(0, 8))):
        links = [item.name for item in items if item.kind == "symlink"]
        if rarely(draw):
            name = draw(ODD_NAME)
        elif links and draw(st.integers(0, 3)) == 0:
            name = f"{draw(st.sampled_from(links))}/{draw(COMPONENT)}"
        else:
            name = draw(PLAIN_NAME)
        kind = draw(KIND)
        if kind == "file":
            items.append(file(name, draw(st.binary(max_size=6))))
        elif kind == "dir":
            items.append(folder(name))
        elif kind == "symlink":
            items.append(symlink(name, draw(ABSOLUTE_TARGET if rarely(draw) else RELATIVE_TARGET)))
        else:
            earlier = [item.name for item in items if item.kind != "dir"]
            if rarely(draw):
                source = draw(OUTSIDE_SOURCE)
            elif earlier and draw(st.integers(0, 3)):
                source = draw(st.sampled_from(earlier))
            else:
                source = draw(PLAIN_NAME)
            items.append(hardlink(name, source))
    return items


def rooted(items: list[Item], sandbox: Path) -> list[Item]:
    def place(text: str) -> str:
        return str(sandbox) + text[1:] if text.startswith(ABSOLUTE) else text

    return [Item(i.name and place(i.name), i.kind, i.data, place(i.link), i.mode) for i in items]


def outcome(action: Callable[[], object]) -> str | None:
    """None when accepted, the message when refused; any other exception fails the test."""
    try:
        action()
    except ArchiveRejected as refused:
        return str(refused)
    return None


def expected_files(items: list[Item]) -> dict[str, bytes]:
    """Normalised path -> content of every regular file (hard links share their source's)."""
    contents: dict[str, bytes] = {}
    for item in items:
        name = posixpath.normpath(item.name)
        if item.kind == "file":
            contents[name] = item.data
        elif item.kind == "hardlink":
            contents[name] = contents[posixpath.normpath(item.link)]
    return contents


def assert_unpacked(destination: Path, contents: dict[str, bytes]) -> None:
    for name, data in contents.items():
        path = destination
        for part in name.split("/"):
            path = path / part
            assert not path.is_symlink(), f"{name} is unpacked under or as a link"
        assert path.read_bytes() == data
    inside = os.path.realpath(destination)
    for folder_path, dirs, names in os.walk(destination):
        for name in dirs + names:
            path = os.path.join(folder_path, name)
            if os.path.islink(path):
                resolved = os.path.realpath(path)
                assert os.path.commonpath([inside, resolved]) == inside, (path, resolved)


@settings(
    max_examples=300,
    deadline=None,
    database=None,  # no .hypothesis folder in the shared working tree
    suppress_health_check=[HealthCheck.too_slow],
)
@given(items=archives())
def test_no_archive_escapes_and_the_check_agrees_with_the_extraction(items: list[Item]) -> None:
    # A fresh sandbox per example: hypothesis calls this body many times per test.
    with tempfile.TemporaryDirectory(prefix="berth-archive-property-") as scratch:
        root = Path(scratch)
        sandbox = root / "sandbox"
        (sandbox / "victim").mkdir(parents=True)
        (sandbox / "victim" / "x").write_text("untouched")
        (sandbox / "outside.txt").write_text("untouched")
        for fmt in ("tar.gz", "zip"):
            chosen = [i for i in items if fmt != "zip" or i.kind != "hardlink"]
            check_one_format(root, sandbox, rooted(chosen, sandbox), fmt)


def check_one_format(root: Path, sandbox: Path, items: list[Item], fmt: str) -> None:
    # Four levels down, so every "../" the generator can write lands in the sandbox.
    model = sandbox / "x" / "y" / "z" / "model"
    physical = sandbox / "x" / "y" / "z" / "physical"
    model.mkdir(parents=True)
    physical.mkdir()
    archive = write_archive(root / "source", items, fmt)
    before = snapshot(sandbox, skip=(model, physical))

    inspected = outcome(lambda: inspect_archive(archive, archive.name, LIMITS))
    event(f"{fmt}: {'refused' if inspected else 'accepted'}")
    extracted = outcome(lambda: extract_archive(archive, archive.name, model, LIMITS))
    entries = read_entries(archive, archive_kind(archive.name))
    written = outcome(lambda: unpack(entries, physical, LIMITS.max_unpacked_bytes))

    assert snapshot(sandbox, skip=(model, physical)) == before
    assert inspected == extracted
    if extracted is None:
        assert written is None  # the writer never refuses what the model allows
        contents = expected_files(items)
        summary = inspect_archive(archive, archive.name, LIMITS)
        assert summary.files == set(contents)
        assert_unpacked(model, contents)
    # rmtree unlinks links, never follows them.
    shutil.rmtree(model)
    shutil.rmtree(physical)
