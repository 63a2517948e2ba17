"""tcpviz.files.write_atomic: the whole new content or nothing, never half a file."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
import time

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


# -- what is not a regular file is written to, not replaced (issue 8, items 1 and 8) -----------


def test_a_fifo_is_written_to_not_replaced(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []

    def read() -> None:
        with open(fifo, "rb") as reader:
            received.append(reader.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    write_atomic(fifo, "<svg/>")
    reader.join(timeout=10)
    assert received == [b"<svg/>"]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


def test_a_character_device_is_written_to_not_replaced(tmp_path):
    # As root (Docker, Colab), replacing /dev/null with a regular file would break the system;
    # a device node of our own in tmp_path shows the same without risking the real one.
    null = tmp_path / "null"
    try:
        os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        with open(null, "wb") as probe:
            probe.write(b"")
    except OSError as error:
        pytest.skip(f"cannot make or open a device node here: {error}")
    write_atomic(null, b"x" * 10_000)
    assert stat.S_ISCHR(os.lstat(null).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null"]


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd (Linux)")
@pytest.mark.parametrize("name", ["fd", "symlink"])
def test_a_file_descriptors_name_is_written_to_not_replaced(tmp_path, name):
    # What /dev/stdout is: a symlink to /proc/self/fd/1. A pipe of our own stands in for stdout.
    read_end, write_end = os.pipe()
    try:
        if name == "fd":
            target = f"/dev/fd/{write_end}"
        else:
            target = tmp_path / "stdout"
            target.symlink_to(f"/proc/self/fd/{write_end}")
        write_atomic(target, "<svg/>")
        os.close(write_end)
        write_end = -1
        with os.fdopen(read_end, "rb") as reader:
            read_end = -1
            assert reader.read() == b"<svg/>"
    finally:
        for fd in (read_end, write_end):
            if fd >= 0:
                os.close(fd)
    if name == "symlink":
        assert target.is_symlink()
        assert sorted(p.name for p in tmp_path.iterdir()) == ["stdout"]


def test_a_symlinks_target_is_replaced_not_the_link(tmp_path):
    (tmp_path / "real").mkdir()
    real = tmp_path / "real" / "slide.svg"
    real.write_text("old")
    real.chmod(0o640)
    link = tmp_path / "slide.svg"
    link.symlink_to(real)
    write_atomic(link, "new")
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == "new"
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert leftovers(tmp_path) == [] and leftovers(tmp_path / "real") == []


def test_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "slide.svg"
    link.symlink_to("made.svg")
    write_atomic(link, "new")
    assert link.is_symlink()
    assert (tmp_path / "made.svg").read_text() == "new"


@pytest.mark.parametrize("length", [242, 250, 255])
def test_names_up_to_the_file_systems_limit_can_be_written(tmp_path, length):
    target = tmp_path / ("d" * (length - 4) + ".svg")
    assert len(target.name.encode()) == length
    write_atomic(target, "<svg/>")
    assert target.read_text() == "<svg/>"
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def test_a_directory_is_named_as_the_target_not_the_temporary_file(tmp_path):
    (tmp_path / "adir").mkdir()
    with pytest.raises(IsADirectoryError) as caught:
        write_atomic(tmp_path / "adir", "x")
    message = str(caught.value)
    assert "is a directory" in message and str(tmp_path / "adir") in message
    assert ".tmp" not in message
    assert caught.value.filename == str(tmp_path / "adir")


def test_errors_name_the_target_not_the_temporary_file(tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device", args[0])

    monkeypatch.setattr(files.os, "replace", fail)
    target = tmp_path / "slide.svg"
    with pytest.raises(OSError, match="No space left") as caught:
        write_atomic(target, "x")
    assert caught.value.filename == str(target)
    assert ".tmp" not in str(caught.value)


_SLOW_WRITER = """
import os, sys, time
from tcpviz import files
real = os.write
def slow(fd, data):
    time.sleep(0.05)
    return real(fd, bytes(data[:100]))
files.os.write = slow
print("writing", flush=True)
files.write_atomic(sys.argv[1], b"x" * 1_000_000)
"""


@pytest.mark.skipif(os.name != "posix", reason="kill -9 is POSIX")
def test_kill_9_during_a_write_leaves_no_temporary_file(tmp_path):
    # On Linux the data goes to an unnamed file (O_TMPFILE) that gets a name only once it is
    # complete, so a process killed while writing leaves nothing behind.
    target = tmp_path / "slide.svg"
    target.write_text("old")
    child = subprocess.Popen(
        [sys.executable, "-c", _SLOW_WRITER, str(target)], stdout=subprocess.PIPE
    )
    try:
        assert child.stdout.readline() == b"writing\n"
        time.sleep(0.3)  # well into the write: 100 bytes every 50 ms
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
        child.stdout.close()
    assert target.read_text() == "old"
    if not files._UNNAMED_TEMPORARIES:
        pytest.skip("this system has no unnamed temporary files (O_TMPFILE)")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["slide.svg"]


@pytest.mark.parametrize("why", ["no O_TMPFILE", "cannot link"])
def test_without_unnamed_temporaries_a_short_named_one_is_used(tmp_path, monkeypatch, why):
    if why == "no O_TMPFILE":
        monkeypatch.setattr(files, "_UNNAMED_TEMPORARIES", False)
    else:

        def refuse(*args, **kwargs):
            raise OSError(1, "Operation not permitted")  # as some FUSE file systems answer

        monkeypatch.setattr(files.os, "link", refuse)
    seen: list[str] = []
    real_replace = os.replace

    def replace(source, destination):
        seen.append(os.path.basename(source))
        real_replace(source, destination)

    monkeypatch.setattr(files.os, "replace", replace)
    target = tmp_path / ("n" * 251 + ".svg")
    write_atomic(target, "<svg/>")
    assert target.read_text() == "<svg/>"
    assert len(seen) == 1 and seen[0].startswith(".tcpviz-") and seen[0].endswith(".tmp")
    assert [p.name for p in tmp_path.iterdir()] == [target.name]
    # And a failure on that path leaves nothing either.
    disk_full_after(monkeypatch, 2)
    with pytest.raises(OSError, match="No space left"):
        write_atomic(target, "<svg>longer</svg>")
    assert target.read_text() == "<svg/>"
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def test_an_empty_name_is_an_error_not_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match="an empty file name"):
        write_atomic("", "x")
    assert list(tmp_path.iterdir()) == []
