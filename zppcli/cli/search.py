"""zpp search, and zpp show (a member by handle, id prefix or a one-hit search)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from zppcli.cli.common import fmt, open_db
from zppcli.cli.options import (
    CityFilter, CollectiveFilter, DbOpt, FormatOpt, FreeFilter, JsonOpt, LangFilter,
    LearnerFilter, LevelFilter, MentorFilter, SkillFilter, TagFilter, filters_from,
)

SEARCH_FORMATS = ("table", "json", "csv", "tsv", "mutt")
COLUMNS = ["handle", "name", "city", "skills", "email", "phone"]


def search(
    query: Annotated[str | None, typer.Argument(
        help="Words to find in names, handle, bio, city, tags, collectives and skills (with their "
             "Dutch and English aliases). Accent- and case-insensitive; words are prefixes.",
        show_default=False)] = None,
    skill: SkillFilter = None, level: LevelFilter = None, free: FreeFilter = None,
    city: CityFilter = None, collective: CollectiveFilter = None, tag: TagFilter = None,
    lang: LangFilter = None, mentor: MentorFilter = None, learner: LearnerFilter = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="At most N members (0 = all).", min=0)] = 50,
    sort: Annotated[str, typer.Option("--sort", help="relevance | name | city.")] = "relevance",
    format_: FormatOpt = None, json_: JsonOpt = False, db: DbOpt = None,
) -> None:
    """Find members by words and filters (all filters must hold).

    --format mutt prints the mutt/aerc query format, so a mail client can use zpp
    as its address book: query_command = "zpp search --format mutt %s".
    """
    from zppcli import search as core

    chosen = fmt(format_, json_, SEARCH_FORMATS)
    filters = filters_from(query, skill, level, free, city, collective, tag, lang, mentor, learner)
    conn = open_db(db)
    ids = core.find(conn, filters, limit=limit + 1 if limit else None, sort=sort)
    more = bool(limit) and len(ids) > limit
    ids = ids[:limit] if limit else ids
    _emit(conn, ids, chosen)
    if more:
        typer.echo(f"zpp: showing the first {limit}; use --limit 0 for all", err=True)
    if not ids and chosen == "table":
        hints = core.suggestions(conn, query, filters)
        typer.echo("No members found" + (f"; did you mean {', '.join(hints)}?" if hints else "."), err=True)


def _emit(conn, ids: list[str], chosen: str) -> None:
    from zppcli import members, output

    recs = members.records(conn, ids)
    by_id = {r["id"]: r for r in recs}
    recs = [by_id[i] for i in ids if i in by_id]  # keep the search order
    if chosen == "mutt":
        _mutt(recs)
    elif chosen == "json":
        output.render(recs, chosen)
    else:
        output.render([members.summary(r) for r in recs], chosen, COLUMNS)


def _mutt(recs: list[dict]) -> None:
    """mutt/aerc query format: a first line, then email TAB name TAB skills.

    Private members and contacts marked private are left out.
    """
    lines = [
        f"{e['value']}\t{r['name']}\t{', '.join(s['skill'] for s in r['skills'] if not s['wants_to_learn'] or s['level'] != 'learning')}"
        for r in recs if r["visibility"] != "private"
        for e in r["emails"] if not e["private"]
    ]
    out = sys.stdout
    out.write(f"zpp: {len(lines)} address{'es' if len(lines) != 1 else ''} found\n")
    for line in lines:
        out.write(line.replace("\n", " ") + "\n")


def show(
    member: Annotated[str, typer.Argument(help="Handle, id prefix or a search with exactly one hit.")],
    format_: FormatOpt = None, json_: JsonOpt = False, db: DbOpt = None,
) -> None:
    """Everything about one member (same as `zpp member show`)."""
    from zppcli.cli.member import show as member_show

    member_show(member, format_, json_, db)
