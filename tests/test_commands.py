"""`igentai runs | export | stats | path` against a database made by a real (sim) run."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from igentai_tui.cli import main
from igentai_tui.engine.normalize import Forms
from igentai_tui.engine.orchestrator import Arm, Limits, Orchestrator, RunSettings
from igentai_tui.output import OutputFile
from igentai_tui.providers.sim import SimProvider
from igentai_tui.store import IN_FLIGHT, Batch, CallRecord, Store, Verdicts


async def make_db(tmp: Path) -> None:
    store = await Store.open(tmp / "igentai.db")
    for seed in (1, 2):
        output = OutputFile(tmp / f"output{seed}.txt")
        settings = RunSettings(
            "Paris attractions", [Arm("sim", "instant")], producers=2,
            limits=Limits(max_requests=6), seed=seed,
        )  # fmt: skip
        sim = SimProvider("instant", seed=seed)
        await Orchestrator(settings, store, {"sim:instant": sim}, output).run()
        output.close()
    # a hostile entry in a third run
    run = await store.create_run("hostile", {}, None, 1.8e9)
    bad = Forms('=HYPERLINK("http://x")', "hyperlink http x", "http hyperlink x")
    await store.record(run.id, [Batch(CallRecord(1, "sim", "m", 1.8e9), [bad])])
    await store.close()


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("cmd")
    asyncio.run(make_db(tmp))
    return tmp / "igentai.db"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def q(db: Path, sql: str, *params: object) -> list[tuple]:
    con = sqlite3.connect(db)
    rows = con.execute(sql, params).fetchall()
    con.close()
    return rows


def test_runs_json_matches_the_db(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "runs", "--json", "--db", str(db))
    assert code == 0
    runs = json.loads(out)
    assert [r["id"] for r in runs] == [u for (u,) in q(db, "SELECT uid FROM runs ORDER BY id")]
    for r in runs:
        (rid,) = q(db, "SELECT id FROM runs WHERE uid = ?", r["id"])[0]
        assert r["entries"] == q(db, "SELECT count(*) FROM entries WHERE run_id = ?", rid)[0][0]
        assert r["requests"] == q(db, "SELECT count(*) FROM calls WHERE run_id = ?", rid)[0][0]
    # --max-requests 6 asks six times for entries, then checks what they found
    (checks,) = q(db, "SELECT count(*) FROM calls WHERE run_id = 1 AND prompt_version LIKE "
                  "'verify%'")[0]  # fmt: skip
    assert checks >= 1 and runs[0]["requests"] == 6 + checks
    assert runs[0]["status"] == "completed"
    assert (
        runs[0]["confirmed"] + runs[0]["pending"] + runs[0]["rejected"] + runs[0]["merged"]
        == runs[0]["entries"]
    )
    code, out, _ = run(capsys, "runs", "--db", str(db))
    assert code == 0 and runs[0]["id"] in out and "Paris attractions" in out


def test_export_txt_is_output_txt(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The same lines: the export in the order found, output.txt in the order confirmed."""
    first = q(db, "SELECT uid FROM runs ORDER BY id")[0][0]
    code, out, _ = run(capsys, "export", first[:5], "--db", str(db))
    assert code == 0
    written = (db.parent / "output1.txt").read_text(encoding="utf-8")
    assert out.endswith("\n") and sorted(out.splitlines()) == sorted(written.splitlines())


def test_export_status_chooses_the_entry_states(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The fixture's run rejects or merges something most times, not always: on a copy, its
    # last entry is rejected whatever the run decided, so every state the test reads exists.
    db = shutil.copy(db, tmp_path / "igentai.db")
    con = sqlite3.connect(db)
    con.execute("UPDATE entries SET status = 'rejected' WHERE id = (SELECT max(id) FROM entries "
                "WHERE run_id = (SELECT min(id) FROM runs))")  # fmt: skip
    con.commit()
    con.close()
    (rid,) = q(db, "SELECT id FROM runs ORDER BY id")[0]
    first = q(db, "SELECT uid FROM runs ORDER BY id")[0][0]
    every = [t for (t,) in q(db, "SELECT text FROM entries WHERE run_id = ? ORDER BY id", rid)]
    confirmed = [t for (t,) in q(db, "SELECT text FROM entries WHERE run_id = ? AND status = "
                                     "'confirmed' ORDER BY id", rid)]  # fmt: skip
    assert confirmed and len(confirmed) < len(every)  # some were rejected or merged
    code, out, _ = run(capsys, "export", first[:5], "--status", "all", "--db", str(db))
    assert code == 0 and out.splitlines() == every
    code, out, _ = run(capsys, "export", first[:5], "--db", str(db))
    assert code == 0 and out.splitlines() == confirmed
    code, out, _ = run(capsys, "export", first[:5], "-f", "jsonl", "--with-provenance",
                       "--status", "rejected,merged", "--db", str(db))  # fmt: skip
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and {r["status"] for r in rows} <= {"rejected", "merged"}
    assert all(r["merged_into"] for r in rows if r["status"] == "merged")
    code, _, err = run(capsys, "export", first[:5], "--status", "maybe", "--db", str(db))
    assert code == 2 and "confirmed, pending, rejected, merged" in err


def test_a_merge_can_be_listed_and_undone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async def make() -> None:
        store = await Store.open(tmp_path / "m.db")
        run_row = await store.create_run("Provinces", {}, None, 1.8e9)
        call = CallRecord(1, "sim", "m", 1.8e9)
        out = await store.record(run_row.id, [Batch(call, [
            Forms("Harare", "harare", "harare"),
            Forms("Harare Province", "harare province", "harare province"),
        ])])  # fmt: skip
        a, b = (e.id for e in out[0].new)
        await store.decide(run_row.id, Verdicts(merged=[(b, a)]))
        await store.close()

    asyncio.run(make())
    db = tmp_path / "m.db"
    code, out, _ = run(capsys, "merges", "last", "--db", str(db))
    assert code == 0 and "Harare Province" in out and "Harare" in out
    code, out, _ = run(capsys, "merges", "last", "--json", "--db", str(db))
    (merge,) = json.loads(out)
    assert merge["into_text"] == "Harare"
    code, _, err = run(capsys, "merges", "last", "--undo", str(merge["id"]), "--db", str(db))
    assert code == 0 and "of its own again" in err
    assert q(db, "SELECT status, merged_into FROM entries WHERE id = ?", merge["id"]) == [
        ("confirmed", None)
    ]
    code, _, err = run(capsys, "merges", "last", "--undo", str(merge["id"]), "--db", str(db))
    assert code == 2 and "not a merged entry" in err


def test_export_formats_and_provenance(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "export", "last", "-f", "csv", "--with-provenance", "--db", str(db))
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows[0]["text"].startswith("'=HYPERLINK")  # neutralized for spreadsheets
    assert rows[0]["provider"] == "sim" and rows[0]["times_proposed"] == "1"
    code, out, _ = run(capsys, "export", "last", "-f", "jsonl", "--db", str(db))
    assert json.loads(out) == {"text": '=HYPERLINK("http://x")'}
    code, out, _ = run(capsys, "export", "last", "-f", "md", "--db", str(db))
    assert out.splitlines()[0] == "| text |"


def test_export_to_file_refuses_to_overwrite(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "list.txt"
    assert run(capsys, "export", "last", "-o", str(target), "--db", str(db))[0] == 0
    code, _, err = run(capsys, "export", "last", "-o", str(target), "--db", str(db))
    assert code == 2 and "--force" in err
    assert run(capsys, "export", "last", "-o", str(target), "--force", "--db", str(db))[0] == 0


def test_stats_json_matches_the_db(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    uid = q(db, "SELECT uid FROM runs ORDER BY id")[1][0]
    code, out, _ = run(capsys, "stats", uid, "--json", "--db", str(db))
    assert code == 0
    stats = json.loads(out)
    (rid,) = q(db, "SELECT id FROM runs WHERE uid = ?", uid)[0]
    arm = stats["providers"]["sim:instant"]
    (checks,) = q(db, "SELECT count(*) FROM calls WHERE run_id = ? AND prompt_version LIKE "
                  "'verify%'", rid)[0]  # fmt: skip
    assert arm["requests"] == 6 + checks
    assert arm["new"] == q(db, "SELECT count(*) FROM entries WHERE run_id = ?", rid)[0][0]
    states = dict(q(db, "SELECT status, count(*) FROM entries WHERE run_id = ? GROUP BY 1", rid))
    assert {k: v for k, v in stats["states"].items() if v} == states
    assert stats["coverage"]["observed"] == arm["new"]
    assert run(capsys, "stats", uid, "--db", str(db))[0] == 0


def test_stats_count_requests_without_a_reply(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def sent(tokens: int) -> CallRecord:
        return CallRecord(1, "sim", "m", 1.8e9, input_tokens=tokens, error_kind=IN_FLIGHT,
                          estimated=True)  # fmt: skip

    async def fill() -> None:
        store = await Store.open(tmp_path / "igentai.db")
        run_row = await store.create_run("t", {}, None, 1.8e9)
        await store.record(run_row.id, [Batch(sent(100)), Batch(sent(30))])
        await store.interrupt_calls(run_row.id)  # as a resume after a crash does
        answered = CallRecord(1, "sim", "m", 1.8e9, latency_s=1.0, input_tokens=7)
        await store.record(run_row.id, [Batch(sent(5)), Batch(answered)])
        await store.close()

    asyncio.run(fill())
    db = str(tmp_path / "igentai.db")
    stats = json.loads(run(capsys, "stats", "last", "--json", "--db", db)[1])
    arm = stats["providers"]["sim:m"]
    assert (arm["requests"], arm["input_tokens"], arm["errors"]) == (4, 142, 2)
    assert arm["errors_by_kind"] == {"interrupted": 2}  # in flight is not an error (yet)
    assert (arm["in_flight"], arm["estimated_requests"], arm["estimated_input_tokens"]) == (
        1, 3, 135,
    )  # fmt: skip
    code, out, _ = run(capsys, "stats", "last", "--db", db)
    assert code == 0
    assert (
        "sim:m: 135 input tokens estimated, of 3 requests without a reply, 1 of them in "
        "flight" in out
    )


def test_path(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IGENTAI_DB", "/somewhere/x.db")
    code, out, _ = run(capsys, "path", "--db")
    assert code == 0 and out.strip() == "/somewhere/x.db"
    assert "config" in run(capsys, "path")[1]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["export", "zzzz"], "no run"),
        (["export", ""], "empty run id"),
        (["stats", "nope"], "no run"),
        (["export", "last", "-f", "xml"], "invalid choice"),
        (["export", "last", "-o", "/"], "is a directory"),
        (["runs", "--db", "/nonexistent/igentai.db"], "no database"),
    ],
)
def test_bad_input(
    db: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    before = digest(db)
    full = args if "--db" in args else [*args, "--db", str(db)]
    code, out, err = run(capsys, *full)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err
    assert digest(db) == before


def test_ambiguous_prefix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async def two() -> None:
        s = await Store.open(tmp_path / "a.db")
        ids = [(await s.create_run("t", {}, None, 1.8e9)).id for _ in range(2)]
        await s.close()
        con = sqlite3.connect(tmp_path / "a.db")
        uids = zip(("abc111", "abc222"), ids, strict=True)
        con.executemany("UPDATE runs SET uid = ? WHERE id = ?", uids)
        con.commit()
        con.close()

    asyncio.run(two())
    code, _, err = run(capsys, "export", "abc", "--db", str(tmp_path / "a.db"))
    assert code == 2 and "ambiguous" in err
    assert run(capsys, "export", "abc2", "--db", str(tmp_path / "a.db"))[0] == 0


@pytest.mark.parametrize("kind", ["corrupt", "foreign", "newer"])
def test_bad_databases(tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str) -> None:
    path = tmp_path / "x.db"
    if kind == "corrupt":
        path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    else:
        con = sqlite3.connect(path)
        if kind == "foreign":
            con.execute("CREATE TABLE t (x)")
        else:
            con.execute("CREATE TABLE schema_migrations (version, description, applied_at)")
            con.execute("INSERT INTO schema_migrations VALUES (99, 'future', 'now')")
        con.commit()
        con.close()
    before = digest(path)
    code, _, err = run(capsys, "runs", "--db", str(path))
    assert code == 2 and len(err.strip().splitlines()) == 1 and str(path) in err
    assert digest(path) == before


# -- a database in a folder the user cannot write --------------------------------------------


def _export(db: Path, *args: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["export", *args, "--db", str(db)]) == 0
    return out.getvalue()


def _as_reader(tmp: Path, how: str) -> list[str]:
    """The command prefix that runs igentai where `tmp` cannot be written.

    Root ignores file modes, so a 0555 folder is not read-only to root: then the command runs
    as an unprivileged user in a user namespace (the folder's owner, root, maps to that user,
    whose owner bits r-x now apply), or, for "read-only mount", on a read-only bind mount of
    the folder in a mount namespace (EROFS, whoever the user)."""
    if how == "0555 folder":
        prefix = (
            ["unshare", "--user", "--map-user=65534", "--map-group=65534"]
            if os.geteuid() == 0
            else []
        )
    elif os.geteuid() == 0:
        bind = f'mount --bind {tmp} {tmp} && mount -o remount,ro,bind {tmp} && exec "$@"'
        prefix = ["unshare", "--mount", "sh", "-c", bind, "sh"]
    else:
        pytest.skip("a read-only bind mount needs root")
    probe = subprocess.run([*prefix, "test", "!", "-w", str(tmp)], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot make {tmp} read-only here ({how}): {probe.stderr!r}")
    return prefix


@pytest.mark.parametrize("how", ["0555 folder", "read-only mount"])
def test_read_commands_work_in_a_read_only_folder(db: Path, tmp_path: Path, how: str) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    copy = folder / "igentai.db"
    copy.write_bytes(db.read_bytes())  # closed cleanly: no -wal, no -shm
    folder.chmod(0o555)
    try:
        prefix = _as_reader(folder, how)
        before = hashlib.sha256(copy.read_bytes()).hexdigest()
        outs = {}
        for cmd in (["runs", "--json"], ["export", "last", "-f", "csv"], ["stats", "last"]):
            p = subprocess.run(
                [*prefix, sys.executable, "-m", "igentai_tui", *cmd, "--db", str(copy)],
                capture_output=True, text=True, timeout=60, cwd=tmp_path,
            )  # fmt: skip
            assert p.returncode == 0 and "error" not in p.stderr, (cmd, p.stderr)
            outs[cmd[0]] = p.stdout
        assert len(json.loads(outs["runs"])) == 3
        assert "hostile" in outs["stats"]
        assert outs["export"] == _export(db, "last", "-f", "csv").replace("\r\n", "\n")  # as read
        assert sorted(p.name for p in folder.iterdir()) == ["igentai.db"]  # nothing created
        assert hashlib.sha256(copy.read_bytes()).hexdigest() == before
    finally:
        folder.chmod(0o755)


def test_a_read_only_folder_with_changes_in_its_wal_is_not_read_stale(
    db: Path, tmp_path: Path
) -> None:
    """Opened `immutable`, SQLite would ignore the -wal file: the command refuses instead."""
    folder = tmp_path / "shared"
    folder.mkdir()
    copy = folder / "igentai.db"
    copy.write_bytes(db.read_bytes())
    writer = (  # a process that commits into the WAL and dies without checkpointing
        "import os, sqlite3, sys; con = sqlite3.connect(sys.argv[1], isolation_level=None); "
        "con.execute('PRAGMA wal_autocheckpoint = 0'); "
        "con.execute(\"UPDATE runs SET topic = 'changed' WHERE id = 1\"); os._exit(0)"
    )
    subprocess.run([sys.executable, "-c", writer, str(copy)], check=True)
    (folder / "igentai.db-shm").unlink()
    folder.chmod(0o555)
    try:
        prefix = _as_reader(folder, "0555 folder")
        p = subprocess.run(
            [*prefix, sys.executable, "-m", "igentai_tui", "runs", "--db", str(copy)],
            capture_output=True, text=True, timeout=60, cwd=tmp_path,
        )  # fmt: skip
    finally:
        folder.chmod(0o755)
    assert p.returncode == 2 and "igentai.db-wal holds changes" in p.stderr, p.stderr
