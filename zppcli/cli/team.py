"""zpp team: propose the smallest team that is free and covers every needed skill."""

from __future__ import annotations

from typing import Annotated

import typer

from zppcli.cli.common import fmt, open_db
from zppcli.cli.options import DbOpt, FormatOpt, JsonOpt

COLUMNS = ["team", "handle", "name", "city", "covers", "why"]


def team(
    need: Annotated[
        list[str],
        typer.Option(
            "--need",
            "-n",
            help='Skills the production needs, comma-separated: "camera,sound design,montage" '
            "(names or aliases; repeatable).",
            metavar="SKILLS",
            show_default=False,
        ),
    ],
    from_: Annotated[
        str,
        typer.Option(
            "--from",
            help="First day of the production (a date, today, +3d ...), or the whole period: "
            '"2026-12-07..2026-12-11", "next week".',
            metavar="DATE",
            show_default=False,
        ),
    ],
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            help="Last day (inclusive) [default: --from].",
            metavar="DATE",
            show_default=False,
        ),
    ] = None,
    city: Annotated[
        str | None,
        typer.Option(
            "--city",
            help="Where the production is: members there are preferred (others still qualify).",
            metavar="CITY",
            show_default=False,
        ),
    ] = None,
    level: Annotated[
        str,
        typer.Option(
            "--level",
            metavar="LEVEL",
            help="Lowest level that counts for a need: learning | competent | expert.",
        ),
    ] = "competent",
    max_: Annotated[
        int | None,
        typer.Option(
            "--max",
            help="At most N members; needs beyond that are listed as uncovered.",
            min=1,
            metavar="N",
            show_default=False,
        ),
    ] = None,
    prefer_collective: Annotated[
        str | None,
        typer.Option(
            "--prefer-collective",
            help="Prefer members of this collective.",
            metavar="COLLECTIVE",
            show_default=False,
        ),
    ] = None,
    format_: FormatOpt = None,
    json_: JsonOpt = False,
    db: DbOpt = None,
) -> None:
    """Propose the smallest team free for the whole period that covers every needed skill.

    Free means what `zpp search --free` means: recorded availability covers every
    day and nothing booked overlaps. Among teams of the smallest size, prefers
    members of --prefer-collective, higher levels, members in --city, then team
    mates who already work together in a collective. Shows why each member is in,
    what stays uncovered (and who would cover it if the dates moved), and up to 3
    alternatives.
    """
    from zppcli import dates
    from zppcli import team as core
    from zppcli.skills import check_level

    chosen = fmt(format_, json_)
    if to:
        start, end = core.check_dates(dates.parse_date(from_, "from"), dates.parse_date(to, "to"))
    else:  # --from alone may be a range: "2026-12-07..2026-12-11", "next week"
        start, end = dates.parse_range(from_, "from")
    conn = open_db(db)
    proposal = core.build(
        conn,
        need,
        start,
        end,
        level=check_level(level),
        city=city,
        max_size=max_,
        prefer_collective=prefer_collective,
    )
    _emit(proposal, chosen)


def _pick_rows(label: str, picks) -> list[dict]:
    return [
        {
            "team": label,
            "handle": p.member.handle,
            "name": p.member.name,
            "city": p.member.city,
            "covers": ", ".join(
                f"{c['skill']} ({c['level']}{', mentor' if c['mentor'] else ''})" for c in p.covers
            ),
            "why": p.why,
        }
        for p in picks
    ]


def _moved(u) -> str:
    if not u.if_dates_move:
        return ""
    return "; if the dates move: " + ", ".join(
        f"{m['handle']} ({m['level']}, "
        + (f"free from {m['free_from']})" if m["free_from"] else "availability unknown)")
        for m in u.if_dates_move
    )


def _emit(proposal, chosen: str) -> None:
    from zppcli import output

    if chosen == "json":
        import json
        import sys

        json.dump(proposal.to_dict(), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return
    needs = ", ".join(s.name for s in proposal.needs)
    period = proposal.start.isoformat() + (
        f"..{proposal.end.isoformat()}" if proposal.end != proposal.start else ""
    )
    uncovered = [
        {
            "team": "uncovered",
            "handle": "",
            "name": "",
            "city": "",
            "covers": u.skill,
            "why": u.reason + _moved(u),
        }
        for u in proposal.uncovered
    ]
    alternatives = [
        row
        for n, alt in enumerate(proposal.alternatives, 1)
        for row in _pick_rows(f"alternative {n}", alt)
    ]
    if chosen != "table":
        output.render(
            _pick_rows("proposed", proposal.team) + uncovered + alternatives, chosen, COLUMNS
        )
        return
    if proposal.team:
        size = len(proposal.team)
        output.render(
            _pick_rows("proposed", proposal.team),
            chosen,
            COLUMNS[1:],
            title=f"{needs} · {period}: a team of {size}",
        )
    else:
        output.message(f"zpp: nobody free on {period} has any of: {needs}")
    if uncovered:
        output.render(uncovered, chosen, ["covers", "why"], title="Uncovered")
    if alternatives:
        output.render(
            [
                {
                    "alternative": n,
                    "team": ", ".join(
                        f"{p.member.handle} ({', '.join(c['skill'] for c in p.covers)})"
                        for p in alt
                    ),
                }
                for n, alt in enumerate(proposal.alternatives, 1)
            ],
            chosen,
            ["alternative", "team"],
            title="Alternatives",
        )
