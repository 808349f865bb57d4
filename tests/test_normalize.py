"""Normalization: the display text, the exact key and the loose near-duplicate signature."""

from __future__ import annotations

import pytest
from corpus import entry_texts

from igentai_tui.engine.normalize import Forms, _forms, forms, key_of, loose_of, strip_description
from igentai_tui.engine.parsing import MAX_ENTRY_CHARS, PLAIN_ENTRY


def F(text: str) -> Forms:
    f = forms(text)
    assert f is not None
    return f


# -- key -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Louvre", "louvre"),
        ("LOUVRE", "louvre"),
        ("The Louvre", "louvre"),
        ("the  Louvre", "louvre"),
        ("A Tribe Called Quest", "tribe called quest"),
        ("An American in Paris", "american in paris"),
        ("The", "the"),
        ("A-ha", "a ha"),
        ("Musée du Louvre", "musee du louvre"),
        ("Musée d'Orsay", "musee de orsay"),
        ("Musée d’Orsay", "musee de orsay"),
        ("L'Arc de Triomphe", "arc de triomphe"),
        ("Galleria dell'Accademia", "galleria della accademia"),
        ("St. Peter's Basilica", "saint peter basilica"),
        ("St Peter’s Basilica", "saint peter basilica"),
        ("Ste-Chapelle", "sainte chapelle"),
        ("Mt. Fuji", "mount fuji"),
        ("Ft. Worth", "fort worth"),
        ("Wall St.", "wall street"),
        ("O'Neill", "oneill"),
        ("Marks & Spencer", "marks and spencer"),
        ("C#", "c sharp"),
        ("C++", "c plus plus"),
        ("Disney+", "disney plus"),
        ("U.S.A.", "usa"),
        ("J. R. R. Tolkien", "jrr tolkien"),
        ("Straße", "strasse"),
        ("Crème Brûlée", "creme brulee"),
        ("Ærøskøbing", "aeroskobing"),
        ("Œuvre", "oeuvre"),
        ("Łódź", "lodz"),
        ("Þingvellir", "thingvellir"),
        ("Đakovo", "dakovo"),
        ("İstanbul", "istanbul"),
        ("ΕΛΛΆΣ", "ελλασ"),
        ("Ｌｏｕｖｒｅ", "louvre"),
        ("ﬁsh", "fish"),
        ("H₂O", "h2o"),
        ("Coca-Cola™", "coca cola"),
        ("🍕 Pizza", "pizza"),
        ("Route 66", "route 66"),
        ("Catan 2", "catan 2"),
        ("Henry VIII", "henry viii"),
        ("東京タワー", "東京タワー"),
        ("हिन्दी", "हिन्दी"),
        ("!!!", ""),
    ],
)
def test_key_examples(text: str, key: str) -> None:
    assert key_of(text) == key


def test_key_is_deterministic_and_stable_under_refolding() -> None:
    for text in ["Musée d'Orsay", "St. Peter's Basilica", "Ærøskøbing", "C#", "Łódź", "Route 66"]:
        assert key_of(text) == key_of(text)
        assert key_of(key_of(text)) == key_of(text)


def test_forms_text_is_the_best_form() -> None:
    assert F("  1. **Musée du Louvre** - art museum ") == Forms(
        "Musée du Louvre", "musee du louvre", "louvre"
    )
    assert F("• “The Louvre” (the largest museum)").text == "The Louvre"
    assert F("Notre-Dame.").text == "Notre-Dame"
    assert F("Apple Inc.").text == "Apple Inc."
    assert F("Washington, D.C.").text == "Washington, D.C."
    # A short bracketed qualifier tells entries apart: kept in the text and the key.
    assert F("King Kong (1933)") == Forms("King Kong (1933)", "king kong 1933", "1933 king kong")
    assert F("King Kong (1933)").key != F("King Kong (2005)").key
    assert F("Georgia (U.S. state)").text == "Georgia (U.S. state)"
    assert F("Georgia (country)").key != F("Georgia (U.S. state)").key
    assert F("Punjab [India]").key == "punjab india"


def test_forms_rejects_empty_and_too_long() -> None:
    assert forms("") is None
    assert forms("   ") is None
    assert forms("**") is None
    assert forms("!!!") is None
    assert forms("x" * (MAX_ENTRY_CHARS + 1)) is None
    assert F("x" * MAX_ENTRY_CHARS).key == "x" * MAX_ENTRY_CHARS


def test_forms_invariants() -> None:
    for text in ["Louvre Museum (Paris)", "Musée d'Orsay", "Gogh, Vincent van", "Crêpes"]:
        f = F(text)
        assert f.key == key_of(f.text) and f.loose == loose_of(f.key)


# -- descriptions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Louvre - art museum",
        "Louvre – museum",
        "Louvre — museum",
        "Louvre—the largest museum",
        "Louvre -- museum",
        "Louvre: museum",
        "Louvre: The world's largest art museum.",
        "Louvre (the largest museum)",
        "Louvre [a museum in Paris]",
        "Louvre (museum (Paris))",
        "Louvre, a museum",
        "Louvre, the world's largest art museum",
        "Louvre - the world's largest museum, home to the Mona Lisa",
        "Louvre (art museum in Paris) - a museum",
        "Louvre (must-see museum)",
        "Louvre -",
        "Louvre:",
    ],
)
def test_descriptions_are_stripped(text: str) -> None:
    assert strip_description(text) == "Louvre"


@pytest.mark.parametrize(
    "name",
    [
        "Spider-Man",
        "Coca-Cola",
        "Jean-Paul Sartre",
        "Notre-Dame",
        "Star Wars: A New Hope",
        "Star Wars – A New Hope",
        "2001: A Space Odyssey",
        "Mission: Impossible – Rogue Nation",
        "Spider-Man: Into the Spider-Verse",
        "The Lord of the Rings: The Return of the King",
        "Dr. Strangelove or: How I Learned to Stop Worrying and Love the Bomb",
        "Alien: Covenant",
        "Paris, Texas",
        "Washington, D.C.",
        "Gogh, Vincent van",
        "(500) Days of Summer",
        "1939–1945",
        "Guinea-Bissau",
        "Georgia (U.S. state)",
        "Louvre (Paris)",
        "King Kong (1933)",
    ],
)
def test_names_with_hyphens_colons_commas_are_kept(name: str) -> None:
    assert strip_description(name) == name


# -- loose -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "variants",
    [
        ["Louvre", "Louvre Museum", "Musée du Louvre", "the Louvre", "Louvre Museum (the big one)"],
        ["Crêpe", "Crêpes", "crepes"],
        ["St. Peter's Basilica", "Saint Peter's Basilica", "St Peters Basilica"],
        ["Marks & Spencer", "Marks and Spencer"],
        ["Vincent van Gogh", "Gogh, Vincent van"],
        ["Musée d'Orsay", "Orsay Museum"],
        ["Uffizi Gallery", "Galleria degli Uffizi", "Uffizi"],
        ["Statue of Liberty", "Liberty Statue"],
        ["Church", "Churches"],
        ["Berry", "Berries"],
        ["Cat", "Cats"],
        ["Box", "Boxes"],
        ["Glass", "Glasses"],
        ["Tomato", "Tomatoes"],
        ["Museum of Modern Art", "Modern Art Museum"],
    ],
)
def test_loose_merges_variants(variants: list[str]) -> None:
    assert len({F(v).loose for v in variants}) == 1


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Eiffel Tower", "Tower Bridge"),
        ("Paris", "Paris, Texas"),
        ("Java", "JavaScript"),
        ("Iron", "Iron Man"),
        ("Sodium chloride", "Sodium"),
        ("Austria", "Australia"),
        ("Sweden", "Swede"),
        ("Louvre", "Louvre Pyramid"),
        ("Washington", "Washington, D.C."),
        ("Paris", "Pari"),  # "is" endings are not plurals
        ("Campus", "Campu"),  # nor "us"
        ("Glass", "Glas"),  # nor "ss"
        ("National Gallery", "National Museum"),  # weak word left: the generic noun stays
        ("Museum of London", "London"),
        ("Vatican Museums", "Vatican"),
        ("El Salvador", "Salvador"),  # a leading foreign article is part of the name
        ("La Paz", "Paz"),
        ("C", "C++"),
        ("C", "C#"),
        ("Vitamin A", "Vitamin E"),
    ],
)
def test_loose_keeps_distinct_entries_apart(a: str, b: str) -> None:
    fa, fb = F(a), F(b)
    assert fa.key != fb.key and fa.loose != fb.loose


def test_loose_sorts_tokens_and_keeps_the_leading_connector() -> None:
    assert loose_of("of mice and men") == "men mice of"
    assert loose_of("palace of versailles") == loose_of("versailles palace")
    assert loose_of("") == ""


def test_homoglyphs_fold_only_in_tokens_that_mix_scripts() -> None:
    assert key_of("L\u043euvre") == key_of("Louvre") == "louvre"  # Cyrillic о
    assert key_of("\u0412\u041cW") == "bmw"  # uppercase spoofs fold through their lowercase
    assert key_of("\u041c\u043e\u0441\u043a\u0432\u0430") == "\u043c\u043e\u0441\u043a\u0432\u0430"
    assert key_of("\u0421\u043e\u043a") != key_of("Cok")  # one script: a real word, kept


# -- the fast path ---------------------------------------------------------------------------


def test_plain_fast_path_agrees_with_the_general_steps() -> None:
    texts = entry_texts()
    plain = [t for t in texts if PLAIN_ENTRY.fullmatch(t)]
    assert len(plain) >= 1000 and len(plain) < len(texts)
    for text in plain:
        assert forms(text) == _forms(text), text
