"""`zpp log`: who (which device) changed what, and when, from the `changes` table.

Every write logs one row (store.Tx._log) and merges bring the other copies'
rows by union, so the log of a shared db shows every device's edits. A member
added by an import is one insert entry holding the rows added with it (see
store.py), so the log shows the member once, not each of its rows.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Europe/Amsterdam")


def since_clock(day: date) -> str:
    """The smallest clock of a write on or after midnight of day in Amsterdam."""
    ms = int(datetime.combine(day, time(0), TZ).timestamp() * 1000)
    return f"{ms:013d}"


def when(hlc: str) -> str:
    ms = int(hlc[:13])
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone(TZ).strftime("%Y-%m-%d %H:%M:%S")


def _row_ids_of_member(conn: sqlite3.Connection, member_id: str) -> list[str]:
    from zppcli.merge import _columns, synced_tables

    ids = [member_id]
    for table in synced_tables(conn):
        if table != "members" and "member_id" in _columns(conn, table):
            ids += [
                r[0]
                for r in conn.execute(f"SELECT id FROM {table} WHERE member_id = ?", (member_id,))
            ]
    return ids


def entries(
    conn: sqlite3.Connection,
    member_id: str | None = None,
    since: date | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Newest first: when, device, op, table, what (a handle or value), fields."""
    where, params = [], []
    if member_id:
        ids = _row_ids_of_member(conn, member_id)
        where.append("c.row_id IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(ids))
    if since:
        where.append("c.hlc >= ?")
        params.append(since_clock(since))
    sql = (
        "SELECT c.hlc, c.device_id, coalesce(nullif(d.name, ''), c.device_id) AS device, c.tbl, c.row_id,"
        " c.op, c.data FROM changes c LEFT JOIN devices d ON d.id = c.device_id"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY c.hlc DESC, c.id LIMIT ?"
    )
    rows = conn.execute(sql, [*params, limit]).fetchall()
    labels: dict[tuple[str, str], str] = {}
    out = []
    for r in rows:
        data = json.loads(r["data"] or "{}")
        key = (r["tbl"], r["row_id"])
        if key not in labels:
            labels[key] = _label(conn, r["tbl"], r["row_id"], data)
        fields = sorted(k for k in data if k != "deleted") if r["op"] == "update" else []
        out.append(
            {
                "when": when(r["hlc"]),
                "device": r["device"],
                "op": r["op"],
                "table": r["tbl"],
                "what": labels[key],
                "fields": fields,
                "row_id": r["row_id"],
            }
        )
    return out


def _label(conn: sqlite3.Connection, table: str, row_id: str, data: dict[str, Any]) -> str:
    try:
        row = conn.execute(f'SELECT * FROM "{table}" WHERE id = ?', (row_id,)).fetchone()
    except sqlite3.Error:
        return row_id[:8]
    if row is None:
        return row_id[:8]
    keys = row.keys()
    own = next(
        (
            str(row[k])
            for k in ("handle", "name", "title", "value", "alias")
            if k in keys and row[k]
        ),
        "",
    )
    if table != "members" and "member_id" in keys:
        member = conn.execute(
            "SELECT handle FROM members WHERE id = ?", (row["member_id"],)
        ).fetchone()
        if member is not None:
            if "skill_id" in keys:
                skill = conn.execute(
                    "SELECT name FROM skills WHERE id = ?", (row["skill_id"],)
                ).fetchone()
                own = skill[0] if skill else own
            return f"{member[0]}: {own}" if own else member[0]
    return own or row_id[:8]
