"""Proposal counts written in batches (store/counts.py): exact in what the store reports, after
close, on resume, at a run's end and to the read commands; a crash loses counts, never entries."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from igentai_tui.cli import main
from igentai_tui.engine.normalize import Forms, forms
from igentai_tui.engine.orchestrator import Arm, Limits, Orchestrator, RunSettings
from igentai_tui.output import OutputFile
from igentai_tui.providers.sim import SimProvider
from igentai_tui.store import Batch, CallRecord, Store, ingest
from igentai_tui.store.counts import Counts


def F(text: str) -> Forms:
    f = forms(text)
    assert f is not None
    return f


def batch(*texts: str) -> Batch:
    return Batch(CallRecord(1, "sim", "m", 1.8e9), [F(t) for t in texts])


def counts(db: Path) -> dict[str, int]:
    """times_proposed by entry, as another connection (a reader of the file) sees it."""
    con = sqlite3.connect(db)
    try:
        return dict(con.execute("SELECT text, times_proposed FROM entries ORDER BY id"))
    finally:
        con.close()


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_due_after_its_interval_or_once_enough_entries_wait() -> None:
    clock = Clock()
    c = Counts(seconds=30, entries=3, clock=clock)
    assert not c.due()  # nothing waits
    c.committed({1: 1, 2: 2}, written=False)
    c.committed({1: 1}, written=False)
    assert c.waiting == {1: 2, 2: 2} and not c.due()
    clock.now = 30.0
    assert c.due()
    c.committed({}, written=True)
    assert c.waiting == {} and not c.due()
    c.committed({1: 1, 2: 1, 3: 1}, written=False)
    assert c.due()  # 3 entries wait, before the interval


async def test_counts_wait_yet_outcomes_are_exact_and_close_writes_them(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "c.db")
    rid = (await store.create_run("t", {}, None, 1.8e9)).id
    await store.record(rid, [batch("Louvre", "Orsay")])
    (out,) = await store.record(rid, [batch("Louvre", "The Louvre")])
    assert sorted(out.count_changes) == [(1, 3)]
    (out,) = await store.record(rid, [batch("louvre", "Orsay")])
    assert sorted(out.count_changes) == [(1, 2), (3, 4)]  # what waits is counted
    assert counts(tmp_path / "c.db") == {"Louvre": 1, "Orsay": 1}  # not written yet
    await store.close()
    assert counts(tmp_path / "c.db") == {"Louvre": 4, "Orsay": 2}


async def test_a_resume_reads_exact_counts(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "c.db")
    try:
        rid = (await store.create_run("t", {}, None, 1.8e9)).id
        await store.record(rid, [batch("Louvre", "Orsay", "Pantheon")])
        await store.record(rid, [batch("Louvre", "Orsay")])
        await store.record(rid, [batch("Louvre")])
        state = await store.run_state(rid, seen_per_partition=2)
        assert sorted(state.proposal_counts) == [(1, 1), (2, 1), (3, 1)]
        assert [(text, times) for _, text, _, times in state.seen] == [
            ("Louvre", 3),
            ("Orsay", 2),
        ]
        (out,) = await store.record(rid, [batch("Louvre")])  # nothing counted twice
        assert out.count_changes == [(3, 4)]
    finally:
        await store.close()
    assert counts(tmp_path / "c.db") == {"Louvre": 4, "Orsay": 2, "Pantheon": 1}


async def test_a_due_write_joins_a_record_transaction(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "c.db")
    clock = Clock()
    store._counts = Counts(seconds=30, clock=clock)
    try:
        rid = (await store.create_run("t", {}, None, 1.8e9)).id
        await store.record(rid, [batch("Louvre", "Orsay")])
        await store.record(rid, [batch("Louvre")])
        clock.now = 31.0
        await store.record(rid, [batch("Orsay")])  # what waited, and its own
        assert counts(tmp_path / "c.db") == {"Louvre": 2, "Orsay": 2}
        await store.record(rid, [batch("Orsay")])
        assert counts(tmp_path / "c.db") == {"Louvre": 2, "Orsay": 2}
    finally:
        await store.close()
    assert counts(tmp_path / "c.db") == {"Louvre": 2, "Orsay": 3}


async def test_a_transaction_rolled_back_adds_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await Store.open(tmp_path / "c.db")
    try:
        rid = (await store.create_run("t", {}, None, 1.8e9)).id
        await store.record(rid, [batch("Louvre")])

        def fail(*_: object) -> None:
            raise sqlite3.OperationalError("disk I/O error")

        monkeypatch.setattr(ingest, "_apply_verdicts", fail)
        with pytest.raises(sqlite3.OperationalError):
            await store.record(rid, [batch("Louvre", "Orsay")])
        monkeypatch.undo()
        (out,) = await store.record(rid, [batch("Louvre")])
        assert out.count_changes == [(1, 2)]
    finally:
        await store.close()
    assert counts(tmp_path / "c.db") == {"Louvre": 2}


async def test_a_run_end_writes_them_for_the_read_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "igentai.db"
    store = await Store.open(db)
    output = OutputFile(tmp_path / "output.txt")
    settings = RunSettings(
        "Paris attractions", [Arm("sim", "instant")], producers=2,
        limits=Limits(max_requests=12), seed=3, partitions=False, verify=False,
    )  # fmt: skip
    try:
        orc = Orchestrator(settings, store, {"sim:instant": SimProvider("instant", seed=3)}, output)
        result = await orc.run()
        # finish_run wrote them: a reader sees what the run counted, the store still open
        freq = Counter(counts(db).values())
        assert freq == +orc.metrics.freq and max(freq) > 1
    finally:
        output.close()
        await store.close()
    assert main(["stats", "last", "--json", "--db", str(db)]) == 0
    cov = json.loads(capsys.readouterr().out)["coverage"]
    assert (cov["observed"], cov["proposals"]) == (result.snapshot.unique, orc.metrics.proposals)
    assert main(["export", "last", "-f", "jsonl", "--with-provenance", "--db", str(db)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert Counter(r["times_proposed"] for r in rows) == freq


CRASHING = """
import asyncio, os, sys
from igentai_tui.engine.normalize import forms
from igentai_tui.store import Batch, CallRecord, Store

def batch(texts):
    return [Batch(CallRecord(1, "sim", "m", 1.8e9), [forms(t) for t in texts])]

async def main():
    store = await Store.open(sys.argv[1])
    rid = (await store.create_run("t", {}, None, 1.8e9)).id
    for i in range(20):  # entries 0..209, 10..199 proposed twice
        await store.record(rid, batch([f"Entry {j}" for j in range(i * 10, i * 10 + 20)]))
    await store.run_state(rid, 1)  # writes the counts
    for i in range(20):  # then all proposed once more: waiting, lost in the crash
        await store.record(rid, batch([f"Entry {j}" for j in range(i * 10, i * 10 + 20)]))
        await store.record(rid, batch([f"Entry {200 + i}"]))  # and 20 new entries
    print("stored", flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX kill -9")
async def test_a_crash_loses_counts_never_entries(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", CRASHING, str(db)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "stored\n"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    stored = counts(db)
    assert set(stored) == {f"Entry {j}" for j in range(220)}  # every entry
    twice = {f"Entry {j}" for j in range(10, 200)}
    assert stored == {t: 2 if t in twice else 1 for t in stored}  # as last written
    store = await Store.open(db)  # a resume
    try:
        state = await store.run_state(1, seen_per_partition=1)
        assert sorted(state.proposal_counts) == [(1, 30), (2, 190)]
    finally:
        await store.close()
