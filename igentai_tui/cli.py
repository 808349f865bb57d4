"""Command line: dispatches to the read commands, `igentai keys`, the TUI or the headless run.

Imports the front ends; none of them imports it (what they share is in exits.py and request.py).
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Sequence

from igentai_tui.exits import Exit, UsageError
from igentai_tui.request import build_parser, resume_settings, run_request


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(list(sys.argv[1:] if argv is None else argv))
    except KeyboardInterrupt:  # before a run existed (a run handles its own): nothing stored
        for sig in (signal.SIGINT, signal.SIGTERM):  # a second one must not kill the exit
            signal.signal(sig, signal.SIG_IGN)
        print("igentai: interrupted", file=sys.stderr)
        return Exit.INTERRUPTED


def _main(argv: list[str]) -> int:
    from igentai_tui import commands

    if argv and argv[0] in commands.COMMANDS:
        return commands.main(argv)
    if argv[:1] == ["keys"]:
        from igentai_tui.keys import keys_command

        return keys_command(argv[1:])
    from igentai_tui.keys import ConfigError, check_files

    try:
        args = build_parser().parse_args(argv)
        try:
            check_files()
        except ConfigError as exc:
            raise UsageError(str(exc)) from None
        if not args.headless:
            from igentai_tui.tui.app import run_tui

            return run_tui(args)
        request = run_request(args, resume_settings(args))
    except UsageError as exc:
        print(f"igentai: error: {exc}", file=sys.stderr)
        return Exit.USAGE
    from igentai_tui.headless import run_headless

    return run_headless(request)
