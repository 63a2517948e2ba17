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


def disk_full_after(monkeypatch, limit: int) -> None:
    """os.write in tcpviz.files writes up to ``limit`` bytes in all, then fails as a full disk."""
    real = os.write
    written = 0

    def write(fd, data):
        nonlocal written
        if written >= limit:
            raise OSError(28, "No space left on device")
        count = real(fd, bytes(data[: limit - written]))
        written += count
        return count

    monkeypatch.setattr(files.os, "write", write)


@pytest.mark.parametrize("failing", ["write", "replace"])
def test_a_failure_leaves_the_old_file_and_no_temporary_file(tmp_path, monkeypatch, failing):
    target = tmp_path / "slide.svg"
    target.write_text("the old diagram")
    if failing == "write":
        disk_full_after(monkeypatch, 4096)  # half-way through the new diagram
    else:

        def fail(*args, **kwargs):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(files.os, failing, fail)
    with pytest.raises(OSError, match="No space left"):
        write_atomic(target, "<svg>" + "x" * 100_000)
    assert target.read_text() == "the old diagram"
    assert leftovers(tmp_path) == []


def test_a_failure_writing_a_new_file_creates_nothing(tmp_path, monkeypatch):
    disk_full_after(monkeypatch, 0)
    with pytest.raises(OSError, match="No space left"):
        write_atomic(tmp_path / "new.pdf", b"%PDF-1.5")
    assert list(tmp_path.iterdir()) == []


def test_short_writes_are_continued_until_all_is_written(tmp_path, monkeypatch):
    # os.write may write less than asked (a signal, a nearly full disk).
    real = os.write
    monkeypatch.setattr(files.os, "write", lambda fd, data: real(fd, bytes(data[:1000])))
    data = bytes(range(256)) * 40
    assert write_atomic(tmp_path / "big.png", data).read_bytes() == data


def record_syncs(monkeypatch) -> list[str]:
    """What write_atomic does, in order: 'fsync' of a file or directory, and 'replace'."""
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        kind = "directory" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file"
        events.append(f"fsync {kind}")
        real_fsync(fd)

    def replace(source, destination):
        events.append("replace")
        real_replace(source, destination)

    monkeypatch.setattr(files.os, "fsync", fsync)
    monkeypatch.setattr(files.os, "replace", replace)
    return events


def test_exports_are_not_fsynced_by_default(tmp_path, monkeypatch):
    # os.replace alone keeps the destination whole whatever happens to the program; fsync
    # would only add surviving a power cut, at more than the rest of an export costs.
    events = record_syncs(monkeypatch)
    write_atomic(tmp_path / "slide.svg", "<svg/>")
    assert events == ["replace"]


@pytest.mark.skipif(os.name != "posix", reason="directories are fsynced on POSIX only")
def test_durable_flushes_the_data_before_the_rename_and_the_rename_after(tmp_path, monkeypatch):
    events = record_syncs(monkeypatch)
    target = tmp_path / "table.toml"
    target.write_text("old")
    write_atomic(target, "new", durable=True)
    assert events == ["fsync file", "replace", "fsync directory"]
    assert target.read_text() == "new"


def test_a_failing_fsync_leaves_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "table.toml"
    target.write_text("old")
    monkeypatch.setattr(files.os, "fsync", lambda fd: (_ for _ in ()).throw(OSError("disk gone")))
    with pytest.raises(OSError, match="disk gone"):
        write_atomic(target, "new", durable=True)
    assert target.read_text() == "old"
    assert leftovers(tmp_path) == []


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
