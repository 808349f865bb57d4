"""Reply parsing and display sanitizing: every reply format, chatty lines, bad input."""

from __future__ import annotations

import random
import re
import unicodedata

import pytest
from corpus import entry_texts

from igentai_tui.common.sanitize import clean_control, display_text
from igentai_tui.engine import parsing
from igentai_tui.engine.parsing import MAX_ENTRY_CHARS, ParseResult, clean_item, parse_reply


def cands(text: str, **kw: bool) -> list[str]:
    return parse_reply(text, **kw).candidates


# -- formats ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Louvre\nEiffel Tower\nNotre-Dame",
        "1. Louvre\n2. Eiffel Tower\n3. Notre-Dame",
        "1) Louvre\n2) Eiffel Tower\n3) Notre-Dame",
        "(1) Louvre\n(2) Eiffel Tower\n(3) Notre-Dame",
        "#1 Louvre\n#2 Eiffel Tower\n#3 Notre-Dame",
        "1.Louvre\n2.Eiffel Tower\n3.Notre-Dame",
        "- Louvre\n- Eiffel Tower\n- Notre-Dame",
        "* Louvre\n* Eiffel Tower\n* Notre-Dame",
        "• Louvre\n• Eiffel Tower\n• Notre-Dame",
        "+ Louvre\n+ Eiffel Tower\n+ Notre-Dame",
        "– Louvre\n– Eiffel Tower\n– Notre-Dame",
        "- [ ] Louvre\n- [x] Eiffel Tower\n- [ ] Notre-Dame",
        "  1.  Louvre  \r\n  2.  Eiffel Tower\r\n  3.  Notre-Dame  ",
        "**Louvre**\n*Eiffel Tower*\n__Notre-Dame__",
        "1. **Louvre**\n2. `Eiffel Tower`\n3. ~~Notre-Dame~~",
        "**1.** Louvre\n**2.** Eiffel Tower\n**3.** Notre-Dame",
        "1. [Louvre](https://louvre.fr)\n2. <b>Eiffel Tower</b>\n3. Notre-Dame",
        "\"Louvre\"\n“Eiffel Tower”\n'Notre-Dame'",
        "> Louvre\n> Eiffel Tower\n> Notre-Dame",
        "Louvre, Eiffel Tower, Notre-Dame",
        "Louvre, Eiffel Tower, and Notre-Dame.",
        "Louvre; Eiffel Tower; Notre-Dame",
        '["Louvre", "Eiffel Tower", "Notre-Dame"]',
        '```json\n["Louvre", "Eiffel Tower", "Notre-Dame"]\n```',
        'Here you go:\n```json\n[\n  "Louvre",\n  "Eiffel Tower",\n  "Notre-Dame"\n]\n```\nEnjoy!',
        '[{"name": "Louvre", "kind": "museum"}, {"name": "Eiffel Tower"}, {"Name": "Notre-Dame"}]',
        '{"entries": ["Louvre", "Eiffel Tower", "Notre-Dame"]}',
        "Sure! Here are three: Louvre, Eiffel Tower, Notre-Dame",
        "```\nLouvre\nEiffel Tower\nNotre-Dame\n```",
        "## Museums\n1. Louvre\n\n## Monuments\n2. Eiffel Tower\n3. Notre-Dame\n---",
        "| # | Name | Why |\n|---|:-----|-----|\n| 1 | Louvre | art |\n"
        "| 2 | **Eiffel Tower** | iron |\n| 3 | Notre-Dame | gothic |",
        "### 1. Louvre\n### 2. Eiffel Tower\n### 3. Notre-Dame",
    ],
)
def test_formats(text: str) -> None:
    assert parse_reply(text) == ParseResult(["Louvre", "Eiffel Tower", "Notre-Dame"], 0)


def test_descriptions_are_kept_for_normalize() -> None:
    text = "1. **Louvre** - the world's largest art museum\n2. Orsay: impressionists"
    assert cands(text) == ["Louvre - the world's largest art museum", "Orsay: impressionists"]


def test_table_without_name_header_takes_first_non_number_cell() -> None:
    text = "| Rank | Attraction | Visitors |\n|--|--|--|\n| 1 | Louvre | 9M |\n| 2 | Orsay | 3M |"
    assert cands(text) == ["Louvre", "Orsay"]
    text = "| # | Where | Visitors |\n|--|--|--|\n| 1 | Louvre | 9M |"
    assert cands(text) == ["Louvre"]


def test_json_edge_cases() -> None:
    assert cands('{"name": "Louvre"}') == ["Louvre"]
    assert parse_reply('["Louvre", 1984, null, ["x"], true]') == ParseResult(["Louvre", "1984"], 3)
    # Cut-off JSON falls back to lines; the unfinished last item goes.
    assert parse_reply('[\n  "Louvre",\n  "Eiffel To', truncated=True) == ParseResult(["Louvre"], 1)
    text = '[\n {"name": "Louvre", "type": "museum"},\n {"name": "Orsay",\n  "type": "mus'
    assert cands(text, truncated=True) == ["Louvre", "Orsay"]
    assert cands("[Louvre](https://louvre.fr)\n[Orsay](https://orsay.fr)") == ["Louvre", "Orsay"]
    assert cands("[" * 100_000) == []  # too deep for json: no RecursionError


# -- chatty lines ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "chatty",
    [
        "Here are 50 new entries:",
        "Sure! Here's a list of attractions in Paris:",
        "Certainly, here is the list.",
        "Of course! Below are more entries.",
        "Let me know if you need more!",
        "I hope this helps",
        "Hope this helps!",
        "Note: some of these are closed on Mondays.",
        "**Note:** a few of these overlap.",
        "Museums:",
        "- Monuments:",
        "I've excluded everything that was already found.",
        "These are some of the most visited places in the whole city.",
        "Would you like me to continue?",
        "These should all be new to your list.",
        "...and many more!",
        "etc.",
    ],
)
def test_chatty_lines_are_dropped(chatty: str) -> None:
    result = parse_reply(f"{chatty}\nLouvre\nOrsay\n{chatty}")
    assert result == ParseResult(["Louvre", "Orsay"], 0)


@pytest.mark.parametrize(
    "entry",
    ["Great Wall of China", "I'll Be There", "OK Computer", "Here Comes the Sun", "Sure Start"],
)
def test_entries_that_look_a_bit_chatty_are_kept(entry: str) -> None:
    assert cands(f"Louvre\n{entry}\nOrsay") == ["Louvre", entry, "Orsay"]


# -- truncation ------------------------------------------------------------------------------


def test_truncated_reply_drops_the_unfinished_item() -> None:
    assert parse_reply("1. Louvre\n2. Eiffel To", truncated=True) == ParseResult(["Louvre"], 1)
    assert cands("1. Louvre\n2. Eiffel To") == ["Louvre", "Eiffel To"]
    assert cands("Louvre, Orsay, Eiffel To", truncated=True) == ["Louvre", "Orsay"]
    # A reply that stopped right after a newline has nothing cut off.
    assert cands("1. Louvre\n2. Eiffel Tower\n", truncated=True) == ["Louvre", "Eiffel Tower"]
    assert cands('["Louvre", "Orsay"]', truncated=True) == ["Louvre", "Orsay"]
    assert parse_reply("", truncated=True) == ParseResult([], 0)


# -- commas in names -------------------------------------------------------------------------


def test_commas_inside_names_survive_one_entry_per_line() -> None:
    text = "Washington, D.C.\nParis, Texas\nLondon\nCrosby, Stills, Nash & Young\nBerlin"
    assert cands(text) == [
        "Washington, D.C.",
        "Paris, Texas",
        "London",
        "Crosby, Stills, Nash & Young",
        "Berlin",
    ]
    assert cands("Paris, Texas") == ["Paris, Texas"]  # one comma: one entry
    assert cands("Paris, Texas; Washington, D.C.; London") == [
        "Paris, Texas",
        "Washington, D.C.",
        "London",
    ]
    assert cands("Louvre (museum, Paris), Orsay, Rodin") == [
        "Louvre (museum, Paris)",
        "Orsay",
        "Rodin",
    ]


def test_described_lines_are_not_a_paragraph() -> None:
    text = (
        "Louvre - the largest museum, home to the Mona Lisa, Venus de Milo\nOrsay - Monet, Renoir"
    )
    assert len(cands(text)) == 2


def test_full_stops_and_abbreviations() -> None:
    assert cands("Louvre.\nApple Inc.\nWashington, D.C.\nSt.") == [
        "Louvre",
        "Apple Inc.",
        "Washington, D.C.",
        "St.",
    ]


# -- bad input -------------------------------------------------------------------------------


def test_rejected_counts_entry_shaped_junk_only() -> None:
    result = parse_reply("Here:\n1.\n- \n**\n---\nLouvre\n" + "x" * (MAX_ENTRY_CHARS + 1))
    assert result == ParseResult(["Louvre"], 4)
    assert parse_reply("x" * MAX_ENTRY_CHARS).candidates == ["x" * MAX_ENTRY_CHARS]


@pytest.mark.parametrize("text", ["", " ", "\n\n\t \r\n", "\x00", "\x1b[2J", "```\n```"])
def test_empty_replies(text: str) -> None:
    assert parse_reply(text) == ParseResult([], 0)


def test_hostile_text() -> None:
    text = (
        "\x1b]0;title\x07Louvre\n\x1b[2J\x1b[31mOrsay\x1b[0m\nRo\x00din\nA\x9b2Jx\n[bold]x[/bold]"
    )
    assert cands(text) == ["Louvre", "Orsay", "Rodin", "Ax", "[bold]x[/bold]"]
    text = "Lou\u200bvre\n\u202eOrsay\u202c\n\ufeffRodin\nS\u00adacré-Cœur"
    assert cands(text) == ["Louvre", "Orsay", "Rodin", "Sacré-Cœur"]


def test_huge_and_binary_input_is_rejected_quickly() -> None:
    assert parse_reply("x" * 100_000) == ParseResult([], 1)
    assert parse_reply("a, " * 40_000).candidates == ["a"] * 40_000
    rng = random.Random(7)
    junk = bytes(rng.randrange(256) for _ in range(20_000)).decode("latin-1")
    result = parse_reply(junk)
    assert result.rejected > 0
    assert all(len(c) <= MAX_ENTRY_CHARS and clean_control(c) == c for c in result.candidates)
    for text in ["*" * 100_000, "`" * 100_000, "_a" * 50_000, "[](" * 40_000, "**a" * 40_000]:
        parse_reply(text, truncated=True)  # linear-time regexes: these return at once


def test_never_raises_on_random_text() -> None:
    rng = random.Random(1)
    pieces = list("abXY 09.,;:-–*_`~[](){}<>|#\"'\n\r\t\x00\x1b\x07\x9b\\&+!?…•é東\ufffd")
    pieces += [
        "\u202e",
        "\u200b",
        "\ud800",
        "```json\n",
        "1. ",
        "- ",
        "**",
        "Here are:",
        '{"name": "',
    ]
    for _ in range(1500):
        if rng.random() < 0.3:
            text = bytes(rng.randrange(256) for _ in range(rng.choice([5, 50, 500]))).decode(
                "latin-1"
            )
        else:
            text = "".join(rng.choice(pieces) for _ in range(rng.choice([1, 10, 100, 400])))
        for truncated in (False, True):
            result = parse_reply(text, truncated=truncated)
            for c in result.candidates:
                assert c and c == c.strip() and len(c) <= MAX_ENTRY_CHARS
                assert clean_control(c) == c


def test_clean_item() -> None:
    assert clean_item("  3. **Louvre**, ") == "Louvre"
    assert clean_item("• “Orsay”") == "Orsay"
    assert clean_item("[bold]x[/bold]") == "[bold]x[/bold]"


# -- sanitize --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("\x1b[2JLouvre", "Louvre"),
        ("\x1b[1;31mred\x1b[0m", "red"),
        ("\x1b]0;title\x07Louvre", "Louvre"),
        ("\x1b]8;;https://x.y\x1b\\link\x1b]8;;\x1b\\", "link"),
        ("a\x9b2Jb", "ab"),
        ("a\x1bcb", "ab"),
        ("tab\there\nnew  line\r\n", "tab here new line"),
        ("nul\x00l\x7f", "null"),
        ("\u202eevil\u202c \u2066x\u2069 \u200e\u200f\u061c", "evil x"),
        ("zero\u200b\u200c\u200dwidth\u2060\ufeff", "zerowidth"),
        ("[bold]x[/bold]", "[bold]x[/bold]"),
        ("Musée  du\u00a0Louvre", "Musée du Louvre"),
        ("lone \ud800 surrogate", "lone surrogate"),
    ],
)
def test_clean_control(raw: str, clean: str) -> None:
    assert clean_control(raw) == clean


def test_clean_control_removes_every_control_and_format_character() -> None:
    bad = [chr(c) for c in range(0x110000) if unicodedata.category(chr(c)) in ("Cc", "Cf", "Cs")]
    cleaned = clean_control(" ".join(bad))
    assert cleaned == ""


def test_display_text_bounds_length() -> None:
    assert display_text("Louvre") == "Louvre"
    long = display_text("word " * 100)
    assert len(long) <= 120 and long.endswith("…")
    assert display_text("abcdef", 4) == "abc…"
    assert display_text("\x1b[2J" + "x" * 10, 5) == "xxxx…"
    assert display_text("abc", 0) == ""


# -- the fast path ---------------------------------------------------------------------------


def test_plain_fast_path_agrees_with_the_general_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = entry_texts()
    rng = random.Random(7)
    markers = ["1. ", "12) ", "- ", "* ", "+ ", "", "1.  ", "• ", "#3 ", " 4. ", "5. **"]
    replies = []
    for i in range(0, len(texts), 40):
        lines = [rng.choice(markers) + t for t in texts[i : i + 40]]
        lines.insert(0, rng.choice(["Sure! Here are 40 more:", "## List", "1. Here are more:"]))
        replies.append("\n".join(lines))
    fast = [parse_reply(r, truncated=bool(i % 2)) for i, r in enumerate(replies)]
    assert sum(len(p.candidates) for p in fast) > len(texts) // 2
    assert sum(map(bool, map(parsing._PLAIN_ITEM.fullmatch, "\n".join(replies).split("\n")))) > 2000
    never = re.compile(r"(?!)")
    monkeypatch.setattr(parsing, "_PLAIN_ITEM", never)
    monkeypatch.setattr(parsing, "PLAIN_ENTRY", never)
    assert fast == [parse_reply(r, truncated=bool(i % 2)) for i, r in enumerate(replies)]
