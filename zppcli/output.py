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
    empty: str | None = "zpp: nothing to show.",
) -> None:
    """rows in fmt; an empty table is noise on a terminal, so `empty` goes to stderr instead."""
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
        if rows:
            _table(rows, cols, title, stream)
        elif empty:
            message(empty)
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
    """A plain text table fitted to the terminal: a bold header over a rule, columns two
    spaces apart, long cells wrapped at spaces. Drawn here rather than by rich, whose
    import and layout cost a search more than three times what the rest of it costs."""
    width = terminal_width(stream)
    cells = [[_cell_lines(flat(row.get(c))) for c in cols] for row in rows]
    heads = [[c] if header else [] for c in cols]
    natural = [
        max(
            (display_width(line) for cell in [head, *(r[i] for r in cells)] for line in cell),
            default=0,
        )
        for i, head in enumerate(heads)
    ]
    keep = [header and c in NO_WRAP or not header and i == 0 for i, c in enumerate(cols)]
    least = [
        n if k else min(n, max(display_width(c) if header else 0, 8))
        for n, k, c in zip(natural, keep, cols, strict=True)
    ]
    words = [  # the longest word per column: cut words (e-mails, links) only when needed
        max((display_width(w) for r in cells for line in r[i] for w in line.split(" ")), default=0)
        for i in range(len(cols))
    ]
    room = width - 2 * (len(cols) - 1)
    whole = [max(lo, min(n, w)) for lo, n, w in zip(least, natural, words, strict=True)]
    widths = fit(fit(natural, whole, room), least, room)
    bold = _color(stream)
    out = []
    if title:
        out.append(_bold(" ".join(_cell_lines(title)), bold))
    if header:
        out.append(_bold(_join(cols, widths), bold))
        out.append(_join(["─" * w for w in widths], widths))
    for row in cells:
        wrapped = [wrap(cell, w) for cell, w in zip(row, widths, strict=True)]
        for k in range(max(len(w) for w in wrapped)):
            pieces = [w[k] if k < len(w) else "" for w in wrapped]
            out.append(_join(pieces, widths, bold_first=bold and not header))  # a record's fields
    stream.write("\n".join(out) + "\n")


NO_WRAP = ("handle", "phone", "id")
# Control characters would drive the terminal (a name could clear the screen or fake
# output); bidirectional overrides could reorder what is shown. Both become U+FFFD.
_UNSAFE = {
    **dict.fromkeys(range(0x20), "\ufffd"),
    **dict.fromkeys(range(0x7F, 0xA0), "\ufffd"),
    **dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)], "\ufffd"),
    ord("\t"): " ",
}


def _cell_lines(text: str) -> list[str]:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return [line.translate(_UNSAFE) for line in lines]


def display_width(text: str) -> int:
    """Terminal columns text takes: wide (CJK) characters 2, combining marks 0."""
    if text.isascii():
        return len(text)
    import unicodedata

    return sum(
        0
        if unicodedata.combining(ch) or ch in "\u200b\u200c\u200d\u2060\ufeff"
        else 2
        if unicodedata.east_asian_width(ch) in "WF"
        else 1
        for ch in text
    )


def fit(natural: list[int], least: list[int], room: int) -> list[int]:
    """Column widths within room: the widest shrinkable column gives a column at a time,
    none below its least. Columns that cannot shrink further stay (the line overflows)."""
    widths = list(natural)
    excess = sum(widths) - room
    while excess > 0:
        shrinkable = [i for i, w in enumerate(widths) if w > least[i]]
        if not shrinkable:
            break
        widest = max(shrinkable, key=lambda i: widths[i])
        widths[widest] -= 1
        excess -= 1
    return widths


def wrap(lines: list[str], width: int) -> list[str]:
    """A cell's lines within width columns: broken at spaces, a longer word cut."""
    out = []
    for line in lines:
        current = ""
        for word in line.split(" "):
            while display_width(word) > width > 0:  # a word wider than the column
                if current:
                    out.append(current)
                    current = ""
                head = _cut(word, width)
                out.append(head)
                word = word[len(head) :]
            if not current:
                current = word
            elif display_width(current) + 1 + display_width(word) <= width:
                current += " " + word
            else:
                out.append(current)
                current = word
        out.append(current)
    return out


def _cut(word: str, width: int) -> str:
    """The longest start of word that fits width columns (at least one character)."""
    used = 0
    for k, ch in enumerate(word):
        used += display_width(ch)
        if used > width:
            return word[: max(k, 1)]
    return word


def _join(pieces: list[str], widths: list[int], bold_first: bool = False) -> str:
    padded = [p + " " * (w - display_width(p)) for p, w in zip(pieces, widths, strict=True)]
    if bold_first:
        padded[0] = _bold(pieces[0], True) + padded[0][len(pieces[0]) :]
    return "  ".join(padded).rstrip()


def _bold(text: str, on: bool) -> str:
    return f"\x1b[1m{text}\x1b[0m" if on and text else text


def _color(stream: TextIO) -> bool:
    """Styles only on a terminal, and never with NO_COLOR set (no-color.org) or TERM=dumb."""
    return (
        hasattr(stream, "isatty")
        and stream.isatty()
        and not os.environ.get("NO_COLOR")
        and os.environ.get("TERM") != "dumb"
    )


def terminal_width(stream: TextIO) -> int:
    """$COLUMNS, else the terminal's width, else 80 (as shutil would, without its import)."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    try:
        return os.get_terminal_size(stream.fileno()).columns or 80
    except (AttributeError, OSError, ValueError):
        return 80


# Heatmap backgrounds, from nobody free to the most free in any cell.
SHADES = ["grey15", "dark_green", "green4", "green3", "green1"]


def render_overview(data: dict) -> None:
    """zpp stats on a terminal: counts, then a heatmap of members free per skill per week."""
    from datetime import date

    from rich import box
    from rich.console import Console
    from rich.markup import escape
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
        + ", ".join(f"{escape(c['city'])} {c['members']}" for c in m["cities"][:8])
        + (" ..." if len(m["cities"]) > 8 else ""),
        soft_wrap=True,
    )
    if data["collectives"]:
        console.print(
            "collectives: "
            + ", ".join(f"{escape(c['name'])} {c['members']}" for c in data["collectives"]),
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
        table.add_row(Text(f"{s['skill']} "), f"{s['members']} ", f"{s['mentors']} ", want, *cells)
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
