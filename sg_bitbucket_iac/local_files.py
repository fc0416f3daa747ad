"""Reading a file a user names (a saved plan, a secret file): a regular file only, bounded.

A path given to this tool can be anything: a FIFO (``open`` would wait for a writer forever), a device
(``/dev/zero`` never ends), a directory, or a file far larger than any real one. So the file is opened
non-blocking (a FIFO opens at once instead of hanging), checked *on the open descriptor* (``fstat``: a
path swapped for something else after a check cannot slip through), and read at most ``limit + 1`` bytes
deep, so a file that grows while it is read is refused too. Following a symbolic link to read is
harmless (what is read is still checked); writing never goes through one (see the plan file's save).

This module imports nothing from the package; callers word :class:`FileRefused` in their own errors.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)
_CHUNK = 1 << 20


class FileRefused(Exception):
    """Why a file was not read, as words about it: ``is a FIFO (named pipe), not a regular file``.

    ``strerror``: the system's words when the system refused (``No such file or directory``).
    """

    def __init__(self, reason: str, *, strerror: str = "", size: int | None = None, too_large: bool = False,
                 missing: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.strerror = strerror
        self.size = size  # the file's size when it is too large and its size is known
        self.too_large = too_large
        self.missing = missing


def _refused(error: OSError) -> FileRefused:
    strerror = error.strerror or type(error).__name__
    return FileRefused(f"cannot be read: {strerror}", strerror=strerror, missing=isinstance(error, FileNotFoundError))


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def read_regular_file(path: str | Path, limit: int) -> bytes:
    """The whole content of the regular file at ``path``, at most ``limit`` bytes; else :class:`FileRefused`."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as error:
        raise _refused(error) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileRefused(f"is {_kind(info.st_mode)}, not a regular file")
        if info.st_size > limit:
            raise FileRefused(f"has {info.st_size} bytes, more than {limit}", size=info.st_size, too_large=True)
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(_CHUNK, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:  # it grew while being read
            raise FileRefused(f"has more than {limit} bytes", too_large=True)
        return b"".join(chunks)
    except OSError as error:
        raise _refused(error) from None
    finally:
        os.close(fd)


__all__ = ["FileRefused", "read_regular_file"]
