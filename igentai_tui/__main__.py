"""`python -m igentai_tui` and the `igentai` command.

Signals are handled before anything else is imported: until a run installs its own handlers
(which store what was found, then exit 130), SIGINT and SIGTERM end igentai like Ctrl-C, with
nothing stored yet: "igentai: interrupted", exit 130, as README promises. A second signal
while it exits is ignored, so it cannot cut the exit short.
"""

import signal
import sys

INTERRUPTED = 130  # exits.Exit.INTERRUPTED, without importing igentai_tui before the handlers exist


def _interrupt(signum: int, frame: object) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    raise KeyboardInterrupt


def main() -> int:
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _interrupt)
    try:
        from igentai_tui.cli import main as run

        return run()
    except KeyboardInterrupt:  # before the run handled signals (cli.main catches most)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)
        print("igentai: interrupted", file=sys.stderr)
        return INTERRUPTED


if __name__ == "__main__":
    raise SystemExit(main())
