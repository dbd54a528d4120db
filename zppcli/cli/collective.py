"""zpp collective add|show|list|join|leave"""

from __future__ import annotations

from typing import Annotated

import typer

from zppcli.cli import new_app
from zppcli.cli.common import fmt, open_db, writing
from zppcli.cli.options import DbOpt, FormatOpt, JsonOpt

app = new_app("Collectives: the cooperative groups members work in.")
Collective = Annotated[str, typer.Argument(help="Handle or name of the collective.")]
Member = Annotated[str, typer.Argument(help="Handle, id prefix or a name with one hit.")]


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help='Name, like "De Beeldhaven".')],
    handle: Annotated[
        str | None, typer.Option(help="Short handle [default: from the name].")
    ] = None,
    description: Annotated[str, typer.Option(help="What the collective does.")] = "",
    website: Annotated[str, typer.Option(help="Website.", metavar="URL")] = "",
    db: DbOpt = None,
) -> None:
    """Add a collective; prints its handle."""
    from zppcli import collectives

    with writing(db) as tx:
        new_handle = collectives.add(tx, name, handle, description, website)
    typer.echo(new_handle)


@app.command("list")
def list_(format_: FormatOpt = None, json_: JsonOpt = False, db: DbOpt = None) -> None:
    """All collectives with their number of members."""
    from zppcli import collectives, output

    chosen = fmt(format_, json_)
    rows = collectives.listing(open_db(db))
    output.render(
        rows,
        chosen,
        ["handle", "name", "members", "website"] if chosen != "json" else None,
        empty="No collectives yet: start one with `zpp collective add NAME`.",
    )


@app.command("show")
def show(
    collective: Collective, format_: FormatOpt = None, json_: JsonOpt = False, db: DbOpt = None
) -> None:
    """A collective and its members with their roles."""
    from zppcli import collectives, output

    chosen = fmt(format_, json_)
    conn = open_db(db)
    row = collectives.resolve(conn, collective)
    people = collectives.members_of(conn, row["id"])
    if chosen == "json":
        output.render_record(
            {
                "handle": row["handle"],
                "name": row["name"],
                "description": row["description"],
                "website": row["website"],
                "id": row["id"],
                "members": people,
            },
            chosen,
        )
        return
    title = f"{row['name']} ({row['handle']})" + (
        f": {row['description']}" if row["description"] else ""
    )
    output.render(people, chosen, ["handle", "name", "role", "city"], title=title)


@app.command("join")
def join(
    collective: Collective,
    member: Member,
    role: Annotated[str, typer.Option(help="founder, coordinator, member ...")] = "member",
    db: DbOpt = None,
) -> None:
    """Add a member to a collective (or change their role)."""
    from zppcli import collectives, members

    with writing(db) as tx:
        row = collectives.resolve(tx.conn, collective)
        person = members.resolve(tx.conn, member)
        collectives.join(tx, row["id"], person["id"], role)
    typer.echo(person["handle"])


@app.command("leave")
def leave(collective: Collective, member: Member, db: DbOpt = None) -> None:
    """Take a member out of a collective."""
    from zppcli import collectives, members
    from zppcli.errors import NotFound

    with writing(db) as tx:
        row = collectives.resolve(tx.conn, collective)
        person = members.resolve(tx.conn, member)
        if not collectives.leave(tx, row["id"], person["id"]):
            raise NotFound(f"member {member!r} is not in {row['name']}")
    typer.echo(person["handle"])
