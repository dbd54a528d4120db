"""zpp db merge | db merge-driver | sync | log"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from zppcli.cli.common import fmt
from zppcli.cli.dbcmd import app as db_app
from zppcli.cli.options import DbOpt, FormatOpt, JsonOpt

DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", "-n", help="Show what would change; change nothing.")
]
AllOpt = Annotated[
    bool, typer.Option("--all", help="Also list the contacts, skills ... of deleted members.")
]
CHANGE_COLUMNS = ["change", "table", "id", "what", "fields"]


def _change_rows(reports, everything: bool = False) -> list[dict]:
    """One row per change; the contacts, skills ... of a deleted member fold into its row."""
    rows = []
    for r in reports:
        gone = {c.row_id for c in r.changes if c.table == "members" and c.change == "deleted"}
        for c in r.changes:
            if not everything and c.change == "deleted" and c.member_id in gone:
                continue
            rows.append(
                {
                    "source": Path(r.source).name,
                    "change": c.change,
                    "table": c.table,
                    "id": c.row_id[:8],
                    "what": c.label,
                    "fields": c.fields,
                }
            )
    return rows


def _tell(report) -> None:
    from zppcli import output

    verb = "would merge" if report.dry_run else "merged"
    output.message(f"zpp: {verb} {report.source}: {report.summary()}")
    for d in report.duplicates:
        output.message(f"zpp:   duplicate {d.kind} {d.value!r}: {d.action}")
    if report.forgotten:
        output.message(
            f"zpp:   erased again what the copy held of {len(report.forgotten)} forgotten member(s)"
        )
    for c in report.clamped:
        output.message(
            f"zpp:   clock of {c['table']} {c['id'][:8]} {c['field']} was more than 24 h ahead "
            f"({c['clock']}); clamped to now"
        )


@db_app.command("merge")
def merge(
    other: Annotated[
        Path,
        typer.Argument(
            help="Another copy of the db (a conflict copy, a backup ...).", show_default=False
        ),
    ],
    dry_run: DryRunOpt = False,
    all_: AllOpt = False,
    format_: FormatOpt = None,
    json_: JsonOpt = False,
    db: DbOpt = None,
) -> None:
    """Merge another copy into this db, field by field; prints what changed."""
    from zppcli import merge as merging
    from zppcli import output
    from zppcli.cli.common import open_db

    chosen = fmt(format_, json_)
    conn = open_db(db)
    try:
        report = merging.merge(conn, other, dry_run=dry_run)
    finally:
        conn.close()
    output.render(_change_rows([report], all_), chosen, CHANGE_COLUMNS)
    _tell(report)


@db_app.command("merge-driver")
def merge_driver(
    base: Annotated[
        str, typer.Argument(help="%O: the common ancestor (not needed).", show_default=False)
    ],
    ours: Annotated[
        Path, typer.Argument(help="%A: our version; receives the result.", show_default=False)
    ],
    theirs: Annotated[Path, typer.Argument(help="%B: their version.", show_default=False)],
) -> None:
    """A git merge driver: merges %B into %A field by field (see README: Sharing a directory)."""
    from zppcli import merge as merging

    _tell(merging.merge_files(Path(ours), Path(theirs)))


def sync(
    folder: Annotated[
        Path | None,
        typer.Option(
            "--folder",
            help="One file per device: publish "
            "DIR/<device>.db and merge every other device's file.",
            metavar="DIR",
            show_default=False,
        ),
    ] = None,
    dry_run: DryRunOpt = False,
    all_: AllOpt = False,
    format_: FormatOpt = None,
    json_: JsonOpt = False,
    db: DbOpt = None,
) -> None:
    """Merge the conflict copies sync tools left beside the db, then move them to .zpp-merged/."""
    from zppcli import db as dbmod
    from zppcli import location, output
    from zppcli import sync as syncing

    chosen = fmt(format_, json_)
    path = dbmod.resolve_path(db)
    if folder is None and not path.exists():
        raise dbmod.ZppError(
            f"no zpp db at {path}; create one with `zpp db init` (or pass --db PATH)"
        )
    report = syncing.sync(path, folder=folder, dry_run=dry_run)
    columns = ["source", *CHANGE_COLUMNS] if len(report.merged) > 1 else CHANGE_COLUMNS
    output.render(_change_rows(report.merged, all_), chosen, columns)
    for merged in report.merged:
        _tell(merged)
    if not report.merged:
        output.message(
            f"zpp: no conflict copies beside {path}"
            if folder is None
            else f"zpp: no other device's file in {folder}"
        )
    for source, target in report.moved:
        output.message(f"zpp: moved {source.name} to {target.parent.name}/")
    for source, reason in report.skipped:
        output.message(f"zpp: left {source.name} alone: {reason}")
    for stray in report.strays:
        output.message(location.stray_note(stray))
    if report.published:
        output.message(f"zpp: published {report.published}")
    for note in dbmod.drain_notes():
        output.message(note)


def log(
    member: Annotated[
        str | None,
        typer.Argument(help="Only this member (handle, id prefix or name).", show_default=False),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="Only changes on or after this date.",
            metavar="DATE",
            show_default=False,
        ),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", help="At most this many changes, newest first.")
    ] = 50,
    format_: FormatOpt = None,
    json_: JsonOpt = False,
    db: DbOpt = None,
) -> None:
    """Who (which device) changed what, and when."""
    from zppcli import changelog, dates, output, privacy
    from zppcli.cli.common import open_db

    chosen = fmt(format_, json_)
    day = dates.parse_date(since, "since") if since else None
    conn = open_db(db)
    try:
        member_id = privacy.resolve_any(conn, member)["id"] if member else None
        rows = changelog.entries(conn, member_id, day, limit)
    finally:
        conn.close()
    output.render(rows, chosen, ["when", "device", "op", "table", "what", "fields"])
