"""Number formats, state names and the per-provider colours shared by the panels."""

from __future__ import annotations

from rich.text import Text

from igentai_tui.common.sanitize import display_text
from igentai_tui.engine.metrics import Snapshot
from igentai_tui.engine.settings import Limits
from igentai_tui.engine.words import count

# Distinct on dark and light themes alike; one a provider:model, in the run's order.
PALETTE = (
    "#4e9ff5",
    "#f0a030",
    "#4cc17c",
    "#d86cd8",
    "#e05d5d",
    "#42c6c6",
    "#c9c94a",
    "#9a8cf0",
)
DASH = "—"
ARM_MAX = 20  # provider:model labels in narrow tables
ARM_WIDE = 60  # ... and where there is room

STATE_STYLE = {
    "running": "green",
    "starting": "green",
    "pausing": "yellow",
    "paused": "yellow",
    "backing off": "dark_orange",
    "rate-limited": "dark_orange",
    "finishing": "dim",
    "removed": "dim",
    "stopped": "dim",
    "disabled": "red",
}


def arm_colors(arms: list[str] | tuple[str, ...]) -> dict[str, str]:
    """A colour for each provider:model, stable for the run."""
    return {arm: PALETTE[i % len(PALETTE)] for i, arm in enumerate(arms)}


def safe(text: str | None, max_len: int = 120, style: str = "") -> Text:
    """Untrusted text as a literal `Text`: escapes and controls removed, length bounded."""
    return Text(display_text(text or "", max_len), style=style, no_wrap=True, end="")


def arm_label(arm: str) -> str:
    """A provider:model as the panels name it: a server's URL as host and port, its usual
    `/v1` left out ("openai:llama3.1@localhost:11434")."""
    head, at, url = arm.partition("@")
    if not at:
        return arm
    return f"{head}@{url.partition('://')[2] or url}".removesuffix("/").removesuffix("/v1")


def arm_text(arm: str, max_len: int = ARM_MAX, style: str = "") -> Text:
    """`arm_label(arm)` in at most `max_len` characters: cut in the middle, so that two models
    of one provider, or two servers, stay told apart ("openai:gpt-4o…0.1:8080"); at the end
    when that leaves too little of either side ("openai:gpt-4o-…")."""
    label = display_text(arm_label(arm), 10_000)
    if len(label) > max_len:
        tail = (max_len - 1) // 3 if max_len >= ARM_MAX else 0
        label = f"{label[: max_len - 1 - tail]}…{label[len(label) - tail :]}"
    return Text(label, style=style, no_wrap=True, end="")


def num(n: int | None) -> str:
    """1234 -> "1,234"; None -> a dash."""
    return DASH if n is None else f"{n:,}"


def compact(n: float | None) -> str:
    """A short number: 950, 12.3k, 4.5M."""
    if n is None:
        return DASH
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= limit:
            v = n / limit
            return f"{v:.1f}{suffix}" if v < 100 else f"{v:.0f}{suffix}"
    return f"{n:.0f}" if float(n).is_integer() else f"{n:.1f}"


def money(usd: float | None) -> str:
    if usd is None:
        return "n/a"
    if usd == 0:
        return "$0"
    return f"${usd:.4f}" if usd < 0.01 else f"${usd:,.2f}"


def pct(x: float | None, digits: int = 0) -> str:
    return DASH if x is None else f"{x:.{digits}%}"


def clock(seconds: float) -> str:
    """Elapsed time: 02:13 or 1:02:13."""
    s = max(0, int(seconds))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def latency(seconds: float | None) -> str:
    if seconds is None:
        return DASH
    return f"{seconds * 1000:.0f}ms" if seconds < 1 else f"{seconds:.1f}s"


def limit_progress(limits: Limits, snap: Snapshot) -> list[tuple[str, float]]:
    """Each stop condition set, as a label and the share of it reached (0..1)."""
    t = snap.total
    out: list[tuple[str, float]] = []
    if limits.max_unique is not None:
        out.append(
            (
                f"{num(snap.confirmed)}/{num(limits.max_unique)} confirmed",
                snap.confirmed / limits.max_unique,
            )
        )
    if limits.max_requests is not None:
        out.append(
            (
                f"{num(snap.asked)}/{count(limits.max_requests, 'request')}",
                snap.asked / limits.max_requests,
            )
        )
    if limits.max_tokens is not None:
        used = t.input_tokens + t.output_tokens
        out.append(
            (f"{compact(used)}/{compact(limits.max_tokens)} tokens", used / limits.max_tokens)
        )
    if limits.max_cost is not None:
        cost = t.cost_usd or 0.0
        out.append((f"{money(cost)}/{money(limits.max_cost)}", cost / limits.max_cost))
    if limits.duration_s is not None:
        out.append(
            (
                f"{clock(snap.elapsed_s)}/{clock(limits.duration_s)}",
                snap.elapsed_s / limits.duration_s,
            )
        )
    if limits.until_saturated:
        gt = snap.coverage.good_turing or 0.0
        out.append((f"saturation {gt:.0%}/97%", gt / 0.97))
    return [(label, max(0.0, min(1.0, share))) for label, share in out]
