"""zpp stats: the network at a glance, with a heatmap of who is free when."""

from __future__ import annotations

from typing import Annotated

import typer

from zppcli.cli.common import fmt, open_db
from zppcli.cli.options import DbOpt, FormatOpt, JsonOpt

FLAT = ["skill", "category", "members", "experts", "mentors", "wanted"]


def stats(
    weeks: Annotated[
        int,
        typer.Option("--weeks", help="Weeks in the heatmap (1-52).", min=1, max=52, metavar="N"),
    ] = 8,
    format_: FormatOpt = None,
    json_: JsonOpt = False,
    db: DbOpt = None,
) -> None:
    """The network at a glance: members, skills, collectives, and who is free when.

    Skills in supply (competent or expert) vs mentors vs wanted by learners,
    collectives by size, and a heatmap of the members free per skill per working
    week (Mon-Fri, as `zpp search --free` decides). --format json gives everything
    for scripts; csv/tsv give one row per skill with a column per week.
    """
    from zppcli import stats as core

    chosen = fmt(format_, json_)
    conn = open_db(db)
    data = core.overview(conn, weeks=weeks)
    from zppcli import output

    if chosen == "json":
        output.render_record(data, chosen)
    elif chosen == "table":
        output.render_overview(data)
    else:
        week_cols = [f"free {w['from']}" for w in data["weeks"]]
        rows = [
            {**{k: s[k] for k in FLAT}, **dict(zip(week_cols, s["free_per_week"], strict=True))}
            for s in data["skills"]
        ]
        output.render(rows, chosen, FLAT + week_cols)
