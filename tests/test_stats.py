"""zpp stats: every count agrees with what `zpp search` finds."""

from __future__ import annotations

import json
from datetime import date

from zppcli import search, stats


def test_counts_agree_with_search(example_db, run, conn):
    data = json.loads(run("stats", "--json", ok=True).stdout)
    c = conn()
    assert data["members"]["total"] == 51
    assert sum(data["members"]["by_visibility"].values()) == 51
    assert sum(x["members"] for x in data["members"]["cities"]) <= 51
    assert len(data["weeks"]) == 8
    weeks = [(date.fromisoformat(w["from"]), date.fromisoformat(w["to"])) for w in data["weeks"]]
    assert weeks[0] == (date(2026, 12, 1), date(2026, 12, 4))  # ZPP_TODAY is a Tuesday
    nonzero = 0
    for s in data["skills"]:
        name = s["skill"]
        assert s["members"] == len(search.find(c, search.Filters(skills=[name], level="competent")))
        assert s["experts"] == len(search.find(c, search.Filters(skills=[name], level="expert")))
        assert s["mentors"] == len(search.find(c, search.Filters(mentor=name)))
        assert s["wanted"] == len(search.find(c, search.Filters(learner=name)))
        for n, week in zip(s["free_per_week"], weeks, strict=True):
            expected = search.find(c, search.Filters(skills=[name], level="competent", free=week))
            assert n == len(expected), (name, week)
            nonzero += n > 0
    assert nonzero > 50  # the example directory does have free people
    sizes = {x["handle"]: x["members"] for x in data["collectives"]}
    for handle, n in sizes.items():
        assert n == len(search.find(c, search.Filters(collective=handle)))
    assert list(sizes.values()) == sorted(sizes.values(), reverse=True)


def test_flat_and_table_formats(example_db, run):
    tsv = run("stats", "--format", "tsv", "--weeks", "3", ok=True).stdout.splitlines()
    header = tsv[0].split("\t")
    assert header == [
        "skill",
        "category",
        "members",
        "experts",
        "mentors",
        "wanted",
        "free 2026-12-01",
        "free 2026-12-07",
        "free 2026-12-14",
    ]
    assert len(tsv) == 1 + 32  # one row per skill of the example catalogue
    table = run("stats", "--format", "table", ok=True).stdout
    assert "51 members" in table and "Old School Collectief 13" in table and "Camera" in table


def test_weeks_start_today_or_on_the_coming_monday():
    assert stats.week_ranges(date(2026, 12, 3), 2) == [
        (date(2026, 12, 3), date(2026, 12, 4)),
        (date(2026, 12, 7), date(2026, 12, 11)),
    ]
    assert stats.week_ranges(date(2026, 12, 5), 1) == [(date(2026, 12, 7), date(2026, 12, 11))]


def test_an_empty_directory(run):
    run("db", "init", ok=True)
    data = json.loads(run("stats", "--json", ok=True).stdout)
    assert data["members"]["total"] == 0 and data["collectives"] == []


def test_names_that_look_like_markup_are_shown_as_typed(run, monkeypatch):
    """rich reads [brackets] as markup: typed names must reach the screen unchanged."""
    monkeypatch.setenv("COLUMNS", "120")
    run("skill", "add", "[b]Regie", ok=True)
    run("collective", "add", "[/i]Club", ok=True)
    run("member", "add", "Jan de Vries", "--city", "[red]Hilversum", "--skill", "[b]Regie", ok=True)
    table = run("stats", "--format", "table", ok=True).stdout
    assert "[red]Hilversum 1" in table and "[/i]Club 0" in table and "[b]Regie" in table
