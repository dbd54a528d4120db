"""What `zpp search` does, free of typer, and its fast front.

`zpp search` is zpp's main job at the shell and in scripts, so it must start
fast. The typer command (cli/search.py) and `run_fast` here both call
`execute`; `run_fast` handles the flags of the typer command (a test keeps the
two sets equal) and hands anything else (--help, a usage error) back to typer,
so that help and error messages stay typer's.
"""

from __future__ import annotations

import os
import sys

from zppcli.search import Filters

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
    filters = Filters.from_flags(
        query, skill, level, free, city, collective, tag, lang, mentor, learner
    )
    conn = open_db(db, reading=True)
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
            output.render(
                [], chosen, TABLE_COLUMNS if chosen == "table" else COLUMNS, empty=None
            )  # execute() says "No members found" with its did-you-mean
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


# The flags of the typer command (a test keeps them equal): flag -> (field, kind).
FLAGS = {
    "--skill": ("skill", "append"),
    "-s": ("skill", "append"),
    **{
        f"--{field}": (field, "value")
        for field in (*Filters.FIELDS, "sort", "db")
        if field not in ("query", "skills")
    },
    "--limit": ("limit", "count"),
    "-n": ("limit", "count"),
    "--format": ("format_", "value"),
    "-f": ("format_", "value"),
    "--json": ("json_", "flag"),
}


def parse(argv: list[str]) -> dict | None:
    """The arguments of `zpp search` as execute() takes them, parsed the way click
    parses them (`--flag value`, `--flag=value`, `-fvalue`, `--`, the last of a
    repeated flag wins); None for anything typer must answer (help, usage errors).
    Hand-written: argparse costs a piped search a tenth of its start-up.
    """
    args: dict = dict.fromkeys(field for field, _ in FLAGS.values())
    args.update(query=None, limit=50, sort="relevance", json_=False)
    positional: list[str] = []
    rest = list(argv)
    while rest:
        token = rest.pop(0)
        if token == "--":
            positional += rest
            break
        if not token.startswith("-") or token == "-":
            positional.append(token)
            continue
        flag, eq, value = (
            token.partition("=") if token.startswith("--") else (token[:2], "", token[2:])
        )
        if flag not in FLAGS:
            return None  # unknown, or -h/--help
        field, kind = FLAGS[flag]
        if kind == "flag":
            if eq or value:
                return None
            args[field] = True
            continue
        if not (eq or value):
            if not rest:
                return None  # a flag missing its value
            value = rest.pop(0)
        if kind == "count":
            if not value.isdecimal():
                return None  # not a count (or negative): typer says why
            value = int(value)
        if kind == "append":
            args[field] = [*(args[field] or []), value]
        else:
            args[field] = value
    if len(positional) > 1:
        return None
    args["query"] = positional[0] if positional else None
    if args["db"] is None:  # as typer's envvar does
        args["db"] = os.environ.get("ZPP_DB") or None
    return args


def run_fast(argv: list[str]) -> int | None:
    """Run `zpp search ARGV`; None when typer should handle it instead."""
    args = parse(argv)
    if args is None:
        return None
    try:
        execute(**args)
        sys.stdout.flush()
    except Exception as e:  # the one error mapping, as in the typer app
        from zppcli.cli.errormap import exit_code

        return exit_code(e)
    return 0
