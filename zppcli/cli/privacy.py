"""zpp member forget | export: the right to be forgotten and to a copy of one's data."""

from __future__ import annotations

from typing import Annotated

import typer

from zppcli.cli.common import confirm, open_db, writing
from zppcli.cli.member import app as member_app
from zppcli.cli.options import DbOpt, OutOpt, YesOpt

MemberArg = Annotated[str, typer.Argument(help="Handle or id prefix (removed members too).")]


@member_app.command("forget")
def forget(member: MemberArg, yes: YesOpt = False, db: DbOpt = None) -> None:
    """Erase a member's personal data for good (AVG/GDPR right to be forgotten).

    Name, contacts, bio, links, city, skills, availability and memberships are
    erased, also from the change history and the search index; a tombstone stays
    so that merging an older copy of the db cannot bring the data back. Asks for
    confirmation (--yes for scripts).
    """
    from zppcli import output, privacy

    conn = open_db(db)
    try:
        row = privacy.resolve_any(conn, member)
    finally:
        conn.close()
    confirm(
        f"Erase everything about {row['display_name']} ({row['handle']})? This cannot be undone.",
        yes,
    )
    with writing(db) as tx:
        counts = privacy.forget(tx, row["id"])
    conn = open_db(db)
    try:
        privacy.purge_file(conn)
    finally:
        conn.close()
    output.message(
        f"forgot {row['handle']}: {counts['rows']} rows erased, {counts['history']} history "
        f"entries scrubbed; kept as {privacy.forgotten_handle(row['id'])}"
    )
    from zppcli import db as dbmod

    copies = privacy.other_copies(dbmod.resolve_path(db))
    if copies:
        output.message(
            "zpp: these copies beside the db may still hold the erased data; merge them in "
            "(`zpp sync`) or delete them: " + ", ".join(str(p) for p in copies)
        )


@member_app.command("export")
def export(
    member: MemberArg,
    out: OutOpt = None,
    db: DbOpt = None,
) -> None:
    """Everything zpp holds about one member, as JSON (AVG/GDPR data portability).

    Includes private fields, removed rows and the change history: it is the
    member's own copy, so mind where you send it.
    """
    import json
    import sys

    from zppcli import privacy

    conn = open_db(db)
    try:
        data = privacy.export_member(conn, privacy.resolve_any(conn, member)["id"])
    finally:
        conn.close()
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    if out is None:
        sys.stdout.write(text)
        return
    from zppcli.files import write_atomic

    write_atomic(out, text)
