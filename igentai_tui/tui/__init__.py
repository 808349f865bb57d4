"""The full-screen Textual front end: `run_tui(args)` is its entry point."""
