"""The one atomic write (pipeline.files) and the kit's files on top of it: whole files
or none, the stated fsync rule, write-once records."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from channels.kit.files import copy_into, folder_lock, write_if_changed
from pipeline import files
from pipeline.files import atomic_writer, write_atomic


@pytest.fixture
def fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What was fsync-ed, in order: 'file' or 'folder' (the real fsync still runs)."""
    seen: list[str] = []
    real = os.fsync

    def recording(fd: int) -> None:
        seen.append("folder" if os.path.isdir(f"/proc/self/fd/{fd}") else "file")
        real(fd)

    monkeypatch.setattr(files.os, "fsync", recording)
    return seen


def test_a_write_fsyncs_the_file_then_the_folder_and_leaves_no_temporary(
    tmp_path: Path, fsyncs: list[str]
) -> None:
    target = tmp_path / "deep" / "page.html"
    write_atomic(target, b"<p>new</p>")
    assert target.read_bytes() == b"<p>new</p>"
    assert fsyncs == ["file", "folder"]
    assert [p.name for p in target.parent.iterdir()] == ["page.html"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "feed.xml"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_writer(target) as out:
        out.write(b"half of the new")
        raise RuntimeError("renderer failed")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["feed.xml"]


def test_write_once_keeps_the_first_record(tmp_path: Path) -> None:
    target = tmp_path / "record.json"
    with atomic_writer(target, replace=False) as out:
        out.write(b"first")
    with pytest.raises(FileExistsError), atomic_writer(target, replace=False) as out:
        out.write(b"second")
    assert target.read_bytes() == b"first"
    assert [p.name for p in tmp_path.iterdir()] == ["record.json"]


def test_unchanged_bytes_are_not_rewritten(tmp_path: Path, fsyncs: list[str]) -> None:
    target = tmp_path / "index.html"
    assert write_if_changed(target, b"same") is True
    before = target.stat().st_ino
    assert write_if_changed(target, b"same") is False
    assert target.stat().st_ino == before and fsyncs == ["file", "folder"]
    assert write_if_changed(target, b"changed") is True and target.read_bytes() == b"changed"


def test_copy_into_a_drop_folder(tmp_path: Path, fsyncs: list[str]) -> None:
    source = tmp_path / "package.tar"
    source.write_bytes(os.urandom(3 << 20))
    copied = copy_into(source, tmp_path / "drop")
    assert copied == tmp_path / "drop" / "package.tar" and copied.read_bytes() == source.read_bytes()
    assert fsyncs == ["file", "folder"]


def test_under_the_folder_lock_each_folder_is_synced_once_before_release(
    tmp_path: Path, fsyncs: list[str]
) -> None:
    with folder_lock(tmp_path, timeout=5):
        for n in range(3):
            write_atomic(tmp_path / "list" / f"{n}.html", b"page")
        write_atomic(tmp_path / "index.html", b"front")
        assert fsyncs == ["file"] * 4, "folders wait for the end of the work"
    assert fsyncs == ["file"] * 4 + ["folder"] * 2
