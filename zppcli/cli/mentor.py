"""zpp mentor match: pair learners with mentors, and plan workshops for the rest."""

from __future__ import annotations

from typing import Annotated

import typer

from zppcli.cli import new_app
from zppcli.cli.common import fmt, open_db
from zppcli.cli.options import DbOpt, FormatOpt, JsonOpt

app = new_app("Mentoring (leven lang leren): pair learners with mentors.")
COLUMNS = ["skill", "learner", "learner_city", "mentor", "mentor_city", "note"]


@app.callback()
def _group() -> None:
    """Mentoring (leven lang leren): pair learners with mentors."""


@app.command("match")
def match(
    skill: Annotated[
        str | None,
        typer.Option("--skill", "-s", help="Only wishes to learn this skill.", show_default=False),
    ] = None,
    city: Annotated[
        str | None,
        typer.Option(
            "--city",
            help="Only learners in this city (mentors may live anywhere; same city preferred).",
            show_default=False,
        ),
    ] = None,
    max_per_mentor: Annotated[
        int,
        typer.Option("--max-per-mentor", help="At most N learners per mentor.", min=1, metavar="N"),
    ] = 2,
    as_: Annotated[
        str | None,
        typer.Option(
            "--as",
            help="gathering: print a `zpp gathering add` command per skill that has learners "
            "without a mentor (a workshop), instead of the pairs.",
            metavar="gathering",
            show_default=False,
        ),
    ] = None,
    format_: FormatOpt = None,
    json_: JsonOpt = False,
    db: DbOpt = None,
) -> None:
    """Pair members who want to learn a skill with members who can mentor it.

    A mentor is marked as mentor for the skill or is an expert in it. Makes as
    many pairs as possible, no mentor above --max-per-mentor, preferring mentors in
    the learner's city and spreading the load; lists the learners nobody can
    mentor yet.
    """
    from zppcli import mentoring, output
    from zppcli.errors import InvalidInput

    if as_ is not None and as_ != "gathering":
        raise InvalidInput("as", as_, "use gathering")
    chosen = fmt(format_, json_)
    conn = open_db(db)
    result = mentoring.match(conn, skill, city, max_per_mentor)
    if as_ == "gathering":
        lines = mentoring.gathering_commands(result, city)
        for line in lines:
            typer.echo(line)
        if not lines:
            output.message("zpp: every learner has a mentor; no workshop needed")
        return
    if chosen == "json":
        import json
        import sys

        json.dump(result.to_dict(), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return
    rows = [
        {
            "skill": p.skill,
            "learner": p.learner.handle,
            "learner_city": p.learner.city,
            "mentor": p.mentor.handle,
            "mentor_city": p.mentor.city,
            "note": "same city" if p.same_city else "",
        }
        for p in result.pairs
    ] + [
        {
            "skill": u.skill,
            "learner": u.learner.handle,
            "learner_city": u.learner.city,
            "mentor": "",
            "mentor_city": "",
            "note": u.reason,
        }
        for u in result.unmatched
    ]
    output.render(rows, chosen, COLUMNS)
    if chosen == "table":
        output.message(
            f"zpp: {len(result.pairs)} pairs, {len(result.unmatched)} learners without a mentor"
            + ("; `--as gathering` plans a workshop for them" if result.unmatched else "")
        )
