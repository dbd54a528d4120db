"""The .ics files: every one parses in icalendar (an independent parser) and keeps
its local time across a DST change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from dateutil.rrule import rrulestr
from icalendar import Calendar
from test_gatherings import _copied_example_db, _example_template  # noqa: F401  (fixtures)

NOW = "2026-12-01T09:00:00"


@pytest.fixture(autouse=True)
def pinned_now(monkeypatch):
    monkeypatch.setenv("ZPP_NOW", NOW)


def add(run, *args) -> str:
    result = run("gathering", "add", *args)
    assert result.exit_code == 0, result.stderr
    return result.stdout.strip()


def export(run, gid, tmp_path, name="g.ics") -> tuple[bytes, Calendar]:
    path = tmp_path / name
    run("gathering", "announce", gid, "--as", "ics", "-o", str(path), ok=True)
    raw = path.read_bytes()
    return raw, Calendar.from_ical(raw)


def test_published_ics_has_what_rfc5545_and_itip_want(run, example_db, tmp_path):
    gid = add(
        run,
        "Old School borrel; koffie, taart & \\ backslash",
        "--start",
        "2026-12-10 17:30",
        "--place",
        "Mediapark 1, Hilversum",
        "--online",
        "https://meet.example/borrel",
        "--host",
        "renee-bakker",
        "--description",
        "17:30 inloop\n18:00 pitches, demo's; borrel",
        "--collective",
        "old-school",
    )
    run("gathering", "rsvp", gid, "fleur-vbeek", "yes", ok=True)
    raw, cal = export(run, gid, tmp_path)
    assert cal["METHOD"] == "PUBLISH" and cal["VERSION"] == "2.0" and cal["PRODID"]
    (ev,) = cal.walk("VEVENT")
    assert str(ev["UID"]) == f"{gid}@zpp"
    assert str(ev["SUMMARY"]) == "Old School borrel; koffie, taart & \\ backslash"
    assert str(ev["DESCRIPTION"]) == "17:30 inloop\n18:00 pitches, demo's; borrel"
    assert str(ev["LOCATION"]) == "Mediapark 1, Hilversum, https://meet.example/borrel"
    assert ev["DTSTAMP"].dt.utcoffset() == timedelta(0)
    start = ev["DTSTART"].dt
    assert start.replace(tzinfo=None) == datetime(2026, 12, 10, 17, 30)
    assert ev["DTSTART"].params["TZID"] == "Europe/Amsterdam"
    assert start.utcoffset() == timedelta(hours=1)
    assert ev["DTEND"].dt - start == timedelta(hours=2)
    assert int(ev["SEQUENCE"]) == 0 and str(ev["STATUS"]) == "CONFIRMED"
    assert str(ev["ORGANIZER"]) == "mailto:renee@reneebakker.example"
    assert ev["ORGANIZER"].params["CN"] == "Renée Bakker"
    assert "ATTENDEE" not in ev  # a published file names nobody who answered
    assert b"fleur" not in raw
    (tz,) = cal.walk("VTIMEZONE")
    assert str(tz["TZID"]) == "Europe/Amsterdam"
    lines = raw.split(b"\r\n")
    assert raw.endswith(b"\r\n") and b"\n" not in raw.replace(b"\r\n", b"")
    assert max(len(line) for line in lines) <= 75  # folded at 75 octets
    assert b"DTSTART;TZID=Europe/Amsterdam:20261210T173000" in raw


def test_uid_is_stable_and_sequence_rises_with_edit_and_cancel(run, example_db, tmp_path):
    gid = add(run, "Borrel", "--start", "2026-12-10 17:30", "--host", "renee-bakker")
    _, first = export(run, gid, tmp_path, "1.ics")
    _, again = export(run, gid, tmp_path, "2.ics")
    assert first.walk("VEVENT")[0]["UID"] == again.walk("VEVENT")[0]["UID"]
    assert first["UID"] == again["UID"]  # the calendar's own UID too
    run("gathering", "edit", gid, "--start", "2026-12-10 18:00", ok=True)
    _, edited = export(run, gid, tmp_path, "3.ics")
    ev = edited.walk("VEVENT")[0]
    assert int(ev["SEQUENCE"]) == 1 and ev["DTSTART"].dt.hour == 18
    run("gathering", "cancel", gid, "--reason", "storm", ok=True)
    _, cancelled = export(run, gid, tmp_path, "4.ics")
    ev = cancelled.walk("VEVENT")[0]
    assert cancelled["METHOD"] == "CANCEL"
    assert str(ev["STATUS"]) == "CANCELLED" and int(ev["SEQUENCE"]) == 2
    assert str(ev["UID"]) == f"{gid}@zpp"
    assert "storm" in str(ev["DESCRIPTION"])


def occurrences(ev, count):
    """Expand the RRULE with dateutil (not our code), in the VTIMEZONE's own tzinfo."""
    rule = ev["RRULE"].to_ical().decode()
    return list(rrulestr(rule, dtstart=ev["DTSTART"].dt))[:count]


def test_weekly_series_keeps_1730_across_both_dst_changes(run, example_db, tmp_path):
    # Thursdays from 18 March 2027: DST starts 28 March; and from 21 October: ends 31 October.
    for start in ("2027-03-18 17:30", "2027-10-21 17:30"):
        gid = add(run, "Donderdagborrel", "--start", start, "--repeat", "weekly until 2027-11-30")
        raw, cal = export(run, gid, tmp_path, f"{gid}.ics")
        (ev,) = cal.walk("VEVENT")
        assert ev["RRULE"]["FREQ"] == ["WEEKLY"]
        until = ev["RRULE"]["UNTIL"][0]
        assert until.utcoffset() == timedelta(0)  # UNTIL in UTC with a TZID'd DTSTART
        found = occurrences(ev, 4)
        assert [d.strftime("%a %H:%M") for d in found] == ["Thu 17:30"] * 4
        offsets = {d.utcoffset() for d in found}
        assert offsets == {timedelta(hours=1), timedelta(hours=2)}
        # and the VTIMEZONE in the file says the same (not just the tz database)
        tz = cal.walk("VTIMEZONE")[0].to_tz()
        as_file = [d.replace(tzinfo=None).replace(tzinfo=tz) for d in found]
        assert [d.utcoffset() for d in as_file] == [d.utcoffset() for d in found]
        utc_hours = {d.astimezone(UTC).hour for d in found}
        assert utc_hours == {15, 16}  # the UTC time moves by an hour, the local one does not


def test_monthly_last_thursday_rrule(run, example_db, tmp_path):
    gid = add(
        run, "Old School", "--start", "2027-01-28 19:00", "--repeat", "monthly on last thursday"
    )
    _, cal = export(run, gid, tmp_path)
    ev = cal.walk("VEVENT")[0]
    assert ev["RRULE"]["BYDAY"] == ["-1TH"]
    days = [d.date().isoformat() for d in occurrences(ev, 4)]
    assert days == ["2027-01-28", "2027-02-25", "2027-03-25", "2027-04-29"]
    assert all(d.hour == 19 for d in occurrences(ev, 4))


def test_feed_has_upcoming_gatherings_name_refresh_and_timezone(run, example_db, tmp_path):
    soon = add(run, "Soon", "--start", "2026-12-10 17:30")
    add(run, "Past", "--start", "2026-11-10 17:30")
    off = add(run, "Called off", "--start", "2026-12-20 17:30")
    run("gathering", "cancel", off, ok=True)
    path = tmp_path / "feed.ics"
    run("gathering", "feed", "-o", str(path), "--name", "HMV borrels", "--refresh", "1h", ok=True)
    cal = Calendar.from_ical(path.read_bytes())
    assert str(cal["X-WR-CALNAME"]) == "HMV borrels" and str(cal["NAME"]) == "HMV borrels"
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in path.read_bytes()
    assert cal["REFRESH-INTERVAL"].dt == timedelta(hours=1)
    assert cal["METHOD"] == "PUBLISH"
    uids = {str(e["UID"]): str(e["STATUS"]) for e in cal.walk("VEVENT")}
    assert uids == {f"{soon}@zpp": "CONFIRMED", f"{off}@zpp": "CANCELLED"}
    assert cal.walk("VTIMEZONE")
    assert not [e for e in cal.walk("VEVENT") if "ATTENDEE" in e]


def test_personal_invitation_has_exactly_one_attendee(example_db):
    import os
    from pathlib import Path

    from zppcli import db, gatherings, ics, store

    conn = db.connect(Path(os.environ["ZPP_DB"]))
    with store.Tx(conn) as tx:
        gid = gatherings.add(
            tx, gatherings.GatheringInput(title="Borrel", start="2026-12-10 17:30")
        )
    g = gatherings.get_row(conn, gid)
    cal = Calendar.from_ical(
        ics.invitation(conn, g, {"email": "fleur@example.nl", "name": "Fleur"})
    )
    assert cal["METHOD"] == "REQUEST"
    attendees = cal.walk("VEVENT")[0]["ATTENDEE"]
    assert str(attendees) == "mailto:fleur@example.nl"  # one, not a list
    assert attendees.params["RSVP"] == "TRUE" and attendees.params["PARTSTAT"] == "NEEDS-ACTION"
    # no host: an ORGANIZER is still there (iTIP wants one), on a domain that cannot resolve
    assert str(cal.walk("VEVENT")[0]["ORGANIZER"]).endswith("@zpp.invalid")


def test_every_vtimezone_onset_is_a_real_transition(run, example_db, tmp_path):
    """RFC 5545: onsets are in the local time before the change (TZOFFSETFROM). icalendar
    7.3 writes the spring one an hour late; zpp puts it right. Checked against zoneinfo."""
    from zoneinfo import ZoneInfo

    gid = add(
        run, "Wekelijks", "--start", "2027-01-07 17:30", "--repeat", "weekly until 2028-12-31"
    )
    raw, cal = export(run, gid, tmp_path)
    assert b"DTSTART:20270328T020000" in raw and b"DTSTART:20271031T030000" in raw
    zone = ZoneInfo("Europe/Amsterdam")
    checked = 0
    for sub in cal.walk("VTIMEZONE")[0].subcomponents:
        before, after = sub["TZOFFSETFROM"].td, sub["TZOFFSETTO"].td
        if before == after:
            continue
        rdates = sub.get("RDATE", [])
        onsets = [sub["DTSTART"].dt] + [
            d.dt for r in (rdates if isinstance(rdates, list) else [rdates]) for d in r.dts
        ]
        for local in onsets:
            instant = (local - before).replace(tzinfo=UTC)
            assert (instant - timedelta(seconds=1)).astimezone(zone).utcoffset() == before
            assert instant.astimezone(zone).utcoffset() == after
            checked += 1
    assert checked == 4  # spring and autumn of 2027 and 2028


def test_long_unicode_lines_fold_at_75_octets_between_characters(run, example_db, tmp_path):
    title = "Borrel 🎉 met Zoë, Łukasz en Søren — " * 6
    gid = add(run, title.strip(), "--start", "2026-12-10 17:30", "--description", "ë" * 300)
    raw, cal = export(run, gid, tmp_path)
    lines = raw.split(b"\r\n")
    assert max(len(line) for line in lines) <= 75
    for line in lines:
        line.decode("utf-8")  # no line ends inside a multi-byte character
    ev = cal.walk("VEVENT")[0]
    assert str(ev["SUMMARY"]) == title.strip() and str(ev["DESCRIPTION"]) == "ë" * 300


def test_exit_codes_through_the_real_program(example_db):
    from conftest import zpp_subprocess

    bad = zpp_subprocess(
        "gathering", "add", "Borrel", "--start", "2026-12-10 17:30", "--capacity", "-1"
    )
    assert bad.returncode == 1 and bad.stdout == ""
    assert bad.stderr == "zpp: capacity '-1': cannot be negative\n"
    missing = zpp_subprocess("gathering", "show", "geen-idee")
    assert missing.returncode == 3 and "Traceback" not in missing.stderr
