import json
import re
import sqlite3
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import zpp_subprocess
from zppcli import availability, search


def handles(result) -> list[str]:
    assert result.exit_code == 0, result.stderr
    return [line.split("\t")[0] for line in result.stdout.splitlines()[1:]]


@pytest.fixture
def small(run):
    """A hand-made directory where the right answers are known."""
    run("skill", "add", "Sound design", "--alias", "geluidsontwerp", ok=True)
    run("skill", "add", "Montage", "--alias", "video editing", ok=True)
    run("skill", "add", "Camera", ok=True)
    run("collective", "add", "De Beeldhaven", "--handle", "beeldhaven", ok=True)
    add = lambda *a: run("member", "add", *a, ok=True).stdout.strip()  # noqa: E731
    add(
        "Jöran van den Bürg",
        "--skill",
        "camera:expert:mentor",
        "--skill",
        "montage:competent",
        "--city",
        "Hilversum",
        "--tag",
        "npo",
        "--lang",
        "nl",
        "--handle",
        "joran",
    )
    add(
        "Łukasz Kowalczyk",
        "--skill",
        "montage:expert",
        "--city",
        "Almere",
        "--handle",
        "lukasz",
        "--lang",
        "pl",
        "--email",
        "lukasz@example.org",
    )
    add(
        "Ørjan Solberg",
        "--skill",
        "sound design:expert",
        "--city",
        "Hilversum",
        "--handle",
        "orjan",
    )
    add(
        "Friederike Strauß",
        "--skill",
        "sound design:learning",
        "--learn",
        "montage",
        "--city",
        "Bussum",
        "--handle",
        "friederike",
        "--bio",
        "Werkt graag met camera en licht",
    )
    add(
        "Mikkel Bæk",
        "--skill",
        "sound design:competent",
        "--skill",
        "camera:learning",
        "--city",
        "hilversum",
        "--handle",
        "mikkel",
    )
    add("Anna Camera", "--city", "Utrecht", "--handle", "anna")  # a name that matches a skill word
    run("collective", "join", "beeldhaven", "joran", "--role", "founder", ok=True)
    run("collective", "join", "beeldhaven", "lukasz", ok=True)
    return run


@pytest.mark.parametrize(
    "query, expected",
    [
        ("burg", "joran"),
        ("BÜRG", "joran"),
        ("lukasz", "lukasz"),
        ("Łukasz", "lukasz"),
        ("orjan", "orjan"),
        ("strauss", "friederike"),
        ("strauß", "friederike"),
        ("baek", "mikkel"),
        ("bæk", "mikkel"),
        ("kowal", "lukasz"),
        ("van den burg", "joran"),
    ],
)
def test_accent_and_case_folding(small, query, expected):
    assert handles(small("search", query, "-f", "tsv")) == [expected]


def test_aliases_find_the_same_people_in_dutch_and_english(small):
    english = handles(small("search", "video editing", "-f", "tsv"))
    dutch = handles(small("search", "montage", "-f", "tsv"))
    assert sorted(english) == sorted(dutch) == ["joran", "lukasz"]
    assert handles(small("search", "geluidsontwerp", "-f", "tsv")) == handles(
        small("search", "sound design", "-f", "tsv")
    )
    assert handles(small("search", "mont", "-f", "tsv")) == handles(
        small("search", "montage", "-f", "tsv")
    )


def test_ranking_puts_name_and_skill_matches_above_bio(small):
    hits = handles(small("search", "camera", "-f", "tsv"))
    assert set(hits) == {"anna", "joran", "mikkel", "friederike"}
    assert hits[-1] == "friederike"  # only her bio says camera
    assert hits[0] == "anna"  # her name is Camera


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--skill", "montage"], ["joran", "lukasz"]),
        (["--skill", "video editing", "--level", "expert"], ["lukasz"]),
        (["--skill", "sound design", "--skill", "camera"], ["mikkel"]),
        (["--city", "hilversum"], ["mikkel", "orjan", "joran"]),
        (["--collective", "De Beeldhaven"], ["joran", "lukasz"]),
        (["--tag", "NPO"], ["joran"]),
        (["--lang", "pl"], ["lukasz"]),
        (["--mentor", "camera"], ["joran"]),
        (["--mentor", "montage"], ["lukasz"]),  # expert counts as mentor
        (["--learner", "montage"], ["friederike"]),
        (["--skill", "sound design", "--city", "Hilversum"], ["mikkel", "orjan"]),
        (["hilversum", "--skill", "montage"], ["joran"]),
    ],
)
def test_filters_compose_with_and(small, args, expected):
    assert sorted(handles(small("search", *args, "-f", "tsv"))) == sorted(expected)


def test_sort_name_is_dutch(small):
    assert handles(small("search", "--sort", "name", "-f", "tsv")) == [
        "mikkel",
        "joran",
        "anna",
        "lukasz",
        "orjan",
        "friederike",
    ]


@pytest.fixture
def dated(small):
    run = small
    run(
        "avail",
        "set",
        "joran",
        "--from",
        "2026-12-01",
        "--to",
        "2026-12-31",
        "--status",
        "available",
        ok=True,
    )
    run(
        "avail",
        "set",
        "joran",
        "--from",
        "2026-12-11",
        "--to",
        "2026-12-11",
        "--status",
        "booked",
        ok=True,
    )
    run(
        "avail",
        "set",
        "lukasz",
        "--from",
        "2026-12-01",
        "--to",
        "2026-12-06",
        "--status",
        "available",
        ok=True,
    )
    run(
        "avail",
        "set",
        "lukasz",
        "--from",
        "2026-12-07",
        "--to",
        "2026-12-20",
        "--status",
        "partly",
        "--hours",
        "16",
        ok=True,
    )
    run(
        "avail",
        "set",
        "orjan",
        "--from",
        "2026-12-08",
        "--to",
        "2026-12-31",
        "--status",
        "available",
        ok=True,
    )
    return run


@pytest.mark.parametrize(
    "free, expected",
    [
        ("2026-12-07..2026-12-10", ["joran", "lukasz"]),  # lukasz covered by two adjacent periods
        ("2026-12-07..2026-12-11", ["lukasz"]),  # touches joran's booked day
        ("2026-12-11", ["lukasz", "orjan"]),
        ("2026-12-12..2026-12-31", ["joran", "orjan"]),
        ("2026-12-07", ["joran", "lukasz"]),  # orjan starts a day later
        ("2027-01-01", []),  # nobody recorded: unknown is not free
    ],
)
def test_free_edge_cases(dated, free, expected):
    assert sorted(handles(dated("search", "--free", free, "-f", "tsv"))) == sorted(expected)


def test_free_accepts_words(dated):
    # ZPP_TODAY is Tuesday 2026-12-01; next week is Mon 7 .. Fri 11 December
    assert sorted(handles(dated("search", "--free", "next week", "-f", "tsv"))) == ["lukasz"]
    assert sorted(handles(dated("search", "--free", "tomorrow", "-f", "tsv"))) == [
        "joran",
        "lukasz",
    ]


def test_members_without_availability_are_unknown_not_free(dated):
    free_today = handles(dated("search", "--free", "today", "-f", "tsv"))
    assert "mikkel" not in free_today and "anna" not in free_today


def test_is_free_covers_gaps():
    spans = [("2026-12-01", "2026-12-05", "available"), ("2026-12-07", "2026-12-09", "available")]
    assert availability.is_free(spans, date(2026, 12, 1), date(2026, 12, 5))
    assert not availability.is_free(spans, date(2026, 12, 4), date(2026, 12, 8))


def test_avail_set_splits_and_trims_older_periods(dated, conn):
    rows = (
        conn()
        .execute(
            "SELECT start_date, end_date, status FROM availability a JOIN members m ON m.id = a.member_id"
            " WHERE m.handle = 'joran' AND a.deleted = 0 ORDER BY start_date"
        )
        .fetchall()
    )
    assert [tuple(r) for r in rows] == [
        ("2026-12-01", "2026-12-10", "available"),
        ("2026-12-11", "2026-12-11", "booked"),
        ("2026-12-12", "2026-12-31", "available"),
    ]


def test_no_hits_is_exit_0_and_empty_in_every_format(small):
    assert (
        small("search", "zzzz", "-f", "tsv").stdout == "handle\tname\tcity\tskills\temail\tphone\n"
    )
    assert json.loads(small("search", "zzzz", "--json").stdout) == []
    assert (
        small("search", "zzzz", "-f", "csv").stdout.strip() == "handle,name,city,skills,email,phone"
    )
    assert small("search", "zzzz", "-f", "mutt").stdout.startswith("zpp: 0 addresses")


@pytest.mark.parametrize(
    "typo, hint",
    [
        ("montge", "Montage"),
        ("camra", "Camera"),
        ("kowalcyk", "Kowalczyk"),
        ("soberg", "Solberg"),
        ("burgh", "Bürg"),  # the name as written, found from its folded index term
        ("strausz", "Strauß"),
        ("lukacz", "Łukasz"),
    ],
)
def test_did_you_mean_on_a_terminal_table(small, typo, hint):
    result = small("search", typo, "-f", "table")
    assert result.exit_code == 0 and result.stdout == ""
    assert "did you mean" in result.stderr and hint in result.stderr


def test_mutt_format(small):
    out = small("search", "lukasz", "-f", "mutt").stdout.splitlines()
    assert out[0].startswith("zpp: 1 address")
    assert out[1] == "lukasz@example.org\tŁukasz Kowalczyk\tMontage"


HOSTILE = [
    '"',
    'o"brien',
    "AND (",
    "NEAR(a b)",
    "*",
    "-camera",
    "camera:",
    "a OR b",
    "'",
    "((",
    "^x",
    "NOT",
    "\x00",
    "🎬",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_is_searched_as_words(small, text):
    result = small("search", "-f", "tsv", "--", text)  # "--": a leading dash is text, not a flag
    assert result.exit_code == 0, result.stderr


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(max_size=40))
def test_any_text_never_breaks_fts(tmp_path_factory, text):
    c = sqlite3.connect(":memory:")
    from zppcli import db

    c.executescript(db.schema_sql())
    expr = search.match_expression(text)
    if expr is not None:
        c.execute("SELECT * FROM members_fts WHERE members_fts MATCH ?", (expr,)).fetchall()
    assert expr is None or not re.search(r"(^|\s)(AND|OR|NOT|NEAR)(\s|$)", expr)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(max_size=30))
def test_any_query_through_the_cli_exits_0_or_1_without_traceback(small, text):
    result = small("search", "-f", "tsv", "--", text)
    assert result.exit_code in (0, 1)
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr


def test_index_follows_every_write(small):
    assert handles(small("search", "Laren", "-f", "tsv")) == []
    small("member", "edit", "orjan", "--city", "Laren", ok=True)
    assert handles(small("search", "laren", "-f", "tsv")) == ["orjan"]
    small("skill", "alias", "sound design", "klankontwerp", ok=True)
    assert sorted(handles(small("search", "klankontwerp", "-f", "tsv"))) == [
        "friederike",
        "mikkel",
        "orjan",
    ]
    small("member", "rm", "orjan", "--yes", ok=True)
    assert handles(small("search", "solberg", "-f", "tsv")) == []


def test_reindex_rebuilds(small, conn):
    c = conn()
    c.execute("DELETE FROM members_fts")
    c.commit()
    assert handles(small("search", "burg", "-f", "tsv")) == []
    small("db", "reindex", ok=True)
    assert handles(small("search", "burg", "-f", "tsv")) == ["joran"]


def test_limit(small):
    result = small("search", "--limit", "2", "-f", "tsv")
    assert len(result.stdout.splitlines()) == 3
    assert "--limit 0" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["montage", "--skill", "camera", "--free", "+1..+3"],  # piped: TSV
        ["burg", "--format", "table"],  # a table with hits
        ["xyzzy", "--format", "table"],  # no hits: did-you-mean
    ],
)
def test_search_imports_no_heavy_modules(example_db, args):
    """The issue's check (no rich, sqlite_utils, pydantic), and what our start-up work
    took off the path: typer, argparse (and the shutil it pulls in), pathlib."""
    import os
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "zppcli", "search", *args],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    )
    assert proc.returncode == 0, proc.stderr[-500:]
    imported = {
        line.split("|")[-1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "sqlite3" in imported  # the check can see imports at all
    heavy = ("rich", "sqlite_utils", "pydantic", "phonenumbers", "vobject", "icalendar", "typer")
    for name in (*heavy, "click", "argparse", "shutil", "pathlib", "platformdirs"):
        assert not any(m == name or m.startswith(name + ".") for m in imported), name


def test_fast_front_knows_exactly_the_flags_of_the_typer_command():
    from zppcli.cli.application import load_command
    from zppcli.cli.searching import FLAGS

    typer_flags = {
        o
        for p in load_command("search").params
        for o in (*p.opts, *p.secondary_opts)
        if o.startswith("-")
    }
    assert typer_flags - {"-h", "--help"} == set(FLAGS)


_TOKENS = st.sampled_from(
    [
        "--skill",
        "-s",
        "--limit",
        "-n",
        "-n3",
        "--limit=7",
        "--format",
        "-f",
        "-ftsv",
        "-n²",  # isdigit() but not a number
        "--limit=٣",  # an Arabic-Indic three: int() and click take it
        "--json",
        "--json=1",
        "--free",
        "--free=",
        "--city=Baarn",
        "--db",
        "--sort",
        "--level",
        "--mentor",
        "--learner",
        "--tag",
        "--lang",
        "--collective",
        "--",
        "-",
        "-3",
        "+2",
        "0",
        "12",
        "camera",
        "-camera",
        "Bürg",
        "a=b",
        "--help",
        "-h",
        "--nope",
        "-x",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_TOKENS, max_size=8))
def test_fast_front_parses_what_click_parses_alike(argv):
    """The hand-written parser against click's own, on random argument lists: when
    the fast front takes a command line, click reads it the same way."""
    from typer._click import exceptions  # typer 0.28 vendors click (FIELD-NOTES)

    from zppcli.cli.application import load_command
    from zppcli.cli.searching import parse

    ours = parse(argv)
    if ours is None:
        return  # declined: typer parses it (and answers any usage error)
    try:
        theirs = load_command("search").make_context("search", list(argv)).params
    except exceptions.Exit:
        raise AssertionError(f"{argv}: click exits, the fast front took it") from None
    except exceptions.UsageError as e:
        raise AssertionError(f"{argv}: click refuses ({e}), the fast front took it") from None
    theirs["skill"] = list(theirs["skill"]) or None
    assert ours == theirs, argv


@pytest.mark.parametrize(
    "args",
    [
        ["montage"],
        ["--skill", "montage", "--level", "expert", "--json"],
        ["camera", "-f", "csv", "--sort", "city"],
        ["--free", "+10..+14", "--skill", "sound design", "-n", "3"],
        ["--mentor", "camera", "-f", "mutt"],
        ["--skill", "camra"],
        ["--free", "gisteren"],
        ["--level", "guru", "--skill", "camera"],
        ["-f", "tsv", "--", "-camera"],
        ["--sort", "shoe"],
    ],
)
def test_fast_front_and_typer_answer_alike(example_db, run, args):
    fast = zpp_subprocess("search", *args)  # python -m zppcli: main() takes the fast front
    slow = run("search", *args)  # CliRunner: through typer
    assert (fast.returncode, fast.stdout, fast.stderr) == (slow.exit_code, slow.stdout, slow.stderr)


def test_fast_front_leaves_help_and_usage_errors_to_typer(example_db):
    help_text = zpp_subprocess("search", "--help")
    assert (
        help_text.returncode == 0 and "--free" in help_text.stdout and "unknown" in help_text.stdout
    )
    bad = zpp_subprocess("search", "--no-such-flag")
    assert bad.returncode == 2 and "No such option" in bad.stderr
    negative = zpp_subprocess("search", "--limit", "-3")
    assert negative.returncode == 2
