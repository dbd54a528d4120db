"""Gatherings: plan, edit, cancel, RSVP with capacity and waitlist, recurrence.

Times are stored as local wall-clock times ("2026-12-10T17:30:00") in the
gathering's time zone, so a weekly 17:30 stays 17:30 across a DST change; UTC
is computed when it is needed (windows, "upcoming", iCalendar UNTIL).
Every edit and cancel raises the iCalendar SEQUENCE and leaves a history row
saying what changed, for the "UPDATED: new time 18:00" line of the next
announcement.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from zppcli.errors import Conflict, InvalidInput, NotFound
from zppcli.store import Tx, derived_id, utc_now
from zppcli.textfold import fold

DEFAULT_TZ = "Europe/Amsterdam"
RESPONSES = ("yes", "no", "maybe")
STATES = ("going", "maybe", "waitlist", "no")
LOCAL_FMT = "%Y-%m-%dT%H:%M:%S"
WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
WEEKDAY_WORDS = {
    **{n: i for i, n in enumerate(WEEKDAY_NAMES)},
    **{n[:3]: i for i, n in enumerate(WEEKDAY_NAMES)},
    **{
        n: i
        for i, n in enumerate(
            ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")
        )
    },
}
ORDINALS = {
    "first": 1,
    "1st": 1,
    "eerste": 1,
    "second": 2,
    "2nd": 2,
    "tweede": 2,
    "third": 3,
    "3rd": 3,
    "derde": 3,
    "fourth": 4,
    "4th": 4,
    "vierde": 4,
    "last": -1,
    "laatste": -1,
}
ORDINAL_WORD = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}
ICAL_DAY = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
REPEAT_HELP = (
    "weekly, every N weeks, monthly, or monthly on first|second|third|fourth|last "
    'WEEKDAY; add "until DATE" to end it'
)
# Fields of a gathering a person edits (and the history records).
EDITABLE = (
    "title",
    "start_at",
    "end_at",
    "tz",
    "place",
    "online_url",
    "host_member_id",
    "host_collective_id",
    "description",
    "capacity",
    "rsvp_by",
    "audience",
    "repeat_rule",
    "repeat_until",
)


# -- time ------------------------------------------------------------------------
def zone(name: str) -> ZoneInfo:
    text = (name or "").strip()
    if not text or text.startswith(("/", ".")) or ".." in text:
        raise InvalidInput("time zone", name, "unknown; use an IANA name like Europe/Amsterdam")
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            "time zone", name, "unknown; use an IANA name like Europe/Amsterdam"
        ) from None


def now_utc() -> datetime:
    """Now, in UTC. $ZPP_NOW (ISO; Amsterdam time without an offset) pins it; else a
    pinned $ZPP_TODAY means noon of that day, so "upcoming" agrees with "tomorrow"."""
    pinned = os.environ.get("ZPP_NOW")
    if not pinned and os.environ.get("ZPP_TODAY"):
        pinned = os.environ["ZPP_TODAY"] + "T12:00:00"
    if pinned:
        value = datetime.fromisoformat(pinned)
        if value.tzinfo is None:
            value = value.replace(tzinfo=ZoneInfo(DEFAULT_TZ))
        return value.astimezone(UTC)
    return datetime.now(UTC)


def aware(local: str | datetime, tz: str) -> datetime:
    value = datetime.strptime(local, LOCAL_FMT) if isinstance(local, str) else local
    return value.replace(tzinfo=zone(tz))


def _exists(local: datetime, tz: ZoneInfo) -> bool:
    """False for wall times skipped by a DST change (02:30 on the last Sunday of March)."""
    there = local.replace(tzinfo=tz)
    back = datetime.fromtimestamp(there.timestamp(), tz).replace(tzinfo=None)
    return back == local


_WHEN_RE = re.compile(
    r"^(?P<date>.+?)[ T]+(?P<h>\d{1,2})[:.](?P<m>\d{2})(?::(?P<s>\d{2}))?"
    r"\s*(?P<off>Z|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)


def parse_when(text: str, tz: str, field_name: str = "start", base: date | None = None) -> datetime:
    """'2026-12-10 17:30' (in tz), '...+01:00', 'tomorrow 19:00', or '18:00' (on base's date)
    -> a naive local wall-clock time in tz."""
    from zppcli import dates

    where = zone(tz)
    value = (text or "").strip()
    time_only = re.fullmatch(r"(\d{1,2})[:.](\d{2})", value)
    if time_only and base is not None:
        day, hour, minute, second, offset = base, int(time_only[1]), int(time_only[2]), 0, None
    else:
        match = _WHEN_RE.match(value)
        if not match:
            raise InvalidInput(field_name, text, 'use a date and a time, like "2026-12-10 17:30"')
        day = dates.parse_date(match["date"], field_name)
        hour, minute, second = int(match["h"]), int(match["m"]), int(match["s"] or 0)
        offset = match["off"]
    try:
        local = datetime(day.year, day.month, day.day, hour, minute, second)
    except ValueError:
        raise InvalidInput(field_name, text, "not a valid time of day") from None
    if offset:
        from datetime import timezone

        if offset.upper() == "Z":
            fixed = UTC
        else:
            sign = -1 if offset[0] == "-" else 1
            digits = offset[1:].replace(":", "")
            fixed = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
        return local.replace(tzinfo=fixed).astimezone(where).replace(tzinfo=None)
    if not _exists(local, where):
        raise InvalidInput(
            field_name, text, f"that time does not exist in {tz} (the clocks go forward)"
        )
    return local


def parse_duration(text: str) -> timedelta:
    value = (text or "").strip().lower().replace(" ", "")
    match = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m(?:in)?)?", value) if value else None
    if match and (match[1] or match[2]):
        span = timedelta(hours=int(match[1] or 0), minutes=int(match[2] or 0))
    elif re.fullmatch(r"\d{1,2}:\d{2}", value):
        h, m = value.split(":")
        span = timedelta(hours=int(h), minutes=int(m))
    else:
        raise InvalidInput("duration", text, "use hours and minutes, like 2h, 90m or 1h30m")
    if span <= timedelta(0):
        raise InvalidInput("duration", text, "must be longer than zero")
    return span


# -- recurrence ------------------------------------------------------------------
@dataclass(frozen=True)
class Repeat:
    kind: str  # "weekly" | "monthly" | "monthly-nth"
    interval: int = 1
    nth: int = 0  # 1..4 or -1 (last), for monthly-nth
    weekday: int = 0

    def text(self) -> str:
        if self.kind == "weekly":
            return "weekly" if self.interval == 1 else f"every {self.interval} weeks"
        if self.kind == "monthly":
            return "monthly"
        return f"monthly on {ORDINAL_WORD[self.nth]} {WEEKDAY_NAMES[self.weekday]}"

    def rrule(self) -> dict[str, Any]:
        if self.kind == "weekly":
            return {"FREQ": "WEEKLY", "INTERVAL": self.interval}
        if self.kind == "monthly":
            return {"FREQ": "MONTHLY"}
        return {"FREQ": "MONTHLY", "BYDAY": f"{self.nth}{ICAL_DAY[self.weekday]}"}


_NTH_RE = re.compile(
    r"(?:monthly|maandelijks|every month|elke maand)(?: on| op)?(?: the| de)? (?P<ord>\S+) (?P<day>\S+)"
)
_NTH_OF_RE = re.compile(
    r"(?:every|elke|iedere) (?P<ord>\S+) (?P<day>\S+) (?:of the month|van de maand)"
)


def _known_nth(m: re.Match) -> bool:
    return m["ord"] in ORDINALS and m["day"] in WEEKDAY_WORDS


def parse_repeat(text: str) -> tuple[Repeat | None, date | None]:
    """'every 2 weeks until 2027-06-30' -> (Repeat, until). '' or 'none' -> (None, None)."""
    from zppcli import dates

    value = re.sub(r"\s+", " ", (text or "").strip().lower())
    if value in ("", "none", "no", "never", "geen"):
        return None, None
    until = None
    match = re.fullmatch(r"(.+?) (?:until|tot|t/m) (.+)", value)
    if match:
        value, until = match[1], dates.parse_date(match[2], "repeat until")
    rule: Repeat | None = None
    if value in ("weekly", "every week", "wekelijks", "elke week", "iedere week"):
        rule = Repeat("weekly")
    elif value in ("biweekly", "fortnightly", "tweewekelijks"):
        rule = Repeat("weekly", 2)
    elif m := re.fullmatch(r"(?:every|elke|iedere) (\d{1,2}) (?:weeks|weken)", value):
        rule = Repeat("weekly", int(m[1])) if int(m[1]) >= 1 else None
    elif value in ("monthly", "every month", "maandelijks", "elke maand", "iedere maand"):
        rule = Repeat("monthly")
    elif (m := _NTH_RE.fullmatch(value) or _NTH_OF_RE.fullmatch(value)) and _known_nth(m):
        rule = Repeat("monthly-nth", nth=ORDINALS[m["ord"]], weekday=WEEKDAY_WORDS[m["day"]])
    if rule is None:
        raise InvalidInput("repeat", text, f"not a rule I know; use {REPEAT_HELP}")
    return rule, until


def nth_weekday(year: int, month: int, nth: int, weekday: int) -> date | None:
    if nth > 0:
        first = date(year, month, 1)
        day = first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))
        return day if day.month == month else None
    nxt = date(year + month // 12, month % 12 + 1, 1)
    last = nxt - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def starts(start: datetime, rule: Repeat | None, until: date | None, limit: date) -> list[datetime]:
    """Local start times of every occurrence up to the date `limit` (inclusive)."""
    if rule is None:
        return [start] if start.date() <= limit else []
    stop = min(limit, until) if until else limit
    out: list[datetime] = []
    if rule.kind == "weekly":
        current = start
        while current.date() <= stop:
            out.append(current)
            current += timedelta(weeks=rule.interval)
        return out
    year, month = start.year, start.month
    while date(year, month, 1) <= stop:
        if rule.kind == "monthly":
            try:
                day = date(year, month, start.day)
            except ValueError:  # no 31st this month: RFC 5545 skips it
                day = None
        else:
            day = nth_weekday(year, month, rule.nth, rule.weekday)
        if day and start.date() <= day <= stop:
            out.append(datetime.combine(day, start.time()))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


# -- reading ---------------------------------------------------------------------
def rule_of(g: sqlite3.Row | dict) -> tuple[Repeat | None, date | None]:
    if not g["repeat_rule"]:
        return None, None
    rule, _ = parse_repeat(g["repeat_rule"])
    return rule, date.fromisoformat(g["repeat_until"]) if g["repeat_until"] else None


def occurrences(
    g: sqlite3.Row | dict, after: datetime, before: datetime
) -> list[tuple[datetime, datetime]]:
    """(local start, local end) of the occurrences that end after `after` and start before
    `before` (both aware)."""
    start = datetime.strptime(g["start_at"], LOCAL_FMT)
    span = datetime.strptime(g["end_at"], LOCAL_FMT) - start
    where = zone(g["tz"])
    rule, until = rule_of(g)
    limit = before.astimezone(where).date() + timedelta(days=1)
    out = []
    for s in starts(start, rule, until, limit):
        e = s + span
        if e.replace(tzinfo=where) > after and s.replace(tzinfo=where) < before:
            out.append((s, e))
    return out


def next_occurrence(
    g: sqlite3.Row | dict, now: datetime | None = None
) -> tuple[datetime, datetime] | None:
    """The first occurrence not yet over; None when the gathering is past."""
    now = now or now_utc()
    # far enough for any rule (monthly: a 31st comes within a year), from the later of now
    # and the first start, so a gathering planned years ahead is still upcoming
    horizon = max(now, aware(g["start_at"], g["tz"])) + timedelta(days=400)
    found = occurrences(g, now, horizon)
    return found[0] if found else None


def last_end(g: sqlite3.Row | dict) -> datetime | None:
    """The local end of the last occurrence; None for an open-ended series."""
    start = datetime.strptime(g["start_at"], LOCAL_FMT)
    span = datetime.strptime(g["end_at"], LOCAL_FMT) - start
    rule, until = rule_of(g)
    if rule is None:
        return start + span
    if until is None:
        return None
    found = starts(start, rule, until, until)
    return (found[-1] if found else start) + span


def get_row(conn: sqlite3.Connection, gathering_id: str) -> sqlite3.Row:
    row = conn.execute(
        "SELECT * FROM gatherings WHERE id = ? AND deleted = 0", (gathering_id,)
    ).fetchone()
    if row is None:
        raise NotFound(f"gathering {gathering_id!r} not found")
    return row


def resolve(conn: sqlite3.Connection, ref: str) -> sqlite3.Row:
    """A gathering by id prefix (4+ characters) or by its title."""
    text = (ref or "").strip()
    lowered = text.lower()
    if re.fullmatch(r"[0-9a-f-]{4,36}", lowered):
        rows = conn.execute(
            "SELECT * FROM gatherings WHERE deleted = 0 AND id >= ? AND id < ? LIMIT 5",
            (lowered, lowered + "\uffff"),
        ).fetchall()
        if len(rows) == 1:
            return rows[0]
        if len(rows) > 1:
            raise Conflict(
                f"gathering {ref!r}: the id prefix fits {len(rows)} gatherings; type more of it"
            )
    rows = [
        r
        for r in conn.execute("SELECT * FROM gatherings WHERE deleted = 0 ORDER BY start_at")
        if fold(r["title"]) == fold(text)
    ]
    if len(rows) > 1:
        upcoming = [r for r in rows if next_occurrence(r)]
        if len(upcoming) == 1:
            return upcoming[0]
        raise Conflict(f"gathering {ref!r} fits {len(rows)} gatherings; use its id")
    if rows:
        return rows[0]
    raise NotFound(f"gathering {ref!r}: no gathering with that id or title")


def host_of(conn: sqlite3.Connection, g: sqlite3.Row | dict) -> dict[str, Any] | None:
    """{kind, handle, name, record|row} for the host, or None."""
    from zppcli import members

    if g["host_member_id"]:
        found = members.records(conn, [g["host_member_id"]])
        if found:
            rec = found[0]
            return {"kind": "member", "handle": rec["handle"], "name": rec["name"], "record": rec}
    if g["host_collective_id"]:
        row = conn.execute(
            "SELECT * FROM collectives WHERE id = ? AND deleted = 0", (g["host_collective_id"],)
        ).fetchone()
        if row:
            return {
                "kind": "collective",
                "handle": row["handle"],
                "name": row["name"],
                "website": row["website"],
            }
    return None


def counts(conn: sqlite3.Connection, gathering_id: str) -> dict[str, int]:
    out = dict.fromkeys(STATES, 0)
    for r in conn.execute(
        "SELECT state, count(*) FROM gathering_rsvps WHERE gathering_id = ? AND deleted = 0 GROUP BY state",
        (gathering_id,),
    ):
        out[r[0]] = r[1]
    return out


def history(conn: sqlite3.Connection, gathering_id: str) -> list[dict[str, Any]]:
    return [
        {
            "sequence": r["sequence"],
            "kind": r["kind"],
            "changes": json.loads(r["changes"]),
            "reason": r["reason"],
            "at": r["created_at"],
        }
        for r in conn.execute(
            "SELECT * FROM gathering_history WHERE gathering_id = ? AND deleted = 0"
            " ORDER BY sequence, created_at",
            (gathering_id,),
        )
    ]


def audience_filters(g: sqlite3.Row | dict):
    from zppcli import search

    return search.Filters.from_json(g["audience"] or "{}")


def record(conn: sqlite3.Connection, g: sqlite3.Row) -> dict[str, Any]:
    """The gathering as `show` and the JSON output give it."""
    host = host_of(conn, g)
    nxt = next_occurrence(g)
    tally = counts(conn, g["id"])
    return {
        "id": g["id"],
        "title": g["title"],
        "start": g["start_at"],
        "end": g["end_at"],
        "tz": g["tz"],
        "next": nxt[0].strftime(LOCAL_FMT) if nxt else None,
        "repeat": g["repeat_rule"] + (f" until {g['repeat_until']}" if g["repeat_until"] else ""),
        "place": g["place"],
        "online": g["online_url"],
        "host": f"{host['name']} ({host['handle']})" if host else "",
        "description": g["description"],
        "capacity": g["capacity"],
        "going": tally["going"],
        "maybe": tally["maybe"],
        "waitlist": tally["waitlist"],
        "no": tally["no"],
        "rsvp_by": g["rsvp_by"],
        "audience": audience_filters(g).describe(),
        "status": g["status"],
        "cancel_reason": g["cancel_reason"],
        "sequence": g["sequence"],
        "history": history(conn, g["id"]),
        "created_at": g["created_at"],
        "updated_at": g["updated_at"],
    }


def listing(conn: sqlite3.Connection, which: str = "upcoming") -> list[dict[str, Any]]:
    """Rows for `list`: upcoming (default), past or all, soonest first."""
    if which not in ("upcoming", "past", "all"):
        raise InvalidInput("list", which, "use upcoming, past or all")
    now = now_utc()
    out = []
    for g in conn.execute("SELECT * FROM gatherings WHERE deleted = 0"):
        nxt = next_occurrence(g, now)
        if (which == "upcoming" and not nxt) or (which == "past" and nxt):
            continue
        tally = counts(conn, g["id"])
        when = nxt[0] if nxt else datetime.strptime(g["start_at"], LOCAL_FMT)
        host = host_of(conn, g)
        out.append(
            {
                "when": when.strftime("%Y-%m-%d %H:%M"),
                "title": g["title"],
                "place": g["place"] or ("online" if g["online_url"] else ""),
                "host": host["handle"] if host else "",
                "going": tally["going"],
                "capacity": g["capacity"],
                "waitlist": tally["waitlist"],
                "repeat": g["repeat_rule"],
                "status": g["status"],
                "id": g["id"],
                "_sort": when.replace(tzinfo=zone(g["tz"])),
            }
        )
    out.sort(key=lambda r: r["_sort"], reverse=which == "past")
    for row in out:
        del row["_sort"]
    return out


# -- writing ---------------------------------------------------------------------
@dataclass
class GatheringInput:
    """What a user asked to set; None means 'leave as it is' (or the default on add)."""

    title: str | None = None
    start: str | None = None
    end: str | None = None
    duration: str | None = None
    tz: str | None = None
    place: str | None = None
    online: str | None = None
    host: str | None = None  # member or collective; "" clears
    description: str | None = None
    capacity: int | str | None = None  # "" or "none" clears
    rsvp_by: str | None = None  # "" clears
    repeat: str | None = None  # "" or "none" clears
    audience: Any = None  # search.Filters
    extra: dict[str, Any] = field(default_factory=dict)


def _one_line(value: str, field_name: str, required: bool = False) -> str:
    text = value.strip()
    if required and not text:
        raise InvalidInput(field_name, value, "cannot be empty")
    if re.search(r"[\x00-\x1f\x7f]", text):
        raise InvalidInput(field_name, value, "must be one line without control characters")
    return text


def _capacity(value: int | str) -> int | None:
    if value in ("", "none", None):
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        raise InvalidInput("capacity", value, "a whole number of places, like 20") from None
    if number < 0:
        raise InvalidInput("capacity", value, "cannot be negative")
    return number


def _host(conn: sqlite3.Connection, ref: str) -> tuple[str | None, str | None]:
    """(member id, collective id) for a host reference: a member handle, a collective, a name."""
    from zppcli import collectives, members

    text = ref.strip()
    if not text:
        return None, None
    row = members.find_by_handle(conn, text)
    if row is not None:
        return row["id"], None
    coll = collectives.find(conn, text)
    if coll is not None:
        return None, coll["id"]
    try:
        return members.resolve(conn, text, "host")["id"], None
    except NotFound:
        raise NotFound(
            f"host {ref!r}: no member or collective with that handle, id or name"
        ) from None


def _validated(
    conn: sqlite3.Connection, data: GatheringInput, old: sqlite3.Row | None
) -> dict[str, Any]:
    """The new column values (all of them on add; the touched ones on edit)."""
    from zppcli import members

    values: dict[str, Any] = {}
    cur = dict(old) if old is not None else {}
    if data.title is not None or old is None:
        values["title"] = _one_line(data.title or "", "title", required=True)
    tz = data.tz.strip() if data.tz is not None else cur.get("tz", DEFAULT_TZ)
    zone(tz)
    if data.tz is not None:
        values["tz"] = tz
    old_start = datetime.strptime(cur["start_at"], LOCAL_FMT) if cur else None
    old_end = datetime.strptime(cur["end_at"], LOCAL_FMT) if cur else None
    if data.start is not None:
        start = parse_when(data.start, tz, "start")
    elif old_start is not None:
        start = old_start
    else:
        raise InvalidInput("start", "", 'a gathering needs --start, like "2026-12-10 17:30"')
    if data.end is not None and data.duration is not None:
        raise InvalidInput("end", data.end, "give --end or --duration, not both")
    if data.end is not None:
        end = parse_when(data.end, tz, "end", base=start.date())
    elif data.duration is not None:
        end = start + parse_duration(data.duration)
    elif old_start is not None and old_end is not None:
        end = start + (old_end - old_start)  # moving the start keeps the length
    else:
        end = start + timedelta(hours=2)
    if end <= start:
        raise InvalidInput(
            "end",
            data.end or data.duration or end.strftime("%Y-%m-%d %H:%M"),
            f"must be after the start ({start.strftime('%Y-%m-%d %H:%M')})",
        )
    if data.start is not None or old is None:
        values["start_at"] = start.strftime(LOCAL_FMT)
    if end != old_end:
        values["end_at"] = end.strftime(LOCAL_FMT)
    if data.place is not None:
        values["place"] = _one_line(data.place, "place")
    if data.online is not None:
        values["online_url"] = members.check_url(data.online, "online link")
    if data.host is not None:
        values["host_member_id"], values["host_collective_id"] = _host(conn, data.host)
    if data.description is not None:
        values["description"] = data.description.strip()
    if data.capacity is not None:
        values["capacity"] = _capacity(data.capacity)
    if data.rsvp_by is not None:
        if data.rsvp_by.strip() in ("", "none"):
            values["rsvp_by"] = None
        else:
            from zppcli import dates

            deadline = dates.parse_date(data.rsvp_by, "rsvp by")
            if deadline > start.date():
                raise InvalidInput("rsvp by", data.rsvp_by, f"is after the start ({start.date()})")
            values["rsvp_by"] = deadline.isoformat()
    if data.repeat is not None:
        rule, until = parse_repeat(data.repeat)
        values["repeat_rule"] = rule.text() if rule else ""
        values["repeat_until"] = until.isoformat() if until else None
    rule_text = values.get("repeat_rule", cur.get("repeat_rule", ""))
    if rule_text:
        rule, _ = parse_repeat(rule_text)
        until_text = values.get("repeat_until", cur.get("repeat_until"))
        if until_text and date.fromisoformat(until_text) < start.date():
            raise InvalidInput(
                "repeat", data.repeat or rule_text, f"ends ({until_text}) before the start"
            )
        if (
            rule.kind == "monthly-nth"
            and nth_weekday(start.year, start.month, rule.nth, rule.weekday) != start.date()
        ):
            raise InvalidInput(
                "start",
                start.strftime("%Y-%m-%d"),
                f"is not the {ORDINAL_WORD[rule.nth]} {WEEKDAY_NAMES[rule.weekday]} of its month "
                f"(repeat {rule.text()!r}); start on the first occurrence",
            )
    if data.audience is not None:
        from zppcli import search

        # refuses unknown skills, levels ... now, not at announce time
        search.find(conn, data.audience)
        values["audience"] = data.audience.to_json()
    elif old is None:
        values["audience"] = "{}"
    return values


def add(tx: Tx, data: GatheringInput) -> str:
    """Plan a gathering; returns its id."""
    values = _validated(tx.conn, data, None)
    values.setdefault("tz", DEFAULT_TZ)
    values.update({"status": "confirmed", "sequence": 0})
    return tx.insert("gatherings", values)


def _log(tx: Tx, g: sqlite3.Row, sequence: int, kind: str, changes: dict, reason: str = "") -> None:
    tx.insert(
        "gathering_history",
        {
            "gathering_id": g["id"],
            "sequence": sequence,
            "kind": kind,
            "changes": changes,
            "reason": reason,
        },
    )


def edit(tx: Tx, g: sqlite3.Row, data: GatheringInput) -> dict[str, list]:
    """Change a gathering; returns {field: [old, new]} (empty when nothing changed)."""
    if g["status"] == "cancelled":
        raise Conflict(f"gathering {g['title']!r} is cancelled; plan a new one instead")
    values = _validated(tx.conn, data, g)
    changes = {k: [g[k], v] for k, v in values.items() if g[k] != v}
    if not changes:
        return {}
    sequence = g["sequence"] + 1
    tx.update("gatherings", g["id"], {**{k: values[k] for k in changes}, "sequence": sequence})
    _log(tx, g, sequence, "edit", changes)
    if "capacity" in changes:
        promote(tx, get_row(tx.conn, g["id"]))
    return changes


def cancel(tx: Tx, g: sqlite3.Row, reason: str = "") -> int:
    """Cancel; returns the new SEQUENCE."""
    if g["status"] == "cancelled":
        raise Conflict(f"gathering {g['title']!r} is already cancelled")
    reason = reason.strip()
    sequence = g["sequence"] + 1
    tx.update(
        "gatherings",
        g["id"],
        {"status": "cancelled", "cancel_reason": reason, "sequence": sequence},
    )
    _log(tx, g, sequence, "cancel", {"status": ["confirmed", "cancelled"]}, reason)
    return sequence


def resequence(tx: Tx) -> list[str]:
    """After a merge: number again the gatherings that two devices changed at once.

    Each device raised SEQUENCE from what it knew, so both edits carry the same
    number, and a calendar that got one ignores the other (RFC 5546 wants a
    higher SEQUENCE for every revision). History entries are numbered again in
    order (sequence, time, id) and SEQUENCE becomes their count: the same values
    on every device that has the same entries, so copies still converge.
    Returns the titles of the gatherings renumbered.
    """
    conn = tx.conn
    renumbered = []
    for gathering_id, title, sequence in conn.execute(
        """SELECT g.id, g.title, g.sequence FROM gatherings g
            WHERE g.id IN (SELECT gathering_id FROM gathering_history WHERE deleted = 0
                            GROUP BY gathering_id HAVING count(*) > count(DISTINCT sequence))"""
    ).fetchall():
        entries = conn.execute(
            "SELECT id, sequence FROM gathering_history WHERE gathering_id = ? AND deleted = 0"
            " ORDER BY sequence, created_at, id",
            (gathering_id,),
        ).fetchall()
        for number, (entry_id, old) in enumerate(entries, start=1):
            if old != number:
                tx.update("gathering_history", entry_id, {"sequence": number})
        if len(entries) > sequence:
            tx.update("gatherings", gathering_id, {"sequence": len(entries)})
        renumbered.append(title)
    return renumbered


def rsvp_id(gathering_id: str, member_id: str) -> str:
    return derived_id("gathering_rsvp", gathering_id, member_id)


@dataclass
class RsvpResult:
    state: str
    promoted: list[str]  # member ids moved off the waitlist by this answer
    warnings: list[str]


def rsvp(
    tx: Tx, g: sqlite3.Row, member_id: str, response: str, note: str | None = None
) -> RsvpResult:
    """Record an answer. A yes beyond the capacity waits; a going yes turning into
    no/maybe promotes the first on the waitlist."""
    response = (response or "").strip().lower()
    response = {"ja": "yes", "nee": "no", "misschien": "maybe"}.get(response, response)
    if response not in RESPONSES:
        raise InvalidInput("answer", response, "use yes, no or maybe")
    if g["status"] == "cancelled":
        raise Conflict(f"gathering {g['title']!r} is cancelled; RSVPs are closed")
    if next_occurrence(g) is None:
        raise Conflict(f"gathering {g['title']!r} has already taken place")
    warnings = []
    if g["rsvp_by"] and now_utc().astimezone(zone(g["tz"])).date() > date.fromisoformat(
        g["rsvp_by"]
    ):
        warnings.append(f"note: the RSVP deadline ({g['rsvp_by']}) has passed; recorded anyway")
    row_id = rsvp_id(g["id"], member_id)
    old = tx.conn.execute(
        "SELECT * FROM gathering_rsvps WHERE id = ? AND deleted = 0", (row_id,)
    ).fetchone()
    old_state = old["state"] if old else None
    if response == "yes":
        if old_state in ("going", "waitlist"):
            state = old_state
        else:
            going = counts(tx.conn, g["id"])["going"]
            state = "going" if g["capacity"] is None or going < g["capacity"] else "waitlist"
    else:
        state = response if response == "maybe" else "no"
    values = {
        "gathering_id": g["id"],
        "member_id": member_id,
        "response": response,
        "state": state,
    }
    if note is not None or old is None:  # answering again without --note keeps the note
        values["note"] = (note or "").strip()
    if old is None or old_state != state:
        values["answered_at"] = utc_now()  # the waitlist is served in this order
    if state != "going":
        values["promoted_at"] = None
    tx.upsert("gathering_rsvps", row_id, values)
    promoted = promote(tx, g) if old_state == "going" and state != "going" else []
    return RsvpResult(state, promoted, warnings)


def promote(tx: Tx, g: sqlite3.Row) -> list[str]:
    """Move people off the waitlist while there is room; returns their member ids."""
    promoted = []
    while True:
        going = counts(tx.conn, g["id"])["going"]
        if g["capacity"] is not None and going >= g["capacity"]:
            return promoted
        first = tx.conn.execute(
            "SELECT id, member_id FROM gathering_rsvps WHERE gathering_id = ? AND deleted = 0"
            " AND state = 'waitlist' ORDER BY answered_at, id LIMIT 1",
            (g["id"],),
        ).fetchone()
        if first is None:
            return promoted
        tx.update("gathering_rsvps", first["id"], {"state": "going", "promoted_at": utc_now()})
        promoted.append(first["member_id"])


def attendees(conn: sqlite3.Connection, g: sqlite3.Row) -> list[dict[str, Any]]:
    """Everyone who answered: going, maybe, waitlist (in queue order), no."""
    from zppcli import members

    rows = conn.execute(
        "SELECT * FROM gathering_rsvps WHERE gathering_id = ? AND deleted = 0 ORDER BY answered_at, id",
        (g["id"],),
    ).fetchall()
    recs = {r["id"]: r for r in members.records(conn, [r["member_id"] for r in rows])}
    out = []
    waiting = 0
    for r in sorted(rows, key=lambda r: STATES.index(r["state"])):
        rec = recs.get(r["member_id"])
        if r["state"] == "waitlist":
            waiting += 1
        out.append(
            {
                "state": r["state"],
                "position": waiting if r["state"] == "waitlist" else None,
                "handle": rec["handle"] if rec else "(removed member)",
                "name": rec["name"] if rec else "",
                "city": rec["city"] if rec else "",
                "note": r["note"],
                "answered_at": r["answered_at"],
                "promoted_at": r["promoted_at"],
                "member_id": r["member_id"],
            }
        )
    return out


# -- audience and sends ----------------------------------------------------------
@dataclass
class Audience:
    recipients: list[dict[str, Any]]  # member records that can be e-mailed: + "email"
    private: list[dict[str, Any]]  # left out: private visibility
    no_email: list[dict[str, Any]]  # left out: no e-mail address

    def notes(self) -> list[str]:
        out = []
        if self.private:
            out.append(
                f"not addressed ({len(self.private)} with private visibility): "
                + ", ".join(m["handle"] for m in self.private)
            )
        if self.no_email:
            out.append(
                f"not addressed ({len(self.no_email)} without an e-mail address): "
                + ", ".join(m["handle"] for m in self.no_email)
            )
        return out


def email_of(rec: dict[str, Any]) -> str | None:
    """The address to write to: the preferred one (a private address is fine in Bcc)."""
    return rec["emails"][0]["value"] if rec["emails"] else None


def public_email(rec: dict[str, Any]) -> str | None:
    """An address that may be shown to others: public member, non-private address."""
    if rec["visibility"] != "public":
        return None
    shown = [e["value"] for e in rec["emails"] if not e["private"]]
    return shown[0] if shown else None


def audience(conn: sqlite3.Connection, g: sqlite3.Row | dict) -> Audience:
    from zppcli import members, search

    ids = search.find(conn, audience_filters(g), sort="name")
    result = Audience([], [], [])
    for rec in members.records(conn, ids):
        if rec["visibility"] == "private":
            result.private.append(rec)
        elif not email_of(rec):
            result.no_email.append(rec)
        else:
            result.recipients.append({**rec, "email": email_of(rec)})
    return result


def send_id(gathering_id: str, kind: str, occurrence: str, recipient: str, sequence: int) -> str:
    return derived_id("gathering_send", gathering_id, kind, occurrence, recipient, str(sequence))


def was_sent(conn: sqlite3.Connection, row_id: str) -> bool:
    return (
        conn.execute(
            "SELECT 1 FROM gathering_sends WHERE id = ? AND deleted = 0", (row_id,)
        ).fetchone()
        is not None
    )


def record_send(
    tx: Tx,
    g: sqlite3.Row,
    kind: str,
    occurrence: str = "",
    recipient: str = "",
    sequence: int | None = None,
) -> None:
    seq = g["sequence"] if sequence is None else sequence
    row_id = send_id(g["id"], kind, occurrence, recipient, seq)
    if not was_sent(tx.conn, row_id):
        tx.upsert(
            "gathering_sends",
            row_id,
            {
                "gathering_id": g["id"],
                "kind": kind,
                "occurrence": occurrence,
                "recipient": recipient,
                "sequence": seq,
                "sent_at": utc_now(),
            },
        )


def unannounced_changes(conn: sqlite3.Connection, g: sqlite3.Row) -> list[dict[str, Any]]:
    """History entries since the last announcement of an earlier version.

    Announcing the same version on several channels gives each the same
    "UPDATED" lines; before any announcement, there is nothing to update."""
    row = conn.execute(
        "SELECT max(sequence) FROM gathering_sends WHERE gathering_id = ? AND kind = 'announce'"
        " AND deleted = 0 AND sequence < ?",
        (g["id"], g["sequence"]),
    ).fetchone()
    if row[0] is None:
        return []
    return [h for h in history(conn, g["id"]) if h["sequence"] > row[0]]


@dataclass
class Reminder:
    gathering: sqlite3.Row
    kind: str  # "reminder" | "promotion"
    occurrence: tuple[datetime, datetime]
    member: dict[str, Any]
    send_id: str


def due(conn: sqlite3.Connection, before: timedelta) -> tuple[list[Reminder], list[str]]:
    """Reminders for occurrences starting within `before` from now (to members going or
    maybe) and waitlist promotions not yet told; plus notes about who cannot be reached."""
    from zppcli import members

    now = now_utc()
    out: list[Reminder] = []
    notes: list[str] = []
    for g in conn.execute("SELECT * FROM gatherings WHERE deleted = 0 AND status = 'confirmed'"):
        # starting after now and at most `before` from now (the end of the window included)
        upcoming = [
            o
            for o in occurrences(g, now, now + before + timedelta(seconds=1))
            if now < o[0].replace(tzinfo=zone(g["tz"])) <= now + before
        ]
        nxt = next_occurrence(g, now)
        rsvps = conn.execute(
            "SELECT * FROM gathering_rsvps WHERE gathering_id = ? AND deleted = 0 AND state IN ('going', 'maybe')",
            (g["id"],),
        ).fetchall()
        recs = {r["id"]: r for r in members.records(conn, [r["member_id"] for r in rsvps])}
        for r in rsvps:
            rec = recs.get(r["member_id"])
            if rec is None:
                continue
            todo = []
            if r["promoted_at"] and nxt:
                todo.append(("promotion", nxt, r["promoted_at"]))
            todo += [("reminder", o, "") for o in upcoming]
            for kind, occ, extra in todo:
                occurrence = occ[0].strftime(LOCAL_FMT)
                row_id = send_id(
                    g["id"], kind, occurrence if kind == "reminder" else extra, r["member_id"], 0
                )
                if was_sent(conn, row_id):
                    continue
                if not email_of(rec):
                    notes.append(
                        f"{rec['handle']} has no e-mail address: no {kind} for {g['title']!r}"
                    )
                    continue
                out.append(Reminder(g, kind, occ, rec, row_id))
    return out, notes


def mark_reminded(tx: Tx, reminder: Reminder) -> None:
    g = reminder.gathering
    occurrence = reminder.occurrence[0].strftime(LOCAL_FMT)
    if reminder.kind == "promotion":
        promoted = tx.conn.execute(
            "SELECT promoted_at FROM gathering_rsvps WHERE id = ?",
            (rsvp_id(g["id"], reminder.member["id"]),),
        ).fetchone()
        occurrence = promoted[0] if promoted else occurrence
    tx.upsert(
        "gathering_sends",
        reminder.send_id,
        {
            "gathering_id": g["id"],
            "kind": reminder.kind,
            "occurrence": occurrence,
            "recipient": reminder.member["id"],
            "sequence": 0,
            "sent_at": utc_now(),
        },
    )
