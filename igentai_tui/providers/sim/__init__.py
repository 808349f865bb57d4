"""`sim`, the embedded offline provider: an LLM simulated statistically over a topic's universe.

See docs/sim.md. `SimProvider` implements the Provider protocol; `universe_for(topic)` gives
the entries that exist for a topic (real shipped data or a deterministic synthetic universe).
"""

from .catalog import real_topics, synthetic_universe
from .params import PROFILES, SimParams
from .provider import SimProvider
from .topics import universe_for
from .universe import UEntry, Universe

__all__ = [
    "PROFILES",
    "SimParams",
    "SimProvider",
    "UEntry",
    "Universe",
    "real_topics",
    "synthetic_universe",
    "universe_for",
]
