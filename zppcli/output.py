"""The one renderer: rows of dicts out as a table, JSON, CSV or TSV.

Data goes to stdout, messages to stderr. A table on a terminal, TSV when piped.
rich is imported only when a table is drawn, so piped output stays fast.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

TYPE_CHECKING = False  # typing itself costs ~2 ms of a piped search's start-up
if TYPE_CHECKING:
    from typing import Any, TextIO

FORMATS = ("table", "json", "csv", "tsv")
_NUMBER = re.compile(r"^[+-]?\d[\d .]*$")


def _json():
    import json  # only for JSON output and nested cells

    return json


def default_format(stream: TextIO | None = None) -> str:
    stream = stream or sys.stdout
    return "table" if stream.isatty() else "tsv"


def choose(fmt: str | None, json_flag: bool = False) -> str:
    if json_flag:
        return "json"
    return fmt or os.environ.get("ZPP_FORMAT") or default_format()


def flat(value: Any) -> str:
    """A cell for table/CSV/TSV: lists joined, dicts as JSON, None empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"  # 32.0 hours -> 32
    if isinstance(value, list):
        return ", ".join(
            flat(v) if not isinstance(v, dict) else _json().dumps(v, ensure_ascii=False)
            for v in value
        )
    if isinstance(value, dict):
        return _json().dumps(value, ensure_ascii=False)
    return str(value)


def csv_safe(cell: str) -> str:
    """Neutralise spreadsheet formulas: a cell starting with = + - @ TAB or CR gets a
    leading apostrophe, unless it is a plain number such as +31612345678."""
    if cell and cell[0] in "=+-@\t\r" and not _NUMBER.match(cell):
        return "'" + cell
    return cell


def tsv_cell(cell: str) -> str:
    return cell.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def columns_of(rows: Sequence[dict], columns: Sequence[str] | None) -> list[str]:
    if columns:
        return list(columns)
    seen: dict[str, None] = {}
    for row in rows:
        seen.update(dict.fromkeys(row))
    return list(seen)


def render(
    rows: Iterable[dict[str, Any]],
    fmt: str,
    columns: Sequence[str] | None = None,
    *,
    title: str | None = None,
    stream: TextIO | None = None,
) -> None:
    stream = stream or sys.stdout
    rows = list(rows)
    cols = columns_of(rows, columns)
    if fmt == "json":
        _json().dump(rows, stream, ensure_ascii=False, indent=2)
        stream.write("\n")
    elif fmt == "csv":
        import csv

        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(cols)
        for row in rows:
            writer.writerow([csv_safe(flat(row.get(c))) for c in cols])
    elif fmt == "tsv":
        stream.write("\t".join(cols) + "\n")
        for row in rows:
            stream.write("\t".join(tsv_cell(flat(row.get(c))) for c in cols) + "\n")
    elif fmt == "table":
        if rows:  # an empty table is noise; the command says so on stderr
            _table(rows, cols, title, stream)
    else:
        raise ValueError(f"unknown format {fmt!r}")


def render_record(rec: dict[str, Any], fmt: str, *, stream: TextIO | None = None) -> None:
    """One record: a field/value table, or the object itself in JSON."""
    stream = stream or sys.stdout
    if fmt == "json":
        _json().dump(rec, stream, ensure_ascii=False, indent=2)
        stream.write("\n")
        return
    pairs = [{"field": k, "value": flat(v)} for k, v in rec.items() if v not in ("", [], None)]
    if fmt == "table":
        _table(pairs, ["field", "value"], None, stream, header=False)
    else:
        render(pairs, fmt, ["field", "value"], stream=stream)


def _table(
    rows: list[dict], cols: list[str], title: str | None, stream: TextIO, header: bool = True
) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=title,
        show_header=header,
        header_style="bold",
        box=box.SIMPLE_HEAD if header else None,
        pad_edge=False,
    )
    for col in cols:
        table.add_column(
            col,
            overflow="fold",
            no_wrap=col in ("handle", "phone", "id", "field"),
            style="bold" if not header and col == "field" else None,
        )
    for row in rows:
        table.add_row(*(flat(row.get(c)) for c in cols))
    Console(file=stream, soft_wrap=False).print(table)


# Heatmap backgrounds, from nobody free to the most free in any cell.
SHADES = ["grey15", "dark_green", "green4", "green3", "green1"]


def render_overview(data: dict) -> None:
    """zpp stats on a terminal: counts, then a heatmap of members free per skill per week."""
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


PROGRESS_MIN = 300


@contextmanager
def progress_bar(total: int, label: str, to_terminal: bool = False) -> Iterator:
    """A rich progress bar on stderr for long jobs on a terminal; nothing when piped.

    to_terminal: the data itself goes to the terminal, so a bar would garble it."""
    if total < PROGRESS_MIN or to_terminal or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def message(text: str) -> None:
    """A note for the person at the terminal, on stderr."""
    print(text, file=sys.stderr)
