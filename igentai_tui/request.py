"""The run request both front ends start from: the run's flags, their validation into a
`RunRequest`, and the providers it names."""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from igentai_tui import __version__
from igentai_tui.common.clock import Clock
from igentai_tui.common.sanitize import clean_control, display_text
from igentai_tui.engine.orchestrator import Arm, Limits, RunSettings
from igentai_tui.engine.routing import OBJECTIVES, STRATEGIES, RoutingError, parse_weights
from igentai_tui.exits import Parser, UsageError
from igentai_tui.providers import default_specs, make_provider
from igentai_tui.providers.base import Provider, list_price
from igentai_tui.providers.specs import SpecError, parse_specs, split_model

MAX_TOPIC_CHARS = 500
MAX_PRODUCERS = 512
DEFAULT_PRODUCERS = 5


@dataclass(slots=True)
class RunRequest:
    """A validated request to run: what the engine needs plus where to write."""

    settings: RunSettings
    db: Path
    output: Path
    note: str  # which providers were chosen, and why
    resume: str | None = None  # uid of the run to continue


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {text}")
    return value


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?\s*$")


def _duration(text: str) -> float:
    m = _DURATION.match(text)
    if not m:
        raise argparse.ArgumentTypeError(
            f"expected a duration like 90, 90s, 5m or 1h, got {text!r}"
        )
    value = float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "min": 60, "h": 3600}.get(
        m.group(2) or "s", 1
    )
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a duration above 0, got {text!r}")
    return value


_PRICE = re.compile(r"^\s*(.+?)\s*=\s*([^/=]+?)\s*/\s*([^/=]+?)\s*$")


def _price(text: str) -> tuple[str, tuple[float, float]]:
    """--price ARM=IN/OUT: (arm spec, (USD per million input tokens, per million output))."""
    m = _PRICE.match(text)
    pair: list[float] = []
    for part in m.groups()[1:] if m else ():
        with contextlib.suppress(ValueError):
            pair.append(float(part))
    if not m or len(pair) != 2 or not all(0 <= v < float("inf") for v in pair):
        raise argparse.ArgumentTypeError(
            f"expected PROVIDER:MODEL=IN/OUT in USD per million input and output tokens, "
            f"e.g. openai:llama3.1=0/0 or openai:o4-mini=1.1/4.4, got {text!r}"
        )
    return m.group(1), (pair[0], pair[1])


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog="igentai",
        description="Get several LLMs, working at once, to list everything about a topic.",
        epilog="Reading the database afterwards: igentai runs | export RUN | stats RUN | path.",
    )
    p.add_argument("topic", nargs="?", help="what to list, e.g. 'Paris attractions'")
    p.add_argument("--headless", action="store_true", help="run without the TUI")
    p.add_argument("--producers", "-n", type=_positive_int, help="default 5")
    p.add_argument(
        "--providers",
        help="comma-separated PROVIDER[:MODEL] (sim, openai, anthropic, gemini; "
        "openai:MODEL@http://host:port/v1 for a local OpenAI-compatible server); "
        "default: those with API keys, else sim",
    )
    p.add_argument("--db", type=Path, help="database file (default: see `igentai path`)")
    p.add_argument("--output", "-o", type=Path, help="the list file (default ./output.txt)")
    p.add_argument("--max-unique", type=_positive_int, metavar="N")
    p.add_argument("--max-requests", type=_positive_int, metavar="N")
    p.add_argument("--max-tokens", type=_positive_int, metavar="N")
    p.add_argument(
        "--max-cost",
        type=_positive_float,
        metavar="USD",
        help="stop at this cost (every model needs a known price: see --price)",
    )
    p.add_argument(
        "--price",
        type=_price,
        action="append",
        metavar="ARM=IN/OUT",
        help="a model's price in USD per million input/output tokens, for models igentai has "
        "no price for, e.g. 'openai:llama3.1=0/0' (repeatable)",
    )
    p.add_argument("--duration", type=_duration, metavar="TIME", help="e.g. 90s, 5m, 1h")
    p.add_argument("--until-saturated", action="store_true", help="stop when exhausted")
    p.add_argument(
        "--no-verify",
        dest="verify",
        action="store_false",
        default=None,
        help="write entries at once, unchecked (default: each is verified first; docs/usage.md)",
    )
    p.add_argument(
        "--routing",
        choices=STRATEGIES,
        help="how requests are spread over the providers (default adaptive; see docs/routing.md)",
    )
    p.add_argument(
        "--optimize",
        choices=OBJECTIVES,
        help="what adaptive routing maximizes new entries per: cost (default), tokens, speed",
    )
    p.add_argument(
        "--weights",
        metavar="ARM=W,...",
        help="weights for --routing weighted, e.g. 'openai:gpt-4o-mini=3,anthropic=1'",
    )
    p.add_argument("--seed", type=_int, default=None, help="seed for sim and jitter")
    p.add_argument("--resume", metavar="RUN", help="continue a run (id, unique id prefix, or last)")
    p.add_argument("--version", action="version", version=f"igentai {__version__}")
    return p


def run_request(args: argparse.Namespace, stored: dict[str, Any] | None = None) -> RunRequest:
    """Validate parsed arguments into a RunRequest; UsageError with one line otherwise.

    `stored` is the settings of a run being resumed: flags given override them.
    """
    from igentai_tui.config import database_file, default_db_path

    stored = stored or {}
    if stored and args.topic is not None and args.topic.strip() != stored["topic"]:
        raise UsageError("--resume continues the run's own topic; leave the topic out")
    raw_topic = stored.get("topic", args.topic)
    if raw_topic is None:
        raise UsageError("a topic is required, e.g. igentai --headless 'Paris attractions'")
    topic = clean_control(raw_topic).strip()
    if not topic:
        raise UsageError("the topic is empty")
    if len(topic) > MAX_TOPIC_CHARS:
        raise UsageError(f"the topic is {len(topic)} characters long; at most {MAX_TOPIC_CHARS}")
    producers = args.producers or stored.get("producers", DEFAULT_PRODUCERS)
    if producers > MAX_PRODUCERS:
        raise UsageError(f"--producers {producers} is too many (at most {MAX_PRODUCERS})")
    try:
        if args.providers is not None:
            specs, note = parse_specs(args.providers), ""
        elif stored:
            specs, note = parse_specs(",".join(stored["arms"])), ""
        else:
            specs, note = default_specs()
    except SpecError as exc:
        raise UsageError(f"--providers: {exc}") from None
    limits = Limits(
        max_unique=args.max_unique,
        max_requests=args.max_requests,
        max_tokens=args.max_tokens,
        max_cost=args.max_cost,
        duration_s=args.duration,
        until_saturated=args.until_saturated,
    )
    if limits == Limits() and stored:
        limits = Limits(**stored["limits"])
    if args.headless and limits == Limits():
        limits.until_saturated = True
        note = "; ".join(filter(None, [note, "no stop condition given: stopping when saturated"]))
    arms = [Arm(name, model) for name, model in specs]
    routing = getattr(args, "routing", None) or stored.get("routing", "adaptive")
    weights: dict[str, float] = {}
    weights_text = getattr(args, "weights", None)
    if weights_text is not None and routing != "weighted":
        raise UsageError("--weights is only for --routing weighted")
    if routing == "weighted":
        if weights_text is None and not stored.get("weights"):
            raise UsageError("--routing weighted needs --weights, e.g. 'sim:default=3,sim:fast=1'")
        try:
            weights = parse_weights(
                weights_text or ",".join(f"{a}={w:g}" for a, w in stored["weights"].items()),
                [a.label for a in arms],
            )
        except RoutingError as exc:
            raise UsageError(f"--weights: {exc}") from None
    prices = _arm_prices(arms, getattr(args, "price", None) or [], stored.get("prices", {}))
    settings = RunSettings(
        topic=topic,
        arms=arms,
        producers=producers,
        limits=limits,
        seed=args.seed if args.seed is not None else stored.get("seed"),
        routing=routing,
        optimize=getattr(args, "optimize", None) or stored.get("optimize", "cost"),
        weights=weights,
        prices=prices,
        verify=stored.get("verify", True) if (v := getattr(args, "verify", None)) is None else v,
    )
    output = args.output or Path(stored.get("output_path") or "output.txt")
    db = args.db or default_db_path()
    if (clash := database_file(output, db)) is not None:
        raise UsageError(
            f"--output {output} is the database's file {clash}: entries written there would "
            "corrupt it; give the list a file of its own, e.g. --output output.txt"
        )
    if args.resume is None and (shared := _shared_output(output, db, topic)):
        note = "; ".join(filter(None, [note, shared]))
    return RunRequest(settings, db, output, note, args.resume)


def _shared_output(output: Path, db: Path, topic: str) -> str | None:
    """A word when a new run's list file already holds lines: whose they are, and how to keep
    the lists apart."""
    from igentai_tui.config import same_file
    from igentai_tui.history import CommandError, open_readonly
    from igentai_tui.output import line_count

    lines = line_count(output)
    if not lines:
        return None
    runs: list[sqlite3.Row] = []
    if db.is_file():  # the latest run that wrote this file, if this database knows one
        with (
            contextlib.suppress(CommandError, sqlite3.Error),
            contextlib.closing(open_readonly(db)) as con,
        ):
            rows = con.execute("SELECT uid, topic, output_path FROM runs ORDER BY id DESC")
            runs = [r for r in rows if r[2] and same_file(Path(r[2]), output)][:1]
    held = f"{output} already holds {lines:,} lines"
    if not runs:
        whose = "that this database did not write"
    elif runs[0]["topic"] == topic:
        uid = runs[0]["uid"]
        return (
            f"{held}, from an earlier run of this topic ({uid}): this run appends its entries "
            f"after them, repeats included (--resume {uid} continues that run instead)"
        )
    else:
        whose = f"from the topic '{display_text(runs[0]['topic'], 60)}' (run {runs[0]['uid']})"
    return f"{held} {whose}: this run appends its entries after them (-o FILE for its own list)"


def _arm_prices(
    arms: list[Arm],
    given: list[tuple[str, tuple[float, float]]],
    stored: dict[str, Any],
) -> dict[str, tuple[float, float]]:
    """The run's --price values by arm label: those stored with a resumed run, then those given.
    A spec names every arm of that provider and model, whatever its base URL."""
    prices = {label: (float(v[0]), float(v[1])) for label, v in stored.items()}
    for spec, pair in given:
        try:
            [(name, model)] = parse_specs(spec)
        except (SpecError, ValueError):
            raise UsageError(f"--price: {spec!r} is not one PROVIDER:MODEL") from None
        matched = [
            a.label for a in arms
            if a.provider == name and model in (a.model, split_model(a.model)[0])
        ]  # fmt: skip
        if not matched:
            have = ", ".join(a.label for a in arms)
            raise UsageError(f"--price: {spec} is not a provider of this run ({have})")
        prices.update(dict.fromkeys(matched, pair))
    return prices


def check_prices(settings: RunSettings, providers: Mapping[str, Provider]) -> None:
    """A cost limit needs every arm's price: UsageError naming those without one and the flag
    that gives it."""
    if settings.limits.max_cost is None:
        return
    unknown = [
        a for a in settings.arms
        if list_price(providers.get(a.label), a.model, settings.prices) is None
    ]  # fmt: skip
    if unknown:
        names = ", ".join(a.label for a in unknown)
        example = f"{unknown[0].provider}:{split_model(unknown[0].model)[0]}=IN/OUT"
        raise UsageError(
            f"--max-cost: no price is known for {names}; give one with --price {example} "
            "(USD per million input and output tokens; 0/0 for a free local model)"
        )


def build_providers(
    settings: RunSettings, clock: Clock, factory: Callable[..., Provider] | None = None
) -> dict[str, Provider]:
    """Each arm's provider; UsageError when one cannot be built, or when a cost limit meets a
    model without a price."""
    factory = factory or make_provider
    seed = settings.seed if settings.seed is not None else 0
    try:
        providers = {
            a.label: factory(a.provider, a.model, seed=seed + i, clock=clock)
            for i, a in enumerate(settings.arms)
        }
    except SpecError as exc:
        raise UsageError(f"--providers: {exc}") from None
    check_prices(settings, providers)
    return providers


def resume_settings(args: argparse.Namespace) -> dict[str, Any] | None:
    """The stored settings of the run --resume names (with its topic and output path)."""
    if args.resume is None:
        return None
    from igentai_tui.config import default_db_path
    from igentai_tui.history import CommandError, open_readonly, resolve_run

    try:
        con = open_readonly(args.db or default_db_path())
        row = resolve_run(con, args.resume)
        con.close()
    except CommandError as exc:
        raise UsageError(f"--resume: {exc}") from None
    args.resume = row["uid"]
    return {**json.loads(row["settings"]), "topic": row["topic"], "output_path": row["output_path"]}
