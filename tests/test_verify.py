"""Entry states and learned variants (engine/verify.py, engine/variants.py), on crafted
verdicts: no provider, no database."""

from __future__ import annotations

from igentai_tui.engine import verify as V
from igentai_tui.engine.normalize import Forms, forms
from igentai_tui.engine.prompts import parse_verdict, verify_prompt
from igentai_tui.engine.variants import CORE_MAX, LEARN, Variants, affixed
from igentai_tui.engine.verify import Verifier


def F(text: str) -> Forms:
    f = forms(text)
    assert f is not None
    return f


def add(v: Verifier, first: int, texts: list[str], arm: str = "a:m", part: str | None = None):
    entries = []
    for i, t in enumerate(texts):
        f = forms(t)
        assert f is not None
        entries.append((first + i, f.text, f.key))
    return v.add(entries, arm, part)


def test_affixes_around_a_name() -> None:
    assert affixed("harare province") == [("harare", "sfx province"), ("province", "pfx harare")]
    assert ("harare", "of province") in affixed("province of the harare")
    assert affixed("harare") == []


def test_an_affix_pairs_both_orders_with_the_bare_name() -> None:
    v = Variants()
    assert v.add(1, "harare") == []
    [p] = v.add(2, "harare province")
    assert (p.variant, p.entry, p.affix) == (2, 1, "sfx province")
    pairs = v.add(3, "province of harare")
    assert {p.entry for p in pairs} == {1, 2}  # the bare name and the other order


def test_one_name_in_two_frames_is_asked_once_the_frames_recur() -> None:
    v = Variants()
    v.add(1, "soth market")
    [p] = v.add(2, "soth market upper valley")  # a two-word frame against the bare name
    assert (p.variant, p.entry, p.affix) == (2, 1, "sfx upper valley")
    for i, name in enumerate(["pelpo", "bluton", "garn"]):
        v.add(10 + i, f"{name} lighthouse")
    assert v.add(20, "pelpo light") == [] and v.add(21, "bluton light") == []  # rare yet
    [p] = v.add(22, "garn light")  # "light" now seen in three entries
    assert (p.variant, p.entry, p.affix) == (22, 12, "sfx light | sfx lighthouse")
    v.add(30, "apollo 11")
    assert v.add(31, "apollo 13") == []
    w = Variants()
    for i in range(CORE_MAX):
        w.add(10 + i, f"zar{i} gallery")
    assert w.add(99, "gallery") == []  # seen in CORE_MAX frames: a common word, not a name
    w = Variants()
    for i in range(CORE_MAX - 1):
        w.add(10 + i, f"zar{i} gallery")
    assert len(w.add(99, "gallery")) == CORE_MAX - 1


def test_an_affix_folds_once_answers_settle_it_and_only_in_its_place() -> None:
    v = Variants()
    for _ in range(LEARN - 1):
        v.learn("sfx province", True)
    assert v.decide("sfx province") == "ask"
    v.learn("sfx province", True)
    assert v.decide("sfx province") == "same"
    assert v.decide("of province") == "ask"  # "Province of X" is learned on its own
    for _ in range(LEARN):
        v.learn("pfx south", False)
    assert v.decide("pfx south") == "different"
    v.learn("sfx county", True)
    v.learn("sfx county", False)
    v.learn("sfx county", True)
    v.learn("sfx county", True)
    assert v.decide("sfx county") == "ask"  # contrary answers: keep asking


def test_agreement_between_two_models_confirms_one_models_repeats_do_not() -> None:
    v = Verifier()
    add(v, 1, ["Kabyle", "Zorblax"], arm="a:m")
    assert not v.hit(2, "a:m", None)  # the same model again, in the same partition
    out = v.hit(1, "b:m", None)
    assert [e.id for e in out.confirmed] == [1]
    assert list(v.pending) == [2]


def test_a_batch_is_checked_by_another_model_and_its_verdict_applied() -> None:
    v = Verifier()
    add(v, 1, [f"Name {i}" for i in range(V.VERIFY_BATCH - 1)], arm="a:m", part="P")
    assert not v.due(idle=False)
    add(v, 200, ["Harare", "Harare Province"], arm="b:m", part="P")
    assert v.due(idle=False)
    check = v.take("a:m")
    assert check is not None
    assert check.entries[0].arms == {"b:m"}  # proposed by the other model: checked first
    assert [(a, b) for _, a, b in check.pairs] == [("Harare Province", "Harare")]
    prompt = verify_prompt("Subdivisions", [e.text for e in check.entries],
                           [(a, b) for _, a, b in check.pairs])  # fmt: skip
    assert "Harare Province" in prompt
    out = v.verdict(check, doubted={2}, same={0})
    assert [e.text for e in out.rejected] == [check.entries[2].text]
    assert [(e.text, into) for e, into in out.merged] == [("Harare Province", 200)]
    assert len(out.confirmed) == len(check.entries) - 2
    assert not v.pending


def test_an_entry_vouched_for_by_nothing_from_a_mostly_invented_partition_is_held() -> None:
    v = Verifier()
    add(v, 1, ["Qorvath", "Belinor"], part="deep")
    check = v.take("b:m")
    assert check is not None
    out = v.verdict(check, doubted=set(), same=set(), real_share=lambda *_: 0.3)
    assert not out and v.held == 2 and v.waiting == 0  # held: not waited for
    out = v.hit(1, "a:m", "another partition")
    assert [e.id for e in out.confirmed] == [1]


def test_a_resumed_run_asks_about_variants_of_what_it_had_found() -> None:
    v = Verifier()
    f, g = F("Harare"), F("Harare Province")
    v.restore(
        pending=[(2, g.text, g.key, "Zimbabwe", "a:m", None, 0, 0)],  # waiting, with its pair
        confirmed=[(1, f.key, f.text)],
    )
    add(v, 3, ["Province of Harare"])  # new after the resume
    check = v.take("b:m")
    assert check is not None and [e.id for e in check.entries] == [2, 3]
    assert [(pair.variant, a, b) for pair, a, b in check.pairs] == [
        (2, "Harare Province", "Harare"),
        (3, "Province of Harare", "Harare"),
        (3, "Province of Harare", "Harare Province"),
    ]
    out = v.verdict(check, doubted=set(), same={0, 1})
    assert [(e.id, into) for e, into in out.merged] == [(2, 1), (3, 1)]


def test_unreadable_replies_turn_verification_off_and_confirm_what_waits() -> None:
    v = Verifier()
    add(v, 1, ["A one", "A two"])
    for n in range(V.FAIL_LIMIT):
        check = v.take("a:m")
        assert check is not None
        out = v.unreadable(check)
        assert bool(out) == (n == V.FAIL_LIMIT - 1)
    assert not v.enabled and not v.pending and v.confirmed == 2
    assert [e.id for e in add(v, 3, ["A three"]).confirmed] == [3]  # unchecked from now on


def test_a_verdict_reply_is_read_by_number_and_anything_else_is_unreadable() -> None:
    doubted, same, others = parse_verdict(
        "Not real: 2, 5\nSame: 1\nOther name: 3 = Myanmar; 9 = Nowhere; 4: Korea, Republic of\n",
        6,
        2,
    ) or (None, None, None)
    assert doubted == {1, 4} and same == {0}
    assert others == {2: "Myanmar", 3: "Korea, Republic of"}  # 9 is not a candidate
    reply = "not real: none\nother names:\n1 = Burma.\n2: none\n3 = Czechia, 4 = Persia"
    _, _, others = parse_verdict(reply, 6, 0) or (None, None, None)
    assert others == {0: "Burma", 2: "Czechia", 3: "Persia"}  # a line each, or commas
    assert parse_verdict("I cannot help with that.", 6, 2) is None


def test_a_better_known_name_merges_two_entries_once_a_pair_question_agrees() -> None:
    v = Verifier()
    add(v, 1, ["Myanmar", "Czechia"])
    check = v.take("b:m")
    assert check is not None
    out = v.verdict(check, doubted=set(), same=set(), others={1: "Czech Republic"})
    assert [e.id for e in out.confirmed] == [1, 2]  # nothing of that name yet
    assert out.others == [("czech republic", 2)]
    out = add(v, 3, ["Czech Republic", "Burma"])  # the name given comes: is it Czechia?
    assert not out.merged
    check = v.take("b:m")
    assert check is not None and [e.id for e in check.entries] == [3, 4]
    assert [(p.variant, p.entry, a, b) for p, a, b in check.pairs] == [
        (3, 2, "Czech Republic", "Czechia")
    ]
    out = v.verdict(check, doubted=set(), same={0}, others={1: "Myanmar"})
    assert [(e.id, into) for e, into in out.merged] == [(3, 2)]
    assert not out.confirmed and not out.frames  # Burma waits for its own question
    check = v.take("b:m")
    assert check is not None and [e.id for e in check.entries] == [4]
    assert [(a, b) for _, a, b in check.pairs] == [("Burma", "Myanmar")]
    out = v.verdict(check, doubted=set(), same={0}, others={0: "Myanmar"})
    assert [(e.id, into) for e, into in out.merged] == [(4, 1)]
    add(v, 5, ["Ruritania"])
    check = v.take("b:m")
    assert check is not None
    out = v.verdict(check, doubted={0}, same=set(), others={0: "Myanmar"})
    assert [e.id for e in out.rejected] == [5] and not out.merged  # not real: not merged
    assert not v.pending


def test_a_wrong_better_known_name_keeps_both_entries_and_is_not_asked_again() -> None:
    v = Verifier()
    add(v, 1, ["Georgia", "Atlanta"])
    check = v.take("b:m")
    assert check is not None
    v.verdict(check, doubted=set(), same=set())
    add(v, 3, ["Tbilisi"])
    check = v.take("b:m")
    assert check is not None
    out = v.verdict(check, doubted=set(), same=set(), others={0: "Atlanta"})  # wrong
    assert not out.merged and not out.confirmed and 3 in v.pending
    check = v.take("b:m")
    assert check is not None and [(a, b) for _, a, b in check.pairs] == [("Tbilisi", "Atlanta")]
    out = v.verdict(check, doubted=set(), same=set(), others={0: "Atlanta"})  # said again
    assert [e.id for e in out.confirmed] == [3] and not out.merged and not v.pending


def test_a_reply_mostly_doubted_is_held_and_a_clean_one_from_the_same_partition_is_not() -> None:
    from igentai_tui.engine.partitions import Partitions

    parts = Partitions("Languages of the world")
    made = parts.planned(parts.root, ["Sign languages", "Creoles", "Pidgins"])
    deep = made[0].name
    parts.verified(deep, 40, 20)  # half of what this partition proposed was invented
    v = Verifier()
    v.add([(i, f"Clean {i}", f"clean {i}") for i in range(1, 11)], "a:m", deep, reply=7)
    v.add([(i, f"Dry {i}", f"dry {i}") for i in range(11, 21)], "a:m", deep, reply=8)
    check = v.take("b:m")
    assert check is not None and len(check.entries) == 20
    doubted = set(range(10, 17))  # 7 of the second reply's 10: a model out of what it knows
    out = v.verdict(check, doubted, same=set(), real_share=parts.estimated_real)
    assert [e.id for e in out.confirmed] == list(range(1, 11))
    assert v.held == 3 and sorted(v.pending) == [18, 19, 20]
    assert parts.estimated_real(deep) < V.HOLD_SHARE  # by its partition alone: all held


def test_a_resumed_run_judges_a_pending_entry_by_its_reply_too() -> None:
    from igentai_tui.engine.partitions import Partitions

    parts = Partitions("Languages of the world")
    deep = parts.planned(parts.root, ["Sign languages", "Creoles", "Pidgins"])[0].name
    parts.verified(deep, 40, 4)  # a partition mostly real ...
    v = Verifier()
    f = F("Qorvathi Sign")
    v.restore(pending=[(5, f.text, f.key, deep, "a:m", 9, 10, 7)])  # ... a reply mostly not
    check = v.take("b:m")
    assert check is not None
    v.verdict(check, doubted=set(), same=set(), real_share=parts.estimated_real)
    assert v.held == 1 and 5 in v.pending
    assert parts.estimated_real(deep) >= V.HOLD_SHARE  # by its partition alone: confirmed


def test_a_bracketed_qualifier_is_asked_about_and_shown_only_where_it_tells_entries_apart() -> None:
    v = Verifier()
    add(v, 1, ["Georgia (country)", "Georgia (U.S. state)", "Louvre (Paris)"])
    assert all(not e.pairs for e in v.pending.values())  # two qualifiers: two entries
    assert v.shown(1, "Georgia (country)") == "Georgia (country)"  # another Georgia is in
    assert v.shown(3, "Louvre (Paris)") == "Louvre"  # nothing else is called Louvre
    add(v, 4, ["Louvre"])
    assert [(p.entry, p.affix) for p in v.pending[4].pairs] == [(3, "sfx paris")]  # asked
    assert v.shown(3, "Louvre (Paris)") == "Louvre (Paris)"  # "Louvre" may be another
    check = v.take("b:m")
    assert check is not None and len(check.entries) == 4
    out = v.verdict(check, doubted=set(), same={0})
    assert [(e.id, into) for e, into in out.merged] == [(4, 3)]
    assert v.shown(3, "Louvre (Paris)") == "Louvre"  # the merged one does not count
    assert v.shown(5, "King Kong (1933)") == "King Kong (1933)"  # a year is shown as written
    add(v, 6, ["Trocadéro (Paris)", "Jardin du Trocadéro", "Orsay (Paris)", "Orsay"])
    assert v.shown(6, "Trocadéro (Paris)") == "Trocadéro"  # another name around it: no matter
    assert v.shown(8, "Orsay (Paris)") == "Orsay (Paris)"
    for _ in range(LEARN):
        v.variants.learn("sfx paris", True)  # "(Paris)" folds: "Orsay" will be merged
    assert v.shown(8, "Orsay (Paris)") == "Orsay"
    for _ in range(LEARN):
        v.variants.learn("sfx country", False)
    assert v.shown(10, "Chad (country)") == "Chad (country)"  # learned to tell apart
