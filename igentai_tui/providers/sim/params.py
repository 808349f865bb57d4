"""The sim's behaviour knobs and the named profiles ("models") built from them."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class SimParams:
    """Every knob of the simulated model. Probabilities are in [0, 1]; times in seconds."""

    # limits
    context_window: int = 16_384  # tokens; system + prompt + max_tokens above it fails
    max_output_tokens: int = 4_096  # the model's own cap on a reply, whatever max_tokens says
    rpm_limit: int | None = 300  # requests per sliding 60 s per instance and model; None = off
    overload_rate: float = 0.0  # chance a request fails with Overloaded (a 529)
    price_in: float = 0.0  # simulated USD per million input tokens (sim is free by default)
    price_out: float = 0.0  # simulated USD per million output tokens
    # latency: (base + per output token) * lognormal(0, jitter), slept on the clock
    latency_base_s: float = 0.35
    latency_per_token_s: float = 0.004
    latency_jitter: float = 0.25
    # knowledge and popularity
    zipf_exponent: float = 1.0  # weight of the entry of popularity rank r is r ** -exponent
    knowledge: float = 1.0  # share of the universe (most popular first) the model knows
    # the "already found" list
    honour: float = 0.95  # chance of skipping a listed entry it was about to write, short list
    honour_half_list: int = 400  # list length at which that chance has halved
    # focus and inventions
    focus_leak: float = 0.05  # chance an entry is drawn from the whole topic, ignoring focus
    invent_rate: float = 0.02  # share of invented (non-existent) entries, normally
    invent_dry: float = 0.25  # extra invented share when the focus is fully listed (x dry**3)
    invent_fresh: float = 0.1  # share of inventions that are new, not a recurring phantom
    # reply length
    default_count: int = 30  # entries written when the prompt asks for no number
    count_jitter: float = 0.15  # the count written is count * U(1 - jitter, 1 + jitter / 2)
    # formatting noise (per reply)
    numbering: float = 0.2  # "1. Louvre"
    bullets: float = 0.12  # "- Louvre"
    bold: float = 0.04  # "**Louvre**"
    chatty_first: float = 0.3  # "Here are 50 more entries:"
    chatty_last: float = 0.15  # "Let me know if you'd like more!"
    # formatting noise (per entry)
    variant_rate: float = 0.06  # another way of writing it: "The Louvre", "louvre"
    description_rate: float = 0.03  # "Louvre - art museum", "Louvre (Paris)"
    kind_rate: float = 0.06  # an entry of a kind written with it: "Harare Province"
    qualifier_rate: float = 0.03  # ... or with where it is: "Sligo - located in Connacht"
    # recall: from one focus a model recalls only its most salient entries
    recall_depth: int | None = 150  # entries a focus reaches (None: every entry it knows)
    recall_gain: float = 0.5  # each listed entry of the focus pushes the reach this much deeper
    # subtopic requests
    subtopic_merge: float = 0.08  # two subtopics written as one ("Bridges and markets")
    subtopic_synonym: float = 0.15  # a near-synonym instead of the name ("Parks and gardens")
    subtopic_cap: int = 30  # the most subtopics one answer names, whatever is asked
    subtopic_honour: float = 0.9  # chance of skipping a subtopic the prompt lists as known
    # recognition (verification requests): models recognise far better than they recall
    doubt_real: float = 0.01  # chance a real entry it knows is called not real
    doubt_unknown: float = 0.25  # ... one it does not know
    believe_own: float = 0.2  # chance one of its own inventions is taken for real
    believe_other: float = 0.08  # ... someone else's invention
    alias_error: float = 0.03  # chance a "same thing?" pair is answered wrongly
    # other names ("Burma" for "Myanmar"): entries of a world that have one
    other_rate: float = 0.25  # chance an entry that has another name is written by it
    other_known: float = 0.85  # chance, asked, it names the better-known name of another name
    other_wrong: float = 0.005  # chance it names another entry for a real one ("Georgia" for
    # "Georgia (U.S. state)")
    mind: str = ""  # whose inventions and beliefs these are ("" = the model's name)


DEFAULT = SimParams()

PROFILES: dict[str, SimParams] = {
    "default": DEFAULT,
    "fast": replace(
        DEFAULT,
        context_window=32_768,
        rpm_limit=600,
        latency_base_s=0.15,
        latency_per_token_s=0.0015,
        knowledge=0.85,
        honour=0.9,
        honour_half_list=250,
        invent_rate=0.03,
        focus_leak=0.07,
    ),
    "weak": replace(
        DEFAULT,
        context_window=8_192,
        max_output_tokens=2_048,
        rpm_limit=200,
        latency_base_s=0.25,
        latency_per_token_s=0.003,
        latency_jitter=0.35,
        zipf_exponent=1.1,
        knowledge=0.6,
        honour=0.75,
        honour_half_list=150,
        focus_leak=0.12,
        invent_rate=0.06,
        invent_dry=0.4,
        invent_fresh=0.2,
        count_jitter=0.3,
        numbering=0.4,
        bullets=0.2,
        bold=0.1,
        chatty_first=0.5,
        chatty_last=0.3,
        variant_rate=0.12,
        description_rate=0.08,
        subtopic_merge=0.15,
        subtopic_synonym=0.25,
    ),
    "instant": replace(
        DEFAULT,
        rpm_limit=None,
        latency_base_s=0.0,
        latency_per_token_s=0.0,
        latency_jitter=0.0,
        recall_depth=None,  # engine and load benchmarks need new entries without end
    ),
}


def profile(model: str) -> SimParams | None:
    """The profile for a model name ("fast", "sim:fast", "sim/fast"), or None."""
    name = model.strip().lower()
    for prefix in ("sim:", "sim/"):
        if name.startswith(prefix):
            name = name[len(prefix) :]
    return PROFILES.get(name or "default")
