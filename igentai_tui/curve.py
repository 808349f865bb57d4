"""A run's discovery curve: confirmed entries against tokens, cost or time, and each
partition's yield, read from the calls and entries tables (what `igentai stats --plot` and
`--partitions` draw).

An entry counts from the call that confirmed it (`decided_call_id`: a verification request),
or, when nothing did (`--no-verify`, two models agreeing, runs from before entry states), from
the call that first found it. Time is the seconds from the run's first request to the end of
each request; a resumed run's idle gaps are left out (active time, as `stats` counts it).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from igentai_tui.store import parse_utc

AXES = {"tokens": "tokens", "cost": "cost (USD)", "time": "active time (s)"}
SPARKS = "▁▂▃▄▅▆▇█"
IDLE_GAP_S = 60.0  # a pause between two requests longer than this is idle (a resumed run)


@dataclass(slots=True)
class Curve:
    """Cumulative confirmed entries (`y`) after each request, against `x`."""

    label: str
    x: list[float] = field(default_factory=list)
    y: list[int] = field(default_factory=list)


def discovery(con: sqlite3.Connection, run_id: int, axis: str = "tokens") -> Curve:
    """The run's curve: after each request (in the order they were made), the confirmed
    entries so far against the tokens, cost or active seconds spent so far."""
    if axis not in AXES:
        raise ValueError(f"unknown axis {axis!r}: use one of {', '.join(AXES)}")
    confirmed = dict(
        con.execute(
            "SELECT coalesce(decided_call_id, first_call_id), count(*) FROM entries "
            "WHERE run_id = ? AND status = 'confirmed' GROUP BY 1",
            (run_id,),
        ).fetchall()
    )
    rows = con.execute(
        "SELECT id, input_tokens + output_tokens, coalesce(cost_usd, 0), started_at, "
        "coalesce(latency_s, 0) FROM calls WHERE run_id = ? ORDER BY id",
        (run_id,),
    ).fetchall()
    curve = Curve("")
    spent = 0.0
    found = 0
    active = 0.0
    last_end: float | None = None
    for call_id, tokens, cost, started, latency in rows:
        start = parse_utc(started)
        end = start + latency
        if last_end is None or start - last_end > IDLE_GAP_S:
            last_end = start  # the run's first request, or the first after an idle gap
        active += max(0.0, end - last_end)
        last_end = max(last_end, end)
        spent += {"tokens": tokens or 0, "cost": cost, "time": 0.0}[axis]
        found += confirmed.get(call_id, 0)
        curve.x.append(active if axis == "time" else spent)
        curve.y.append(found)
    return curve


def partition_yields(con: sqlite3.Connection, run_id: int) -> list[tuple[str, list[int]]]:
    """Each partition's new entries per list request, in the order made, the partitions in
    the order first asked ("" for the whole topic)."""
    rows = con.execute(
        "SELECT coalesce(partition, ''), new FROM calls WHERE run_id = ? AND error_kind IS NULL "
        "AND prompt_version LIKE 'list-%' ORDER BY id",
        (run_id,),
    ).fetchall()
    out: dict[str, list[int]] = {}
    for name, new in rows:
        out.setdefault(name, []).append(new or 0)
    return list(out.items())


def sparkline(values: list[int], width: int = 24) -> str:
    """`values` as block characters, scaled to their own peak; longer series are summed into
    `width` buckets."""
    if not values:
        return ""
    if len(values) > width:
        size = -(-len(values) // width)
        values = [sum(values[i : i + size]) for i in range(0, len(values), size)]
    peak = max(values)
    if peak <= 0:
        return SPARKS[0] * len(values)
    return "".join(SPARKS[min(len(SPARKS) - 1, v * len(SPARKS) // (peak + 1))] for v in values)
