"""The discovery curve: `igentai stats --plot`, `--partitions`, and the TUI's series, checked
against the calls and entries tables of a small run."""

from __future__ import annotations

import contextlib
import io
import os
import sqlite3
from pathlib import Path

import pytest

from igentai_tui.cli import main
from igentai_tui.curve import discovery, partition_yields, sparkline
from igentai_tui.engine.metrics import Snapshot
from igentai_tui.tui.model import Discovery


@pytest.fixture(scope="module")
def run_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small sim run (verified, so entries are confirmed in batches) and a second one."""
    tmp = tmp_path_factory.mktemp("curve")
    db = tmp / "c.db"
    saved = {k: v for k, v in os.environ.items() if k.endswith("_API_KEY")}
    for k in saved:
        del os.environ[k]
    try:
        for topic in ("Paris attractions", "Board games"):
            with (
                contextlib.redirect_stdout(io.StringIO()),
                contextlib.redirect_stderr(io.StringIO()),
            ):
                code = main(["--headless", topic, "--providers", "sim:instant", "-n", "3",
                             "--max-requests", "25", "--seed", "2", "--db", str(db), "-o",
                             str(tmp / f"{topic}.txt")])  # fmt: skip
            assert code == 0
    finally:
        os.environ.update(saved)
    return db


def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def test_the_curve_is_the_calls_table_summed(run_db: Path) -> None:
    con = sqlite3.connect(run_db)
    run_id = 1
    calls = con.execute(
        "SELECT id, input_tokens + output_tokens, coalesce(cost_usd, 0) FROM calls "
        "WHERE run_id = ? ORDER BY id", (run_id,)
    ).fetchall()  # fmt: skip
    curve = discovery(con, run_id, "tokens")
    assert len(curve.x) == len(calls)
    assert curve.x[-1] == sum(t for _, t, _ in calls)
    assert curve.x == sorted(curve.x) and curve.y == sorted(curve.y)
    confirmed = con.execute(
        "SELECT count(*) FROM entries WHERE run_id = ? AND status = 'confirmed'", (run_id,)
    ).fetchone()[0]
    assert curve.y[-1] == confirmed > 0
    # Each step up is what the call at that point confirmed (a verification request), or
    # found already confirmed (a list request, when nothing checked its entries).
    by_call = dict(con.execute(
        "SELECT coalesce(decided_call_id, first_call_id), count(*) FROM entries "
        "WHERE run_id = ? AND status = 'confirmed' GROUP BY 1", (run_id,)
    ).fetchall())  # fmt: skip
    steps = [b - a for a, b in zip([0, *curve.y], curve.y, strict=False)]
    assert steps == [by_call.get(cid, 0) for cid, _, _ in calls]
    verify = {
        cid
        for (cid,) in con.execute(
            "SELECT id FROM calls WHERE run_id = ? AND prompt_version LIKE 'verify%'", (run_id,)
        )
    }
    assert sum(s for s, (cid, _, _) in zip(steps, calls, strict=True) if cid in verify) > 0
    time = discovery(con, run_id, "time")
    assert time.x == sorted(time.x) and time.y == curve.y
    with pytest.raises(ValueError):
        discovery(con, run_id, "dollars")


def test_partition_yields_are_the_list_requests(run_db: Path) -> None:
    con = sqlite3.connect(run_db)
    yields = dict(partition_yields(con, 1))
    rows = con.execute(
        "SELECT coalesce(partition, ''), new FROM calls WHERE run_id = 1 AND error_kind IS NULL "
        "AND prompt_version = 'list-v3' ORDER BY id"
    ).fetchall()
    assert sum(len(v) for v in yields.values()) == len(rows)
    assert sum(sum(v) for v in yields.values()) == sum(n for _, n in rows)
    assert sparkline([0, 5, 10]) == "▁▄█" and sparkline([]) == "" and sparkline([0, 0]) == "▁▁"
    assert len(sparkline(list(range(100)), width=10)) == 10


def test_stats_plot_draws_in_the_terminal_and_into_files(run_db: Path, tmp_path: Path) -> None:
    con = sqlite3.connect(run_db)
    total = con.execute("SELECT sum(input_tokens + output_tokens) FROM calls WHERE run_id = 1")
    last_x = total.fetchone()[0]
    uids = [u for (u,) in con.execute("SELECT uid FROM runs ORDER BY id")]
    (total,) = con.execute("SELECT estimated_total FROM runs WHERE id = 1").fetchone()
    confirmed = con.execute("SELECT count(*) FROM entries WHERE run_id = 1 AND status = "
                            "'confirmed'").fetchone()[0]  # fmt: skip
    assert total >= confirmed > 0  # stored when the run ended: the plot's horizontal line
    code, out, _ = cli("stats", uids[0], "--db", str(run_db), "--plot")
    assert code == 0 and "tokens" in out and "confirmed" in out
    assert str(last_x) in out  # the x axis ends at the run's tokens (plotext may add ".0")
    assert "\x1b[" not in out  # no colour codes when not a terminal
    code, out, _ = cli("stats", uids[0], uids[1], "--db", str(run_db), "--plot", "--axis", "time")
    assert code == 0 and uids[0][:8] in out and uids[1][:8] in out and "active time" in out
    png, svg = tmp_path / "c.png", tmp_path / "pics" / "c.svg"
    assert cli("stats", "last", "--db", str(run_db), "--plot", str(png))[0] == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert cli("stats", uids[0], "--db", str(run_db), "--plot", str(svg))[0] == 0
    assert b"<svg" in svg.read_bytes()[:400]


def test_stats_plot_refuses_what_it_cannot_do(run_db: Path, tmp_path: Path) -> None:
    code, _, err = cli("stats", "last", "--db", str(run_db), "--plot", str(tmp_path / "c.txt"))
    assert code == 2 and "give a .png or .svg file" in err and "Traceback" not in err
    code, _, err = cli("stats", "last", "last", "--db", str(run_db))
    assert code == 2 and "--plot" in err
    code, _, err = cli("stats", "last", "--db", str(run_db), "--plot", str(run_db))
    assert code == 2


def test_stats_partitions_shows_each_partitions_yield(run_db: Path) -> None:
    uid = sqlite3.connect(run_db).execute("SELECT uid FROM runs WHERE id = 1").fetchone()[0]
    code, out, _ = cli("stats", uid, "--db", str(run_db), "--partitions")
    assert code == 0 and "(whole topic)" in out and "per request" in out
    assert any(c in out for c in "▁▂▃▄▅▆▇█")


def snap(tokens: int, confirmed: int) -> Snapshot:
    from igentai_tui.engine.metrics import ContextLag, Coverage, TallyView

    view = TallyView(0, 0, 0, 0, 0, 0, tokens, 0, None, 0, 0, None, None, None, None, None, {})
    return Snapshot(0.0, confirmed, confirmed, 0, 0, 0, view, {}, {},
                    Coverage(0, 0, 0, 0, None, None, None), ContextLag(0.0, 0.0))  # fmt: skip


def test_the_tui_series_is_bounded_and_gives_the_cost_of_a_new_entry() -> None:
    d = Discovery()
    assert d.marginal() is None
    d.add(snap(5000, 40))  # the first snapshot came late: no point 1,000 tokens back
    assert d.marginal() is None
    for n in range(1, 3000):
        d.add(snap(5000 + 100 * n, 40 + n // 2))
    assert len(d.tokens) <= 2001 and d.tokens[-1] == 5000 + 100 * 2999
    assert d.marginal() == 5  # five new over the last 1,000 tokens
    d.add(snap(5000 + 100 * 2999, 40 + 2999 // 2))  # nothing changed: no point added
    assert d.tokens.count(d.tokens[-1]) == 1
