"""What the engine, the providers and the front ends all need: time, text cleaning, redaction.

The lowest layer: nothing here imports any other part of igentai_tui.
"""
