"""Proposal counts kept on the store's side and written to `entries.times_proposed` in batches.

Each duplicate candidate adds to its entry's count. Writing that at once rewrites a random old
table row per duplicate, a cost that grows with the table (docs/benchmarks.md, Ingest); the
additions wait here instead and are written sorted by id, every `FLUSH_SECONDS` or once
`FLUSH_ENTRIES` entries wait, and whenever the store reads the counts, ends a run or closes. A
process that dies loses at most the additions since the last write, never an entry.
"""

from __future__ import annotations

import itertools
import sqlite3
import time
from collections.abc import Callable

from igentai_tui.store.transaction import transaction

FLUSH_SECONDS = 30.0
FLUSH_ENTRIES = 100_000

Bumps = dict[int, int]  # entry id -> proposals to add to its times_proposed


class Counts:
    """Additions to `times_proposed` not written yet. Used on the connection's thread only."""

    def __init__(
        self,
        seconds: float = FLUSH_SECONDS,
        entries: int = FLUSH_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.waiting: Bumps = {}
        self._seconds, self._entries, self._clock = seconds, entries, clock
        self._written_at = clock()

    def due(self) -> bool:
        """Whether the additions waiting should be written now."""
        return bool(self.waiting) and (
            len(self.waiting) >= self._entries or self._clock() - self._written_at >= self._seconds
        )

    def write(self, db: sqlite3.Connection, bumps: Bumps) -> None:
        """Write the waiting additions and `bumps`, sorted by id, in the caller's transaction;
        `committed(bumps, True)` once it is committed."""
        waiting = self.waiting
        ids = sorted(itertools.chain(waiting, (eid for eid in bumps if eid not in waiting)))
        db.executemany(
            "UPDATE entries SET times_proposed = times_proposed + ? WHERE id = ?",
            ((waiting.get(eid, 0) + bumps.get(eid, 0), eid) for eid in ids),
        )

    def committed(self, bumps: Bumps, written: bool) -> None:
        """After a commit: `bumps` (and what waited) written, or waiting from now on."""
        if written:
            self.waiting = {}
            self._written_at = self._clock()
            return
        waiting = self.waiting
        for eid, n in bumps.items():
            waiting[eid] = waiting.get(eid, 0) + n

    def flush(self, db: sqlite3.Connection) -> None:
        """Write what waits, in a transaction of its own."""
        if self.waiting:
            with transaction(db):
                self.write(db, {})
            self.committed({}, True)
