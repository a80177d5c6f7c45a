"""Known ways out of an extraction directory, each tried on tar, tar.gz and zip.

Every escape must be refused three times: by the upload check (``inspect_archive``), by
``extract_archive``, and by the physical writer alone (``unpack`` fed straight from the
reader, with no model in front of it), so the writer is proven on its own and not only
behind the model. After each, nothing outside the destination may have changed.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile

from artifacts.archives import (
    ArchiveRejected,
    Limits,
    archive_kind,
    extract_archive,
    inspect_archive,
)
from artifacts.archives.entries import read_entries
from artifacts.archives.writer import unpack
from artifacts.containers import build_container
from artifacts.models import Artifact, SourceArchive
from tests.archive_fixtures import (
    FORMATS,
    Item,
    expressible,
    file,
    folder,
    hardlink,
    snapshot,
    special,
    symlink,
    write_archive,
    zip_bytes,
)
from tests.build_fixtures import wait_for
from tests.conftest import ARTIFACTS, ApiClient, artifact_body, primary_container

LIMITS = Limits(max_files=200, max_unpacked_bytes=64 * 1024)

# CVE-2025-4517 (tarfile's "data" filter, fixed in 3.12.11 / 3.13.4): sixteen nested folders
# of 247-character names, each reachable through a one-letter link; a link created *through*
# those links sits past PATH_MAX, where os.path.realpath stops resolving and falls back to
# text, so the filter believes "../" * 16 and the chain after it stay inside.
LONG = "d" * 247
STEPS = "abcdefghijklmnop"
CVE_LINK = "/".join([*STEPS, "l" * 254])


def cve_2025_4517(_sandbox: Path) -> list[Item]:
    items: list[Item] = []
    for depth, step in enumerate(STEPS):
        parent = "/".join([LONG] * depth)
        items.append(folder(f"{parent}/{LONG}".lstrip("/")))
        items.append(symlink(f"{parent}/{step}".lstrip("/"), LONG))
    items.append(symlink(CVE_LINK, "../" * len(STEPS)))
    # From the destination, three levels up is the sandbox (see ``layout``).
    items.append(symlink("escape", CVE_LINK + "/../../.."))
    items.append(file("escape/canary"))
    return items


@dataclass(frozen=True)
class Escape:
    id: str
    items: Callable[[Path], list[Item]]  # given the sandbox, for absolute targets
    entry: str  # the entry the model must name
    physical_entry: str = ""  # the entry the writer alone names, when it is another one

    def physical(self) -> str:
        return self.physical_entry or self.entry


ESCAPES = [
    # Link chains: every link is checked where it really is, not where its name says.
    Escape(
        "chain-dot-then-dotdot",
        lambda s: [symlink("A", "."), symlink("B", "A/../.."), file("B/canary")],
        "B",
        "B/canary",
    ),
    Escape(  # the one from issue 10: inside on paper, the second link made through the first
        "chain-second-link-through-first",
        lambda s: [
            folder("a/b"),
            symlink("a/b/l1", "../.."),
            symlink("a/b/l1/l2", "../.."),
            file("a/b/l1/l2/canary"),
        ],
        "a/b/l1/l2",
    ),
    Escape("cve-2025-4517-past-path-max", cve_2025_4517, CVE_LINK),
    Escape(
        "link-loop",
        lambda s: [symlink("a", "b"), symlink("b", "a"), file("a/canary")],
        "b",
        "a/canary",
    ),
    Escape(
        "link-target-too-long",
        lambda s: [symlink("l", "x/" * 600 + "../" * 603), file("l/canary")],
        "l",
        "l/canary",
    ),
    # A symlinked parent, then a file under it.
    Escape(
        "symlinked-parent-outside",
        lambda s: [symlink("l", "../../.."), file("l/canary")],
        "l",
        "l/canary",
    ),
    Escape(
        "symlinked-parent-absolute",
        lambda s: [symlink("l", str(s / "victim")), file("l/file.txt", b"overwritten")],
        "l",
        "l/file.txt",
    ),
    Escape(
        "symlinked-parent-inside-then-file",
        lambda s: [folder("d"), symlink("l", "d"), file("l/canary")],
        "l/canary",
    ),
    # Replacing an earlier entry: a naive open(..., "wb") writes through the link.
    Escape(
        "file-replaces-symlink-outside",
        lambda s: [symlink("f", "../../../outside.txt"), file("f", b"overwritten")],
        "f",
    ),
    Escape(
        "file-replaces-symlink-inside",
        lambda s: [file("t"), symlink("f", "t"), file("f", b"overwritten")],
        "f",
    ),
    Escape(
        "folder-replaces-symlink",
        lambda s: [symlink("d", "../../../victim"), folder("d"), file("d/file.txt", b"x")],
        "d",
    ),
    Escape("duplicate-file", lambda s: [file("x", b"1"), file("x", b"2")], "x"),
    # Hard links: only to a regular file already extracted inside.
    Escape("hardlink-dotdot", lambda s: [hardlink("h", "../../../outside.txt")], "h"),
    Escape("hardlink-absolute", lambda s: [hardlink("h", str(s / "outside.txt"))], "h"),
    Escape(
        "hardlink-to-escaping-symlink",
        lambda s: [symlink("l", "../../../outside.txt"), hardlink("h", "l")],
        "l",
        "h",
    ),
    Escape(
        "hardlink-to-inside-symlink",
        lambda s: [file("t"), symlink("l", "t"), hardlink("h", "l")],
        "h",
    ),
    Escape(
        "hardlink-through-symlinked-parent",
        lambda s: [symlink("l", "../../../victim"), hardlink("h", "l/file.txt")],
        "l",
        "h",
    ),
    Escape("hardlink-to-later-name", lambda s: [hardlink("h", "later"), file("later")], "h"),
    Escape("hardlink-to-folder", lambda s: [folder("d"), hardlink("h", "d")], "h"),
    # Names.
    Escape("dotdot-name", lambda s: [file("../../../canary")], "../../../canary"),
    Escape("nested-dotdot-name", lambda s: [file("a/../../canary")], "a/../../canary"),
    Escape("absolute-name", lambda s: [file(str(s / "canary"))], "{sandbox}/canary"),
    Escape("backslash-name", lambda s: [file("a\\..\\..\\canary")], "a\\..\\..\\canary"),
    # Special files.
    Escape("fifo", lambda s: [special("fifo", "fifo")], "fifo"),
    Escape("char-device", lambda s: [special("null", "chr")], "null"),
    Escape("block-device", lambda s: [special("disk", "blk")], "disk"),
]


def layout(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A sandbox with things worth attacking, and two destinations three levels down."""
    sandbox = tmp_path / "sandbox"
    (sandbox / "victim").mkdir(parents=True)
    (sandbox / "victim" / "file.txt").write_text("untouched")
    (sandbox / "outside.txt").write_text("untouched")
    model = sandbox / "x" / "y" / "model"
    physical = sandbox / "x" / "y" / "physical"
    model.mkdir(parents=True)
    physical.mkdir()
    return sandbox, model, physical


def names(refused: ArchiveRejected, entry: str) -> bool:
    """The message quotes the entry as the archive spells it (zip folders end in "/")."""
    return repr(entry) in str(refused) or repr(entry + "/") in str(refused)


# Every escape on every format that can express it (zip has no hard links).
CASES = [
    pytest.param(escape, fmt, id=f"{escape.id}-{fmt}")
    for escape in ESCAPES
    for fmt in FORMATS
    if expressible(escape.items(Path("/sandbox")), fmt)
]


@pytest.mark.parametrize(("escape", "fmt"), CASES)
def test_known_escapes_are_refused_by_every_layer(tmp_path: Path, escape: Escape, fmt: str) -> None:
    sandbox, model, physical = layout(tmp_path)
    items = escape.items(sandbox)
    archive = write_archive(tmp_path / "source", items, fmt)
    named = escape.entry.replace("{sandbox}", str(sandbox))
    before = snapshot(sandbox, skip=(model, physical))

    with pytest.raises(ArchiveRejected) as refused:
        inspect_archive(archive, archive.name, LIMITS)
    assert names(refused.value, named)

    with pytest.raises(ArchiveRejected) as refused:
        extract_archive(archive, archive.name, model, LIMITS)
    assert names(refused.value, named)
    assert snapshot(sandbox, skip=(model, physical)) == before

    # The writer on its own, straight from the reader: no model in front of it.
    entries = read_entries(archive, archive_kind(archive.name))  # a generator: reads lazily
    with pytest.raises(ArchiveRejected) as refused:
        unpack(entries, physical, LIMITS.max_unpacked_bytes)
    assert names(refused.value, escape.physical().replace("{sandbox}", str(sandbox)))
    assert snapshot(sandbox, skip=(model, physical)) == before


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_link_that_a_later_entry_turns_outward_is_refused(tmp_path: Path, fmt: str) -> None:
    """``m -> x/y`` goes through ``x``, which does not exist yet, so ``l -> m/../..`` looks
    inside when it arrives; ``x -> .`` then makes ``m`` one level shallower and ``l`` point
    above the destination. Nothing is written through ``l``: only the final check sees it."""
    sandbox, model, physical = layout(tmp_path)
    items = [symlink("m", "x/y"), symlink("l", "m/../.."), symlink("x", ".")]
    archive = write_archive(tmp_path / "source", items, fmt)
    before = snapshot(sandbox, skip=(model, physical))
    for check in (
        lambda: inspect_archive(archive, archive.name, LIMITS),
        lambda: extract_archive(archive, archive.name, model, LIMITS),
    ):
        with pytest.raises(ArchiveRejected, match=r"^'l' links to 'm/\.\./\.\.', outside"):
            check()
    assert snapshot(sandbox, skip=(model, physical)) == before


@pytest.mark.parametrize("fmt", FORMATS)
def test_ordinary_links_and_hard_links_still_unpack(tmp_path: Path, fmt: str) -> None:
    """The rules are not a blanket ban: links inside, links made before their target, and
    (tar) hard links to a file already unpacked all work, with the modes Berth sets."""
    items = [
        symlink("current", "releases/v2"),  # before its target exists
        folder("releases/v2"),
        file("releases/v2/run.sh", b"#!/bin/sh\n", mode=0o4775),
        symlink("releases/v2/up", "../.."),
        file("README", b"hello"),
    ]
    if fmt != "zip":
        items.append(hardlink("README.copy", "README"))
    archive = write_archive(tmp_path / "source", items, fmt)
    destination = tmp_path / "out"
    destination.mkdir()
    summary = inspect_archive(archive, archive.name, LIMITS)
    extract_archive(archive, archive.name, destination, LIMITS)
    assert (destination / "current" / "run.sh").read_bytes() == b"#!/bin/sh\n"
    assert (destination / "current" / "up" / "README").read_bytes() == b"hello"
    assert os.stat(destination / "releases/v2/run.sh").st_mode & 0o7777 == 0o755  # no setuid
    assert os.stat(destination / "README").st_mode & 0o7777 == 0o644
    assert os.stat(destination / "releases").st_mode & 0o7777 == 0o755
    if fmt != "zip":
        assert os.path.samefile(destination / "README", destination / "README.copy")
    assert summary.files == {"releases/v2/run.sh", "README"} | (
        {"README.copy"} if fmt != "zip" else set()
    )


def built_from_source(api: ApiClient) -> dict[str, Any]:
    web = primary_container(imageBuildConfig={"dockerfile": {"source": "provided"}})
    del web["imageUri"]
    return api.create_artifact(
        **artifact_body(spec={"containerGroups": [{"name": "default", "containers": [web]}]})
    )


ISSUE_CHAIN = [
    file("Dockerfile", b"FROM scratch\n"),
    folder("a/b"),
    symlink("a/b/l1", "../.."),
    symlink("a/b/l1/l2", "../.."),
    file("a/b/l1/l2/canary", b"written outside"),
]


@pytest.mark.django_db
def test_the_upload_of_the_issues_zip_answers_422_naming_the_entry(api: ApiClient) -> None:
    artifact = built_from_source(api)
    upload = SimpleUploadedFile("source.zip", zip_bytes(ISSUE_CHAIN))
    response = api.client.post(
        f"{ARTIFACTS}/{artifact['id']}/source", {"file": upload}, headers=api.headers
    )
    assert response.status_code == 422, response.content
    (problem,) = response.json()["detail"]
    assert problem["loc"] == ["body", "file"]
    assert problem["type"] == "archive_rejected"
    assert problem["msg"].startswith("'a/b/l1/l2' is inside 'a/b/l1', which is a link")
    assert SourceArchive.objects.count() == 0


def store_unchecked(api: ApiClient, artifact_id: str, name: str, data: bytes) -> None:
    """What source_upload stores, minus its inspection (as if the check had a hole), as the
    draft's build source."""
    artifact = Artifact.objects.get(pk=artifact_id)
    source = SourceArchive.objects.create(
        artifact=artifact,
        container_name="web",
        file=ContentFile(data, name=name),
        filename=name,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        file_count=4,
        unpacked_size=64,
        uploaded_by=api.user,
    )
    _, config = build_container(artifact.spec, "web")
    config["codeRef"] = source.id
    artifact.save(update_fields=["spec", "updated_at"])


def real_build(api: ApiClient, artifact_id: str) -> dict[str, Any]:
    """Start a build of the draft through the API and wait for its end."""
    response = api.post(f"{ARTIFACTS}/{artifact_id}/builds")
    assert response.status_code == 202, response.content
    (build_id,) = response.json()["buildIds"]

    def ended() -> dict[str, Any] | None:
        build = api.get(f"{ARTIFACTS}/{artifact_id}/builds/{build_id}").json()
        return build if build["status"] in ("COMPLETED", "FAILED", "CANCELLED") else None

    build: dict[str, Any] = wait_for(ended, timeout=60)
    return build


def top_level() -> set[str]:
    """The names at the file system's root, where the relative escapes aim from a build's
    context (``<tempdir>/berth-build-…/context``, three levels down)."""
    return set(os.listdir("/"))


# One real build of the issue's archive must fail naming the entry and leave the canary its
# links aim at (this test's folder) unwritten; then a real build of every known escape, on
# every format, must fail naming its entry and change nothing outside. One worker for all.
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("celery_worker_thread")
def test_real_builds_of_escaping_archives_fail_and_write_nothing_outside(
    api: ApiClient, build_settings: str, tmp_path: Path
) -> None:
    created = built_from_source(api)
    # The build unpacks into <tempdir>/berth-build-<id>-<random>/context: the second link
    # sits in the context (through the first), so "../.." is the temp dir, and from there
    # the relative path to this test's folder.
    towards = os.path.relpath(tmp_path, tempfile.gettempdir())
    data = zip_bytes(
        [
            file("Dockerfile", f"FROM {build_settings}\nUSER 1000\n".encode()),
            folder("a/b"),
            symlink("a/b/l1", "../.."),
            symlink("a/b/l1/l2", f"../../{towards}"),
            file("a/b/l1/l2/canary", b"written outside"),
        ]
    )
    store_unchecked(api, created["id"], "source.zip", data)
    before = snapshot(tmp_path)

    build = real_build(api, created["id"])
    assert build["status"] == "FAILED"
    assert "'a/b/l1/l2'" in build["message"], build["message"]
    assert not (tmp_path / "canary").exists()
    assert snapshot(tmp_path) == before
    leftovers = list(Path(tempfile.gettempdir()).glob(f"berth-build-{build['id']}-*"))
    assert leftovers == []  # its folder is gone too, and with it everything it unpacked

    sandbox, _model, _physical = layout(tmp_path)
    before, root_before = snapshot(sandbox), top_level()
    wrong = []
    for param in CASES:
        escape, fmt = param.values
        archive = write_archive(tmp_path / f"{escape.id}-source", escape.items(sandbox), fmt)
        store_unchecked(api, created["id"], archive.name, archive.read_bytes())
        build = real_build(api, created["id"])
        named = escape.entry.replace("{sandbox}", str(sandbox))
        message = build["message"]
        # Zip folder names are quoted as the archive spells them, with a trailing "/".
        if build["status"] != "FAILED" or not any(
            repr(name) in message for name in (named, named + "/")
        ):
            wrong.append((param.id, build["status"], build["message"]))
    assert wrong == []
    assert snapshot(sandbox) == before
    assert top_level() == root_before
