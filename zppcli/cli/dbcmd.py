"""zpp db path|init|check|reindex"""

from __future__ import annotations

from typing import Annotated

import typer

from zppcli.cli import new_app
from zppcli.cli.common import fmt, writing
from zppcli.cli.options import DbOpt, FormatOpt, JsonOpt

app = new_app("The db file: where it is, create it, check it, rebuild its index.")


@app.command("path")
def path(db: DbOpt = None) -> None:
    """Print the db path (--db, else $ZPP_DB, else the user data dir)."""
    from zppcli import db as dbmod

    typer.echo(str(dbmod.resolve_path(db)))


@app.command("init")
def init(
    example: Annotated[
        bool, typer.Option("--example", help="Load the bundled Hilversum Media Valley directory.")
    ] = False,
    db: DbOpt = None,
) -> None:
    """Create the db (and with --example, fill it with the example directory)."""
    from zppcli import dates
    from zppcli import db as dbmod
    from zppcli import example as examples
    from zppcli.errors import Conflict

    target = dbmod.resolve_path(db)
    if example and target.exists() and target.stat().st_size > 0:
        conn = dbmod.connect(target)
        has = dbmod.live_count(conn, "members")
        loaded = examples.loaded_on(conn)
        conn.close()
        if loaded:
            typer.echo(
                f"zpp: {target} already holds the example directory; nothing loaded", err=True
            )
            typer.echo(str(target))
            return
        if has:
            raise Conflict(
                f"{target} already holds {has} members; use another --db for the example"
            )
    with writing(db) as tx:
        if example:
            counts = examples.load(tx, examples.bundled_text(), dates.today())
    if example:
        typer.echo(
            f"loaded {counts['member']} members, {counts['skill']} skills and "
            f"{counts['collective']} collectives into {target}",
            err=True,
        )
    typer.echo(str(target))


@app.command("check")
def check(format_: FormatOpt = None, json_: JsonOpt = False, db: DbOpt = None) -> None:
    """Integrity check, schema version and row counts (live and tombstoned)."""
    from zppcli import db as dbmod
    from zppcli import output
    from zppcli.cli.common import open_db
    from zppcli.errors import ZppError

    chosen = fmt(format_, json_)
    conn = open_db(db)
    integrity, rows = dbmod.health(conn)
    rows.insert(0, {"item": "path", "value": str(dbmod.resolve_path(db))})
    output.render(rows, chosen, ["item", "value"])
    if integrity != ["ok"]:
        raise ZppError(f"integrity check failed: {integrity[0]}")


@app.command("reindex")
def reindex(db: DbOpt = None) -> None:
    """Rebuild the full-text search index from the data."""
    from zppcli import searchindex

    with writing(db) as tx:
        n = searchindex.rebuild(tx.conn)
    typer.echo(f"reindexed {n} members", err=True)
