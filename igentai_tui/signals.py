"""The signals that stop a run, the terminal a hang-up leaves behind, and a reader of stdout
that has gone (`igentai ... | head`): both front ends and the read commands."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from igentai_tui.exits import Exit


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


def write_out(text: str) -> bool:
    """Print `text` on stdout; False when its reader has gone (`| head`, SIGPIPE), stdout then
    pointed at /dev/null so that nothing else written to it (the interpreter's last flush
    included) fails or prints a traceback."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        silence_stdout()
        return False
    return True


def silence_stdout() -> None:
    """Point stdout at /dev/null (its reader has gone)."""
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, sys.stdout.fileno())
    os.close(null)


@contextmanager
def ending() -> Iterator[None]:
    """While the end of a run is printed (everything found is stored by then), a stop signal
    ends igentai with its exit status (130, 129 for a hang-up), not killed mid-line with none:
    the run's own handlers are gone once its event loop has closed."""

    def end(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(Exit.HANGUP if signum == signal.SIGHUP else Exit.INTERRUPTED)

    before = {sig: signal.signal(sig, end) for sig in stop_signals()}
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
