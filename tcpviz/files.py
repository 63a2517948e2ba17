"""Write files atomically: the whole new content appears at once, or nothing changes.

Every file tcpviz writes (SVG, PNG, PDF, HTML, table files, the regenerated layouts) goes
through :func:`write_atomic`. For a regular file (or a new path) the data goes to a temporary
file in the destination's directory and only then is renamed over the destination. A crash of
the program, a full disk or an error half-way leaves the old file (or no file) in place, never
half a diagram.

What is not a regular file is written to, not replaced: a device (``/dev/null``), a FIFO, or the
name of an open file descriptor (``/dev/stdout``, ``/dev/fd/3``). Replacing those would, as
root, turn ``/dev/null`` into a regular file or swap the ``/dev/stdout`` link for a file nobody
reads. A symlink stays a symlink: its target is replaced.

The temporary file: on Linux it has no name until it is complete (``O_TMPFILE``), so even
``kill -9`` during a write leaves nothing behind; it is then linked in under a short name
(``.tcpviz-XXXXXXXX.tmp``, so names up to the 255-byte limit work) and renamed at once. Elsewhere
(other systems, file systems without ``O_TMPFILE``) it is created under that short name from the
start; a process killed at that moment leaves that file, which the prefix makes recognisable as
tcpviz's and safe to delete. Errors name the destination, never the temporary file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
from pathlib import Path

__all__ = ["write_atomic"]

#: Whether this system has unnamed temporary files (Linux's ``O_TMPFILE``).
_UNNAMED_TEMPORARIES = hasattr(os, "O_TMPFILE") and os.path.isdir("/proc/self/fd")

# The names of open file descriptors: writing there means writing to that open file, whatever
# it is (a pipe, a terminal, a file the shell redirected to), never replacing a directory entry.
_DESCRIPTOR_NAME = re.compile(
    r"/(?:dev/(?:fd/\d+|std(?:in|out|err))|proc/(?:self|thread-self|\d+)(?:/task/\d+)?/fd/\d+)"
)
_MAX_LINKS = 40  # what Linux allows when it follows a chain of symlinks (ELOOP beyond)


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


def _names_a_descriptor(path: Path) -> bool:
    """Whether ``path``, or a symlink on the way from it, is the name of an open descriptor."""
    current = os.path.abspath(path)
    for _ in range(_MAX_LINKS):
        if _DESCRIPTOR_NAME.fullmatch(current):
            return True
        try:
            link = os.readlink(current)
        except OSError:  # not a symlink, or not there
            return False
        current = os.path.normpath(os.path.join(os.path.dirname(current), link))
    return False


def _write_through(path: Path, payload: bytes, durable: bool) -> None:
    """Write to what ``path`` already is (a device, a FIFO, an open descriptor's file)."""
    flags = os.O_WRONLY | getattr(os, "O_CLOEXEC", 0)
    with contextlib.suppress(OSError):
        if stat.S_ISREG(os.stat(path).st_mode):
            flags |= os.O_TRUNC  # /dev/stdout redirected to a file: the diagram, not old + new
    fd = os.open(path, flags)
    try:
        _write_all(fd, payload)
        if durable:
            with contextlib.suppress(OSError):  # a pipe or a terminal cannot be synced
                os.fsync(fd)
    finally:
        os.close(fd)


def _temporary_name(directory: Path) -> Path:
    # Short and fixed (22 bytes) so that any destination name the file system allows works.
    # os.urandom is what secrets.token_hex reads; the secrets module costs 3 ms to import.
    return directory / f".tcpviz-{os.urandom(4).hex()}.tmp"


def _open_unnamed(directory: Path) -> int | None:
    """An unnamed file in ``directory`` (Linux ``O_TMPFILE``), or ``None`` where unsupported."""
    if not _UNNAMED_TEMPORARIES:
        return None
    try:
        return os.open(directory, os.O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC, 0o600)
    except OSError as error:
        # EOPNOTSUPP/EISDIR/EINVAL: this file system or kernel has no O_TMPFILE; fall back.
        if error.errno in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT):
            return None
        raise


def _link_in(fd: int, directory: Path) -> Path:
    """Give the unnamed file ``fd`` a fresh short name in ``directory`` and return it."""
    directory_fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        for _ in range(100):  # bounded: a clash of 32 random bits is already unlikely
            temporary = _temporary_name(directory)
            try:
                # dst_dir_fd makes CPython call linkat() with AT_SYMLINK_FOLLOW, which is what
                # links the file behind the /proc name; plain link() would not follow it.
                os.link(
                    f"/proc/self/fd/{fd}",
                    temporary.name,
                    dst_dir_fd=directory_fd,
                    follow_symlinks=True,
                )
            except FileExistsError:
                continue
            return temporary
        raise FileExistsError(errno.EEXIST, "no free temporary name", str(directory))
    finally:
        os.close(directory_fd)


def _open_named(directory: Path) -> tuple[int, Path]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):  # bounded, as above
        temporary = _temporary_name(directory)
        try:
            return os.open(temporary, flags, 0o600), temporary
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(directory))


# What linkat() of an unnamed file may answer where the file system cannot do it (FUSE, some
# network file systems, a /proc that hides descriptors): write a named temporary file instead.
_CANNOT_LINK = {errno.EPERM, errno.EXDEV, errno.ENOENT, errno.EOPNOTSUPP, errno.EMLINK}


def _replace(target: Path, payload: bytes, mode: int, durable: bool) -> None:
    """Write ``payload`` to a temporary file beside ``target``, then rename it over ``target``."""
    directory = target.parent
    fd = _open_unnamed(directory)
    if fd is not None:
        try:
            _write_all(fd, payload)
            if durable:
                os.fsync(fd)
            temporary = _link_in(fd, directory)
        except OSError as error:
            if error.errno not in _CANNOT_LINK:
                raise
            temporary = None
        finally:
            os.close(fd)
        if temporary is not None:
            _put_in_place(temporary, target, mode)
            return
    fd, temporary = _open_named(directory)
    try:
        try:
            _write_all(fd, payload)
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _put_in_place(temporary, target, mode)


def _put_in_place(temporary: Path, target: Path, mode: int) -> None:
    """Rename the complete ``temporary`` over ``target``; on any failure remove it."""
    try:
        # The temporary file is 0o600; give it the mode the destination should have.
        os.chmod(temporary, mode)
        # Same directory, so os.replace is a rename within one file system (atomic).
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _naming(error: OSError, path: Path) -> OSError:
    """The same error, naming the destination the caller asked for (not a temporary file)."""
    if error.errno is None:
        return error
    return type(error)(error.errno, error.strerror, str(path))


def write_atomic(path: str | os.PathLike[str], data: bytes | str, *, durable: bool = False) -> Path:
    """Write ``data`` (``str`` is encoded as UTF-8) to ``path`` atomically and return the path.

    A regular file or a new path is replaced whole (:func:`os.replace` of a temporary file
    written beside it): on any failure the temporary file is removed, ``path`` is left as it
    was, and the error (naming ``path``) is raised again. A symlink's target is replaced, not
    the link. A device, a FIFO or an open descriptor's name (``/dev/stdout``) is written to
    directly, as ``cat > /dev/null`` would. ``durable=True`` also flushes the file and the
    rename to the disk (``fsync``) before returning, so that they survive a power cut too.

    Raises
    ------
    FileNotFoundError
        The directory ``path`` is in does not exist.
    IsADirectoryError
        ``path`` is a directory.
    OSError
        Anything else the system refuses (permissions, a full disk), naming ``path``.
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
    if os.fspath(path) in ("", b""):  # Path("") would be ".", the current directory
        raise FileNotFoundError(errno.ENOENT, "an empty file name: give the file to write", "")
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    try:
        if _names_a_descriptor(path):
            _write_through(path, payload, durable)
            return path
        try:
            existing = os.stat(path)  # follows symlinks: what the path finally names
        except FileNotFoundError:
            existing = None
        if existing is not None and stat.S_ISDIR(existing.st_mode):
            raise IsADirectoryError(
                errno.EISDIR, "is a directory: give the name of a file in it", str(path)
            )
        if existing is not None and not stat.S_ISREG(existing.st_mode):
            _write_through(path, payload, durable)
            return path
        target = Path(os.path.realpath(path))  # a symlink's target is what gets replaced
        directory = target.parent
        if not directory.is_dir():
            raise FileNotFoundError(
                f"cannot write {str(path)!r}: no directory {str(path.parent)!r}"
            )
        _replace(target, payload, _new_file_mode(target), durable)
    except OSError as error:
        raise _naming(error, path) from None
    if durable:
        _fsync_directory(directory)
    return path
