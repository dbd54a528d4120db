"""Parameter aliases shared by every command, so they all read the same."""

from __future__ import annotations

from typing import Annotated

import typer

DbOpt = Annotated[
    str | None,
    typer.Option("--db", envvar="ZPP_DB", help="The db file [default: $ZPP_DB, else the user data dir].",
                 show_default=False, metavar="PATH"),
]
FormatOpt = Annotated[
    str | None,
    typer.Option("--format", "-f", help="table | json | csv | tsv [default: table on a terminal, tsv when piped].",
                 show_default=False, metavar="FORMAT"),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Same as --format json.")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation (for scripts).")]
