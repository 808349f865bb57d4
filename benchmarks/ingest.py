"""Ingest benchmark: parse -> normalize -> near-duplicate check -> store, against a raw insert.

    python benchmarks/ingest.py [--sizes 10000,100000,1000000]

For each size N, N candidates (about 30% of them duplicates or variants of earlier ones) are
written as numbered LLM replies of 100 lines, then:
- pipeline: the engine's ingest path. A producer thread runs parse_reply() -> forms() on each
  reply and hands the batch over; the ingest loop stores whatever is waiting in one
  Store.record() (one transaction on the store's thread), as Producer and Orchestrator do;
- raw: sqlite3 executemany("INSERT OR IGNORE ...") of the same precomputed keys and loose
  signatures into the same schema with the store's pragmas, SLOTS replies a transaction (the
  most the pipeline can put in one).
Each size runs in a fresh subprocess so that its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from igentai_tui.engine.normalize import forms
from igentai_tui.engine.orchestrator import MAX_BATCHES_PER_TRANSACTION
from igentai_tui.engine.parsing import parse_reply
from igentai_tui.store import WRITER_PRAGMAS, Batch, CallRecord, Store

REPLY_LINES = 100
PRODUCERS = 1  # one parsing thread is enough: parsing holds the GIL
SLOTS = max(16, 4 * PRODUCERS)  # batches waiting to be stored, as Orchestrator allows
SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "ra",
    "ve",
    "sun",
    "dor",
    "ell",
    "ith",
    "an",
    "bri",
    "cor",
    "fen",
    "gal",
    "hum",
    "jor",
    "kel",
    "mar",
    "nor",
    "pel",
]
KINDS = [
    "Abbey",
    "Bridge",
    "Garden",
    "Tower",
    "Market",
    "Square",
    "Palace",
    "Church",
    "Museum",
    "Theatre",
    "Park",
    "Hall",
]
VARIANTS = ("The {}", "{} (Paris)", "{} - a landmark", "**{}**", "{}")


def name(i: int) -> str:
    """A distinct, plausible name for index i."""
    parts = []
    n = i
    for _ in range(3):
        parts.append(SYLLABLES[n % len(SYLLABLES)])
        n //= len(SYLLABLES)
    word = "".join(parts).capitalize()
    return (
        f"{word} {KINDS[n % len(KINDS)]} {n // len(KINDS)}"
        if n >= len(KINDS)
        else (f"{word} {KINDS[n % len(KINDS)]}")
    )


def replies(total: int, seed: int = 1) -> list[str]:
    """`total` candidates as numbered reply texts; ~70% new, ~15% repeats, ~15% variants."""
    rng = random.Random(seed)
    made = 0
    lines: list[str] = []
    for _ in range(total):
        r = rng.random()
        if made and r < 0.15:
            lines.append(name(rng.randrange(made)))
        elif made and r < 0.30:
            lines.append(rng.choice(VARIANTS).format(name(rng.randrange(made))))
        else:
            lines.append(name(made))
            made += 1
    return [
        "\n".join(f"{j + 1}. {x}" for j, x in enumerate(lines[i : i + REPLY_LINES]))
        for i in range(0, total, REPLY_LINES)
    ]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def pipeline(texts: list[str], db: Path) -> tuple[float, int, float]:
    """The engine's ingest path; (seconds, new entries, mean replies a transaction).

    A producer thread parses and normalizes each reply (as `Producer._batch`) and hands the
    batch over, waiting while SLOTS batches wait (as `Orchestrator.submit`); the ingest loop
    takes whatever is waiting, up to MAX_BATCHES_PER_TRANSACTION batches, and stores it in one
    `Store.record()` (as `Orchestrator._ingest`). Parsing overlaps with SQLite's work.
    """
    store = await Store.open(db)
    run = await store.create_run("bench", {}, None, time.time())
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Batch | None] = asyncio.Queue()
    slots = threading.BoundedSemaphore(SLOTS)

    def produce() -> None:
        for text in texts:
            time.sleep(0)  # the provider call: a real one waits on the network, freeing the GIL
            cands = [f for f in map(forms, parse_reply(text).candidates) if f is not None]
            batch = Batch(CallRecord(1, "sim", "bench", time.time()), cands)
            slots.acquire()
            loop.call_soon_threadsafe(queue.put_nowait, batch)
        loop.call_soon_threadsafe(queue.put_nowait, None)

    new = transactions = 0
    t0 = time.perf_counter()
    producer = threading.Thread(target=produce)
    producer.start()
    done = False
    while not done:
        items = [await queue.get()]
        while len(items) < MAX_BATCHES_PER_TRANSACTION and not queue.empty():
            items.append(queue.get_nowait())
        done = items[-1] is None
        batches = [b for b in items if b is not None]
        for _ in batches:
            slots.release()
        if batches:
            transactions += 1
            for out in await store.record(run.id, batches):
                new += len(out.new)
    elapsed = time.perf_counter() - t0
    producer.join()
    await store.close()
    return elapsed, new, len(texts) / transactions


async def _create(db: Path) -> None:
    store = await Store.open(db)
    await store.close()


def raw(texts: list[str], db: Path) -> tuple[float, int]:
    """The same keys, precomputed outside the timing, inserted with executemany."""
    asyncio.run(_create(db))  # the same schema
    rows_per_tx = []
    for i in range(0, len(texts), SLOTS):
        rows = []
        for text in texts[i : i + SLOTS]:
            for c in parse_reply(text).candidates:
                f = forms(c)
                if f is not None:
                    rows.append((1, f.key, f.loose, f.text, "2026-01-01T00:00:00.000Z"))
        rows_per_tx.append(rows)
    con = sqlite3.connect(db, isolation_level=None)
    for pragma in WRITER_PRAGMAS:  # the store's settings
        con.execute(f"PRAGMA {pragma}")
    con.execute(
        "INSERT INTO runs (id, uid, topic, settings, status, started_at) "
        "VALUES (1, 'raw', 'bench', '{}', 'running', 'now')"
    )
    t0 = time.perf_counter()
    for rows in rows_per_tx:
        con.execute("BEGIN")
        con.executemany(
            "INSERT OR IGNORE INTO entries (run_id, key, loose, text, first_seen) "
            "VALUES (?, ?, ?, ?, ?)",
            rows,
        )
        con.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    new = con.execute("SELECT count(*) FROM entries").fetchone()[0]
    con.close()
    return elapsed, new


def one(size: int, mode: str) -> dict[str, float]:
    texts = replies(size)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        if mode == "pipeline":
            elapsed, new, per_tx = asyncio.run(pipeline(texts, db))
        else:
            elapsed, new = raw(texts, db)
            per_tx = SLOTS
    return {
        "size": size, "mode": mode, "seconds": elapsed, "new": new, "rss_mb": peak_rss_mb(),
        "replies_per_tx": per_tx,
    }  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--one", nargs=2, metavar=("SIZE", "MODE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(int(args.one[0]), args.one[1])))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    results: dict[tuple[int, str], dict[str, float]] = {}
    for size in sizes:
        for mode in ("raw", "pipeline"):
            out = subprocess.run(
                [sys.executable, __file__, "--one", str(size), mode],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            results[size, mode] = json.loads(out.stdout)
    base = results[sizes[0], "pipeline"]["seconds"] / sizes[0]
    print(f"{'candidates':>11} {'raw/s':>10} {'pipeline/s':>11} {'ratio':>6} {'µs/entry':>9} "
          f"{'vs first':>8} {'new':>9} {'replies/tx':>10} {'peak RSS MB':>12}")  # fmt: skip
    for size in sizes:
        r, p = results[size, "raw"], results[size, "pipeline"]
        per = p["seconds"] / size
        print(
            f"{size:>11,} {size / r['seconds']:>10,.0f} {size / p['seconds']:>11,.0f} "
            f"{r['seconds'] / p['seconds']:>6.2f} {per * 1e6:>9.2f} {per / base:>8.2f} "
            f"{int(p['new']):>9,} {p['replies_per_tx']:>10.1f} {p['rss_mb']:>12.0f}"
        )


if __name__ == "__main__":
    main()
