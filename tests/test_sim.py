"""The embedded offline provider: universes, prompt reading, LLM-like statistics, limits."""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter

import pytest

from igentai_tui.common.clock import FakeClock
from igentai_tui.engine.prompts import SYSTEM, letter_partition, list_prompt, subtopics_prompt
from igentai_tui.providers.base import (
    CompletionRequest,
    ContextTooLong,
    Provider,
    RateLimited,
    estimate_tokens,
)
from igentai_tui.providers.sim import (
    PROFILES,
    SimParams,
    SimProvider,
    real_topics,
    synthetic_universe,
    universe_for,
)
from igentai_tui.providers.sim.reader import read_prompt
from igentai_tui.providers.sim.text import fold

SYNTH = "Famous things (sim:3000)"


def ask(
    sim: SimProvider,
    topic: str = SYNTH,
    count: int = 50,
    found: list[str] | None = None,
    focus: str | None = None,
    max_tokens: int = 4000,
):
    found = found or []
    prompt = list_prompt(topic, count, found, focus)
    return sim.complete(CompletionRequest(sim.model, SYSTEM, prompt, max_tokens=max_tokens))


def entries_of(text: str, topic: str = SYNTH) -> list[int | None]:
    """Each non-empty line read back as an entry index (None: not in the universe)."""
    u = universe_for(topic)
    return [u.lookup(line) for line in text.split("\n") if line.strip()]


def test_is_a_provider_and_rejects_unknown_models() -> None:
    sim = SimProvider()
    assert isinstance(sim, Provider) and sim.name == "sim"
    assert sim.context_window("default") == 16_384
    assert sim.context_window("sim:weak") == PROFILES["weak"].context_window
    with pytest.raises(ValueError, match="nonesuch"):
        SimProvider("nonesuch")
    assert SimProvider("nonesuch", params=SimParams()).params == SimParams()


def test_same_seed_same_replies() -> None:
    def run(seed: int) -> list[str]:
        sim = SimProvider("default", seed=seed, clock=FakeClock())
        found: list[str] = []
        texts = []
        for k in range(5):
            text = ask(sim, "Paris attractions", 30, found, "Museums" if k == 3 else None).text
            found += text.split("\n")
            texts.append(text)
        return texts

    assert run(1) == run(1)
    assert run(1) != run(2)


def test_real_topics_have_entries_variants_and_subtopics() -> None:
    assert len(real_topics()) >= 3
    for topic in real_topics():
        u = universe_for(topic)
        assert u.real and len(u.entries) >= 150 and len(u.subtopics) >= 5
        assert sum(1 for e in u.entries if e.variants) >= 50
        assert [e.rank for e in u.entries] == list(range(1, len(u.entries) + 1))
        owners: dict[str, str] = {}
        for e in u.entries:
            assert e.subtopic in u.subtopics
            for form in (e.name, *e.variants):
                assert owners.setdefault(fold(form), e.name) == e.name, form
    louvre = universe_for("Paris attractions").entries[1]
    assert louvre.name == "Louvre" and "Musée du Louvre" in louvre.variants


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("attractions in Paris", "Paris attractions"),
        ("PARIS ATTRACTIONS", "Paris attractions"),
        ("things to see in Paris", "Paris attractions"),
        ("board games", "Board games"),
        ("Breeds of dogs", "Dog breeds"),
    ],
)
def test_real_topic_matching_is_tolerant(text: str, topic: str) -> None:
    assert universe_for(text).topic == topic


def test_synthetic_universes_are_deterministic_distinct_and_sized() -> None:
    sizes = [len(universe_for(t)) for t in ("Medieval weapons", "enzymes", "jazz albums")]
    assert all(1_500 <= n <= 8_000 for n in sizes) and len(set(sizes)) > 1
    u = universe_for("Medieval weapons (sim:4000)")
    assert len(u) == 4_000 and u is universe_for("medieval  weapons (sim:4000)")
    assert [e.name for e in synthetic_universe("Medieval weapons", 4_000).entries] == [
        e.name for e in u.entries
    ]
    v = universe_for("Kites (sim:2500/25)")
    assert len(v) == 2_500 and len(v.subtopics) == 25
    sub_sizes = Counter(e.subtopic for e in u.entries)
    assert 10 <= len(u.subtopics) <= 40 and max(sub_sizes.values()) > 3 * min(sub_sizes.values())
    keys = [fold(e.name) for e in u.entries]
    assert len(set(keys)) == len(keys)
    key_set = set(keys)
    for k in keys:  # no near-duplicates: a plural, or a name plus a word
        words = k.split()
        assert k + "s" not in key_set
        if len(words) > 1:
            assert " ".join(words[1:]) not in key_set and " ".join(words[:-1]) not in key_set


def test_popular_entries_dominate() -> None:
    u = universe_for(SYNTH)
    sim = SimProvider("instant", seed=3)
    counts = Counter(i for _ in range(60) for i in entries_of(ask(sim).text) if i is not None)
    top = sum(n for i, n in counts.items() if i < len(u) // 10)
    assert top / sum(counts.values()) > 0.5
    assert counts[0] > 20 * max(1, counts.get(len(u) - 1, 0))


def test_found_list_is_honoured_less_as_it_grows() -> None:
    u = universe_for(SYNTH)
    head = [e.name for e in u.entries[:20]]
    rare = [e.name for e in u.entries[2_000:2_980]]  # little mass: changes only the length

    def repeat_rate(found: list[str]) -> float:
        sim = SimProvider("instant", seed=4)
        picks = [i for _ in range(40) for i in entries_of(ask(sim, found=found).text)]
        known = [i for i in picks if i is not None]
        return sum(i < 20 for i in known) / len(known)

    short, long = repeat_rate(head), repeat_rate(head + rare)
    assert short < 0.1 and long > 2 * short


def test_focus_on_a_subtopic_or_a_letter() -> None:
    u = universe_for(SYNTH)
    sim = SimProvider("instant", seed=5)
    sub = max(u.subtopics, key=lambda s: sum(e.subtopic == s for e in u.entries))
    got = [i for _ in range(20) for i in entries_of(ask(sim, focus=sub).text) if i is not None]
    assert sum(u.entries[i].subtopic == sub for i in got) / len(got) > 0.85
    focus = letter_partition("s")
    got = [i for _ in range(20) for i in entries_of(ask(sim, focus=focus).text) if i is not None]
    assert sum(u.letter_of[i] == "S" for i in got) / len(got) > 0.85
    focus = f"{sub}; {letter_partition('klmn')}"  # a range of letters within a subtopic
    got = [i for _ in range(20) for i in entries_of(ask(sim, focus=focus).text) if i is not None]
    inside = [u.letter_of[i] in "KLMN" and u.entries[i].subtopic == sub for i in got]
    assert sum(inside) / len(got) > 0.85 and len({u.letter_of[i] for i in got}) > 1
    paris = universe_for("Paris attractions")
    assert [paris.subtopics[j] for j in paris.match_subtopics("Bridges and markets")] == [
        "Bridges",
        "Markets and shopping",
    ]


def test_subtopics_request_is_answered_with_the_universe_subtopics() -> None:
    u = universe_for("Board games")
    sim = SimProvider("instant", seed=6)
    for _ in range(5):
        prompt = subtopics_prompt("Board games", 8)
        text = sim.complete(CompletionRequest("instant", SYSTEM, prompt)).text
        lines = [
            x for x in text.split("\n") if x.strip() and not x.rstrip().endswith((":", "!", "."))
        ]
        assert 1 <= len(lines) <= 8
        matched = [line for line in lines if u.match_subtopics(line.lstrip("-*•0123456789.) "))]
        assert len(matched) >= len(lines) - 1


def test_context_too_long_reads_like_the_real_apis() -> None:
    sim = SimProvider("default")
    found = [f"Entry number {k}" for k in range(5_000)]
    with pytest.raises(ContextTooLong, match="maximum context length is 16384 tokens"):
        ask(sim, found=found)
    prompt = list_prompt(SYNTH, 10, [])
    budget = 16_384 - estimate_tokens(SYSTEM + prompt)
    fast = SimProvider("instant")
    fast.complete(CompletionRequest("instant", SYSTEM, prompt, max_tokens=budget))
    with pytest.raises(ContextTooLong):
        fast.complete(CompletionRequest("instant", SYSTEM, prompt, max_tokens=budget + 1))


def test_rate_limit_with_retry_after_on_a_fake_clock() -> None:
    clock = FakeClock()
    params = dataclasses.replace(PROFILES["instant"], rpm_limit=3)
    sim = SimProvider("instant", clock=clock, params=params)
    for _ in range(3):
        ask(sim, count=5)
        clock.advance(10)
    with pytest.raises(RateLimited) as err:
        ask(sim, count=5)
    assert err.value.retry_after == pytest.approx(30.0)
    clock.advance(err.value.retry_after)
    ask(sim, count=5)


def test_latency_is_slept_on_the_clock() -> None:
    clock = FakeClock()
    sim = SimProvider("default", clock=clock)
    p = sim.params
    for _ in range(5):
        t0 = clock.monotonic()
        reply = ask(sim, count=40)
        nominal = p.latency_base_s + p.latency_per_token_s * reply.output_tokens
        assert nominal * 0.3 < clock.monotonic() - t0 < nominal * 3
    instant = SimProvider("instant", clock=clock)
    t0 = clock.monotonic()
    ask(instant)
    assert clock.monotonic() == t0


def test_token_limit_cuts_mid_word() -> None:
    sim = SimProvider("instant", seed=8)
    for _ in range(5):
        reply = ask(sim, count=100, max_tokens=60)
        assert reply.finish_reason == "length" and reply.truncated
        assert reply.output_tokens == estimate_tokens(reply.text) <= 60
        assert reply.text[-1].isalnum()
    full = ask(sim, count=10)
    assert full.finish_reason == "stop"
    assert full.input_tokens == estimate_tokens(SYSTEM + list_prompt(SYNTH, 10, []))


def test_inventions_appear_when_a_subtopic_runs_dry() -> None:
    u = universe_for(SYNTH)
    sub = min(u.subtopics, key=lambda s: sum(e.subtopic == s for e in u.entries))
    members = [e.name for e in u.entries if e.subtopic == sub]
    sim = SimProvider("instant", seed=9)
    invented: list[str] = []
    lines = 0
    for _ in range(10):
        text = ask(sim, count=30, found=members, focus=sub).text
        for line in text.split("\n"):
            if line.strip() and not line.rstrip().endswith((":", "!", "?", ".")):
                lines += 1
                if u.lookup(line) is None:
                    invented.append(line)
    assert len(invented) > 0.3 * lines
    for name in invented:
        assert not u.contains_name(name.lstrip("-*•0123456789.) ").strip("*"))
    fresh = [i for _ in range(10) for i in entries_of(ask(sim, count=30, focus=sub).text)]
    assert sum(i is None for i in fresh) < 0.25 * len(fresh)  # chatty lines and a few inventions


def test_reading_tolerates_other_wordings() -> None:
    info = read_prompt(
        "Subject: Dog breeds\nScope: Terriers\nPlease give me 25 new entries.\n\n"
        "Do not repeat these:\n- Beagle\n2. Pug\n"
    )
    assert (info.kind, info.topic, info.focus, info.count) == ("list", "Dog breeds", "Terriers", 25)
    assert info.found == ["- Beagle", "2. Pug"]
    u = universe_for(info.topic)
    assert [u.entries[u.lookup(x)].name for x in info.found] == ["Beagle", "Pug"]  # type: ignore[index]
    info = read_prompt("List 40 examples of volcanoes. Already found: Etna, Fuji, Vesuvius")
    assert info.count == 40 and info.found == ["Etna", "Fuji", "Vesuvius"]
    assert read_prompt(subtopics_prompt("Cheeses", 12)).kind == "subtopics"
    assert read_prompt("Topic: X (sim:500)\nTask: more").count is None


def test_threads_share_one_instance() -> None:
    sim = SimProvider("instant", seed=10)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(20):
                assert ask(sim, "Dog breeds", count=20).text
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and sim._calls == 160


class NoWaiting(FakeClock):
    """A clock that fails the test if anything waits on it."""

    def sleep(self, seconds: float, wake: threading.Event | None = None) -> None:
        assert seconds <= 0, f"waited {seconds} s"


def test_instant_profile_never_waits() -> None:
    """What makes `sim:instant` instant, checked without timing it (a wall-clock bound fails
    on a loaded machine): no latency, no rate limit, nothing slept, however many requests and
    however long the "already found" list. (About 0.5 ms a request on a laptop.)"""
    clock = NoWaiting()
    sim = SimProvider("instant", seed=11, clock=clock)
    p = sim.params
    assert (p.latency_base_s, p.latency_per_token_s, p.rpm_limit) == (0.0, 0.0, None)
    found = [e.name for e in universe_for(SYNTH).entries[:500]]
    t0 = clock.monotonic()
    for _ in range(50):
        assert ask(sim, count=100, found=found).text
    assert clock.monotonic() == t0
