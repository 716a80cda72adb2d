"""Small files the service keeps in its data directory (the tenant registry, key rings):
private (0600), replaced atomically, edited under a cross-process lock.

The CLI may edit these files while a server runs, so every edit is read-modify-write under an
flock, and every write lands whole or not at all (a temporary file, fsync, rename, directory
fsync): a crash never leaves half a key ring behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from pathlib import Path
from typing import Iterator

__all__ = ["write_private", "exclusive_lock", "file_stamp"]


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
    with open(path, "a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def file_stamp(path: Path) -> tuple[int, int, int] | None:
    """Changes whenever ``path`` is rewritten (every write renames a new inode in); None if absent."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return (info.st_ino, info.st_mtime_ns, info.st_size)


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
