"""Dumb panels: each takes plain data (a snapshot, rows, entries) and renders it."""
