"""What every command needs: the db, the output format, confirmation."""

from __future__ import annotations

import os
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from zppcli import db as dbmod
from zppcli import output
from zppcli.errors import UsageError


def open_db(db: str | None, *, create: bool = False, reading: bool = False) -> sqlite3.Connection:
    """The db for a command; `reading` for one that never writes (see db.connect)."""
    path = dbmod.locate(db)
    fresh = not os.path.exists(path)
    conn = dbmod.connect(path, create=create, reading=reading)
    if fresh and create:
        output.message(f"zpp: created a new db at {path}")
    for note in dbmod.drain_notes():
        output.message(note)
    return conn


@contextmanager
def writing(db: str | None) -> Iterator:
    """One transaction on the db (created if missing); yields the Tx."""
    from zppcli.store import Tx

    conn = open_db(db, create=True)
    try:
        with Tx(conn) as tx:
            yield tx
    finally:
        conn.close()


def fmt(
    format_: str | None, json_flag: bool = False, allowed: tuple[str, ...] = output.FORMATS
) -> str:
    chosen = output.choose(format_, json_flag)
    if chosen not in allowed:
        raise UsageError(f"format {chosen!r}: use one of {', '.join(allowed)}")
    return chosen


def confirm(question: str, yes: bool) -> None:
    """Ask on a terminal; without one, demand --yes."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise UsageError(f"{question} Refusing without a terminal; pass --yes to confirm.")
    import typer

    if not typer.confirm(question, default=False, err=True):
        raise typer.Exit(1)
