"""The signals that stop a run, and the terminal a hang-up leaves behind (both front ends)."""

from __future__ import annotations

import os
import signal


def stop_signals() -> list[signal.Signals]:
    """The signals that stop a run cleanly: SIGINT, SIGTERM, and SIGHUP (the terminal was
    closed) unless it is ignored, as under `nohup`, where the run goes on."""
    hangup = [] if signal.getsignal(signal.SIGHUP) == signal.SIG_IGN else [signal.SIGHUP]
    return [signal.SIGINT, signal.SIGTERM, *hangup]


def terminals() -> list[int]:
    """Which of stdin, stdout and stderr are a terminal (ask before it can hang up)."""
    return [fd for fd in (0, 1, 2) if os.isatty(fd)]


def leave_closed_terminal(fds: list[int]) -> None:
    """Point those of `fds` whose terminal has gone (a hang-up) at /dev/null, so that what is
    still written, the summary included, fails nowhere (writing to it would fail with EIO)."""
    gone = [fd for fd in fds if not os.isatty(fd)]
    if gone:
        null = os.open(os.devnull, os.O_RDWR)
        for fd in gone:
            os.dup2(null, fd)
        os.close(null)
