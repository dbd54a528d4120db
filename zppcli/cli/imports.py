"""zpp import vcard|csv|json: bring address books and directory files in."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from zppcli.cli import new_app
from zppcli.cli.common import fmt, open_db
from zppcli.cli.options import DbOpt, FormatOpt, JsonOpt

app = new_app(
    "Import members from vCards, CSV or a zpp JSON file, in one transaction.\n\n"
    "Members are matched by UID (their zpp id), then by e-mail: matches are updated, the\n"
    "rest added. A malformed record aborts the whole import (file, line and reason) and\n"
    "changes nothing, unless --skip-invalid is given."
)

DryRun = Annotated[
    bool,
    typer.Option(
        "--dry-run", "-n", help="Show what would be added, updated and skipped; change nothing."
    ),
]
SkipInvalid = Annotated[
    bool,
    typer.Option(
        "--skip-invalid",
        help="Import the valid records and list the invalid ones, instead of aborting.",
    ),
]


def _run(kind: str, path: str, dry_run: bool, skip_invalid: bool, format_, json_, db) -> None:
    from zppcli import importer, output

    chosen = fmt(format_, json_)
    source = Path(path)
    items, catalogue, total = importer.read(kind, source)
    conn = open_db(db, create=True)
    try:
        with output.progress_bar(total or 0, "import") as tick:
            report = importer.run(
                conn,
                items,
                dry_run=dry_run,
                skip_invalid=skip_invalid,
                catalogue=catalogue,
                progress=tick,
            )
    finally:
        conn.close()
    rows = report.rows if dry_run else [r for r in report.rows if r["action"] == "skipped"]
    if rows:
        output.render(rows, chosen, ["action", "name", "handle", "where", "reason"])
    verb = "would import" if dry_run else "imported"
    output.message(
        f"zpp: {verb} {source}: {report.summary()}"
        + (" (dry run: nothing changed)" if dry_run else "")
    )


@app.command("vcard")
def vcard_cmd(
    path: Annotated[
        str,
        typer.Argument(
            help="A .vcf file (2.1, 3.0 or 4.0), or a folder of them (a vdir).", metavar="FILE|DIR"
        ),
    ],
    dry_run: DryRun = False,
    skip_invalid: SkipInvalid = False,
    format_: FormatOpt = None,
    json_: JsonOpt = False,
    db: DbOpt = None,
) -> None:
    """Members from vCards: fills in and adds, never removes.

    CATEGORIES that name a known skill become skills (level competent), the others tags;
    ORG adds the member to that collective (made if new).
    """
    _run("vcard", path, dry_run, skip_invalid, format_, json_, db)


@app.command("csv")
def csv_cmd(
    path: Annotated[
        str,
        typer.Argument(
            help="A CSV file with the columns `zpp export csv` writes "
            "(at least name, or given_name and family_name).",
            metavar="FILE",
        ),
    ],
    dry_run: DryRun = False,
    skip_invalid: SkipInvalid = False,
    format_: FormatOpt = None,
    json_: JsonOpt = False,
    db: DbOpt = None,
) -> None:
    """Members from CSV (the export's formula guard is undone)."""
    _run("csv", path, dry_run, skip_invalid, format_, json_, db)


@app.command("json")
def json_cmd(
    path: Annotated[
        str, typer.Argument(help="A file written by `zpp export json`.", metavar="FILE")
    ],
    dry_run: DryRun = False,
    skip_invalid: SkipInvalid = False,
    format_: FormatOpt = None,
    json_: JsonOpt = False,
    db: DbOpt = None,
) -> None:
    """A zpp directory file: skills catalogue, collectives and members."""
    _run("json", path, dry_run, skip_invalid, format_, json_, db)
