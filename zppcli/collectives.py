"""Collectives: the cooperative groups members work in."""

from __future__ import annotations

import sqlite3

from zppcli import names
from zppcli.errors import Conflict, InvalidInput, NotFound
from zppcli.members import check_url
from zppcli.store import Tx, derived_id
from zppcli.textfold import fold, slug


def find(conn: sqlite3.Connection, ref: str) -> sqlite3.Row | None:
    text = ref.strip()
    row = conn.execute(
        "SELECT * FROM collectives WHERE deleted = 0 AND handle = ?", (text.lower(),)
    ).fetchone()
    if row is not None:
        return row
    for candidate in conn.execute("SELECT * FROM collectives WHERE deleted = 0"):
        if fold(candidate["name"]) == fold(text) or slug(candidate["name"]) == slug(text):
            return candidate
    if len(text) >= 4:
        rows = conn.execute(
            "SELECT * FROM collectives WHERE deleted = 0 AND id >= ? AND id < ?",
            (text.lower(), text.lower() + "\uffff"),
        ).fetchall()
        if len(rows) == 1:
            return rows[0]
    return None


def resolve(conn: sqlite3.Connection, ref: str, field: str = "collective") -> sqlite3.Row:
    row = find(conn, ref)
    if row is None:
        raise NotFound(f"{field} {ref!r}: no collective with that handle or name")
    return row


def add(
    tx: Tx, name: str, handle: str | None = None, description: str = "", website: str = ""
) -> str:
    if not name.strip():
        raise InvalidInput("name", name, "a collective needs a name")
    handle = names.check_handle(handle or slug(name)[:40])
    if find(tx.conn, handle) is not None or find(tx.conn, name) is not None:
        raise Conflict(f"collective {name!r} (handle {handle!r}) already exists")
    tx.insert(
        "collectives",
        {
            "handle": handle,
            "name": name.strip(),
            "description": description.strip(),
            "website": check_url(website, "website"),
        },
    )
    return handle


def membership_id(collective_id: str, member_id: str) -> str:
    return derived_id("collective_member", collective_id, member_id)


def join(tx: Tx, collective_id: str, member_id: str, role: str = "member") -> None:
    role = role.strip() or "member"
    tx.upsert(
        "collective_members",
        membership_id(collective_id, member_id),
        {"collective_id": collective_id, "member_id": member_id, "role": role},
    )


def leave(tx: Tx, collective_id: str, member_id: str) -> bool:
    return tx.delete("collective_members", membership_id(collective_id, member_id))


def listing(conn: sqlite3.Connection) -> list[dict]:
    rows = conn.execute(
        """SELECT c.*, (SELECT count(*) FROM collective_members cm
                          JOIN members m ON m.id = cm.member_id AND m.deleted = 0
                         WHERE cm.collective_id = c.id AND cm.deleted = 0) AS size
             FROM collectives c WHERE c.deleted = 0"""
    ).fetchall()
    out = [
        {
            "handle": r["handle"],
            "name": r["name"],
            "members": r["size"],
            "website": r["website"],
            "description": r["description"],
            "id": r["id"],
        }
        for r in rows
    ]
    return sorted(out, key=lambda c: fold(c["name"]))


def members_of(conn: sqlite3.Connection, collective_id: str) -> list[dict]:
    rows = conn.execute(
        """SELECT m.handle, m.display_name, m.given_name, m.particle, m.family_name, m.city, cm.role
             FROM collective_members cm JOIN members m ON m.id = cm.member_id AND m.deleted = 0
            WHERE cm.collective_id = ? AND cm.deleted = 0""",
        (collective_id,),
    ).fetchall()
    rows = sorted(
        rows, key=lambda r: names.dutch_sort_key(r["given_name"], r["particle"], r["family_name"])
    )
    return [
        {"handle": r["handle"], "name": r["display_name"], "role": r["role"], "city": r["city"]}
        for r in rows
    ]
