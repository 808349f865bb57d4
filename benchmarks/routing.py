"""Routing benchmark: adaptive against round-robin and fixed, on three sim arms of different
quality, in simulated time (tests/fleet.py), for each --optimize objective.

    python benchmarks/routing.py [--producers 5] [--seeds 1,2,3]

The arms (DEMO_ARMS in tests/fleet.py): `strong` knows the whole topic but is slow and dear, `fast`
answers 6x faster but knows 60% of it, `cheap` costs 1/60 of `strong` and knows 15%.
Each objective gets the same budget for every strategy: 5 minutes of simulated time for speed,
1.5M tokens for tokens, $1 for cost; the figure is new entries per second, per 1k tokens or per
dollar over the whole run. "best arm" is the arm with the highest rate when run alone under
`fixed` with the same budget; its share counts the requests started after a 60 s warm-up.
A last scenario takes the best token arm down from 150 s to 270 s and reports its share before,
during and after the outage.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from statistics import mean

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # fleet.py

from fleet import DEMO_ARMS as ARMS
from fleet import FleetResult, run_fleet

from igentai_tui.engine.routing import UNITS, make_router
from igentai_tui.providers.sim import SimParams

TOPIC = "Kites (sim:8000)"
BUDGETS = {"speed": {"duration_s": 300.0}, "tokens": {"max_tokens": 1_500_000},
           "cost": {"max_dollars": 1.0}}  # fmt: skip
WARMUP_S = 60.0


def run(
    strategy: str, objective: str, arms: dict[str, SimParams], seed: int, n: int
) -> FleetResult:
    budget = {"duration_s": 3600.0, **BUDGETS[objective]}
    router = make_router(strategy, list(arms), objective=objective, seed=seed)
    return run_fleet(TOPIC, arms, router, producers=n, seed=seed, **budget)  # type: ignore[arg-type]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--producers", type=int, default=5)
    ap.add_argument("--seeds", default="1,2,3")
    a = ap.parse_args()
    seeds = [int(s) for s in a.seeds.split(",")]
    print(f"{TOPIC}, {a.producers} producers, seeds {seeds} (means over seeds)\n")
    print("| objective | budget | strategy | new entries | rate | vs round-robin | best arm | "
          "its share after warm-up |")  # fmt: skip
    print("|---|---|---|---:|---:|---:|---|---:|")
    for objective in ("tokens", "speed", "cost"):
        budget = ", ".join(f"{k}={v:g}" for k, v in BUDGETS[objective].items())
        plans = [("round-robin", "round-robin", ARMS), ("adaptive", "adaptive", ARMS)] + [
            (f"fixed: {arm} alone", "fixed", {arm: p}) for arm, p in ARMS.items()
        ]
        results = {
            label: [run(strategy, objective, arms, s, a.producers) for s in seeds]
            for label, strategy, arms in plans
        }
        rate = {label: mean(r.per(objective) for r in rs) for label, rs in results.items()}
        best = max(ARMS, key=lambda arm: rate[f"fixed: {arm} alone"])
        for label, strategy, _ in plans:
            rs = results[label]
            new = mean(r.new for r in rs)
            vs = f"{rate[label] / rate['round-robin'] - 1:+.0%}"
            share = mean(r.share(best, start=WARMUP_S) for r in rs)
            shown = "—" if strategy == "fixed" else f"{share:.0%}"
            print(f"| {objective} | {budget} | {label} | {new:,.0f} | "
                  f"{rate[label]:,.3g} {UNITS[objective]} | {vs} | {best} | {shown} |")  # fmt: skip
    print(
        "\nOutage: sim:strong fails (overloaded) from 150 s to 270 s; adaptive, per token, "
        "7 minutes;\nshare of sim:strong among the requests started in each window:\n"
    )
    windows = [(60, 150), (150, 160), (160, 180), (180, 270), (270, 300), (300, 360), (360, 420)]
    print("| seed | " + " | ".join(f"{s}–{e} s" for s, e in windows) + " |")
    print("|---|" + "---:|" * len(windows))
    for s in seeds:
        r = run_fleet(TOPIC, ARMS, make_router("adaptive", list(ARMS), objective="tokens", seed=s),
                      producers=a.producers, duration_s=420, seed=s,
                      outages={"sim:strong": [(150.0, 270.0)]})  # fmt: skip
        print(f"| {s} | " + " | ".join(f"{r.share('sim:strong', b, e):.0%}" for b, e in windows)
              + " |")  # fmt: skip


if __name__ == "__main__":
    main()
