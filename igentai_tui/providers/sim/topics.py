"""Which universe a topic's text names: a generated world, a synthetic universe of a hinted
size, a shipped real one, or else a synthetic one seeded by the text."""

from __future__ import annotations

import re

from .catalog import real_universe, synthetic_universe
from .universe import SIZE_HINT, Universe
from .worlds import world_universe

_WORLD_HINT = re.compile(r"\(\s*sim-world\s*:\s*([a-z]+)\s*:\s*(\d+)\s*\)", re.IGNORECASE)


def universe_for(topic: str) -> Universe:
    """The universe of a topic: a shipped real one when the topic matches (tolerantly), else
    synthetic. "(sim:4000)" in the topic asks for a synthetic one of 4,000 entries and
    "(sim:4000/25)" also for 25 subtopics; the rest of the text seeds it."""
    world = _WORLD_HINT.search(topic)
    if world:
        return world_universe(world.group(1).lower(), int(world.group(2)))
    hint = SIZE_HINT.search(topic)
    if hint:
        size = int(hint.group(1))
        subs = int(hint.group(2)) if hint.group(2) else None
        return synthetic_universe(SIZE_HINT.sub(" ", topic).strip(), size, subs)
    real = real_universe(topic)
    return real if real is not None else synthetic_universe(topic)
