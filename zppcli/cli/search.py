"""zpp search, and zpp show (a member by handle, id prefix or a one-hit search)."""

from __future__ import annotations

from typing import Annotated

import typer

from zppcli.cli.options import (
    CityFilter,
    CollectiveFilter,
    DbOpt,
    FormatOpt,
    FreeFilter,
    JsonOpt,
    LangFilter,
    LearnerFilter,
    LevelFilter,
    MentorFilter,
    SkillFilter,
    TagFilter,
)


def search(
    query: Annotated[
        str | None,
        typer.Argument(
            help="Words to find in names, handle, bio, city, tags, collectives and skills (with their "
            "Dutch and English aliases). Accent- and case-insensitive; words are prefixes.",
            show_default=False,
        ),
    ] = None,
    skill: SkillFilter = None,
    level: LevelFilter = None,
    free: FreeFilter = None,
    city: CityFilter = None,
    collective: CollectiveFilter = None,
    tag: TagFilter = None,
    lang: LangFilter = None,
    mentor: MentorFilter = None,
    learner: LearnerFilter = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", help="At most N members (0 = all).", min=0)
    ] = 50,
    sort: Annotated[str, typer.Option("--sort", help="relevance | name | city.")] = "relevance",
    format_: FormatOpt = None,
    json_: JsonOpt = False,
    db: DbOpt = None,
) -> None:
    """Find members by words and filters (all filters must hold).

    --format mutt prints the mutt/aerc query format, so a mail client can use zpp
    as its address book: query_command = "zpp search --format mutt %s".
    """
    from zppcli.cli.searching import execute

    execute(
        query,
        skill,
        level,
        free,
        city,
        collective,
        tag,
        lang,
        mentor,
        learner,
        limit,
        sort,
        format_,
        json_,
        db,
    )


def show(
    member: Annotated[
        str, typer.Argument(help="Handle, id prefix or a search with exactly one hit.")
    ],
    format_: FormatOpt = None,
    json_: JsonOpt = False,
    db: DbOpt = None,
) -> None:
    """Everything about one member (same as `zpp member show`)."""
    from zppcli.cli.member import show as member_show

    member_show(member, format_, json_, db)
