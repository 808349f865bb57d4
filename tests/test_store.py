"""The store: new vs duplicate decisions, proposal counts, calls, bad paths, readers."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from igentai_tui.engine.normalize import Forms, forms
from igentai_tui.output import OutputFile, repair
from igentai_tui.store import SCHEMA_VERSION, Batch, CallRecord, Store, StoreError


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
    rows = dict(
        await store.connection.execute_fetchall(
            "SELECT text, times_proposed FROM entries WHERE run_id = ?", (rid,)
        )
    )
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
    (times,) = (
        await store.connection.execute_fetchall(
            "SELECT times_proposed FROM entries WHERE text = 'Louvre'"
        )
    )[0]
    assert times == 3
    calls = await store.connection.execute_fetchall(
        "SELECT id, producer, returned, new, dup_exact FROM calls ORDER BY id"
    )
    assert [tuple(r) for r in calls] == [(1, 1, 3, 2, 1), (2, 2, 2, 1, 1)]
    first_calls = dict(
        await store.connection.execute_fetchall("SELECT text, first_call_id FROM entries")
    )
    assert first_calls == {"Louvre": 1, "Pantheon": 1, "Sainte-Chapelle": 2}


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
    row = (await store.connection.execute_fetchall("SELECT error_kind, returned FROM calls"))[0]
    assert tuple(row) == ("rate_limited", 0)


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
    rows = await s.connection.execute_fetchall("SELECT max(version) FROM schema_migrations")
    assert rows[0][0] == SCHEMA_VERSION
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
        await s.connection.execute("INSERT INTO schema_migrations VALUES (99, 'future', 'now')")
        await s.close()
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
