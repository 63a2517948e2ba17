"""tcpviz.files.write_atomic: the whole new content or nothing, never half a file."""

from __future__ import annotations

import os
import stat

import pytest

from tcpviz import files
from tcpviz.files import write_atomic


def leftovers(directory) -> list[str]:
    """Temporary files write_atomic may have left behind."""
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_writes_bytes_and_returns_the_path(tmp_path):
    target = tmp_path / "diagram.png"
    result = write_atomic(target, b"\x89PNG\r\n\x1a\n\x00\xff")
    assert result == target
    assert target.read_bytes() == b"\x89PNG\r\n\x1a\n\x00\xff"
    assert leftovers(tmp_path) == []


def test_str_is_written_as_utf8(tmp_path):
    target = write_atomic(str(tmp_path / "label.svg"), "SYN-SENT → ESTABLISHED, é")
    assert target.read_bytes() == "SYN-SENT → ESTABLISHED, é".encode()


def test_replaces_an_existing_file_and_keeps_its_mode(tmp_path):
    target = tmp_path / "slide.svg"
    target.write_text("old")
    target.chmod(0o640)
    write_atomic(target, "new")
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_a_new_file_gets_the_usual_permissions_not_the_temp_files(tmp_path):
    # mkstemp makes 0o600 files; a saved diagram should be readable like any other file.
    old = os.umask(0o022)
    try:
        target = write_atomic(tmp_path / "new.svg", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_a_failure_leaves_the_old_file_and_no_temporary_file(tmp_path, monkeypatch, failing):
    target = tmp_path / "slide.svg"
    target.write_text("the old diagram")

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, failing, fail)
    with pytest.raises(OSError, match="No space left"):
        write_atomic(target, "<svg>" + "x" * 100_000)
    assert target.read_text() == "the old diagram"
    assert leftovers(tmp_path) == []


def test_a_failure_writing_a_new_file_creates_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(files.os, "fsync", lambda fd: (_ for _ in ()).throw(OSError("disk gone")))
    with pytest.raises(OSError, match="disk gone"):
        write_atomic(tmp_path / "new.pdf", b"%PDF-1.5")
    assert list(tmp_path.iterdir()) == []


def test_an_interrupt_also_cleans_up(tmp_path, monkeypatch):
    target = tmp_path / "slide.svg"
    target.write_text("old")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(files.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, "new")
    assert target.read_text() == "old"
    assert leftovers(tmp_path) == []


def test_a_missing_directory_is_named(tmp_path):
    missing = tmp_path / "no" / "such" / "dir"
    with pytest.raises(FileNotFoundError, match="no directory") as caught:
        write_atomic(missing / "x.svg", "x")
    assert str(missing) in str(caught.value)
    assert not (tmp_path / "no").exists()


def test_a_directory_in_the_way_is_an_error_and_leaves_nothing(tmp_path):
    (tmp_path / "taken.svg").mkdir()
    with pytest.raises(OSError):
        write_atomic(tmp_path / "taken.svg", "x")
    assert (tmp_path / "taken.svg").is_dir()
    assert leftovers(tmp_path) == []
