"""zpp export vcard|csv|json: contact lists and the whole directory, out."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from zppcli.cli import new_app
from zppcli.cli.common import open_db
from zppcli.cli.options import (
    CityFilter,
    CollectiveFilter,
    DbOpt,
    FreeFilter,
    LangFilter,
    LearnerFilter,
    LevelFilter,
    MentorFilter,
    OutOpt,
    SkillFilter,
    TagFilter,
    filters_from,
)
from zppcli.errors import UsageError

app = new_app(
    "Export members as vCards (phones, mail clients, CardDAV via a vdir), CSV or JSON.\n\n"
    "Only members whose visibility is 'public' are exported unless --include-private is\n"
    "given; contacts marked private never leave in vCard or CSV."
)

Query = Annotated[
    str | None,
    typer.Argument(
        help="Words to search for, as in `zpp search`.", metavar="[QUERY]", show_default=False
    ),
]
PrivateOpt = Annotated[
    bool,
    typer.Option(
        "--include-private",
        help="Also export members who have "
        "not agreed to be shared outside the directory (visibility "
        "network or private).",
    ),
]


def _check_target(output_: str | None, vdir: str | None = None) -> None:
    """Refuse an unwritable target before any work is done."""
    from zppcli.errors import InvalidInput

    if output_ and output_ != "-":
        folder = Path(output_).resolve().parent
        if not folder.is_dir():
            raise InvalidInput("output", output_, f"folder {str(folder)!r} does not exist")
        if Path(output_).is_dir():
            raise InvalidInput("output", output_, "is a folder; use --vdir for one file per member")
    if vdir and Path(vdir).exists() and not Path(vdir).is_dir():
        raise InvalidInput("vdir", vdir, "exists and is not a folder")


@contextmanager
def _writing_to(target: str | None) -> Iterator[None]:
    """File system errors become one clear line instead of an internal error."""
    from zppcli.errors import InvalidInput

    try:
        yield
    except BrokenPipeError:  # `zpp export ... | head`: the app exits quietly
        raise
    except OSError as e:
        raise InvalidInput("output", target or "stdout", e.strerror or str(e)) from None


def _select(
    db, query, skill, level, free, city, collective, tag, lang, mentor, learner, include_private
):
    from zppcli import exporter, output

    filters = filters_from(query, skill, level, free, city, collective, tag, lang, mentor, learner)
    conn = open_db(db)
    sel = exporter.select(conn, filters, include_private)
    if sel.left_out:
        output.message(
            f"zpp: left out {sel.left_out} member{'s' if sel.left_out != 1 else ''} who have not agreed "
            "to be shared outside the directory (visibility network/private); add --include-private "
            "to export them"
        )
    return conn, sel


def _done(n: int, what: str, path: str | None) -> None:
    from zppcli import output

    output.message(
        f"zpp: exported {n} {what}{'s' if n != 1 else ''}" + (f" to {path}" if path else "")
    )


@app.command("vcard")
def vcard_cmd(
    query: Query = None,
    skill: SkillFilter = None,
    level: LevelFilter = None,
    free: FreeFilter = None,
    city: CityFilter = None,
    collective: CollectiveFilter = None,
    tag: TagFilter = None,
    lang: LangFilter = None,
    mentor: MentorFilter = None,
    learner: LearnerFilter = None,
    version: Annotated[
        str,
        typer.Option(
            "--vcard-version",
            metavar="3.0|4.0",
            help="3.0 (what Google, Apple and Outlook import reliably) or 4.0 (RFC 6350).",
        ),
    ] = "3.0",
    output_: OutOpt = None,
    vdir: Annotated[
        str | None,
        typer.Option(
            "--vdir",
            help="Write one <uid>.vcf per member into DIR "
            "(for khard and vdirsyncer). Re-exporting rewrites changed "
            "cards and removes cards zpp wrote for members no longer "
            "exported; other files are never touched.",
            metavar="DIR",
            show_default=False,
        ),
    ] = None,
    include_private: PrivateOpt = False,
    db: DbOpt = None,
) -> None:
    """Members as vCards: one .vcf file (or stdout), or a vdir with --vdir."""
    from zppcli import exporter, files, output, vcard

    if version not in vcard.VERSIONS:
        raise UsageError(f"--vcard-version {version!r}: use 3.0 or 4.0")
    if vdir and output_:
        raise UsageError("give either --output FILE or --vdir DIR, not both")
    _check_target(output_, vdir)
    conn, sel = _select(
        db, query, skill, level, free, city, collective, tag, lang, mentor, learner, include_private
    )
    if vdir:
        with output.progress_bar(len(sel.ids), "vCards") as tick, _writing_to(vdir):
            rep = exporter.write_vdir(conn, sel.ids, Path(vdir), version, tick)
        output.message(
            f"zpp: {vdir}: {len(rep.added)} added, {len(rep.updated)} updated, {rep.unchanged} unchanged, "
            f"{len(rep.removed)} removed"
        )
        return
    with (
        output.progress_bar(
            len(sel.ids), "vCards", to_terminal=not output_ and sys.stdout.isatty()
        ) as tick,
        _writing_to(output_),
        files.output_stream(output_) as out,
    ):
        n = exporter.write_vcards(conn, sel.ids, out, version, tick, file_order=sel.file_order)
    _done(n, "vCard", output_)


@app.command("csv")
def csv_cmd(
    query: Query = None,
    skill: SkillFilter = None,
    level: LevelFilter = None,
    free: FreeFilter = None,
    city: CityFilter = None,
    collective: CollectiveFilter = None,
    tag: TagFilter = None,
    lang: LangFilter = None,
    mentor: MentorFilter = None,
    learner: LearnerFilter = None,
    output_: OutOpt = None,
    include_private: PrivateOpt = False,
    db: DbOpt = None,
) -> None:
    """Members as CSV (one row each; lists joined with '; ').

    Spreadsheet formula guard: a cell that starts with = + - @, a tab or a CR gets a
    leading apostrophe (plain numbers such as +31612345678 are left alone), so opening
    the file in Excel or LibreOffice never runs a formula. `zpp import csv` removes it.
    """
    from zppcli import exporter, files, output

    _check_target(output_)
    conn, sel = _select(
        db, query, skill, level, free, city, collective, tag, lang, mentor, learner, include_private
    )
    with (
        output.progress_bar(
            len(sel.ids), "CSV", to_terminal=not output_ and sys.stdout.isatty()
        ) as tick,
        _writing_to(output_),
        files.output_stream(output_) as out,
    ):
        n = exporter.write_csv(conn, sel.ids, out, tick)
    _done(n, "member", output_)


@app.command("json")
def json_cmd(
    query: Query = None,
    skill: SkillFilter = None,
    level: LevelFilter = None,
    free: FreeFilter = None,
    city: CityFilter = None,
    collective: CollectiveFilter = None,
    tag: TagFilter = None,
    lang: LangFilter = None,
    mentor: MentorFilter = None,
    learner: LearnerFilter = None,
    output_: OutOpt = None,
    include_private: Annotated[
        bool,
        typer.Option(
            "--include-private",
            help="Everyone and everything: "
            "also network/private members and private contacts "
            "(a complete backup).",
        ),
    ] = False,
    db: DbOpt = None,
) -> None:
    """The directory as JSON: skills catalogue, collectives and members, lossless.

    `zpp export json --include-private -o dir.json` is a complete backup;
    `zpp import json dir.json` into an empty db gives back the same export.
    """
    from zppcli import exporter, files, output

    _check_target(output_)
    conn, sel = _select(
        db, query, skill, level, free, city, collective, tag, lang, mentor, learner, include_private
    )
    with (
        output.progress_bar(
            len(sel.ids), "JSON", to_terminal=not output_ and sys.stdout.isatty()
        ) as tick,
        _writing_to(output_),
        files.output_stream(output_) as out,
    ):
        n = exporter.write_json(conn, sel.ids, out, include_private, tick)
    _done(n, "member", output_)
