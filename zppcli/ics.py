"""iCalendar (RFC 5545 / iTIP RFC 5546) for gatherings, written with icalendar.

- One stable UID per gathering (`<uuid>@zpp`), so a calendar updates the event
  instead of adding a second one; SEQUENCE goes up with every edit and cancel.
- Times carry TZID=Europe/Amsterdam (the gathering's zone) with a VTIMEZONE for
  just the years needed, so a weekly 17:30 stays 17:30 across DST.
- PUBLISH has an ORGANIZER and no ATTENDEE (nobody's address leaks into a file
  that gets forwarded); REQUEST (a personal invitation) has exactly one ATTENDEE;
  a cancelled gathering is STATUS:CANCELLED and is sent as METHOD:CANCEL.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from zppcli import gatherings

PRODID = "-//Hilversum Media Valley//zpp gatherings//EN"
UID_DOMAIN = "zpp"
FALLBACK_ORGANIZER = "mailto:noreply@zpp.invalid"  # RFC 5546 wants one; .invalid never resolves
METHODS = ("PUBLISH", "REQUEST", "CANCEL")


def uid(g: Any) -> str:
    return f"{g['id']}@{UID_DOMAIN}"


def _utc(value: str) -> datetime:
    return datetime.strptime(value[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)


def organizer(name: str, email: str | None):
    from icalendar import vCalAddress

    address = vCalAddress(f"mailto:{email}" if email else FALLBACK_ORGANIZER)
    if name:
        address.params["CN"] = name
    return address


def event(
    conn: sqlite3.Connection,
    g: Any,
    *,
    organizer_email: str | None = None,
    attendee: dict[str, Any] | None = None,
    description: str | None = None,
    stamp: datetime | None = None,
):
    """The VEVENT of a gathering (the whole series when it repeats)."""
    from icalendar import Event, vCalAddress

    tz = gatherings.zone(g["tz"])
    start = gatherings.aware(g["start_at"], g["tz"])
    end = gatherings.aware(g["end_at"], g["tz"])
    host = gatherings.host_of(conn, g)
    private = bool(host and host["kind"] == "member" and host["record"]["visibility"] == "private")
    host_name = host["name"] if host and not private else ""
    if organizer_email is None and host and host["kind"] == "member":
        organizer_email = gatherings.public_email(host["record"])
    ev = Event.new(
        uid=uid(g),
        stamp=stamp or gatherings.now_utc(),
        start=start,
        end=end,
        summary=g["title"],
        sequence=int(g["sequence"]),
        status="CANCELLED" if g["status"] == "cancelled" else "CONFIRMED",
        organizer=organizer(host_name, organizer_email),
        created=_utc(g["created_at"]),
        last_modified=_utc(g["updated_at"]),
    )
    text = description if description is not None else g["description"]
    if g["status"] == "cancelled" and g["cancel_reason"]:
        text = f"CANCELLED: {g['cancel_reason']}\n\n{text}".strip()
    if text:
        ev.add("description", text)
    location = ", ".join(x for x in (g["place"], g["online_url"]) if x)
    if location:
        ev.add("location", location)
    if g["online_url"]:
        ev.add("url", g["online_url"])
    rule, until = gatherings.rule_of(g)
    if rule is not None:
        rrule = rule.rrule()
        if until is not None:  # UNTIL is UTC when DTSTART has a TZID (RFC 5545 3.3.10)
            last = datetime.combine(until, time(23, 59, 59), tzinfo=tz)
            rrule["UNTIL"] = last.astimezone(UTC)
        ev.add("rrule", rrule)
    if attendee is not None:
        person = vCalAddress(f"mailto:{attendee['email']}")
        person.params.update(
            {
                "CN": attendee["name"],
                "ROLE": "REQ-PARTICIPANT",
                "PARTSTAT": "NEEDS-ACTION",
                "RSVP": "TRUE",
                "CUTYPE": "INDIVIDUAL",
            }
        )
        ev.add("attendee", person)
    return ev


def _span(gs: list[Any]) -> tuple[date, date]:
    """The dates the VTIMEZONE must cover: first start to last end (2 years for open series)."""
    first = min(datetime.strptime(g["start_at"], gatherings.LOCAL_FMT) for g in gs).date()
    last = first
    for g in gs:
        end = gatherings.last_end(g)
        last = max(last, end.date() if end else first + timedelta(days=731))
    return first - timedelta(days=1), last + timedelta(days=1)


def calendar(
    conn: sqlite3.Connection,
    gs: list[Any],
    method: str = "PUBLISH",
    *,
    name: str | None = None,
    refresh: timedelta | None = None,
    **event_kwargs,
):
    from icalendar import Calendar

    if method not in METHODS:
        raise ValueError(f"method {method!r}")
    from zppcli.store import derived_id

    # the same calendar UID on every export: a feed by its name, a single event by its id
    cal_uid = (
        derived_id("calendar", name) if name else derived_id("calendar", *(g["id"] for g in gs))
    )
    cal = Calendar.new(
        prodid=PRODID, method=method, name=name, refresh_interval=refresh, uid=cal_uid
    )
    # Calendar.new writes NAME and X-WR-CALNAME; RFC 7986 wants VALUE=DURATION on
    # REFRESH-INTERVAL, and Outlook/Apple read X-PUBLISHED-TTL instead.
    if refresh:
        cal["REFRESH-INTERVAL"].params["VALUE"] = "DURATION"
        cal.add("x-published-ttl", refresh)
    for g in gs:
        cal.add_component(event(conn, g, **event_kwargs))
    if gs:
        first, last = _span(gs)
        cal.add_missing_timezones(first, last)
        _fix_onsets(cal)
    return cal


def _is_onset(zone, local: datetime, before: timedelta, after: timedelta) -> bool:
    instant = (local - before).replace(tzinfo=UTC)
    was = (instant - timedelta(seconds=1)).astimezone(zone).utcoffset()
    return was == before and instant.astimezone(zone).utcoffset() == after


def _onset(zone, local: datetime, before: timedelta, after: timedelta) -> datetime:
    if _is_onset(zone, local, before, after):
        return local
    shifted = local - (after - before)
    return shifted if _is_onset(zone, shifted, before, after) else local


def _fix_onsets(cal) -> None:
    """icalendar 7.3 writes the spring DST onset an hour late (T030000 for a change at
    02:00 local standard time). RFC 5545 wants each onset in the local time before the
    change (TZOFFSETFROM); put right every onset that is not a real transition."""
    from zoneinfo import ZoneInfo

    for vtz in cal.walk("VTIMEZONE"):
        try:
            zone = ZoneInfo(str(vtz["TZID"]))
        except (KeyError, ValueError):
            continue
        for sub in vtz.subcomponents:
            before, after = sub["TZOFFSETFROM"].td, sub["TZOFFSETTO"].td
            if before == after:
                continue
            start = sub["DTSTART"].dt
            if _onset(zone, start, before, after) != start:
                sub.pop("DTSTART")
                sub.add("DTSTART", _onset(zone, start, before, after))
            if "RDATE" in sub:
                lists = sub["RDATE"] if isinstance(sub["RDATE"], list) else [sub["RDATE"]]
                dates = [d.dt for rdates in lists for d in rdates.dts]
                right = [_onset(zone, d, before, after) for d in dates]
                if right != dates:
                    sub.pop("RDATE")
                    sub.add("RDATE", right)


def method_for(g: Any, personal: bool = False) -> str:
    if g["status"] == "cancelled":
        return "CANCEL"
    return "REQUEST" if personal else "PUBLISH"


def announcement(conn: sqlite3.Connection, g: Any, **kwargs) -> str:
    """One gathering as a published .ics (METHOD:CANCEL once cancelled)."""
    return to_text(calendar(conn, [g], method_for(g), **kwargs))


def invitation(conn: sqlite3.Connection, g: Any, attendee: dict[str, Any], **kwargs) -> str:
    """A personal REQUEST (or CANCEL) with that member as the only ATTENDEE."""
    return to_text(calendar(conn, [g], method_for(g, personal=True), attendee=attendee, **kwargs))


def feed(
    conn: sqlite3.Connection, name: str = "zpp gatherings", refresh: timedelta = timedelta(hours=12)
) -> str:
    """Every upcoming gathering (cancelled ones too, so subscribers see them go) in one calendar."""
    now = gatherings.now_utc()
    gs = [
        g
        for g in conn.execute("SELECT * FROM gatherings WHERE deleted = 0 ORDER BY start_at")
        if gatherings.next_occurrence(g, now)
    ]
    return to_text(calendar(conn, gs, "PUBLISH", name=name, refresh=refresh))


def to_text(cal) -> str:
    """CRLF line ends, folded at 75 octets (icalendar does both)."""
    return cal.to_ical().decode("utf-8")
