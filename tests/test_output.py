"""output.py's table: fitted to the terminal, nothing a user typed lost, nothing that drives it."""

from __future__ import annotations

import io
import os
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zppcli import output

# Names and bios as members type them: accents, wide (CJK) letters, combining marks,
# newlines, tabs, control and bidi characters.
CELL = st.lists(
    st.sampled_from(
        [
            *"abcdef ghijk   lmnop,()-",
            "é",
            "ß",
            "ł",
            "李",
            "明",
            "e\u0301",
            "\n",
            "\t",
            "\x1b",
            "\u202e",
        ]
    ),
    max_size=40,
).map("".join)


def render_table(rows, cols, width, stream=None, **kw):
    stream = stream or io.StringIO()
    os.environ["COLUMNS"] = str(width)
    try:
        output.render(rows, "table", cols, stream=stream, **kw)
    finally:
        del os.environ["COLUMNS"]
    return stream.getvalue() if isinstance(stream, io.StringIO) else None


def test_display_width_counts_terminal_columns():
    assert output.display_width("Bürg") == 4
    assert output.display_width("Jo\u0308ran") == 5  # o + combining diaeresis is one column
    assert output.display_width("李明") == 4
    assert output.display_width("") == 0


@settings(max_examples=300, deadline=None)
@given(st.lists(CELL.map(lambda t: t.replace("\n", " ")), max_size=4), st.integers(2, 30))
def test_wrap_keeps_every_character_and_each_piece_fits(words, width):
    lines = [" ".join(words)]
    pieces = output.wrap(lines, width)
    assert all(output.display_width(p) <= width for p in pieces)
    assert "".join(pieces).replace(" ", "") == "".join(lines).replace(" ", "")


@given(
    st.lists(st.tuples(st.integers(0, 80), st.integers(0, 20)), min_size=1, max_size=6),
    st.integers(10, 200),
)
def test_fit_shrinks_to_the_room_but_never_below_the_least(columns, room):
    natural = [n for n, _ in columns]
    least = [min(n, k) for n, k in columns]
    widths = output.fit(natural, least, room)
    assert all(lo <= w <= n for w, lo, n in zip(widths, least, natural, strict=True))
    assert sum(widths) <= max(room, sum(least))


def _column_text(lines: list[str], start: int, end: int) -> str:
    """What a table shows in display columns [start, end) of its lines, run together."""
    out = []
    for line in lines:
        at, inside = 0, False
        for ch in line:
            wide = output.display_width(ch)
            inside = start <= at < end if wide else inside  # a combining mark joins its letter
            if inside:
                out.append(ch)
            at += wide
    return "".join(out).replace(" ", "")


@settings(max_examples=200, deadline=None)
@given(st.fixed_dictionaries({"handle": CELL, "name": CELL, "skills": CELL}), st.integers(40, 120))
def test_a_table_fits_the_terminal_and_loses_nothing(row, width):
    text = render_table([row], ["handle", "name", "skills"], width)
    lines = text.splitlines()
    assert not any(unicodedata.category(ch) == "Cc" and ch != "\n" for ch in text)
    assert "\u202e" not in text
    if output.display_width(row["handle"].translate(output._UNSAFE)) <= 16:
        assert all(output.display_width(line) <= width for line in lines), text
    at = 0
    for col, rule in zip(["handle", "name", "skills"], lines[1].split("  "), strict=True):
        shown = _column_text(lines[2:], at, at + len(rule))
        typed = row[col].replace("\n", "").translate(output._UNSAFE).replace(" ", "")
        assert shown == typed, (col, text)
        at += len(rule) + 2


def test_a_table_prints_markup_and_escapes_literally():
    rows = [{"name": "Jan [/bold] de Vries", "city": "[red]Hilversum", "bio": "wis\x1b[2Jscherm"}]
    text = render_table(rows, ["name", "city", "bio"], 100)
    assert "Jan [/bold] de Vries" in text and "[red]Hilversum" in text
    assert "\x1b" not in text and "wis\ufffd[2Jscherm" in text


def test_a_terminal_gets_a_bold_header_unless_no_color(monkeypatch):
    master, slave = os.openpty()
    try:
        with open(slave, "w", encoding="utf-8", closefd=False) as tty:
            monkeypatch.delenv("NO_COLOR", raising=False)
            monkeypatch.setenv("TERM", "xterm")
            render_table([{"handle": "joran"}], ["handle"], 80, stream=tty)
            tty.flush()
            assert os.read(master, 4096).startswith(b"\x1b[1mhandle\x1b[0m")
            monkeypatch.setenv("NO_COLOR", "1")
            render_table([{"handle": "joran"}], ["handle"], 80, stream=tty)
            tty.flush()
            assert os.read(master, 4096).startswith(b"handle\r\n")
    finally:
        os.close(master)
        os.close(slave)


@pytest.mark.parametrize("width", [56, 72, 100])
def test_search_table_of_the_example_fits(example_db, run, monkeypatch, width):
    monkeypatch.setenv("COLUMNS", str(width))
    text = run("search", "camera", "-f", "table", ok=True).stdout
    lines = text.splitlines()
    assert lines[0].split() == ["handle", "name", "city", "skills", "email"]
    assert set(lines[1].replace(" ", "")) == {"─"}
    assert all(output.display_width(line) <= width for line in lines)
    assert "kees-camera" in text  # handles are never wrapped


def test_a_member_whose_name_looks_like_markup_is_shown_as_typed(run):
    run("member", "add", "Jan [/bold] de Vries", "--city", "[red]Hilversum", ok=True)
    result = run("search", "jan", "-f", "table", ok=True)
    assert "Jan [/bold] de Vries" in result.stdout and "[red]Hilversum" in result.stdout


def test_an_empty_table_says_so_on_stderr_and_tsv_stays_a_header(run):
    run("db", "init", ok=True)
    table = run("member", "list", "-f", "table", ok=True)
    assert table.stdout == "" and "No members yet" in table.stderr
    tsv = run("member", "list", "-f", "tsv", ok=True)
    assert tsv.stdout == "handle\tname\tcity\tskills\temail\tphone\n" and tsv.stderr == ""
    assert "No upcoming gatherings" in run("gathering", "list", "-f", "table", ok=True).stderr
    assert run("log", "-f", "table", ok=True).stderr.strip() == "zpp: nothing to show."
