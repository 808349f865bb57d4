"""The sim's family of worlds (providers/sim/worlds.py) and the model over them: what the
exploration benchmark measures the strategy against, checked on its own."""

from __future__ import annotations

import random
import statistics

import pytest

from igentai_tui.engine.prompts import (
    SYSTEM,
    letter_partition,
    list_prompt,
    parse_verdict,
    prefix_partition,
    subtopics_prompt,
    verify_prompt,
)
from igentai_tui.providers.base import CompletionRequest
from igentai_tui.providers.sim import SimProvider, universe_for
from igentai_tui.providers.sim.worlds import SHAPES, world_params, world_topic, world_universe


def sim_for(shape: str, seed: int, **changes: object) -> SimProvider:
    import dataclasses

    params = dataclasses.replace(world_params(shape, seed), **changes)
    return SimProvider("instant", seed=7, params=params)


def reply(sim: SimProvider, prompt: str) -> list[str]:
    done = sim.complete(CompletionRequest(sim.model, SYSTEM, prompt, max_tokens=8000))
    return [line for line in done.text.splitlines() if line.strip()]


def test_worlds_are_seeded_and_differ_by_shape() -> None:
    for shape in SHAPES:
        a, b = world_universe(shape, 1), world_universe(shape, 2)
        assert a is world_universe(shape, 1)  # the same arguments, the same world
        assert a.topic != b.topic or len(a) != len(b)
        assert len(universe_for(world_topic(shape, 1))) == len(a)  # the topic selects it
    sizes = {shape: len(world_universe(shape, 1)) for shape in SHAPES}
    assert sizes["flat"] >= 5000 and sizes["small"] <= 300 and sizes["groups"] >= 2000
    groups = world_universe("groups", 1).groups
    assert len(groups) >= 100
    members = sorted((len(m) for m in world_universe("groups", 1).members),
                     reverse=True)  # fmt: skip
    assert members[0] >= 5 * statistics.median(members)  # a long tail: a few big groups
    assert sum(1 for n in members if n <= 5) >= len(members) // 4  # many of one to five
    with pytest.raises(ValueError):
        world_universe("round", 1)


def test_the_seed_draws_the_model_too() -> None:
    depths = {world_params("groups", s).recall_depth for s in range(1, 9)}
    assert len(depths) > 4 and min(depths) >= 60 and max(depths) <= 250


def test_a_broad_prompt_reaches_the_best_known_and_naming_a_group_reaches_its_members() -> None:
    shape, seed = "groups", 3
    u = world_universe(shape, seed)
    topic = world_topic(shape, seed)
    sim = sim_for(shape, seed, invent_rate=0.0, invent_dry=0.0, variant_rate=0.0,
                  kind_rate=0.0, qualifier_rate=0.0, description_rate=0.0)  # fmt: skip
    broad: set[int] = set()
    for _ in range(10):
        broad |= {i for i in map(u.lookup, reply(sim, list_prompt(topic, 50, []))) if i is not None}
    deep = max(range(len(u.groups)), key=lambda g: len(u.members[g]))
    group = u.groups[deep]
    named = {i for i in map(u.lookup, reply(sim, list_prompt(topic, 50, [], group.name)))
             if i is not None}  # fmt: skip
    members = set(u.members[deep])
    assert len(named & members) >= 0.8 * len(named)  # naming the group reaches its members
    assert len(named - broad) >= len(named) // 2  # ... most of which no broad prompt gave


def test_subtopic_answers_name_a_partial_different_subset_each_time() -> None:
    shape, seed = "groups", 1
    topic = world_topic(shape, seed)
    sim = sim_for(shape, seed)
    cap = sim.params.subtopic_cap
    first = reply(sim, subtopics_prompt(topic, 40))
    second = reply(sim, subtopics_prompt(topic, 40, known=first))
    assert len(first) <= cap + 2 < len(world_universe(shape, seed).groups)  # never all
    assert len(set(second) - set(first)) >= len(second) // 2  # asked again: mostly new ones


def test_a_prefix_focus_reaches_names_a_letter_does_not() -> None:
    shape, seed = "flat", 2
    u = world_universe(shape, seed)
    topic = world_topic(shape, seed)
    sim = sim_for(shape, seed, invent_rate=0.0, invent_dry=0.0)
    first = u.entries[0].name[0].upper()
    lines = reply(sim, list_prompt(topic, 50, [], letter_partition(first)))
    letter = {i for i in map(u.lookup, lines) if i is not None}
    inside = [i for i in letter if u.entries[i].name.upper().startswith(first)]
    assert len(inside) >= 0.8 * len(letter)  # a few draws leak out of any focus
    pre = max({u.entries[i].name[:2] for i in inside},
              key=lambda x: sum(e.name.startswith(x) for e in u.entries))  # fmt: skip
    lines = reply(sim, list_prompt(topic, 50, [], prefix_partition(pre)))
    narrow = {i for i in map(u.lookup, lines) if i is not None}
    assert sum(u.entries[i].name.startswith(pre) for i in narrow) >= 0.8 * len(narrow)
    assert narrow - letter  # names the letter's reply did not reach


def test_pushed_past_what_it_knows_it_invents_its_own_names() -> None:
    shape, seed = "small", 2
    u = world_universe(shape, seed)
    topic = world_topic(shape, seed)
    sim = sim_for(shape, seed)
    everything = [e.name for e in u.entries]
    lines = reply(sim, list_prompt(topic, 50, everything))
    invented = [line for line in lines if u.lookup(line) is None]
    assert invented  # nothing real is left to list: what it writes is made up


def test_it_recognises_better_than_it_recalls() -> None:
    shape, seed = "groups", 2
    u = world_universe(shape, seed)
    topic = world_topic(shape, seed)
    sim = sim_for(shape, seed)
    real = [e.name for e in u.entries[:60]]
    made_up = [u.invent(random.Random(n), 0) for n in range(40)]
    candidates = real + made_up
    doubted, _, _ = parse_verdict(reply_text(sim, verify_prompt(topic, candidates, [])),
                                  len(candidates), 0) or (set(), set(), {})  # fmt: skip
    wrongly = sum(1 for n in doubted if n < len(real))
    caught = sum(1 for n in doubted if n >= len(real))
    assert wrongly <= 0.1 * len(real) and caught >= 0.5 * len(made_up)


def reply_text(sim: SimProvider, prompt: str) -> str:
    return sim.complete(CompletionRequest(sim.model, SYSTEM, prompt, max_tokens=2000)).text


def test_some_entries_have_another_name_which_the_model_writes_and_knows() -> None:
    u = world_universe("tree", 1)
    named = [e for e in u.entries if e.others]
    assert 0.02 * len(u) <= len(named) <= 0.1 * len(u)
    assert all(u.lookup(e.others[0]) == u.lookup(e.name) for e in named)
    sim = sim_for("tree", 1, other_rate=0.5)
    topic = world_topic("tree", 1)
    lines = [x for n in range(5) for x in reply(sim, list_prompt(topic, 100, [], f"part {n}"))]
    assert {e.others[0] for e in named} & set(lines)  # written by their other names too
    candidates = [e.others[0] for e in named[:40]] + [e.name for e in u.entries[:40]]
    prompt = verify_prompt(topic, candidates, [])
    _, _, others = parse_verdict(reply_text(sim, prompt), len(candidates), 0) or ({}, {}, {})
    right = sum(1 for n, name in others.items() if n < 40 and name == named[n].name)
    assert right >= 0.5 * 40 and sum(1 for n in others if n >= 40) <= 2
