"""Availability periods: available / partly / booked, inclusive dates.

Setting a period overrides what it overlaps: older periods are trimmed or
split around it, so a member's periods never overlap.
"""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from typing import TYPE_CHECKING

from zppcli.errors import InvalidInput

if TYPE_CHECKING:
    from zppcli.store import Tx

STATUSES = ("available", "partly", "booked")


def check_status(status: str) -> str:
    value = status.strip().lower()
    if value not in STATUSES:
        raise InvalidInput("status", status, f"use one of {', '.join(STATUSES)}")
    return value


def check_hours(hours: float | None) -> float | None:
    if hours is not None and not 0 <= hours <= 168:
        raise InvalidInput("hours", hours, "hours per week must be between 0 and 168")
    return hours


def _day(d: date, delta: int) -> str:
    return (d + timedelta(days=delta)).isoformat()


def set_period(
    tx: Tx,
    member_id: str,
    start: date,
    end: date,
    status: str,
    hours: float | None = None,
    note: str = "",
) -> str:
    if end < start:
        raise InvalidInput("to", end.isoformat(), f"is before from ({start.isoformat()})")
    status, hours = check_status(status), check_hours(hours)
    clear(tx, member_id, start, end)
    return tx.insert(
        "availability",
        {
            "member_id": member_id,
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
            "status": status,
            "hours_per_week": hours,
            "note": note.strip(),
        },
    )


def clear(tx: Tx, member_id: str, start: date | None = None, end: date | None = None) -> int:
    """Remove availability in [start, end] (all of it without dates); returns periods touched."""
    lo = start.isoformat() if start else "0000-01-01"
    hi = end.isoformat() if end else "9999-12-31"
    rows = tx.conn.execute(
        "SELECT * FROM availability WHERE member_id = ? AND deleted = 0"
        " AND start_date <= ? AND end_date >= ?",
        (member_id, hi, lo),
    ).fetchall()
    for row in rows:
        keeps_head, keeps_tail = row["start_date"] < lo, row["end_date"] > hi
        if keeps_head and keeps_tail:  # split: keep the head here, copy the tail
            tx.update("availability", row["id"], {"end_date": _day(start, -1)})
            tx.insert(
                "availability",
                {
                    "member_id": member_id,
                    "start_date": _day(end, 1),
                    "end_date": row["end_date"],
                    "status": row["status"],
                    "hours_per_week": row["hours_per_week"],
                    "note": row["note"],
                },
            )
        elif keeps_head:
            tx.update("availability", row["id"], {"end_date": _day(start, -1)})
        elif keeps_tail:
            tx.update("availability", row["id"], {"start_date": _day(end, 1)})
        else:
            tx.delete("availability", row["id"])
    return len(rows)


def periods(
    conn: sqlite3.Connection,
    member_ids: list[str] | None = None,
    start: date | None = None,
    end: date | None = None,
) -> list[sqlite3.Row]:
    sql = """SELECT a.*, m.handle, m.display_name FROM availability a
               JOIN members m ON m.id = a.member_id AND m.deleted = 0
              WHERE a.deleted = 0"""
    params: list = []
    if member_ids is not None:
        sql += f" AND a.member_id IN ({','.join('?' * len(member_ids))})"
        params += member_ids
    if start:
        sql += " AND a.end_date >= ?"
        params.append(start.isoformat())
    if end:
        sql += " AND a.start_date <= ?"
        params.append(end.isoformat())
    return conn.execute(sql + " ORDER BY m.sort_key, a.start_date", params).fetchall()


def is_free(spans: list[tuple[str, str, str]], start: date, end: date) -> bool:
    """True when available/partly periods cover [start, end] and nothing booked overlaps it.

    spans: (start_date, end_date, status) of one member, ISO strings.
    """
    lo, hi = start.isoformat(), end.isoformat()
    if any(s == "booked" and a <= hi and b >= lo for a, b, s in spans):
        return False
    cursor = start
    for a, b, _ in sorted(x for x in spans if x[2] != "booked"):
        if a > cursor.isoformat():
            return False
        if b >= cursor.isoformat():
            cursor = date.fromisoformat(b) + timedelta(days=1)
            if cursor > end:
                return True
    return False
