"""zpp avail set|list|clear"""

from __future__ import annotations

from typing import Annotated

import typer

from zppcli.cli import new_app
from zppcli.cli.common import fmt, open_db, writing
from zppcli.cli.options import DbOpt, FormatOpt, JsonOpt
from zppcli.dates import DATE_HELP

app = new_app(
    "Availability: periods a member is available, partly available or booked.\n\n"
    "A member without periods is 'unknown', never 'free'."
)
Member = Annotated[str, typer.Argument(help="Handle, id prefix or a name with one hit.")]


@app.command("set")
def set_(
    member: Member,
    from_: Annotated[str, typer.Option("--from", help=DATE_HELP, metavar="DATE")],
    to: Annotated[str, typer.Option("--to", help=DATE_HELP, metavar="DATE")],
    status: Annotated[str, typer.Option(help="available | partly | booked")],
    hours: Annotated[
        float | None, typer.Option(help="Hours per week (for partly).", metavar="N")
    ] = None,
    note: Annotated[str, typer.Option(help="A note, like 'draaidagen NPO'.")] = "",
    db: DbOpt = None,
) -> None:
    """Record a period; it overrides what it overlaps (older periods are trimmed or split)."""
    from zppcli import availability, dates, members

    start, end = dates.parse_date(from_, "from"), dates.parse_date(to, "to")
    with writing(db) as tx:
        row = members.resolve(tx.conn, member)
        availability.set_period(tx, row["id"], start, end, status, hours, note)
    typer.echo(row["handle"])


@app.command("list")
def list_(
    member: Annotated[str | None, typer.Argument(help="Only this member.")] = None,
    from_: Annotated[
        str | None,
        typer.Option("--from", help="Periods ending on or after. " + DATE_HELP, metavar="DATE"),
    ] = None,
    to: Annotated[
        str | None, typer.Option("--to", help="Periods starting on or before.", metavar="DATE")
    ] = None,
    format_: FormatOpt = None,
    json_: JsonOpt = False,
    db: DbOpt = None,
) -> None:
    """Periods, by member (Dutch name order) and date."""
    from zppcli import availability, dates, members, output

    chosen = fmt(format_, json_)
    start = dates.parse_date(from_, "from") if from_ else None
    end = dates.parse_date(to, "to") if to else None
    conn = open_db(db)
    ids = [members.resolve(conn, member)["id"]] if member else None
    rows = [
        {
            "handle": r["handle"],
            "name": r["display_name"],
            "from": r["start_date"],
            "to": r["end_date"],
            "status": r["status"],
            "hours": r["hours_per_week"],
            "note": r["note"],
            "id": r["id"],
        }
        for r in availability.periods(conn, ids, start, end)
    ]
    output.render(
        rows,
        chosen,
        ["handle", "name", "from", "to", "status", "hours", "note"] if chosen != "json" else None,
    )


@app.command("clear")
def clear(
    member: Member,
    from_: Annotated[str | None, typer.Option("--from", help=DATE_HELP, metavar="DATE")] = None,
    to: Annotated[str | None, typer.Option("--to", help=DATE_HELP, metavar="DATE")] = None,
    db: DbOpt = None,
) -> None:
    """Forget a member's availability (all of it, or between --from and --to)."""
    from zppcli import availability, dates, members
    from zppcli.errors import InvalidInput

    start = dates.parse_date(from_, "from") if from_ else None
    end = dates.parse_date(to, "to") if to else None
    if start and end and end < start:
        raise InvalidInput("to", to, f"is before from ({from_})")
    with writing(db) as tx:
        row = members.resolve(tx.conn, member)
        n = availability.clear(tx, row["id"], start, end)
    typer.echo(f"cleared {n} period(s) of {row['handle']}", err=True)
