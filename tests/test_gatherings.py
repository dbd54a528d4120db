"""Gatherings: plan, edit, cancel, RSVP with capacity and waitlist, recurrence, remind."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from datetime import date, datetime, timedelta

import pytest
from conftest import TODAY, snapshot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zppcli import db as dbmod
from zppcli import gatherings

NOW = "2026-12-01T09:00:00"  # Tuesday morning, Amsterdam time


@pytest.fixture(autouse=True)
def pinned_now(monkeypatch):
    monkeypatch.setenv("ZPP_NOW", NOW)


@pytest.fixture(scope="session", name="example_template")
def _example_template(tmp_path_factory):
    """The example directory loaded once; each test gets a copy (loading takes ~1 s)."""
    from typer.testing import CliRunner

    from zppcli.cli import app

    folder = tmp_path_factory.mktemp("gathering-example")
    path = folder / "example.db"
    env = {
        "ZPP_DB": str(path),
        "ZPP_DEVICE_ID": "testdev",
        "ZPP_TODAY": TODAY,
        "HOME": str(folder),
        "XDG_CONFIG_HOME": str(folder / "config"),
        "XDG_DATA_HOME": str(folder / "data"),
    }
    result = CliRunner().invoke(app, ["db", "init", "--example"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert not (folder / "example.db-wal").exists()  # checkpointed on close: one file to copy
    return path


@pytest.fixture(name="example_db")
def _copied_example_db(example_template, db_path):
    """Overrides conftest's example_db with a copy of the session template."""
    shutil.copyfile(example_template, db_path)
    return db_path


def add(run, *args):
    result = run("gathering", "add", *args)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    gid = result.stdout.strip()
    assert re.fullmatch(r"[0-9a-f-]{36}", gid)
    return gid


def show(run, gid):
    return json.loads(run("gathering", "show", gid, "--json", ok=True).stdout)


def test_add_prints_id_and_show_gives_the_gathering(run, example_db):
    gid = add(
        run,
        "Old School borrel",
        "--start",
        "2026-12-10 17:30",
        "--duration",
        "90m",
        "--place",
        "Mediapark 1, Hilversum",
        "--host",
        "renee-bakker",
        "--capacity",
        "20",
        "--rsvp-by",
        "2026-12-08",
        "--collective",
        "old-school",
    )
    rec = show(run, gid[:8])
    assert rec["start"] == "2026-12-10T17:30:00" and rec["end"] == "2026-12-10T19:00:00"
    assert rec["tz"] == "Europe/Amsterdam" and rec["capacity"] == 20 and rec["sequence"] == 0
    assert rec["host"] == "Renée Bakker (renee-bakker)"
    assert rec["audience"] == "collective old-school"
    # by title too
    assert show(run, "old school borrel")["id"] == gid


def test_offset_converts_to_amsterdam_time_and_end_as_time_of_day(run, example_db):
    gid = add(run, "Remote sync", "--start", "2026-12-10T16:30Z", "--end", "19:00")
    rec = show(run, gid)
    assert rec["start"] == "2026-12-10T17:30:00"  # UTC+1 in winter
    assert rec["end"] == "2026-12-10T19:00:00"


def test_the_audience_filter_is_stored_as_json(run, example_db, conn):
    gid = add(
        run,
        "Montage masterclass",
        "--start",
        "2026-12-12 10:00",
        "--mentor",
        "montage",
        "--city",
        "Hilversum",
    )
    stored = conn().execute("SELECT audience FROM gatherings WHERE id = ?", (gid,)).fetchone()[0]
    assert json.loads(stored) == {"city": "Hilversum", "mentor": "montage"}


def test_add_reports_private_and_unreachable_members(run, example_db):
    result = run(
        "gathering", "add", "Borrel", "--start", "2026-12-10 17:30", "--collective", "old-school"
    )
    assert result.exit_code == 0
    assert "private visibility" in result.stderr and "without an e-mail address" in result.stderr
    assert "noor-jansen" in result.stderr  # private in the example data: named, not dropped
    assert "noor" not in result.stdout


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--start", "2026-12-10 17:30", "--end", "2026-12-10 16:00"], "end"),
        (["--start", "2026-12-10 17:30", "--duration", "0m"], "duration"),
        (["--start", "2026-12-10 17:30", "--capacity", "-3"], "capacity"),
        (["--start", "2026-12-10 17:30", "--capacity", "lots"], "capacity"),
        (["--start", "2026-12-10 17:30", "--host", "nobody-at-all-xyz"], "host"),
        (["--start", "2026-12-10 17:30", "--tz", "Mars/Olympus_Mons"], "time zone"),
        (["--start", "2026-12-10 17:30", "--tz", "../../etc/passwd"], "time zone"),
        (["--start", "2027-03-28 02:30"], "start"),  # skipped by the spring DST change
        (["--start", "half past five"], "start"),
        (["--start", "2026-12-10 17:30", "--repeat", "every blue moon"], "repeat"),
        (["--start", "2026-12-10 17:30", "--repeat", "monthly on last thursday"], "start"),
        (["--start", "2026-12-10 17:30", "--rsvp-by", "2026-12-20"], "rsvp by"),
        (["--start", "2026-12-10 17:30", "--online", "javascript:alert(1)"], "online link"),
        (["--start", "2026-12-10 17:30", "--skill", "underwater-basket-weaving"], "skill"),
        ([], "start"),
    ],
)
def test_bad_input_is_refused_with_one_line_and_no_change(run, example_db, args, field):
    before = snapshot(example_db)
    result = run("gathering", "add", "Borrel", *args)
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("zpp: ") and field in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert snapshot(example_db) == before


def test_a_title_must_be_one_line(run, example_db):
    result = run("gathering", "add", "Borrel\nrm -rf", "--start", "2026-12-10 17:30")
    assert result.exit_code == 1 and "title" in result.stderr


def test_rsvp_capacity_waitlist_and_promotion(run, example_db):
    gid = add(run, "Portfolio night", "--start", "2026-12-10 19:00", "--capacity", "2")
    assert run("gathering", "rsvp", gid, "renee-bakker", "yes", ok=True).stdout == "going\n"
    assert run("gathering", "rsvp", gid, "fleur-vbeek", "yes", ok=True).stdout == "going\n"
    third = run("gathering", "rsvp", gid, "mikkel-baek", "yes", "--note", "camera mee", ok=True)
    assert third.stdout == "waitlist\n" and "waitlist" in third.stderr
    assert run("gathering", "rsvp", gid, "kees-camera", "yes", ok=True).stdout == "waitlist\n"
    # saying yes again keeps your place in the queue
    assert run("gathering", "rsvp", gid, "mikkel-baek", "yes", ok=True).stdout == "waitlist\n"
    freed = run("gathering", "rsvp", gid, "renee-bakker", "no", ok=True)
    assert freed.stdout == "no\n"
    assert "mikkel-baek moved from the waitlist to going" in freed.stderr  # first in line, not kees
    rows = run("gathering", "attendees", gid, "--format", "csv", ok=True).stdout.splitlines()
    assert rows[0].startswith("state,position,handle")
    states = [(r.split(",")[0], r.split(",")[2]) for r in rows[1:]]
    assert states == [
        ("going", "fleur-vbeek"),
        ("going", "mikkel-baek"),
        ("waitlist", "kees-camera"),
        ("no", "renee-bakker"),
    ]
    assert "camera mee" in rows[2]
    only = run("gathering", "attendees", gid, "--state", "waitlist", "--format", "tsv", ok=True)
    assert only.stdout.splitlines()[1].split("\t")[:3] == ["waitlist", "1", "kees-camera"]


def test_raising_the_capacity_promotes_the_waitlist(run, example_db):
    gid = add(run, "Portfolio night", "--start", "2026-12-10 19:00", "--capacity", "1")
    run("gathering", "rsvp", gid, "renee-bakker", "yes", ok=True)
    assert run("gathering", "rsvp", gid, "fleur-vbeek", "yes", ok=True).stdout == "waitlist\n"
    result = run("gathering", "edit", gid, "--capacity", "none", ok=True)
    assert "fleur-vbeek moved from the waitlist" in result.stderr
    assert show(run, gid)["going"] == 2


def test_rsvp_refusals_leave_the_db_unchanged(run, example_db):
    gid = add(run, "Borrel", "--start", "2026-12-10 17:30")
    before = snapshot(example_db)
    for args, code, word in [
        (("nobody-at-all-xyz", "yes"), 3, "member"),
        (("renee-bakker", "perhaps"), 1, "answer"),
    ]:
        result = run("gathering", "rsvp", gid, *args)
        assert result.exit_code == code and word in result.stderr
    assert snapshot(example_db) == before
    run("gathering", "cancel", gid, "--reason", "storm", ok=True)
    before = snapshot(example_db)
    result = run("gathering", "rsvp", gid, "renee-bakker", "yes")
    assert result.exit_code == 4 and "cancelled" in result.stderr
    assert snapshot(example_db) == before


def test_rsvp_to_a_past_gathering_is_refused(run, example_db):
    gid = add(run, "Last week", "--start", "2026-11-24 17:30")
    result = run("gathering", "rsvp", gid, "renee-bakker", "yes")
    assert result.exit_code == 4 and "already taken place" in result.stderr


def test_edit_and_cancel_raise_sequence_and_keep_history(run, example_db):
    gid = add(run, "Borrel", "--start", "2026-12-10 17:30", "--place", "Mediapark 1")
    result = run("gathering", "edit", gid, "--start", "2026-12-10 18:00", ok=True)
    assert "new time 18:00" in result.stderr
    rec = show(run, gid)
    assert rec["sequence"] == 1 and rec["end"] == "2026-12-10T20:00:00"  # length kept
    assert rec["history"][0]["changes"]["start_at"] == [
        "2026-12-10T17:30:00",
        "2026-12-10T18:00:00",
    ]
    nothing = run("gathering", "edit", gid, "--place", "Mediapark 1", ok=True)
    assert "nothing changed" in nothing.stderr and show(run, gid)["sequence"] == 1
    run("gathering", "cancel", gid, "--reason", "zaal onder water", ok=True)
    rec = show(run, gid)
    assert rec["status"] == "cancelled" and rec["sequence"] == 2
    assert rec["history"][-1] == {
        **rec["history"][-1],
        "kind": "cancel",
        "reason": "zaal onder water",
    }
    assert run("gathering", "edit", gid, "--place", "elders").exit_code == 4
    assert run("gathering", "cancel", gid).exit_code == 4


def test_list_upcoming_past_all(run, example_db):
    soon = add(run, "Soon", "--start", "2026-12-10 17:30")
    past = add(run, "Done", "--start", "2026-11-20 17:30")
    weekly = add(
        run,
        "Weekly stand-up",
        "--start",
        "2026-11-03 09:30",
        "--duration",
        "30m",
        "--repeat",
        "weekly",
    )
    upcoming = run("gathering", "list", "--format", "json", ok=True)
    rows = json.loads(upcoming.stdout)
    assert [r["id"] for r in rows] == [weekly, soon]
    assert rows[0]["when"] == "2026-12-01 09:30"  # the next occurrence of the series
    assert [
        r["id"] for r in json.loads(run("gathering", "list", "--past", "--json", ok=True).stdout)
    ] == [past]
    assert len(json.loads(run("gathering", "list", "--all", "--json", ok=True).stdout)) == 3


def test_monthly_last_thursday_occurrences():
    g = {
        "start_at": "2026-12-31T17:30:00",
        "end_at": "2026-12-31T19:30:00",
        "tz": "Europe/Amsterdam",
        "repeat_rule": "monthly on last thursday",
        "repeat_until": "2027-04-30",
    }
    found = [
        s.date()
        for s, _ in gatherings.occurrences(
            g,
            datetime(2026, 1, 1, tzinfo=gatherings.zone("UTC")),
            datetime(2028, 1, 1, tzinfo=gatherings.zone("UTC")),
        )
    ]
    assert found == [
        date(2026, 12, 31),
        date(2027, 1, 28),
        date(2027, 2, 25),
        date(2027, 3, 25),
        date(2027, 4, 29),
    ]
    for day in found:  # independent check: a Thursday, and the next one is in another month
        assert day.weekday() == 3 and (day + timedelta(days=7)).month != day.month


def test_weekly_series_keeps_local_time_across_dst():
    g = {
        "start_at": "2027-03-18T17:30:00",
        "end_at": "2027-03-18T19:00:00",
        "tz": "Europe/Amsterdam",
        "repeat_rule": "weekly",
        "repeat_until": None,
    }
    utc = gatherings.zone("UTC")
    found = gatherings.occurrences(
        g, datetime(2027, 3, 1, tzinfo=utc), datetime(2027, 4, 10, tzinfo=utc)
    )
    assert [s.strftime("%H:%M") for s, _ in found] == ["17:30"] * 4
    offsets = [gatherings.aware(s, "Europe/Amsterdam").utcoffset() for s, _ in found]
    assert offsets == [timedelta(hours=1)] * 2 + [timedelta(hours=2)] * 2  # DST on 28 March


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("weekly", "weekly"),
        ("Every 2 weeks", "every 2 weeks"),
        ("elke 3 weken", "every 3 weeks"),
        ("monthly", "monthly"),
        ("monthly on last thursday", "monthly on last thursday"),
        ("maandelijks op de eerste maandag", "monthly on first monday"),
        ("every second tuesday of the month", "monthly on second tuesday"),
    ],
)
def test_repeat_rules(text, expected):
    rule, until = gatherings.parse_repeat(text + " until 2027-06-30")
    assert rule.text() == expected and until == date(2027, 6, 30)


def test_remind_prints_once_and_tells_promoted_members(run, example_db, monkeypatch):
    gid = add(
        run, "Borrel", "--start", "2026-12-02 17:30", "--capacity", "1", "--host", "renee-bakker"
    )
    run("gathering", "rsvp", gid, "fleur-vbeek", "yes", ok=True)
    run("gathering", "rsvp", gid, "mikkel-baek", "yes", ok=True)  # waitlist
    run("gathering", "rsvp", gid, "fleur-vbeek", "no", ok=True)  # mikkel promoted
    early = run("gathering", "remind", "--before", "1d", "--dry-run", ok=True)
    assert early.stdout.splitlines() == [
        "promotion\tBorrel\t2026-12-02 17:30\tmikkel-baek\tMikkel Bæk <mikkel@pixelpolder.example>"
    ]
    monkeypatch.setenv("ZPP_NOW", "2026-12-01T18:00:00")  # 23.5 h before
    first = run("gathering", "remind", "--before", "1d", ok=True)
    assert first.stdout.count("Subject: ") == 2
    assert "Herinnering" in first.stdout and "wachtlijst" in first.stdout
    assert (
        "To: Mikkel Bæk <mikkel@pixelpolder.example>\nSubject: Herinnering: Borrel" in first.stdout
    )
    again = run("gathering", "remind", "--before", "1d", ok=True)
    assert again.stdout == "" and "0 reminders" in again.stderr


def test_remind_window_excludes_later_gatherings(run, example_db):
    gid = add(run, "Later", "--start", "2026-12-05 17:30")
    run("gathering", "rsvp", gid, "fleur-vbeek", "yes", ok=True)
    assert run("gathering", "remind", "--before", "1d", "--dry-run", ok=True).stdout == ""
    assert "Later" in run("gathering", "remind", "--before", "5d", "--dry-run", ok=True).stdout


def test_migration_from_version_1_gives_the_same_schema(tmp_path):
    full = dbmod.schema_sql()
    v1 = full[: full.index("-- Gatherings (issue 5)")] + "PRAGMA user_version = 1;\n"
    old = tmp_path / "v1.db"
    c = sqlite3.connect(old)
    c.executescript(v1)
    c.close()
    migrated = dbmod.connect(old)
    fresh = dbmod.connect(tmp_path / "fresh.db")
    query = "SELECT type, name, sql FROM sqlite_master WHERE name LIKE 'gathering%' ORDER BY name"
    assert migrated.execute("PRAGMA user_version").fetchone()[0] == dbmod.schema_version()
    assert [tuple(r) for r in migrated.execute(query)] == [tuple(r) for r in fresh.execute(query)]
    assert len(migrated.execute(query).fetchall()) == 8  # 4 tables, 4 indexes


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    capacity=st.integers(min_value=0, max_value=2),
    answers=st.lists(
        st.tuples(st.integers(0, 3), st.sampled_from(["yes", "no", "maybe"])),
        min_size=4,
        max_size=25,
    ),
)
def test_waitlist_matches_a_simple_model(example_template, tmp_path_factory, capacity, answers):
    """Going never exceeds the capacity and the waitlist is served first come, first served."""
    from pathlib import Path

    from zppcli import store

    path = Path(tmp_path_factory.mktemp("model")) / "m.db"
    shutil.copyfile(example_template, path)
    conn = dbmod.connect(path)
    people = [
        r[0] for r in conn.execute("SELECT id FROM members WHERE deleted = 0 ORDER BY id LIMIT 6")
    ]
    with store.Tx(conn) as tx:
        gid = gatherings.add(
            tx,
            gatherings.GatheringInput(title="Model", start="2026-12-10 17:30", capacity=capacity),
        )
    states: dict[str, str] = {}
    queue: list[str] = []
    for who, answer in answers:
        member = people[who]
        old = states.get(member)
        if answer == "yes":
            if old not in ("going", "waitlist"):
                going = sum(s == "going" for s in states.values())
                states[member] = "going" if going < capacity else "waitlist"
                if states[member] == "waitlist":
                    queue.append(member)
        else:
            states[member] = answer
            if old == "waitlist":
                queue.remove(member)
            while (
                old == "going" and queue and sum(s == "going" for s in states.values()) < capacity
            ):
                states[queue.pop(0)] = "going"
        with store.Tx(conn) as tx:
            gatherings.rsvp(tx, gatherings.get_row(tx.conn, gid), member, answer)
        got = {
            r["member_id"]: r["state"]
            for r in conn.execute(
                "SELECT member_id, state FROM gathering_rsvps WHERE gathering_id = ?", (gid,)
            )
        }
        assert got == states
        assert sum(s == "going" for s in got.values()) <= capacity
    conn.close()


def test_remind_window_includes_its_end(run, example_db, monkeypatch):
    gid = add(run, "Borrel", "--start", "2026-12-10 18:00")
    run("gathering", "rsvp", gid, "fleur-vbeek", "yes", ok=True)
    monkeypatch.setenv("ZPP_NOW", "2026-12-09T18:00:00")  # exactly one day before
    assert (
        "fleur-vbeek" in run("gathering", "remind", "--before", "1d", "--dry-run", ok=True).stdout
    )
    monkeypatch.setenv("ZPP_NOW", "2026-12-09T17:59:00")
    assert run("gathering", "remind", "--before", "1d", "--dry-run", ok=True).stdout == ""


def test_a_gathering_years_ahead_is_upcoming(run, example_db):
    gid = add(run, "Jubileum", "--start", "2029-06-01 16:00", "--repeat", "monthly")
    rows = json.loads(run("gathering", "list", "--json", ok=True).stdout)
    assert [r["id"] for r in rows] == [gid] and rows[0]["when"] == "2029-06-01 16:00"
