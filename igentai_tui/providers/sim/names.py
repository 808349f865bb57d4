"""Made-up names: syllable styles, and the kinds of subtopic synthetic universes are built from.

A name is a template ("Lake {S}", "{G} {S}", "{S}ase") filled with a pronounceable stem built
from syllables. `|` separates a template's canonical form from its variants
("{S} Castle|Castle {S}"). Placeholders: {S} the stem, {s} the stem in lower case, {G} a
given name, {I} the given name's initial.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .text import fold, singular, word_set


@dataclass(frozen=True, slots=True)
class Style:
    """How stems sound: syllable parts and optional endings."""

    onsets: tuple[str, ...]
    nuclei: tuple[str, ...]
    codas: tuple[str, ...]
    endings: tuple[str, ...]
    ending_rate: float = 0.5


def _t(words: str) -> tuple[str, ...]:
    return tuple(words.split(" "))


STYLES: dict[str, Style] = {
    "english": Style(
        _t("- - b bl br c cl cr d dr f fl g gl gr h j k l m n p pl pr r s sh sl sp st t th tr v w"),
        _t("a e i o u a e i o ai ea ee oo ou ay"),
        _t("- - - n r l m s nd rn ll ck th st ng"),
        _t("holt mere wick ford by ton dale ham ley worth brook stead well bury thorpe combe den"),
    ),
    "french": Style(
        _t("- - b br ch d f g gr j l m n p r s t v"),
        _t("a e i o ou au ai eu a e o"),
        _t("- - - n r l s"),
        _t("eau iere ac ard ois ais elle ette on ville court mont ier"),
        0.6,
    ),
    "fantasy": Style(
        _t("- - b c d f g h k l m n p r s t v z x th dr gr br kh"),
        _t("a e i o u a e o y ae"),
        _t("- - - n r l x th s rn nd"),
        _t("ar eth ion ora ax is yr und ia os en"),
        0.55,
    ),
    "science": Style(
        _t("- - b br c ch d f g gl h k l m n p ph pr r s st t th tr v x z"),
        _t("a e i o u a e o y"),
        _t("- - - n r l x m s"),
        _t("ol en ox at id yl"),
        0.3,
    ),
    "surname": Style(
        _t("- - b br c d f g h j k l m n p r s sch st t v w z"),
        _t("a e i o u a e o ai"),
        _t("- - - n r l s m"),
        _t("son ner ard ski elli ov er ez ini berg mann ley ton ais eau ovic sen"),
        0.75,
    ),
    "given": Style(
        _t("- - b c d f g h j k l m n p r s t v w"),
        _t("a e i o u a e"),
        _t("- - - n r l"),
        _t("a o an en ia us el ine ric win da"),
        0.8,
    ),
}


def make_stem(rng: random.Random, style: Style, first: str | None = None) -> str:
    """A pronounceable capitalized stem of 4-12 letters, optionally starting with `first`."""
    for _ in range(60):
        n = 1 if rng.random() < 0.4 else 2
        parts: list[str] = []
        for k in range(n):
            coda = rng.choice(style.codas)
            if coda == "-" or (k < n - 1 and len(coda) > 1):
                coda = ""
            onset = rng.choice(style.onsets)
            while onset == "-" and k > 0:  # no onset (a vowel start) only at the stem's start
                onset = rng.choice(style.onsets)
            onset = onset.strip("-")
            parts.append(onset + rng.choice(style.nuclei) + coda)
        if rng.random() < style.ending_rate or len("".join(parts)) < 4:
            parts.append(rng.choice(style.endings))
        stem = "".join(parts)
        if first is not None and not stem.upper().startswith(first):
            continue
        if 4 <= len(stem) <= 12:
            return stem[0].upper() + stem[1:]
    if first is None:
        return "Aven" + str(rng.randrange(100))
    stem = make_stem(rng, style).lower()
    return first.upper() + (stem if first.isalpha() else " " + stem.capitalize())


@dataclass(frozen=True, slots=True)
class Kind:
    """A kind of subtopic: its name, the noun for one entry, templates, near-synonym names."""

    name: str
    noun: str
    templates: tuple[str, ...]
    style: str
    aka: tuple[str, ...] = ()


def fill(template: str, stem: str, given: str = "") -> str:
    """Fill one template form."""
    out = template.replace("{S}", stem).replace("{s}", stem.lower())
    if given:
        out = out.replace("{G}", given).replace("{I}", given[:1])
    return out


def core_keys(template: str, stem: str) -> set[str]:
    """The keys of the word(s) carrying the stem, singular: what must be unique."""
    keys = set()
    for token in template.split():
        if "{S}" in token or "{s}" in token:
            key = fold(fill(token, stem)).replace(" ", "")
            keys.add(singular(key))
    return keys


def _kinds(style: str, rows: list[str]) -> tuple[Kind, ...]:
    """Rows read "Name / noun / template; template / near-synonym; near-synonym"."""
    out = []
    for row in rows:
        name, noun, templates, aka = row.split(" / ")
        akas = tuple(a for a in aka.split("; ") if a)
        out.append(Kind(name, noun, tuple(templates.split("; ")), style, akas))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Genre:
    """A family of kinds, chosen by keywords in the topic."""

    name: str
    keywords: frozenset[str]
    kinds: tuple[Kind, ...]
    qualifiers: tuple[str, ...]


GENRES: tuple[Genre, ...] = (
    Genre(
        "places",
        word_set(
            "attractions sights landmarks places cities towns villages castles lakes mountains "
            "rivers islands parks beaches destinations countries regions streets museums "
            "buildings churches bridges monuments travel tourist geography locations spots "
            "architecture sites ruins"
        ),
        _kinds(
            "english",
            [
                "Lakes / lake / Lake {S}|{S} Lake; {S} Water; {S}mere / Lakes and lochs",
                "Mountains / mountain / Mount {S}|{S} Mountain; {S} Peak; {S} Fell / "
                "Peaks and summits; Mountains and hills",
                "Castles / castle / {S} Castle|Castle {S}; Fort {S} / Castles and forts",
                "Abbeys / abbey / {S} Abbey; {S} Priory / Abbeys and priories",
                "Churches / church / St {S}'s Church|Church of St {S}; {S} Chapel / "
                "Churches and chapels",
                "Museums / museum / {S} Museum|Museum of {S}; {S} Gallery|{S} Art Gallery / "
                "Museums and galleries",
                "Parks / park / {S} Park; {S} Gardens|{S} Garden / Parks and gardens",
                "Bridges / bridge / {S} Bridge / Bridges and crossings",
                "Villages / village / {S}; {S}by; Little {S} / Villages and hamlets",
                "Rivers / river / River {S}|{S} River; {S} Brook / Rivers and streams",
                "Islands / island / {S} Island|Isle of {S}; {S} Holm / Islands and islets",
                "Harbours / harbour / {S} Harbour|{S} Harbor; Port {S} / Harbours and ports",
                "Markets / market / {S} Market|{S} Market Hall / Markets and fairs",
                "Towers / tower / {S} Tower / Towers and spires",
                "Caves / cave / {S} Cave|{S} Caves; {S} Cavern / Caves and caverns",
                "Valleys / valley / {S} Valley|Vale of {S}; {S}dale / Valleys and dales",
                "Waterfalls / waterfall / {S} Falls|{S} Waterfall; {S} Force / Falls",
                "Squares / square / {S} Square; Place {S} / Squares and plazas",
                "Theatres / theatre / {S} Theatre|{S} Theater; {S} Playhouse / Theatres and halls",
                "Forests / forest / {S} Forest; {S} Wood|{S} Woods / Forests and woods",
                "Beaches / beach / {S} Beach; {S} Sands / Beaches and coves",
                "Palaces / palace / {S} Palace; {S} Hall; {S} Manor|{S} Manor House / "
                "Palaces and manors; Stately homes",
                "Lighthouses / lighthouse / {S} Lighthouse|{S} Light / ",
                "Streets / street / {S} Street; {S} Lane; {S} Road / Streets and lanes",
                "Monuments / monument / {S} Monument; {S} Memorial; {S} Column / "
                "Monuments and memorials",
            ],
        ),
        _t("Northern Southern Eastern Western Coastal Upland Historic Remote"),
    ),
    Genre(
        "people",
        word_set(
            "people persons authors writers poets painters artists scientists musicians "
            "composers singers actors actresses athletes players philosophers kings queens "
            "monarchs presidents politicians inventors celebrities mathematicians explorers "
            "directors figures leaders saints"
        ),
        _kinds(
            "surname",
            [
                "Painters / painter / {G} {S}|{I}. {S}|{S} / Painters and illustrators",
                "Sculptors / sculptor / {G} {S}|{I}. {S}|{S} / ",
                "Poets / poet / {G} {S}|{I}. {S}|{S} / Poets and lyricists",
                "Novelists / novelist / {G} {S}|{I}. {S}|{S} / Novelists and writers",
                "Playwrights / playwright / {G} {S}|{I}. {S}|{S} / Dramatists",
                "Composers / composer / {G} {S}|{I}. {S}|{S} / ",
                "Singers / singer / {G} {S}|{I}. {S}|{S} / Singers and vocalists",
                "Philosophers / philosopher / {G} {S}|{I}. {S}|{S} / Thinkers",
                "Mathematicians / mathematician / {G} {S}|{I}. {S}|{S} / ",
                "Physicists / physicist / {G} {S}|{I}. {S}|{S} / ",
                "Chemists / chemist / {G} {S}|{I}. {S}|{S} / ",
                "Explorers / explorer / {G} {S}|{I}. {S}|{S} / Explorers and navigators",
                "Inventors / inventor / {G} {S}|{I}. {S}|{S} / Inventors and engineers",
                "Architects / architect / {G} {S}|{I}. {S}|{S} / ",
                "Film directors / film director / {G} {S}|{I}. {S}|{S} / Filmmakers",
                "Actors / actor / {G} {S}|{I}. {S}|{S} / Actors and actresses",
                "Athletes / athlete / {G} {S}|{I}. {S}|{S} / Sportspeople",
                "Chess players / chess player / {G} {S}|{I}. {S}|{S} / ",
                "Statesmen / statesman / {G} {S}|{I}. {S}|{S} / Politicians",
                "Monarchs / monarch / King {G} of {S}|{G} of {S}; Queen {G} of {S} / "
                "Kings and queens; Rulers",
                "Photographers / photographer / {G} {S}|{I}. {S}|{S} / ",
                "Economists / economist / {G} {S}|{I}. {S}|{S} / ",
            ],
        ),
        _t("Early Modern Renaissance Baroque Contemporary Medieval Victorian Classical"),
    ),
    Genre(
        "creatures",
        word_set(
            "animals birds fish insects plants flowers trees species breeds dogs cats horses "
            "mammals reptiles mushrooms fungi dinosaurs creatures wildlife pets herbs fruits "
            "vegetables butterflies beetles"
        ),
        _kinds(
            "english",
            [
                "Songbirds / songbird / {S} Warbler; {S} Finch; {S} Thrush / Passerines",
                "Birds of prey / bird of prey / {S} Hawk; {S} Kite; {S} Owl / Raptors",
                "Seabirds / seabird / {S} Gull; {S} Petrel; {S} Tern / Sea birds",
                "Freshwater fish / fish / {S} Trout; {S} Carp; {S} Perch / River fish",
                "Marine fish / fish / {S} Snapper; {S} Wrasse; {S} Grouper / Sea fish",
                "Beetles / beetle / {S} Beetle / ",
                "Butterflies / butterfly / {S} Butterfly; {S} Moth; {S} Skipper / "
                "Butterflies and moths",
                "Frogs / frog / {S} Frog|{S} Tree Frog; {S} Toad / Frogs and toads",
                "Lizards / lizard / {S} Gecko; {S} Skink; {S} Lizard / Geckos and skinks",
                "Snakes / snake / {S} Viper; {S} Python; {S} Snake / Serpents",
                "Wildflowers / wildflower / {S}wort; {S} Lily; {S} Orchid / Wild flowers",
                "Trees / tree / {S} Oak; {S} Pine; {S} Maple / Trees and shrubs",
                "Ferns / fern / {S} Fern; {S} Moss / Ferns and mosses",
                "Mushrooms / mushroom / {S} Bolete; {S} Cap; {S} Milkcap / Fungi",
                "Rodents / rodent / {S} Vole; {S} Mouse; {S} Squirrel / Small mammals",
                "Deer / deer / {S} Deer; {S} Antelope; {S} Gazelle / Deer and antelopes",
                "Bats / bat / {S} Bat / ",
                "Spiders / spider / {S} Spider; {S} Tarantula / Arachnids",
                "Hounds / breed / {S} Terrier; {S} Hound; {S} Spaniel / Dog breeds",
                "Horse breeds / breed / {S} Pony; {S} Horse|{S} / Horses and ponies",
                "Cattle breeds / breed / {S} Cattle|{S} / Cattle",
                "Cacti / cactus / {S} Cactus; {S} Aloe / Cacti and succulents",
            ],
        ),
        _t("Tropical Alpine Desert Island Northern Southern Rare Common"),
    ),
    Genre(
        "works",
        word_set(
            "books novels films movies songs albums games shows series plays operas paintings "
            "poems comics anime manga episodes stories tv musicals video cinema literature"
        ),
        _kinds(
            "fantasy",
            [
                "Dramas / drama / The {S} Affair|{S} Affair; {S}; {S}'s Daughter / ",
                "Comedies / comedy / {S} Goes West; My Uncle {S}; {S} and Friends / ",
                "Thrillers / thriller / The {S} Protocol; Night in {S}; The {S} Files / Suspense",
                "Science fiction / science fiction work / Beyond {S}; {S} Rising; The {S} Drift / "
                "Sci-fi",
                "Fantasy / fantasy work / The Crown of {S}; Tales of {S}; {S} / High fantasy",
                "Horror / horror work / The Haunting of {S}; {S} House / Horror and gothic",
                "Romance / romance / Love in {S}; A Summer in {S}; {S} Hearts / Romantic works",
                "Westerns / western / The {S} Trail; Gunfight at {S}; {S} Creek / ",
                "Mysteries / mystery / The {S} Mystery; Murder at {S}; Death in {S} / "
                "Detective stories; Whodunits",
                "Historical / historical work / The {S} Chronicles; Empire of {S} / "
                "Historical epics",
                "Adventure / adventure / Quest for {S}; Return to {S}; Voyage to {S} / ",
                "Musicals / musical / {S}!|{S} / ",
                "Documentaries / documentary / The {S} Story; Inside {S} / Non-fiction",
                "War / war story / The Siege of {S}; Battle of {S} / War stories",
                "Animation / animated work / {S} the Brave; Little {S} / Animated works",
                "Crime / crime story / The {S} Job; {S} Street / Crime and noir",
                "Satire / satire / The Ballad of {S}; {S} for President / Parody",
                "Epics / epic / The Song of {S}; {S}iad / Sagas",
                "Children's / children's story / {S} and the Moon; The Little {S} / For children",
                "Coming-of-age / coming-of-age story / Growing Up in {S}; {S} Summer / Young adult",
            ],
        ),
        _t("Classic Modern Early Cult Award-winning Independent Foreign Silent-era"),
    ),
    Genre(
        "science",
        word_set(
            "enzymes proteins chemicals compounds elements minerals drugs medications medicines "
            "molecules stars galaxies diseases bacteria viruses genes rocks alloys hormones "
            "antibiotics planets comets chemistry biology astronomy pathogens"
        ),
        _kinds(
            "science",
            [
                "Hydrolases / hydrolase / {S}ase / Hydrolytic enzymes",
                "Oxidoreductases / oxidoreductase / {S} oxidase; {S} reductase / "
                "Redox enzymes; Oxidoreductase enzymes",
                "Transferases / transferase / {S} transferase / Transfer enzymes",
                "Kinases / kinase / {S} kinase|{S}-kinase / Protein kinases; Kinase enzymes",
                "Proteases / protease / {S}pain; {S} protease / "
                "Peptidases; Protein-cleaving enzymes",
                "Synthases / synthase / {S} synthase / Synthase enzymes",
                "Minerals / mineral / {S}ite / Ores",
                "Alkaloids / alkaloid / {S}ine / ",
                "Antibiotics / antibiotic / {S}mycin; {S}cillin / Antimicrobials",
                "Steroids / steroid / {S}sterone; {S}olone / Steroid hormones",
                "Polymers / polymer / Poly{s}ene; Poly{s}ate / Plastics",
                "Alloys / alloy / {S} bronze; {S} steel / Metal alloys",
                "Bacteria / bacterium / {S}bacter; {S}coccus / Bacterial genera",
                "Viruses / virus / {S} virus|{S}virus / ",
                "Diseases / disease / {S} syndrome; {S}'s disease|{S} disease / "
                "Syndromes and disorders",
                "Proteins / protein / {S}in; {S}ulin / Structural proteins",
                "Hormones / hormone / {S}tropin; {S}otonin / Signalling molecules",
                "Stars / star / {S} Majoris; {S} Minoris / Named stars",
                "Comets / comet / Comet {S} / ",
                "Galaxies / galaxy / {S} Galaxy / Galaxies and nebulae",
                "Rocks / rock / {S} granite; {S} basalt / Rock types",
            ],
        ),
        _t("Bacterial Plant Human Marine Fungal Synthetic Rare Industrial"),
    ),
    Genre(
        "organisations",
        word_set(
            "companies brands bands teams clubs universities restaurants cafes bars hotels shops "
            "stores airlines startups newspapers organisations organizations schools labels "
            "publishers orchestras retailers manufacturers firms businesses"
        ),
        _kinds(
            "fantasy",
            [
                "Bands / band / The {S}s; {S} / Groups",
                "Record labels / record label / {S} Records / Labels",
                "Football clubs / football club / {S} United|{S} Utd; FC {S}|{S} FC; {S} Rovers / "
                "Soccer clubs",
                "Universities / university / University of {S}|{S} University; {S} College / "
                "Colleges and universities",
                "Airlines / airline / {S} Air|{S} Airlines; {S} Airways / Carriers",
                "Car makers / car maker / {S} Motors|{S}; {S} Automobiles / Carmakers",
                "Banks / bank / {S} Bank|Bank of {S} / Banks and lenders",
                "Newspapers / newspaper / The {S} Herald|{S} Herald; The {S} Gazette|{S} Gazette / "
                "Papers",
                "Restaurants / restaurant / Chez {S}; {S} Bistro; {S} Grill / Eateries",
                "Hotels / hotel / Hotel {S}|The {S} Hotel; {S} Grand Hotel / Hotels and inns",
                "Breweries / brewery / {S} Brewery|{S} Brewing; {S} Ales / Brewers",
                "Publishers / publisher / {S} Press; {S} Books / Publishing houses",
                "Software companies / software company / {S}soft; {S} Labs; {S} Systems / "
                "Tech companies",
                "Fashion houses / fashion house / Maison {S}|{S}; House of {S} / Fashion brands",
                "Cafés / café / Café {S}|Cafe {S}; {S} Coffee / Coffee houses",
                "Orchestras / orchestra / {S} Philharmonic|{S} Philharmonic Orchestra; "
                "{S} Symphony Orchestra / Ensembles",
                "Toy makers / toy maker / {S} Toys / Toy companies",
                "Shipping lines / shipping line / {S} Line; {S} Shipping / Shipping companies",
                "Theatre companies / theatre company / {S} Players; {S} Theatre Company / Troupes",
                "Retailers / retailer / {S}'s|{S}; {S} Stores / Shops and chains",
            ],
        ),
        _t("Local National Regional Defunct Family-owned Independent Historic Emerging"),
    ),
)

KIND_WORDS: frozenset[str] = frozenset(
    singular(w)
    for g in GENRES
    for k in g.kinds
    for t in k.templates
    for w in fold(t.replace("{S}", " ").replace("{s}", " ").replace("{G}", " ")).split()
)


def pick_genre(topic_words: frozenset[str], rng: random.Random) -> Genre | None:
    """The genre whose keywords best match the topic; None means "mixed" (chosen by hash)."""
    best, score = None, 0
    for g in GENRES:
        s = len(topic_words & g.keywords)
        if s > score:
            best, score = g, s
    if best is not None:
        return best
    pick = rng.randrange(len(GENRES) + 2)
    return GENRES[pick] if pick < len(GENRES) else None
