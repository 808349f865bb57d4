"""`igentai stats`: per provider:model and per partition figures of a run, its coverage
estimate, and the discovery curve (text or image)."""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import sys
from pathlib import Path
from typing import Any

from igentai_tui.common.clock import span
from igentai_tui.config import database_file
from igentai_tui.curve import discovery, partition_yields, sparkline
from igentai_tui.engine.metrics import coverage
from igentai_tui.engine.prompts import short_partition
from igentai_tui.engine.words import count
from igentai_tui.history import (
    UNANSWERED,
    CommandError,
    active_seconds,
    entry_states,
    open_readonly,
    resolve_run,
    run_sessions,
    short_text,
    text_table,
)
from igentai_tui.plot import PlotError, image_plot, text_plot
from igentai_tui.store import (
    IN_FLIGHT,
)


def run_stats(con: sqlite3.Connection, run: sqlite3.Row) -> dict[str, Any]:
    """Per provider:model and per partition figures, and the coverage estimate."""
    sessions = run_sessions(con, run)
    active = active_seconds(sessions)
    minutes = max((active or 0) / 60, 1e-9)

    def group(expr: str) -> dict[str, dict[str, Any]]:
        kinds: dict[str, dict[str, int]] = {}
        for g, kind, n in con.execute(
            f"SELECT {expr} AS g, error_kind, count(*) FROM calls WHERE run_id = ? AND "
            "error_kind IS NOT NULL AND error_kind != ? GROUP BY g, error_kind ORDER BY 3 DESC",
            (run["id"], IN_FLIGHT),
        ):
            kinds.setdefault(g or "(whole topic)", {})[kind] = n
        out = {}
        for r in con.execute(
            f"SELECT {expr} AS g, count(*) AS requests, sum(new) AS new, sum(returned) AS ret, "
            "sum(rejected) AS rejected, "
            "sum(input_tokens) AS tin, sum(output_tokens) AS tout, sum(cost_usd) AS cost, "
            "count(cost_usd) AS priced, count(error_kind) AS errors, "
            "count(CASE WHEN error_kind = ? THEN 1 END) AS in_flight, "
            "count(CASE WHEN error_kind IN (?, ?) THEN 1 END) AS estimated, "
            "coalesce(sum(CASE WHEN error_kind IN (?, ?) THEN input_tokens END), 0) AS est_tokens "
            f"FROM calls WHERE run_id = ? GROUP BY g ORDER BY new DESC",
            (IN_FLIGHT, *UNANSWERED, *UNANSWERED, run["id"]),
        ):
            out[r["g"] or "(whole topic)"] = {
                "requests": r["requests"],
                "new": r["new"],
                "yield": r["new"] / r["ret"] if r["ret"] else None,
                # items dropped from replies: too long, junk, or holding a key (docs/reliability)
                "rejected": r["rejected"],
                "input_tokens": r["tin"],
                "output_tokens": r["tout"],
                "cost_usd": r["cost"] if r["priced"] == r["requests"] else None,
                "unique_per_min": r["new"] / minutes if active else None,
                "errors": r["errors"] - r["in_flight"],
                "errors_by_kind": kinds.get(r["g"] or "(whole topic)", {}),
                "in_flight": r["in_flight"],
                # requests without a reported count: in flight or interrupted
                "estimated_requests": r["estimated"],
                "estimated_input_tokens": r["est_tokens"],
            }
        return out

    freq = dict(
        con.execute(
            "SELECT times_proposed, count(*) FROM entries WHERE run_id = ? GROUP BY 1",
            (run["id"],),
        ).fetchall()
    )
    observed = sum(freq.values())
    proposals = sum(t * n for t, n in freq.items())
    cov = coverage(observed, proposals, freq.get(1, 0), freq.get(2, 0))
    return {
        "run_id": run["uid"],
        "topic": run["topic"],
        "status": run["status"],
        "entries": observed,
        "states": entry_states(con, run["id"]),
        "active_s": active,
        "sessions": sessions,
        "providers": group("provider || ':' || model"),
        "partitions": group("partition"),
        "coverage": cov.as_dict(),
    }


def cmd_stats(args: argparse.Namespace) -> int:
    con = open_readonly(args.db)
    runs = [resolve_run(con, ref) for ref in args.run]
    if args.plot is not None:
        return _plot(con, runs, args.plot, args.axis, args.db)
    if len(runs) > 1:
        raise CommandError("several runs are drawn together with --plot; stats shows one run")
    if args.partitions:
        return _partitions(con, runs[0])
    stats = run_stats(con, runs[0])
    if args.json:
        print(json.dumps(stats, indent=2, ensure_ascii=False))
        return 0
    st = stats["states"]
    print(f"run {stats['run_id']} · {short_text(stats['topic'], 60)} · {stats['status']} · "
          f"{st['confirmed']:,} confirmed, {st['pending']:,} pending, {st['rejected']:,} "
          f"rejected, {st['merged']:,} merged")  # fmt: skip
    if len(stats["sessions"]) > 1:
        print()
        sessions = [
            (
                i, s["started"][:19].replace("T", " "),
                "" if s["duration_s"] is None else span(s["duration_s"]),
                "" if s["gap_before_s"] is None else span(s["gap_before_s"]),
                s["status"] or "", short_text(s["stop_reason"] or "", 40),
            )
            for i, s in enumerate(stats["sessions"], 1)
        ]  # fmt: skip
        print(text_table(["session", "started", "active", "idle before", "status", "reason"],
                     sessions))  # fmt: skip
    for title, key in (("provider:model", "providers"), ("partition", "partitions")):
        rows = [
            (
                short_text(short_partition(name), 40), s["requests"], s["new"],
                "" if s["yield"] is None else f"{s['yield']:.1%}",
                s["input_tokens"] + s["output_tokens"],
                "unknown" if s["cost_usd"] is None else f"${s['cost_usd']:.4f}",
                "" if s["unique_per_min"] is None else f"{s['unique_per_min']:.0f}",
                s["errors"],
            )
            for name, s in stats[key].items()
        ]  # fmt: skip
        print()
        print(text_table([title, "requests", "new", "yield", "tokens", "cost", "new/min", "errors"],
                     rows))  # fmt: skip
        for name, s in stats[key].items():
            if s["errors_by_kind"]:
                kinds = ", ".join(f"{k} {n}" for k, n in s["errors_by_kind"].items())
                print(f"  errors of {short_text(name, 40)}: {kinds}")
            if s["rejected"]:
                items = count(s["rejected"], "item")
                print(f"  {short_text(name, 40)}: {items} of its replies rejected (too long, junk, "
                      "or holding a key)")  # fmt: skip
            if s["estimated_requests"]:
                live = f", {s['in_flight']} of them in flight" if s["in_flight"] else ""
                requests = count(s["estimated_requests"], "request")
                print(
                    f"  {short_text(name, 40)}: {s['estimated_input_tokens']:,} input tokens "
                    f"estimated, of {requests} without a reply{live}"
                )
    c = stats["coverage"]
    if c["chao1"]:
        print(f"\nproposal counts: Chao1 {c['chao1']:,.0f} (± {c['chao1_sd']:,.0f}) entries, "
              f"Good-Turing {c['good_turing']:.1%} (see docs/metrics.md)")  # fmt: skip
    return 0


def _plot(
    con: sqlite3.Connection, runs: list[sqlite3.Row], target: str, axis: str, db: Path
) -> int:
    """Draw the runs' discovery curves in the terminal (`target` "-") or into an image file
    (written over if it exists: a picture is made again, not kept)."""
    curves = []
    for run in runs:
        curve = discovery(con, run["id"], axis)
        if len(runs) > 1:
            arms = ", ".join(json.loads(run["settings"] or "{}").get("arms", []))
            curve.label = (
                f"{run['uid'][:8]} {short_text(run['topic'], 24)} · {short_text(arms, 30)}"
            )
        curves.append(curve)
    title = "" if len(runs) > 1 else f"{runs[0]['uid'][:8]} · {short_text(runs[0]['topic'], 50)}"
    # One run: the estimated number of real entries when it ended, as a line (none stored
    # before schema 7).
    keys = runs[0].keys()
    total = runs[0]["estimated_total"] if len(runs) == 1 and "estimated_total" in keys else None
    if target == "-":
        size = shutil.get_terminal_size()
        height = max(10, min(25, size.lines - 4))
        print(text_plot(curves, axis, size.columns, height, total, color=sys.stdout.isatty(),
                        title=title))  # fmt: skip
        return 0
    path = Path(target).expanduser()
    if (clash := database_file(path, db)) is not None:
        raise CommandError(f"plot target {path} is the database's file {clash}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        image_plot(curves, axis, path, total, title=title)
    except OSError as exc:
        raise CommandError(f"cannot write {path}: {exc.strerror or exc}") from None
    except PlotError as exc:
        raise CommandError(str(exc)) from None
    print(f"igentai: wrote {path}", file=sys.stderr)
    return 0


def _partitions(con: sqlite3.Connection, run: sqlite3.Row) -> int:
    """Each partition's yield curve as a sparkline: new entries per list request."""
    rows = [
        (short_text(short_partition(name) if name else "(whole topic)", 40), len(news), sum(news),
         sparkline(news), news[-1] if news else 0)
        for name, news in partition_yields(con, run["id"])
    ]  # fmt: skip
    print(f"run {run['uid']} · {short_text(run['topic'], 60)} · new entries per request, "
          "oldest first")  # fmt: skip
    print(text_table(["partition", "requests", "new", "per request", "last"], rows))
    return 0
