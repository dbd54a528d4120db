"""What `zpp search` does, free of typer, and its fast argparse front.

`zpp search` is zpp's main job at the shell and in scripts, so it must start
fast. The typer command (cli/search.py) and `run_fast` here both call
`execute`; `run_fast` handles the flags of the typer command (a test keeps the
two sets equal) and hands anything else (--help, a usage error) back to typer,
so that help and error messages stay typer's.
"""

from __future__ import annotations

import argparse
import sys

SEARCH_FORMATS = ("table", "json", "csv", "tsv", "mutt")
COLUMNS = ["handle", "name", "city", "skills", "email", "phone"]
TABLE_COLUMNS = COLUMNS[:-1]  # a terminal is narrow; `zpp show` has the phones


def execute(
    query: str | None,
    skill: list[str] | None,
    level: str | None,
    free: str | None,
    city: str | None,
    collective: str | None,
    tag: str | None,
    lang: str | None,
    mentor: str | None,
    learner: str | None,
    limit: int,
    sort: str,
    format_: str | None,
    json_: bool,
    db: str | None,
) -> None:
    from zppcli import search as core
    from zppcli.cli.common import fmt, open_db

    chosen = fmt(format_, json_, SEARCH_FORMATS)
    filters = core.Filters.from_flags(
        query, skill, level, free, city, collective, tag, lang, mentor, learner
    )
    conn = open_db(db)
    ids = core.find(conn, filters, limit=limit + 1 if limit else None, sort=sort)
    more = bool(limit) and len(ids) > limit
    ids = ids[:limit] if limit else ids
    _emit(conn, ids, chosen)
    if more:
        print(f"zpp: showing the first {limit}; use --limit 0 for all", file=sys.stderr)
    if not ids and chosen == "table":
        hints = core.suggestions(conn, query, filters)
        print(
            "No members found" + (f"; did you mean {', '.join(hints)}?" if hints else "."),
            file=sys.stderr,
        )


def _emit(conn, ids: list[str], chosen: str) -> None:
    from zppcli import output

    if not ids:  # nothing to read: spare the member module's import
        if chosen == "mutt":
            _mutt([])
        else:
            output.render([], chosen, TABLE_COLUMNS if chosen == "table" else COLUMNS)
        return
    from zppcli import members

    recs = members.records(conn, ids)
    by_id = {r["id"]: r for r in recs}
    recs = [by_id[i] for i in ids if i in by_id]  # keep the search order
    if chosen == "mutt":
        _mutt(recs)
    elif chosen == "json":
        output.render(recs, chosen)
    else:
        output.render(
            [members.summary(r) for r in recs],
            chosen,
            TABLE_COLUMNS if chosen == "table" else COLUMNS,
        )


def _mutt(recs: list[dict]) -> None:
    """mutt/aerc query format: a first line, then email TAB name TAB skills.

    Private members and contacts marked private are left out.
    """
    lines = []
    for r in recs:
        if r["visibility"] == "private":
            continue
        skills = ", ".join(
            s["skill"]
            for s in r["skills"]
            if not (s["wants_to_learn"] and s["level"] == "learning")
        )
        for e in r["emails"]:
            if not e["private"]:
                lines.append(f"{e['value']}\t{r['name']}\t{skills}".replace("\n", " "))
    out = sys.stdout
    out.write(f"zpp: {len(lines)} address{'es' if len(lines) != 1 else ''} found\n")
    for line in lines:
        out.write(line + "\n")


class _Decline(Exception):
    """Not for the fast front: let typer parse (help, usage errors)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise _Decline(message)


def fast_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="zpp search", add_help=False, allow_abbrev=False)
    p.add_argument("query", nargs="?")
    p.add_argument("--skill", "-s", action="append")
    for flag in (
        "--level",
        "--free",
        "--city",
        "--collective",
        "--tag",
        "--lang",
        "--mentor",
        "--learner",
    ):
        p.add_argument(flag)
    p.add_argument("--limit", "-n", type=int, default=50)
    p.add_argument("--sort", default="relevance")
    p.add_argument("--format", "-f", dest="format_")
    p.add_argument("--json", dest="json_", action="store_true")
    p.add_argument("--db")
    return p


def run_fast(argv: list[str]) -> int | None:
    """Run `zpp search ARGV`; None when typer should handle it instead."""
    if any(a in ("-h", "--help") for a in argv if a != "--"):
        return None
    try:
        ns = fast_parser().parse_args(argv)
    except _Decline:
        return None
    if ns.limit < 0:
        return None
    if ns.db is None:
        import os

        ns.db = os.environ.get("ZPP_DB") or None
    try:
        execute(**vars(ns))
        sys.stdout.flush()
    except Exception as e:  # the one error mapping, as in the typer app
        from zppcli.cli.errormap import exit_code

        return exit_code(e)
    return 0
