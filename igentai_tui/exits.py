"""The one table of exit statuses, and the usage error (exit 2) every command line shares."""

from __future__ import annotations

import argparse
from enum import IntEnum
from typing import NoReturn


class Exit(IntEnum):
    """Exit statuses scripts can rely on."""

    OK = 0  # a stop condition was reached
    FAILED = 1  # the run could not go on (no usable provider, database failure)
    USAGE = 2  # bad flags, bad input, unusable paths
    HANGUP = 129  # SIGHUP (the terminal was closed), after everything found was stored and written
    INTERRUPTED = 130  # Ctrl-C or SIGTERM, likewise


class UsageError(Exception):
    """Bad input: printed as one line, exit 2."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are UsageError: one line, exit 2."""

    def error(self, message: str) -> NoReturn:  # one line, no usage dump
        raise UsageError(message)
