"""The store: new vs duplicate decisions, proposal counts, calls, bad paths, readers."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import types
from pathlib import Path

import pytest

from igentai_tui.engine.normalize import Forms, forms
from igentai_tui.engine.records import Verdicts
from igentai_tui.output import OutputFile, repair
from igentai_tui.store import (
    MIGRATIONS,
    RESERVE_BYTES,
    SCHEMA_VERSION,
    Batch,
    CallRecord,
    Migration,
    Store,
    StoreError,
    schema,
)
from igentai_tui.store.locks import RunLocks


def call(producer: int = 1, **kw: object) -> CallRecord:
    return CallRecord(producer=producer, provider="sim", model="default", started_at=1.8e9, **kw)


def F(text: str) -> Forms:
    f = forms(text)
    assert f is not None
    return f


@pytest.fixture
async def store(tmp_path: Path):
    s = await Store.open(tmp_path / "igentai.db")
    yield s
    await s.close()


def query(store: Store, sql: str) -> list[tuple]:
    """Rows of `sql` read by another connection, as any reader of the database would."""
    con = sqlite3.connect(store.path)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


async def run_id(store: Store) -> int:
    return (await store.create_run("Paris attractions", {}, None, 1.8e9)).id


async def test_new_exact_and_variant_duplicates(store: Store) -> None:
    rid = await run_id(store)
    first = await store.record(rid, [Batch(call(), [F("Louvre"), F("Eiffel Tower")])])
    assert [e.text for e in first[0].new] == ["Louvre", "Eiffel Tower"]
    second = await store.record(
        rid, [Batch(call(2), [F("louvre"), F("The Louvre Museum"), F("Notre-Dame")])]
    )
    out = second[0]
    assert [e.text for e in out.new] == ["Notre-Dame"]
    assert (out.dup_exact, out.dup_variant) == (1, 1)
    await store.close()  # the counts are written by then (counts.py)
    rows = dict(query(store, f"SELECT text, times_proposed FROM entries WHERE run_id = {rid}"))
    assert rows == {"Louvre": 3, "Eiffel Tower": 1, "Notre-Dame": 1}
    assert sorted(out.count_changes) == [(0, 1), (1, 3)]


async def test_run_state_gives_each_partition_its_most_proposed_then_newest(store: Store) -> None:
    rid = await run_id(store)
    museums = [F(f"Museum {i}") for i in range(6)]
    await store.record(rid, [Batch(call(partition="Museums"), museums)])
    await store.record(rid, [Batch(call(partition="Museums"), [F("Museum 1"), F("museum 1")])])
    await store.record(rid, [Batch(call(), [F("Louvre"), F("Orsay")])])
    state = await store.run_state(rid, seen_per_partition=3)
    assert [(p, text, times) for p, text, _, times in state.seen] == [
        ("Museums", "Museum 1", 3),  # the most proposed, then the newest; oldest first
        ("Museums", "Museum 4", 1),
        ("Museums", "Museum 5", 1),
        ("", "Louvre", 1),
        ("", "Orsay", 1),
    ]


async def test_duplicates_within_one_transaction(store: Store) -> None:
    rid = await run_id(store)
    outs = await store.record(
        rid,
        [
            Batch(call(1), [F("Louvre"), F("LOUVRE"), F("Pantheon")]),
            Batch(call(2), [F("Louvre"), F("Sainte-Chapelle")]),
        ],
    )
    assert [e.text for e in outs[0].new] == ["Louvre", "Pantheon"]
    assert [e.text for e in outs[1].new] == ["Sainte-Chapelle"]
    assert outs[0].dup_exact == 1 and outs[1].dup_exact == 1
    await store.close()
    ((times,),) = query(store, "SELECT times_proposed FROM entries WHERE text = 'Louvre'")
    assert times == 3
    calls = query(store, "SELECT id, producer, returned, new, dup_exact FROM calls ORDER BY id")
    assert calls == [(1, 1, 3, 2, 1), (2, 2, 2, 1, 1)]
    first_calls = dict(query(store, "SELECT text, first_call_id FROM entries"))
    assert first_calls == {"Louvre": 1, "Pantheon": 1, "Sainte-Chapelle": 2}


async def test_the_database_refuses_a_second_entry_with_a_key(store: Store) -> None:
    rid = await run_id(store)
    await store.record(rid, [Batch(call(), [F("Louvre")])])
    con = sqlite3.connect(store.path)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
            con.execute(
                "INSERT INTO entries (run_id, key, loose, text, first_seen) "
                f"VALUES ({rid}, 'louvre', 'louvre', 'LOUVRE', 'now')"
            )
    finally:
        con.close()


async def test_runs_are_separate(store: Store) -> None:
    a, b = await run_id(store), await run_id(store)
    await store.record(a, [Batch(call(), [F("Louvre")])])
    out = await store.record(b, [Batch(call(), [F("Louvre")])])
    assert [e.text for e in out[0].new] == ["Louvre"]


async def test_error_calls_are_recorded(store: Store) -> None:
    rid = await run_id(store)
    c = call(error_kind="rate_limited", error_message="slow down", input_tokens=0)
    out = await store.record(rid, [Batch(c)])
    assert out[0].new == []
    assert query(store, "SELECT error_kind, returned FROM calls") == [("rate_limited", 0)]


async def test_max_new_caps_what_is_stored(store: Store) -> None:
    rid = await run_id(store)
    out = await store.record(
        rid, [Batch(call(), [F(x) for x in ["Aa", "Bb", "Cc", "Dd"]])], max_new=2
    )
    assert [e.text for e in out[0].new] == ["Aa", "Bb"]
    assert await store.entry_texts(rid) == ["Aa", "Bb"]


async def test_hostile_text_is_stored_verbatim(store: Store) -> None:
    rid = await run_id(store)
    hostile = Forms("[bold]x[/bold] =HYPERLINK(1)", "bold x bold hyperlink 1", "1 bold hyperlink x")
    out = await store.record(rid, [Batch(call(), [hostile])])
    assert out[0].new[0].text == hostile.text


async def test_big_batches_are_chunked(store: Store) -> None:
    rid = await run_id(store)
    many = [Forms(f"Entry {i}", f"entry {i}", f"{i} entry") for i in range(12_000)]
    out = await store.record(rid, [Batch(call(), many)])
    assert len(out[0].new) == 12_000
    out = await store.record(rid, [Batch(call(), many[:50])])
    assert out[0].dup_exact == 50


async def test_reader_in_another_connection_sees_committed_batches(store: Store) -> None:
    rid = await run_id(store)
    await store.record(rid, [Batch(call(), [F("Louvre")])])
    reader = sqlite3.connect(store.path)
    assert reader.execute("SELECT count(*) FROM entries").fetchone() == (1,)
    assert reader.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    reader.close()


async def test_reopen_keeps_version(tmp_path: Path) -> None:
    s = await Store.open(tmp_path / "a.db")
    await s.close()
    s = await Store.open(tmp_path / "a.db")
    assert query(s, "SELECT max(version) FROM schema_migrations") == [(SCHEMA_VERSION,)]
    await s.close()


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("dir", "is a directory"),
        ("text", "is not an SQLite database"),
        ("foreign", "not an igentai one"),
        ("newer", "newer igentai"),
        ("under-file", "cannot create the folder"),
    ],
)
async def test_bad_database_paths(tmp_path: Path, setup: str, message: str) -> None:
    path = tmp_path / "x.db"
    if setup == "dir":
        path.mkdir()
    elif setup == "text":
        path.write_text("hello, I am not a database\n" * 10)
    elif setup == "foreign":
        con = sqlite3.connect(path)
        con.execute("CREATE TABLE t (x)")
        con.commit()
        con.close()
    elif setup == "newer":
        s = await Store.open(path)
        await s.close()
        con = sqlite3.connect(path)
        con.execute("INSERT INTO schema_migrations VALUES (99, 'future', 'now')")
        con.commit()
        con.close()
    elif setup == "under-file":
        (tmp_path / "afile").write_text("x")
        path = tmp_path / "afile" / "x.db"
    before = path.read_bytes() if path.is_file() else None
    with pytest.raises(StoreError, match=message) as info:
        await Store.open(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    if before is not None and setup != "newer":
        assert path.read_bytes() == before


def test_output_appends_and_repairs(tmp_path: Path) -> None:
    out = OutputFile(tmp_path / "output.txt")
    out.append(["Louvre", "Eiffel Tower"])
    out.close()
    (tmp_path / "output.txt").open("a").write("Notre-Da")  # a crash mid-line
    added = repair(tmp_path / "output.txt", ["Louvre", "Eiffel Tower", "Notre-Dame", "Pantheon"])
    assert added == 2
    lines = (tmp_path / "output.txt").read_text().splitlines()
    assert lines == ["Louvre", "Eiffel Tower", "Notre-Dame", "Pantheon"]


# -- migrations ----------------------------------------------------------------------------


def _schema(path: Path) -> dict[str, list[tuple]]:
    """Each table's columns (name, type, not null, default, key) and each index's columns."""
    con = sqlite3.connect(path)
    found = {}
    for kind, name in con.execute(
        "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite%'"
    ):
        pragma = "table_info" if kind == "table" else "index_info"
        found[f"{kind} {name}"] = [tuple(r) for r in con.execute(f"PRAGMA {pragma}({name})")]
    con.close()
    return found


@pytest.mark.parametrize("version", range(SCHEMA_VERSION))
async def test_a_database_of_every_earlier_version_opens_and_migrates(
    tmp_path: Path, version: int
) -> None:
    fresh = await Store.open(tmp_path / "fresh.db")
    await fresh.close()
    old = tmp_path / "old.db"
    old.touch()  # version 0: an empty file
    if version:
        con = sqlite3.connect(old, isolation_level=None)
        con.execute(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, "
            "description TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        for number, (name, statements) in enumerate(MIGRATIONS[:version], 1):
            for statement in statements:
                con.execute(statement)
            con.execute("INSERT INTO schema_migrations VALUES (?, ?, 'then')", (number, name))
        con.execute(
            "INSERT INTO runs (uid, topic, settings, status, started_at) "
            "VALUES ('0123456789ab', 'Old topic', '{}', 'completed', '2026-01-01T00:00:00.000Z')"
        )
        con.execute(
            "INSERT INTO entries (run_id, key, loose, text, first_seen) "
            "VALUES (1, 'louvre', 'louvre', 'Louvre', '2026-01-01T00:00:00.000Z')"
        )
        if version >= 6:  # a merge: a reference from entries to entries
            con.execute(
                "INSERT INTO entries (run_id, key, loose, text, first_seen, status, merged_into) "
                "VALUES (1, 'louvre m', 'louvre m', 'Louvre M', 'now', 'merged', 1)"
            )
        con.close()
    s = await Store.open(old)
    if version:
        run = await s.get_run("0123456789ab")
        assert run is not None and run.topic == "Old topic"
        assert await s.entry_texts(run.id) == ["Louvre"]  # confirmed, as before migration 6
        if version < 4:  # migration 4 gave it a session
            assert await s.idle_since(run.id) == "2026-01-01T00:00:00.000Z"
    await s.close()
    assert _schema(old) == _schema(tmp_path / "fresh.db")
    assert query(s, "SELECT version FROM schema_migrations ORDER BY 1") == [
        (n,) for n in range(1, SCHEMA_VERSION + 1)
    ]


async def test_a_failing_migration_leaves_nothing_of_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "x.db"
    s = await Store.open(path)
    await s.close()
    broken = Migration("half done", ("CREATE TABLE half (x)", "INSERT INTO nowhere VALUES (1)"))
    monkeypatch.setattr(schema, "MIGRATIONS", [*MIGRATIONS, broken])
    with pytest.raises(StoreError, match="no such table: nowhere"):
        await Store.open(path)
    assert "table half" not in _schema(path)
    assert query(s, "SELECT max(version) FROM schema_migrations") == [(SCHEMA_VERSION,)]


# -- locks, on every platform ----------------------------------------------------------------


def test_the_package_imports_without_the_posix_only_modules() -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        "sys.modules['fcntl'] = sys.modules['termios'] = None  # as on Windows\n"
        "import igentai_tui\n"
        "for m in pkgutil.walk_packages(igentai_tui.__path__, 'igentai_tui.'):\n"
        "    importlib.import_module(m.name)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_windows_locks_one_byte_at_the_run_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    held_elsewhere = {7}
    calls = []

    def locking(fd: int, mode: int, nbytes: int) -> None:
        at = os.lseek(fd, 0, os.SEEK_CUR)
        calls.append((at, nbytes, mode))
        if at in held_elsewhere:
            raise OSError(36, "Resource deadlock avoided")

    msvcrt = types.SimpleNamespace(LK_NBLCK=2, locking=locking)
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setitem(sys.modules, "msvcrt", msvcrt)
    locks = RunLocks(tmp_path / "x.db")
    locks.lock(5, "aaa")
    locks.lock(5, "aaa")  # held already by this process: no second lock
    with pytest.raises(StoreError, match="run bbb is live in another process"):
        locks.lock(7, "bbb")
    locks.close()
    assert calls == [(5, 1, 2), (7, 1, 2)]
    assert (tmp_path / "x.db.locks").stat().st_size == RESERVE_BYTES


def test_a_run_lock_is_held_against_other_processes(tmp_path: Path) -> None:
    locks = RunLocks(tmp_path / "x.db")
    locks.lock(3, "abc")
    code = (
        "import sys\n"
        "from igentai_tui.store.locks import RunLocks\n"
        "locks = RunLocks(sys.argv[1])\n"
        "locks.lock(4, 'other')\n"
        "locks.lock(3, 'abc')\n"
    )
    other = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "x.db")], capture_output=True, text=True
    )
    assert "run abc is live in another process" in other.stderr
    locks.release_reserve()
    assert (tmp_path / "x.db.locks").stat().st_size == 0
    locks.close()
    again = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "x.db")], capture_output=True, text=True
    )
    assert again.returncode == 0, again.stderr


async def test_closing_twice_is_harmless_and_a_closed_store_stores_no_request(
    tmp_path: Path,
) -> None:
    s = await Store.open(tmp_path / "x.db")
    rid = await run_id(s)
    await s.close()
    await s.close()
    committed = threading.Event()
    c = call()
    s.start_call(rid, c, committed)
    assert committed.is_set() and c.id is None and "closed" in str(s.start_error)


async def test_what_verification_taught_is_stored_with_its_verdicts(store: Store) -> None:
    rid = await run_id(store)
    [out] = await store.record(
        rid, [Batch(call(), [F("Burma"), F("Harare"), F("Harare Province")])]
    )
    burma, harare, province = (e.id for e in out.new)
    taught = Verdicts(
        [burma, harare], [], [(province, harare)],
        frames=[("sfx province", True), ("pfx south", False)], others=[("myanmar", burma)],
    )  # fmt: skip
    await store.decide(rid, taught)
    await store.decide(rid, Verdicts(frames=[("sfx province", True)], others=[("myanmar", 99)]))
    frames, others = await store.learned(rid)
    assert sorted(frames) == [("pfx south", 0, 1), ("sfx province", 2, 0)]
    assert others == [("myanmar", burma)]  # the first name given stays
    await store.decide(rid, Verdicts(rejected=[burma]))
    assert (await store.learned(rid))[1] == []  # nothing is merged into a rejected entry
