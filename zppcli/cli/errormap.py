"""The one error mapping: an exception becomes one line on stderr and an exit code."""

from __future__ import annotations

import os
import sys

from zppcli.errors import ZppError


def exit_code(e: BaseException) -> int:
    """Report e for a person and return the exit code; re-raise bugs under ZPP_DEBUG=1."""
    if isinstance(e, ZppError):
        print(f"zpp: {e}", file=sys.stderr)
        return e.exit_code
    if isinstance(e, BrokenPipeError):  # `zpp ... | head`: the reader has what it wanted
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    if os.environ.get("ZPP_DEBUG") == "1":
        raise e
    print(
        f"zpp: internal error: {type(e).__name__}: {e} "
        "(rerun with ZPP_DEBUG=1 for the traceback, and please report it)",
        file=sys.stderr,
    )
    return 1
