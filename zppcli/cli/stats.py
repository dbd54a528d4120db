"""zpp stats: the network at a glance, with a heatmap of who is free when."""

from __future__ import annotations

from typing import Annotated

import typer

from zppcli.cli.common import fmt, open_db
from zppcli.cli.options import DbOpt, FormatOpt, JsonOpt

FLAT = ["skill", "category", "members", "experts", "mentors", "wanted"]
# Heatmap backgrounds, from nobody free to the most free in any cell.
SHADES = ["grey15", "dark_green", "green4", "green3", "green1"]


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
    if chosen == "json":
        import json
        import sys

        json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    elif chosen == "table":
        _draw(data)
    else:
        from zppcli import output

        week_cols = [f"free {w['from']}" for w in data["weeks"]]
        rows = [
            {**{k: s[k] for k in FLAT}, **dict(zip(week_cols, s["free_per_week"], strict=True))}
            for s in data["skills"]
        ]
        output.render(rows, chosen, FLAT + week_cols)


def _draw(data: dict) -> None:
    from datetime import date

    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console()
    m = data["members"]
    vis = m["by_visibility"]
    console.print(
        f"[bold]{m['total']} members[/bold] ({vis['public']} public, {vis['network']} network, "
        f"{vis['private']} private); {m['with_availability']} with availability recorded",
        soft_wrap=True,
    )
    console.print(
        "cities: "
        + ", ".join(f"{c['city']} {c['members']}" for c in m["cities"][:8])
        + (" ..." if len(m["cities"]) > 8 else ""),
        soft_wrap=True,
    )
    if data["collectives"]:
        console.print(
            "collectives: " + ", ".join(f"{c['name']} {c['members']}" for c in data["collectives"]),
            soft_wrap=True,
        )
    top = max((n for s in data["skills"] for n in s["free_per_week"]), default=0)
    # Dutch planning speaks in week numbers: "wk50" keeps eight weeks within 80 columns.
    table = Table(
        box=box.SIMPLE_HEAD,
        header_style="bold",
        pad_edge=False,
        padding=(0, 0),
        title="skills: have (competent+), mentors, wanted; members free per week (Mon-Fri)",
    )
    table.add_column("skill", no_wrap=True, max_width=19, overflow="ellipsis")
    for col in ("have ", "ment ", "want "):
        table.add_column(col, justify="right")
    for w in data["weeks"]:
        week = date.fromisoformat(w["from"]).isocalendar().week
        table.add_column(f"wk{week:02d}", justify="right", min_width=4)
    for s in data["skills"]:
        want = Text(f"{s['wanted']} ", style="bold yellow" if s["wanted"] > s["mentors"] else "")
        cells = []
        for n in s["free_per_week"]:
            shade = (
                SHADES[0]
                if not n or not top
                else SHADES[min(len(SHADES) - 1, 1 + (n * 4 - 1) // top)]
            )
            cells.append(Text(f"{n:>3} ", style=f"on {shade}"))
        table.add_row(f"{s['skill']} ", f"{s['members']} ", f"{s['mentors']} ", want, *cells)
    console.print(table)
    first, last = data["weeks"][0], data["weeks"][-1]
    console.print(
        f"weeks {first['from']} .. {last['to']}. A cell counts the members with the skill free "
        "the whole week, as `zpp search --free` decides; want in yellow: more learners than mentors.",
        style="dim",
    )
