"""Files for the platform's account only: directories 0700, files 0600.

The data directory holds the database (every account, every token hash), the secret key and
the uploaded tables: nobody but the account running the server may read it. What the server
creates is made private here, whatever the umask (``avatars serve`` also sets the umask to
0077, which covers what other libraries create: SQLite journals, temporary files). What
already exists is checked at start (:func:`exposed_paths`) and reported, not changed: an
operator may have reasons (a backup group), the warning says how to fix it.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterable
from pathlib import Path

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def make_private_dirs(path: str | os.PathLike[str]) -> None:
    """Create ``path`` and its missing parents with mode 0700 (existing ones are left)."""
    missing: list[Path] = []
    current = Path(path)
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=PRIVATE_DIR_MODE)
        except FileExistsError:
            continue  # made by another process meanwhile
        os.chmod(directory, PRIVATE_DIR_MODE)  # the umask may have taken bits: set exactly


def open_private(path: str | os.PathLike[str], *, exclusive: bool = True) -> int:
    """A new file opened for writing with mode 0600; its file descriptor."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    return os.open(path, flags, PRIVATE_FILE_MODE)


def touch_private(path: str | os.PathLike[str]) -> None:
    """Create an empty 0600 file at ``path`` unless it exists."""
    with contextlib.suppress(FileExistsError):
        os.close(open_private(path))


def exposed_paths(paths: Iterable[str | os.PathLike[str]]) -> list[tuple[Path, int]]:
    """The existing ``paths`` that the group or others may read, write or enter, with their
    permission bits."""
    found = []
    for entry in paths:
        path = Path(entry)
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError:
            continue
        if mode & 0o077:
            found.append((path, mode))
    return found
