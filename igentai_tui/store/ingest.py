"""The batch insert that decides what is new, and entry states: each one transaction, run on
the store's connection thread (`Store.record`, `Store.decide`).

A candidate is a duplicate when an entry of the run has its `loose` signature (exact when the
keys are equal too, a variant otherwise); duplicates add to `times_proposed`, through the store's
`Counts` (counts.py: written in batches). The UNIQUE index on (run_id, loose, key) has the last
word (unique exactly as the key is: `loose` is the key's): an entry stored twice would fail the
transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from igentai_tui.engine.records import (
    CONFIRMED,
    MERGED,
    PENDING,
    REJECTED,
    Batch,
    BatchOutcome,
    NewEntry,
    Verdicts,
    utc_iso,
)
from igentai_tui.store.counts import Bumps, Counts
from igentai_tui.store.transaction import transaction

# SQLite's default limit on bound parameters is 32766 (since 3.32); stay well under it.
MAX_PARAMS = 30_000


def _chunks(seq: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


def record(
    db: sqlite3.Connection,
    counts: Counts,
    run_id: int,
    batches: Sequence[Batch],
    max_new: int | None,
    status: str = CONFIRMED,
) -> list[BatchOutcome]:
    """`Store.record`, on the connection's thread: one transaction (which also writes the
    proposal counts waiting, when they are due)."""
    with transaction(db):
        outcomes, bumps = _store_batches(db, counts, run_id, batches, max_new, status)
        _apply_verdicts(db, run_id, batches, outcomes)
        if due := counts.due():
            counts.write(db, bumps)
    counts.committed(bumps, due)
    return outcomes


def _apply_verdicts(
    db: sqlite3.Connection, run_id: int, batches: Sequence[Batch], outcomes: list[BatchOutcome]
) -> None:
    """Write each batch's entry states, with the call that decided them."""
    for b, out in zip(batches, outcomes, strict=True):
        if b.verdicts is not None:
            _write_verdicts(db, run_id, b.verdicts, out.call_id)


def _write_verdicts(db: sqlite3.Connection, run_id: int, v: Verdicts, call_id: int | None) -> None:
    rows: list[tuple[str, int | None, int | None, int, int]] = [
        (CONFIRMED, None, call_id, i, run_id) for i in v.confirmed
    ]
    rows += [(REJECTED, None, call_id, i, run_id) for i in v.rejected]
    rows += [(MERGED, into, call_id, i, run_id) for i, into in v.merged]
    db.executemany(
        "UPDATE entries SET status = ?, merged_into = ?, decided_call_id = ? "
        "WHERE id = ? AND run_id = ?",
        rows,
    )
    if v.texts:
        db.executemany(
            "UPDATE entries SET text = ? WHERE id = ? AND run_id = ?",
            [(text, i, run_id) for i, text in v.texts],
        )
    if not (v.frames or v.others):
        return
    db.executemany(
        "INSERT INTO frame_answers (run_id, frames, same, different) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (run_id, frames) DO UPDATE SET same = same + excluded.same, "
        "different = different + excluded.different",
        [(run_id, frames, int(same), int(not same)) for frames, same in v.frames],
    )
    db.executemany(
        "INSERT OR IGNORE INTO other_names (run_id, key, entry_id) VALUES (?, ?, ?)",
        [(run_id, key, entry) for key, entry in v.others],
    )


def decide(db: sqlite3.Connection, run_id: int, v: Verdicts, call_id: int | None) -> None:
    """`Store.decide`, on the connection's thread: one transaction."""
    with transaction(db):
        _write_verdicts(db, run_id, v, call_id)


def _store_batches(
    db: sqlite3.Connection,
    counts: Counts,
    run_id: int,
    batches: Sequence[Batch],
    max_new: int | None,
    status: str = CONFIRMED,
) -> tuple[list[BatchOutcome], Bumps]:
    """Calls and new entries written; what each batch found, and the proposals to add to the
    existing entries' counts."""
    next_id = db.execute("SELECT coalesce(max(id), 0) FROM calls").fetchone()[0] + 1
    outcomes = []
    for b in batches:
        if b.call.id is None:
            b.call.id, next_id = next_id, next_id + 1
        outcomes.append(BatchOutcome(b.call.id))

    # Existing entries sharing a loose signature with any candidate.
    looses = list({f.loose for b in batches for f in b.candidates})
    existing: dict[str, list[Any]] = {}  # loose -> [id, key, times_proposed, added, status]
    waiting = counts.waiting
    for chunk in _chunks(looses, MAX_PARAMS - 1):
        marks = ",".join("?" * len(chunk))
        for eid, key, loose, times, state in db.execute(
            f"SELECT id, key, loose, times_proposed, status FROM entries "
            f"WHERE run_id = ? AND loose IN ({marks})",
            (run_id, *chunk),
        ):
            existing.setdefault(loose, [eid, key, times + waiting.get(eid, 0), 0, state])

    # Decide each candidate in order: duplicate of a stored or earlier entry, or new.
    pending: dict[str, list[Any]] = {}  # loose -> [forms, batch index, added]
    for i, batch in enumerate(batches):
        out = outcomes[i]
        for f in batch.candidates:
            hit = existing.get(f.loose)
            if hit is not None:
                hit[3] += 1
                same = hit[1] == f.key
                if hit[4] == PENDING:
                    out.pending_hits.append(hit[0])
            elif (p := pending.get(f.loose)) is not None:
                p[2] += 1
                same = p[0].key == f.key
            elif max_new is None or len(pending) < max_new:
                pending[f.loose] = [f, i, 0]
                continue
            else:
                continue  # over the unique-entry limit: not stored
            if same:
                out.dup_exact += 1
            else:
                out.dup_variant += 1

    _write_calls(db, run_id, batches, outcomes, pending)

    # Insert the new entries, numbered here: no entry of theirs can be stored meanwhile (this
    # transaction holds the write lock since the lookup); were one, the UNIQUE index refuses it.
    now = utc_iso()
    first = db.execute("SELECT coalesce(max(id), 0) FROM entries").fetchone()[0] + 1
    news = list(pending.values())
    db.executemany(
        "INSERT INTO entries (id, run_id, key, loose, text, partition, first_call_id, "
        "first_producer, first_provider, first_model, first_seen, times_proposed, status) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (first + n, run_id, f.key, f.loose, f.text, batches[i].call.partition,
             outcomes[i].call_id, batches[i].call.producer, batches[i].call.provider,
             batches[i].call.model, now, 1 + added, status)
            for n, (f, i, added) in enumerate(news)
        ],
    )  # fmt: skip
    for eid, (f, i, added) in enumerate(news, first):
        outcomes[i].new.append(NewEntry(eid, f.text, f.key))
        outcomes[i].count_changes.append((0, 1 + added))

    bumps = {eid: a for eid, _key, _t, a, _ in existing.values() if a}
    changes = [(t, t + a) for _eid, _key, t, a, _ in existing.values() if a]
    if outcomes and changes:
        outcomes[0].count_changes.extend(changes)
    return outcomes, bumps


_CALL_COLUMNS = (
    "id", "run_id", "producer", "provider", "model", "partition", "prompt_version", "started_at",
    "latency_s", "input_tokens", "output_tokens", "cost_usd", "context_entries", "finish_reason",
    "returned", "new", "dup_exact", "dup_variant", "rejected", "error_kind", "error_message",
    "estimated",
)  # fmt: skip
# The one statement that writes a calls row: a new row, or every column of an existing one.
_WRITE_CALL = (
    f"INSERT INTO calls ({', '.join(_CALL_COLUMNS)}) VALUES ({','.join('?' * len(_CALL_COLUMNS))}) "
    "ON CONFLICT (id) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in _CALL_COLUMNS[1:])
)


def _write_calls(
    db: sqlite3.Connection,
    run_id: int,
    batches: Sequence[Batch],
    outcomes: list[BatchOutcome],
    pending: dict[str, list[Any]],
) -> None:
    new_per_batch = [0] * len(batches)
    for _f, i, _added in pending.values():
        new_per_batch[i] += 1
    rows = []
    for i, (batch, out) in enumerate(zip(batches, outcomes, strict=True)):
        call = batch.call
        rows.append(
            (
                out.call_id, run_id, call.producer, call.provider, call.model,
                call.partition, call.prompt_version, utc_iso(call.started_at),
                call.latency_s, call.input_tokens, call.output_tokens, call.cost_usd,
                call.context_entries, call.finish_reason, len(batch.candidates),
                new_per_batch[i], out.dup_exact, out.dup_variant, call.rejected,
                call.error_kind, call.error_message, int(call.estimated),
            )
        )  # fmt: skip
    db.executemany(_WRITE_CALL, rows)
