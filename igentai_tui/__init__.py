"""igentai: several LLMs at once, listing everything about a topic."""

__version__ = "0.1.0"
