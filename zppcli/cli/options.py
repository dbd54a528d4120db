"""Parameter aliases shared by every command, so they all read the same."""

from __future__ import annotations

from typing import Annotated

import typer

DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="ZPP_DB",
        help="The db file [default: $ZPP_DB, else the user data dir].",
        show_default=False,
        metavar="PATH",
    ),
]
FormatOpt = Annotated[
    str | None,
    typer.Option(
        "--format",
        "-f",
        help="table | json | csv | tsv [default: table on a terminal, tsv when piped].",
        show_default=False,
        metavar="FORMAT",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Same as --format json.")]
OutOpt = Annotated[
    str | None,
    typer.Option(
        "--output",
        "-o",
        help="Write to this file (atomically) instead of stdout.",
        metavar="FILE",
        show_default=False,
    ),
]
YesOpt = Annotated[
    bool, typer.Option("--yes", "-y", help="Do not ask for confirmation (for scripts).")
]

# -- the search filters, shared by `zpp search`, exports and gathering audiences --
SkillFilter = Annotated[
    list[str] | None,
    typer.Option(
        "--skill",
        "-s",
        help="Has this skill (name or alias, Dutch or English); repeat for all of several.",
        metavar="SKILL",
        show_default=False,
    ),
]
LevelFilter = Annotated[
    str | None,
    typer.Option(
        "--level",
        help="At least this level for --skill: learning | competent | expert.",
        metavar="LEVEL",
        show_default=False,
    ),
]
FreeFilter = Annotated[
    str | None,
    typer.Option(
        "--free",
        help="Free for the whole period: a date or FROM..TO (ISO, today, tomorrow, "
        "next week, +3d). Recorded availability must cover it and nothing booked may overlap; "
        "members with no availability recorded are 'unknown' and left out.",
        metavar="DATES",
        show_default=False,
    ),
]
CityFilter = Annotated[str | None, typer.Option("--city", help="In this city.", show_default=False)]
CollectiveFilter = Annotated[
    str | None, typer.Option("--collective", help="Member of this collective.", show_default=False)
]
TagFilter = Annotated[str | None, typer.Option("--tag", help="Has this tag.", show_default=False)]
LangFilter = Annotated[
    str | None,
    typer.Option("--lang", help="Speaks this language (ISO code: nl, en ...).", show_default=False),
]
MentorFilter = Annotated[
    str | None,
    typer.Option(
        "--mentor",
        help="Can mentor this skill (marked mentor, or expert).",
        metavar="SKILL",
        show_default=False,
    ),
]
LearnerFilter = Annotated[
    str | None,
    typer.Option(
        "--learner", help="Wants to learn this skill.", metavar="SKILL", show_default=False
    ),
]


def filters_from(*flags):
    """The filter flags as a search.Filters (validated): query, skill, level, free,
    city, collective, tag, lang, mentor, learner."""
    from zppcli.search import Filters

    return Filters.from_flags(*flags)
