"""Write files atomically: the whole new content appears at once, or nothing changes.

Every file tcpviz writes (SVG, PNG, PDF, HTML, table files, the regenerated layouts) goes
through :func:`write_atomic`: the data goes to a temporary file in the destination's directory
and only then is renamed over the destination. A crash of the program, a full disk or an error
half-way leaves the old file (or no file) in place, never half a diagram.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["write_atomic"]


def _umask() -> int:
    """The process's umask, read without changing it where the system allows."""
    # os.umask can only be read by setting it, which races with other threads; Linux shows it
    # in /proc, so try there first.
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _new_file_mode(path: Path) -> int:
    """Keep the mode of the file being replaced; a new file gets the usual ``0o666 & ~umask``."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        return 0o666 & ~_umask()


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable on POSIX; Windows cannot open a directory this way.
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_all(fd: int, payload: bytes) -> None:
    # os.write may write less than asked (a signal, a nearly full disk): loop until all is out.
    view = memoryview(payload)
    while view:
        view = view[os.write(fd, view) :]


def write_atomic(path: str | os.PathLike[str], data: bytes | str, *, durable: bool = False) -> Path:
    """Write ``data`` (``str`` is encoded as UTF-8) to ``path`` atomically and return the path.

    The data goes to a temporary file next to ``path``, which then replaces ``path`` with
    :func:`os.replace`. On any failure the temporary file is removed, ``path`` is left as it
    was, and the error is raised again. ``durable=True`` also flushes the file and the rename
    to the disk (``fsync``) before returning, so that they survive a power cut too.
    """
    # Why durable is off by default: os.replace of a completely written file already gives
    # what an export needs, whatever happens to the program (an exception, Ctrl-C, a kill):
    # the destination holds the old file or the whole new one, never a partial one. fsync
    # adds only surviving an operating-system crash or a power cut in the seconds before the
    # kernel writes the data back on its own (ext4, by default, starts writing a file renamed
    # over another at once). The two fsyncs cost 0.3 to 0.7 ms a save on this project's idle
    # build machine, up to a fifth of what tcpviz adds to a Graphviz run, and 10 ms or more on
    # a busy disk. Every file tcpviz writes is made from a table the program holds and can be
    # made again in a moment, so a teaching tool's exports do not pay for that; a caller
    # keeping data it could not make again passes durable=True.
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    directory = path.parent
    if not directory.is_dir():
        raise FileNotFoundError(f"cannot write {str(path)!r}: no directory {str(directory)!r}")
    mode = _new_file_mode(path)
    # Same directory, so os.replace is a rename within one file system (atomic), never a copy.
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        try:
            _write_all(fd, payload)
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        # mkstemp makes the file 0o600; give it the mode the destination should have.
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    if durable:
        _fsync_directory(directory)
    return path
