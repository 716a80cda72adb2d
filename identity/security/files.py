"""Small files the service keeps in its data directory (the tenant registry, key rings):
private (0600), replaced atomically, edited under a cross-process lock; and the check that the
data directory as a whole is its owner's alone.

Everything under the data directory is its owner's only: files 0600, directories 0700. The
``identity`` command runs under umask 077 so that whatever it creates (the graph's SQLite files,
lock files, exports) is made that way, and ``identity serve`` refuses to start while anything
there is open to other users (``exposed``): the registry holds the API key hashes and the tenants'
home regions, the key rings the wrapped data keys, the graph the sealed values and the links.

The CLI may edit these files while a server runs, so every edit is read-modify-write under an
flock, and every write lands whole or not at all (a temporary file, fsync, rename, directory
fsync): a crash never leaves half a key ring behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import tempfile
from pathlib import Path
from typing import Iterator

__all__ = ["write_private", "exclusive_lock", "file_stamp", "PRIVATE_UMASK", "exposed", "ExposedFiles",
           "require_private"]

#: What the ``identity`` command creates is its user's alone.
PRIVATE_UMASK = 0o077


def write_private(path: Path, text: str) -> None:
    """Atomically replace ``path`` with ``text``; the file is created 0600."""
    fd, temporary = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=path.suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:  # mkstemp creates it 0600
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _fsync_directory(path.parent)


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive flock on ``path`` (created if missing) for the block."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def file_stamp(path: Path) -> tuple[int, int, int] | None:
    """Changes whenever ``path`` is rewritten (every write renames a new inode in); None if absent."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return (info.st_ino, info.st_mtime_ns, info.st_size)


class ExposedFiles(PermissionError):
    """Files or directories under the data directory that other users may read, write or enter."""

    def __init__(self, root: Path, paths: list[Path]):
        shown = ", ".join(f"{path} ({stat.S_IMODE(path.lstat().st_mode):04o})" for path in paths[:5])
        more = f" and {len(paths) - 5} more" if len(paths) > 5 else ""
        super().__init__(f"{root} is open to other users: {shown}{more}. It holds API key hashes, wrapped "
                         f"keys and every tenant's graph: run `chmod -R go= {root}` (files 0600, directories 0700)")
        self.paths = paths


def exposed(root: Path) -> list[Path]:
    """``root`` and everything under it that users other than its owner may access (any group or
    other permission bit), symbolic links aside; empty when ``root`` does not exist."""
    if not root.exists():
        return []
    found = []
    for path in [root, *sorted(root.rglob("*"))]:
        mode = path.lstat().st_mode
        if not stat.S_ISLNK(mode) and stat.S_IMODE(mode) & 0o077:
            found.append(path)
    return found


def require_private(*roots: Path) -> None:
    """ExposedFiles unless each of ``roots`` and everything under them is its owner's alone."""
    for root in roots:
        found = exposed(root)
        if found:
            raise ExposedFiles(root, found)


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
