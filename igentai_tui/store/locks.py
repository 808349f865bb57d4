"""Run locks: one byte of `<db>.locks` per run, held by the process running it.

The lock is the operating system's (POSIX record locks, Windows byte-range locks): it dies
with its process, so a crashed run is free to resume. The file also holds `RESERVE_BYTES` of
disk space, given back when a run ends so that the rows that end it can be written on a disk it
filled.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from igentai_tui.store.files import StoreError

# Disk space a run holds back (in `<db>.locks`) and gives back when it ends.
RESERVE_BYTES = 1024 * 1024


def try_lock(fd: int, offset: int) -> bool:
    """Lock byte `offset` of the open file `fd` for this process, without waiting; False when
    another process holds it. The platform's module is imported here: the package imports on
    every platform."""
    if sys.platform == "win32":
        import msvcrt

        os.lseek(fd, offset, os.SEEK_SET)  # msvcrt locks from the file's position
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
    else:
        import fcntl

        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, offset)
        except OSError:
            return False
    return True


class RunLocks:
    """The run locks this process holds on one database, and its disk reserve."""

    def __init__(self, db: Path) -> None:
        self.path = Path(f"{db}.locks")
        self._fd: int | None = None
        self._held: set[int] = set()

    def lock(self, run_id: int, uid: str) -> None:
        """Hold run `run_id`'s lock until `close()` or this process ends; StoreError if another
        process has it."""
        if self._fd is None:
            try:
                flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0)
                self._fd = os.open(self.path, flags, 0o666)
            except OSError as exc:
                msg = f"cannot create lock file {self.path}: {exc.strerror}"
                raise StoreError(msg) from None
            missing = RESERVE_BYTES - os.fstat(self._fd).st_size
            with contextlib.suppress(OSError):  # a disk already full: nothing to hold back
                if missing > 0:
                    os.lseek(self._fd, 0, os.SEEK_END)
                    os.write(self._fd, bytes(missing))
        if run_id not in self._held and not try_lock(self._fd, run_id):
            raise StoreError(
                f"run {uid} is live in another process; stop it first or wait for it to end"
            )
        self._held.add(run_id)

    def release_reserve(self) -> None:
        """Give back the disk space held: for the rows that end a run."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)

    def close(self) -> None:
        """Release every lock held (closing the file does)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            self._held.clear()
