"""The engine: orchestrator, producers, parsing, normalization, metrics. No Textual here."""
