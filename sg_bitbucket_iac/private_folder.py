"""Writing executables into a folder that nobody else can change, never through a link.

An engine runs what it finds in a plugin folder. Whoever can write to that folder, or to a folder
above it, can swap the executable (or rename the folder away and put their own in its place), so
before writing this module checks the folder and its ancestors: each is owned by the current user
or by root, the folder and everything inside it is writable by its owner only, and an ancestor
writable by others must carry the sticky bit (like /tmp, where nobody can rename someone else's
entry). ``allow_writable_by_others`` skips the ownership and permission checks, never the rest.

Every step goes through file descriptors: each path component is opened relative to its parent
with ``O_NOFOLLOW``, files are created with ``O_EXCL | O_NOFOLLOW`` under a fresh name and renamed
into place (rename replaces a link at the target, it never writes through one), so a link planted
anywhere in the tree is never followed and a concurrent reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

from .errors import ConfigurationError

_WRITABLE_BY_OTHERS = stat.S_IWGRP | stat.S_IWOTH
# getattr: importable everywhere; only POSIX systems get to use them (see write_mirror).
_NO_LINK = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_DIRECTORY_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _NO_LINK
_NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NO_LINK
TEMPORARY_SUFFIX = ".tmp"


class UnsafeFolderError(ConfigurationError):
    """A folder on the way is a file, a link, or can be changed by someone else."""


def _owner(uid: int) -> str:
    import pwd  # POSIX only, like everything here (write_mirror refuses other systems first)

    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


def _check(fd: int, where: Path, inside: bool, allow_writable_by_others: bool, flag: str) -> None:
    if allow_writable_by_others:
        return
    info = os.fstat(fd)
    if info.st_uid not in (os.geteuid(), 0):
        raise UnsafeFolderError(
            f"{where} belongs to {_owner(info.st_uid)}, who could replace the executable that Terraform runs "
            f"from it; choose a folder of your own (e.g. ~/.terraform.d/sgbitbucket-mirror), or pass {flag} "
            "if you trust that user")
    writable = info.st_mode & _WRITABLE_BY_OTHERS
    if writable and (inside or not info.st_mode & stat.S_ISVTX):
        raise UnsafeFolderError(
            f"{where} can be written by other users (mode {stat.filemode(info.st_mode)}), who could replace the "
            f"executable that Terraform runs from it; run `chmod go-w {where}`, choose a private folder, or pass "
            f"{flag} if everyone who can write there is trusted")


def _open_child(parent: int, name: str, where: Path, create_mode: int | None) -> int:
    """The folder `name` under `parent`, never through a link; created with `create_mode` when missing."""
    for _ in range(2):
        try:
            return os.open(name, _DIRECTORY_FLAGS, dir_fd=parent)
        except FileNotFoundError:
            if create_mode is None:
                raise UnsafeFolderError(f"{where} does not exist") from None
            with contextlib.suppress(FileExistsError):  # created meanwhile: open it (and check it) below
                os.mkdir(name, create_mode, dir_fd=parent)
        except OSError as error:
            if error.errno not in (errno.ELOOP, errno.ENOTDIR):
                raise
            if stat.S_ISLNK(os.lstat(name, dir_fd=parent).st_mode):
                raise UnsafeFolderError(f"{where} is a link; name the folder it points to, or remove the link "
                                        "(links inside the mirror are never followed)") from None
            raise UnsafeFolderError(f"{where} is a file, not a folder; name a folder (it is created if missing)") \
                from None
    raise UnsafeFolderError(f"{where} keeps changing while it is opened")


@contextlib.contextmanager
def open_private_folder(root: Path, subfolders: tuple[str, ...] = (), *, allow_writable_by_others: bool = False,
                        flag: str = "--allow-writable-by-others") -> Iterator[int]:
    """A descriptor of ``root/subfolders...``, each component checked, missing ones created.

    `root` must be absolute and free of links (resolve it first: the person named it). Folders created
    for it are private (0700); folders created inside it are 0755 (the engine only reads them).
    `flag` is how the caller's user turns the ownership and permission checks off, for the messages.
    """
    if not root.is_absolute():
        raise ValueError("root must be an absolute path")
    opened: list[int] = []
    try:
        fd = os.open("/", _DIRECTORY_FLAGS)
        opened.append(fd)
        where = Path("/")
        _check(fd, where, inside=len(root.parts) == 1, allow_writable_by_others=allow_writable_by_others, flag=flag)
        steps = [(part, False, 0o700) for part in root.parts[1:]] + [(part, True, 0o755) for part in subfolders]
        for index, (name, inner, mode) in enumerate(steps):
            where = where / name
            fd = _open_child(fd, name, where, mode)
            opened.append(fd)
            is_root_or_inside = inner or index == len(root.parts) - 2
            _check(fd, where, inside=is_root_or_inside, allow_writable_by_others=allow_writable_by_others,
                   flag=flag)
        yield fd
    finally:
        for descriptor in reversed(opened):
            os.close(descriptor)


def temporary_name(name: str) -> str:
    """A fresh hidden name next to `name`; :func:`is_temporary` recognises it (and the old fixed one)."""
    return f".{name}.{secrets.token_hex(6)}{TEMPORARY_SUFFIX}"


def is_temporary(entry: str, name: str) -> bool:
    return entry.startswith(f".{name}.") and entry.endswith(TEMPORARY_SUFFIX)


def write_file(folder: int, name: str, data: bytes, mode: int) -> None:
    """Replace `name` in the open `folder` with `data` at once: a new file under a fresh name, renamed.

    A link at `name` is replaced, not followed; a folder at `name` is an error.
    """
    temporary = temporary_name(name)
    fd = os.open(temporary, _NEW_FILE_FLAGS, mode, dir_fd=folder)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fchmod(fd, mode)  # the umask may have taken bits away
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary, dir_fd=folder)
        if isinstance(error, IsADirectoryError):
            raise UnsafeFolderError(f"{name} is a folder where the executable belongs; remove it") from None
        raise
    with contextlib.suppress(OSError):  # durability of the rename; not every file system allows it
        os.fsync(folder)
