"""output.txt: one entry a line, appended after the database has committed them.

The order matters for crash safety: the DB commits a batch first, then its new entries are
appended and flushed here. A crash in between leaves the file behind the DB, never ahead of it;
`repair()` brings it back in line from the DB.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterable
from pathlib import Path

from igentai_tui.engine.normalize import key_of
from igentai_tui.engine.storage import OutputError

__all__ = ["OutputError", "OutputFile", "line_count", "repair"]


class OutputFile:
    """An append-only list file, flushed after every batch."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path).expanduser()
        if self.path.is_dir():
            raise OutputError(f"output path {self.path} is a directory, not a file")
        try:  # missing folders are made, as for the database
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(
                f"cannot create the folder for output file {self.path}: {exc.strerror}"
            ) from None
        try:
            self._fh = self.path.open("a", encoding="utf-8", newline="\n")
        except OSError as exc:
            raise OutputError(f"cannot write output file {self.path}: {exc.strerror}") from None

    def append(self, texts: Iterable[str]) -> None:
        """Append entries, one a line, and flush them to the OS; OutputError when the file
        cannot take them (a full disk): the file then stays behind the database."""
        data = "".join(f"{t}\n" for t in texts)
        if data:
            try:
                self._fh.write(data)
                self._fh.flush()
            except OSError as exc:
                raise self._error(exc) from None

    def sync(self) -> None:
        """Flush and fsync: called when a run ends. OutputError when that fails."""
        try:
            self._fh.flush()
            os.fsync(self._fh.fileno())
        except OSError as exc:
            if exc.errno != errno.EINVAL:  # EINVAL: nothing to sync (/dev/null, a pipe)
                raise self._error(exc) from None

    def close(self) -> None:
        """Close the file; what it could not take (a full disk) is dropped: the run that
        failed to write it has said so, and the database holds it."""
        if not self._fh.closed:
            with contextlib.suppress(OutputError):
                self.sync()
            with contextlib.suppress(OSError):  # the buffer's last flush, failing again
                self._fh.close()

    def _error(self, exc: OSError) -> OutputError:
        return OutputError(f"cannot write output file {self.path}: {exc.strerror or exc}")


def line_count(path: Path) -> int:
    """How many lines the file at `path` holds (0 when there is none, or it is not a regular
    file: /dev/full reads zeros forever)."""
    try:
        if not path.is_file():
            return 0
        with path.open("rb") as fh:
            data = b""
            n = 0
            while chunk := fh.read(1 << 20):
                n += chunk.count(b"\n")
                data = chunk
    except OSError:
        return 0
    return n + (1 if data and not data.endswith(b"\n") else 0)


def repair(path: Path | str, stored: list[str]) -> int:
    """Bring `path` in line with the stored entries; return how many lines were appended.

    A last line cut short by a crash is removed; stored entries the file lacks (compared by
    key) are appended in the order they were found. OutputError when they cannot be.
    """
    path = Path(path).expanduser()
    if path.exists() and not path.is_file():  # a device or a pipe (/dev/null): nothing to mend
        return 0
    present: set[str] = set()
    if path.exists():
        data = path.read_bytes()
        if data and not data.endswith(b"\n"):
            with path.open("r+b") as fh:
                fh.truncate(data.rfind(b"\n") + 1)
            data = data[: data.rfind(b"\n") + 1]
        present = {key_of(line) for line in data.decode("utf-8", "replace").splitlines()}
    missing = [t for t in stored if key_of(t) not in present]
    if missing:
        try:
            with path.open("a", encoding="utf-8", newline="\n") as fh:
                fh.writelines(f"{t}\n" for t in missing)
        except OSError as exc:
            raise OutputError(f"cannot write output file {path}: {exc.strerror or exc}") from None
    return len(missing)
