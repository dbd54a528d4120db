"""The zpp command line.

Commands parse their arguments, call one core function and hand rows to the
renderer (zppcli.output). This package's __init__ stays free of typer: `main()`
serves `zpp search` through a small hand-written front (cli/searching.py)
that calls the very same code as the typer command, and loads typer (cli/application.py)
for everything else. Core modules are imported inside the commands.
"""

from __future__ import annotations

import sys


def main() -> None:
    argv = sys.argv[1:]
    if argv[:1] == ["search"]:
        from zppcli.cli.searching import run_fast

        code = run_fast(argv[1:])
        if code is not None:
            sys.exit(code)
    from zppcli.cli.application import app

    app(prog_name="zpp")


def __getattr__(name: str):
    """`from zppcli.cli import app, new_app` load the typer app on demand."""
    from importlib import import_module

    application = import_module("zppcli.cli.application")
    try:
        return getattr(application, name)
    except AttributeError:
        raise AttributeError(f"module 'zppcli.cli' has no attribute {name!r}") from None
