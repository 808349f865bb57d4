"""Ingest benchmark: candidates through the orchestrator's own ingest, against raw SQLite.

    python benchmarks/ingest.py                       # 10k, 100k, 1M, load reference: 5-6 min
    python benchmarks/ingest.py --sizes 10000,100000  # quicker
    python benchmarks/ingest.py --load-seconds 0      # without the load reference
    python benchmarks/ingest.py --repeat 1            # each run once: a third of the time

For each size N, N candidates (about 70% new, 15% exact repeats, 15% variants such as
"The X", "X (Paris)", "X - a landmark") are prepared as numbered replies of 100 lines, then:

- engine: a real `Orchestrator.run()` (store, output.txt, metrics, router, planner, events)
  with PRODUCERS real producer threads on a scripted provider that hands out the prepared
  replies at once. Each request's row is stored before it is "sent", each reply is parsed and
  normalized in its producer's thread (`Producer._batch`), handed over (`submit`), stored a
  transaction at a time and accounted (engine/ingest.py): the path a real run takes, with the
  LLM's wait taken out. Partitions and verification are off, so that every request is a
  listing request the prepared replies answer; entries are confirmed on arrival.
- raw: sqlite3 `executemany("INSERT OR IGNORE ...")` of the same keys and loose signatures
  (normalized outside the timing) into the same schema with the store's pragmas, as many
  candidates a transaction as the engine's run put in one on average: the reference.
- load (once): `benchmarks/load.py --phase headless --sim`: 64 producers on `sim:fast` (an
  LLM's pace) for LOAD seconds; its highest candidate rate over 5 s windows is what the
  engine's ingest is held to (target: ≥ 10× it).

Each size and mode runs in a fresh subprocess so that its peak RSS is its own, `--repeat`
times (3), the fastest run kept, as `timeit` does: the one the machine's other load disturbed
least (a 10k run lasts a third of a second, and one disturbed run decided the growth verdict
either way). Printed: the rates, engine/raw, µs per candidate and its growth from the first
size (target: the engine's grows no more than raw's; beside it, the store thread's CPU per
candidate, which the machine's other load moves less), peak RSS (target at 1M: ≤ 200 MB) and
what the prepared replies alone hold of it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from load import peak_rss_mb, rss_mb  # the load benchmark's readings

from igentai_tui.engine.normalize import forms
from igentai_tui.engine.orchestrator import Arm, Limits, Orchestrator, RunSettings
from igentai_tui.engine.parsing import parse_reply
from igentai_tui.output import OutputFile
from igentai_tui.providers.base import Completion, CompletionRequest
from igentai_tui.store import WRITER_PRAGMAS, Store

REPLY_LINES = 100
PRODUCERS = 64  # as the load benchmark the target is read against
LOAD_PRODUCERS = 64
TARGET_LOAD_MULTIPLE = 10
TARGET_RSS_MB = 200
SYLLABLES = [
    "ka", "lo", "mi", "ra", "ve", "sun", "dor", "ell", "ith", "an",
    "bri", "cor", "fen", "gal", "hum", "jor", "kel", "mar", "nor", "pel",
]  # fmt: skip
KINDS = [
    "Abbey", "Bridge", "Garden", "Tower", "Market", "Square",
    "Palace", "Church", "Museum", "Theatre", "Park", "Hall",
]  # fmt: skip
VARIANTS = ("The {}", "{} (Paris)", "{} - a landmark", "**{}**", "{}")


def name(i: int) -> str:
    """A distinct, plausible name for index i."""
    parts = []
    n = i
    for _ in range(3):
        parts.append(SYLLABLES[n % len(SYLLABLES)])
        n //= len(SYLLABLES)
    word = "".join(parts).capitalize()
    kind = KINDS[n % len(KINDS)]
    return f"{word} {kind} {n // len(KINDS)}" if n >= len(KINDS) else f"{word} {kind}"


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


class ThreadCPU:
    """CPU seconds by thread role (the event loop, the store's thread, the producers), read
    from /proc every 0.05 s while it runs; empty where /proc is not there."""

    ROLES = (("MainThread", "loop"), ("igentai-store", "store"), ("producer-", "producers"))

    def __init__(self) -> None:
        self._last: dict[int, tuple[str, float]] = {}
        self._done = threading.Event()
        self._tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        for t in threading.enumerate():
            try:
                stat = Path(f"/proc/self/task/{t.native_id}/stat").read_text()
            except OSError:
                continue
            fields = stat.rpartition(")")[2].split()
            role = next((r for prefix, r in self.ROLES if t.name.startswith(prefix)), "other")
            self._last[t.native_id or 0] = (role, (int(fields[11]) + int(fields[12])) / self._tick)

    def _watch(self) -> None:
        while not self._done.wait(0.05):
            self._sample()

    def stop(self) -> dict[str, float]:
        self._done.set()
        self._thread.join()
        self._sample()
        out: dict[str, float] = {}
        for role, seconds in self._last.values():
            out[role] = out.get(role, 0.0) + seconds
        return out


class Scripted:
    """A provider that answers every request at once with the next prepared reply."""

    name = "scripted"

    def __init__(self, texts: list[str]) -> None:
        self._texts = iter(texts)
        self._lock = threading.Lock()

    def complete(self, request: CompletionRequest) -> Completion:
        with self._lock:
            text = next(self._texts, "")
        return Completion(text, len(request.prompt) // 4, len(text) // 4)

    def context_window(self, model: str) -> int:
        return 128_000


async def engine(texts: list[str], tmp: Path, producers: int) -> dict[str, Any]:
    """One run of the orchestrator over the prepared replies."""
    store = await Store.open(tmp / "bench.db")
    transactions = 0
    record = store.record

    async def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal transactions
        transactions += 1
        return await record(*args, **kwargs)

    store.record = counted  # type: ignore[method-assign]  # counts; the call is the store's
    output = OutputFile(tmp / "out.txt")
    arm = Arm("scripted", "x")
    settings = RunSettings(
        "Landmarks", [arm], producers=producers, limits=Limits(max_requests=len(texts)),
        partitions=False, verify=False,
    )  # fmt: skip
    orc = Orchestrator(settings, store, {arm.label: Scripted(texts)}, output)
    cpu = ThreadCPU()
    t0 = time.perf_counter()
    result = await orc.run()
    elapsed = time.perf_counter() - t0
    threads = cpu.stop()
    output.close()
    await store.close()
    snap = result.snapshot
    return {
        "seconds": elapsed, "candidates": snap.total.returned, "new": snap.unique,
        "requests": snap.total.requests, "transactions": transactions, "status": result.status,
        "cpu": threads,
    }  # fmt: skip


def raw(texts: list[str], tmp: Path, per_tx: int) -> dict[str, Any]:
    """The same keys, normalized outside the timing, inserted with executemany."""
    db = tmp / "bench.db"
    asyncio.run(_create(db))
    rows = [
        (1, f.key, f.loose, f.text, "2026-01-01T00:00:00.000Z")
        for text in texts
        for f in map(forms, parse_reply(text).candidates)
        if f is not None
    ]
    con = sqlite3.connect(db, isolation_level=None)
    for pragma in WRITER_PRAGMAS:  # the store's settings
        con.execute(f"PRAGMA {pragma}")
    con.execute(
        "INSERT INTO runs (id, uid, topic, settings, status, started_at) "
        "VALUES (1, 'raw', 'bench', '{}', 'running', 'now')"
    )
    t0 = time.perf_counter()
    for i in range(0, len(rows), per_tx):
        con.execute("BEGIN")
        con.executemany(
            "INSERT OR IGNORE INTO entries (run_id, key, loose, text, first_seen) "
            "VALUES (?, ?, ?, ?, ?)",
            rows[i : i + per_tx],
        )
        con.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    new = con.execute("SELECT count(*) FROM entries").fetchone()[0]
    con.close()
    return {"seconds": elapsed, "candidates": len(rows), "new": new}


async def _create(db: Path) -> None:
    store = await Store.open(db)  # the same schema
    await store.close()


def one(size: int, mode: str, producers: int, per_tx: int) -> dict[str, Any]:
    before = rss_mb()
    texts = replies(size)
    prepared = rss_mb() - before
    with tempfile.TemporaryDirectory() as tmp:
        if mode == "engine":
            out = asyncio.run(engine(texts, Path(tmp), producers))
        else:
            out = raw(texts, Path(tmp), per_tx)
    return {**out, "rss_mb": peak_rss_mb(), "prepared_mb": prepared}


def load_rate(seconds: float) -> dict[str, Any]:
    """The load benchmark's headless phase on sim:fast, in its own process."""
    cmd = [sys.executable, str(Path(__file__).with_name("load.py")), "--phase", "headless",
           "--sim", "--seconds", str(seconds), "--exports", "0",
           "--producers", str(LOAD_PRODUCERS)]  # fmt: skip
    r = subprocess.run(cmd, capture_output=True, text=True, check=True)
    out: dict[str, Any] = json.loads(r.stdout.splitlines()[-1])
    return out


def sub(size: int, mode: str, producers: int, per_tx: int = 0) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--one", str(size), mode, "--producers", str(producers),
           "--per-tx", str(per_tx)]  # fmt: skip
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{mode} at {size:,} failed:\n{r.stderr[-2000:]}")
    out: dict[str, Any] = json.loads(r.stdout.splitlines()[-1])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000,1000000", help="candidates, comma-separated")
    ap.add_argument("--producers", type=int, default=PRODUCERS, help="engine producer threads")
    ap.add_argument("--load-seconds", type=float, default=20.0,
                    help="length of the sim:fast load run (0: skip it)")  # fmt: skip
    ap.add_argument(
        "--repeat", type=int, default=3, help="runs of each size and mode (the fastest is kept)"
    )
    ap.add_argument("--one", nargs=2, metavar=("SIZE", "MODE"), help=argparse.SUPPRESS)
    ap.add_argument("--per-tx", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(int(args.one[0]), args.one[1], args.producers, args.per_tx)))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    load = load_rate(args.load_seconds) if args.load_seconds > 0 else None
    results: dict[tuple[int, str], dict[str, Any]] = {}
    for size in sizes:
        runs = [sub(size, "engine", args.producers) for _ in range(args.repeat)]
        e = results[size, "engine"] = min(runs, key=lambda r: r["seconds"])
        per_tx = max(1, round(e["candidates"] / e["transactions"]))
        runs = [sub(size, "raw", args.producers, per_tx) for _ in range(args.repeat)]
        results[size, "raw"] = min(runs, key=lambda r: r["seconds"])

    def per(size: int, mode: str) -> float:  # µs per candidate
        r = results[size, mode]
        return float(r["seconds"] / r["candidates"] * 1e6)

    print(f"engine: Orchestrator.run(), {args.producers} producers, scripted instant replies "
          f"of {REPLY_LINES} lines; raw: executemany into the same schema, as many rows a "
          f"transaction as the engine's mean; the fastest of {args.repeat} runs each")  # fmt: skip
    print(f"{'candidates':>11} {'engine/s':>9} {'raw/s':>9} {'eng/raw':>7} "
          f"{'eng µs':>7} {'growth':>6} {'raw µs':>7} {'growth':>6} {'new':>9} "
          f"{'cand/tx':>7} {'peak RSS':>8} {'replies':>7}")  # fmt: skip
    first = sizes[0]
    for size in sizes:
        e, r = results[size, "engine"], results[size, "raw"]
        print(
            f"{e['candidates']:>11,} {e['candidates'] / e['seconds']:>9,.0f} "
            f"{r['candidates'] / r['seconds']:>9,.0f} {r['seconds'] / e['seconds']:>7.2f} "
            f"{per(size, 'engine'):>7.1f} {per(size, 'engine') / per(first, 'engine'):>6.2f} "
            f"{per(size, 'raw'):>7.1f} {per(size, 'raw') / per(first, 'raw'):>6.2f} "
            f"{e['new']:>9,} {e['candidates'] / e['transactions']:>7.0f} "
            f"{e['rss_mb']:>6.0f}MB {e['prepared_mb']:>5.0f}MB"
        )
    for size in sizes:
        e = results[size, "engine"]
        cpu = ", ".join(f"{k} {v / e['candidates'] * 1e6:.1f}" for k, v in sorted(e["cpu"].items()))
        print(f"{e['candidates']:>11,}  engine CPU µs per candidate by thread: {cpu} "
              f"(wall {per(size, 'engine'):.1f})")  # fmt: skip
    print("  eng µs / raw µs: time per candidate; growth: against the first size's; "
          "replies: what the prepared replies alone hold of the peak RSS")  # fmt: skip

    print("\ntargets (issue 18):")
    best = max(results[s, "engine"]["candidates"] / results[s, "engine"]["seconds"] for s in sizes)
    worst = min(results[s, "engine"]["candidates"] / results[s, "engine"]["seconds"] for s in sizes)
    if load is not None:
        peak = load["candidates_per_s_peak"]
        verdict = "met" if worst >= TARGET_LOAD_MULTIPLE * peak else "NOT MET"
        print(f"- engine ingest ≥ {TARGET_LOAD_MULTIPLE}× the load benchmark's highest candidate "
              f"rate ({LOAD_PRODUCERS} producers on sim:fast, {load['seconds']} s: peak "
              f"{peak:,}/s over 5 s, mean {load['candidates_per_s']:,}/s): "
              f"{worst / peak:.1f}× at the slowest size, {best / peak:.1f}× at the fastest "
              f"— {verdict}")  # fmt: skip
    last = sizes[-1]
    if last != first:
        ge = per(last, "engine") / per(first, "engine")
        gr = per(last, "raw") / per(first, "raw")
        verdict = "met" if ge <= gr else "NOT MET"
        print(f"- per-candidate cost growth {first:,} → {last:,}: engine ×{ge:.2f}, "
              f"raw SQLite ×{gr:.2f} (engine ≤ raw) — {verdict}")  # fmt: skip
        store = [results[s, "engine"]["cpu"].get("store", 0.0) / results[s, "engine"]["candidates"]
                 * 1e6 for s in (first, last)]  # fmt: skip
        if store[0]:
            print(
                f"  beside it, the store thread's CPU per candidate (less moved by the machine's "
                f"other load): {store[0]:.1f} → {store[1]:.1f} µs, ×{store[1] / store[0]:.2f}"
            )
    if last >= 1_000_000:
        rss = results[last, "engine"]["rss_mb"]
        verdict = "met" if rss <= TARGET_RSS_MB else "NOT MET"
        print(f"- peak RSS at {last:,}: {rss:.0f} MB (≤ {TARGET_RSS_MB} MB) — {verdict}")
    else:
        print(f"- peak RSS at 1M: not measured (largest size {last:,})")


if __name__ == "__main__":
    main()
