"""Privacy rights (AVG/GDPR): erase a member (`forget`) and hand over all we hold (`export_member`).

Forgetting is a tombstone that wins every merge: the member row and every row
that hangs off it are blanked AND tombstoned, each erased field stamped with a
new clock (Tx.overwrite) so that an older copy of the file, merged field by
field, cannot bring a value back. The change log of those rows keeps which
fields changed and when, not the values (Tx.scrub_history); the full-text
index loses the member and is merged so no old segment keeps the words; freed
pages are zeroed (secure_delete) and the WAL is checkpointed and truncated.

A forgotten member keeps only its id, the name "(forgotten)" and the handle
"forgotten-<id prefix>", so `reapply` can find it after a merge and erase
whatever a copy edited after the forget (a concurrent edit has a newer clock).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path
from typing import Any

from zppcli.errors import NotFound
from zppcli.store import Tx, utc_now

FORGOTTEN_NAME = "(forgotten)"

# What each table holds about a member, and the blank that replaces it.
MEMBER_BLANK: dict[str, Any] = {
    "given_name": FORGOTTEN_NAME,
    "particle": "",
    "family_name": "",
    "city": "",
    "region": "",
    "website": "",
    "links": [],
    "bio": "",
    "languages": [],
    "day_rate": None,
    "tags": [],
    "note": "",
    "visibility": "private",
    "deleted": 1,
}
CHILD_BLANKS: dict[str, dict[str, Any]] = {
    "contacts": {"value": "", "private": 1, "deleted": 1},
    "member_skills": {"deleted": 1},
    "collective_members": {"role": "member", "deleted": 1},
    "availability": {"note": "", "hours_per_week": None, "deleted": 1},
    "gathering_rsvps": {"note": "", "deleted": 1},
}


def forgotten_handle(member_id: str) -> str:
    return f"forgotten-{member_id[:8]}"


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def resolve_any(conn: sqlite3.Connection, ref: str) -> sqlite3.Row:
    """A member by handle or id prefix, removed ones included (they still hold data)."""
    from zppcli import members

    try:
        return members.resolve(conn, ref)
    except NotFound:
        text = ref.strip().lower()
        rows = conn.execute(
            "SELECT * FROM members WHERE handle = ? OR (length(?) >= 4 AND id LIKE ? || '%')"
            " ORDER BY updated_at DESC LIMIT 2",
            (text, text, text),
        ).fetchall()
        if len(rows) == 1:
            return rows[0]
        raise


def child_rows(conn: sqlite3.Connection, member_id: str) -> dict[str, list[sqlite3.Row]]:
    """Every row (tombstones too) of every table that hangs off the member."""
    present = _tables(conn)
    return {
        table: conn.execute(
            f"SELECT * FROM {table} WHERE member_id = ? ORDER BY created_at, id", (member_id,)
        ).fetchall()
        for table in CHILD_BLANKS
        if table in present
    }


def forget(tx: Tx, member_id: str) -> dict[str, int]:
    """Erase a member's personal data; returns counts of what was erased."""
    tx.conn.execute("PRAGMA secure_delete = ON")  # freed space is zeroed, not left readable
    row = tx.conn.execute("SELECT * FROM members WHERE id = ?", (member_id,)).fetchone()
    if row is None:
        raise NotFound(f"member {member_id!r} not found")
    touched = [member_id]
    counts = {"rows": 1}
    for table, rows in child_rows(tx.conn, member_id).items():
        for child in rows:
            tx.overwrite(table, child["id"], CHILD_BLANKS[table])
            touched.append(child["id"])
        counts["rows"] += len(rows)
    tx.overwrite("members", member_id, {**MEMBER_BLANK, "handle": forgotten_handle(member_id)})
    counts["history"] = tx.scrub_history(touched)
    _drop_from_index(tx.conn, member_id)
    return counts


def _drop_from_index(conn: sqlite3.Connection, member_id: str) -> None:
    from zppcli import searchindex

    searchindex.refresh(conn, [member_id])  # the member is a tombstone now: no document
    # FTS5 deletes are markers in a new segment; merging every segment drops the old words.
    conn.execute("INSERT INTO members_fts (members_fts) VALUES ('optimize')")


def purge_file(conn: sqlite3.Connection) -> None:
    """After the commit: move the WAL into the file and empty it, so no old page lingers there."""
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def other_copies(path: Path) -> list[Path]:
    """Files beside the db that may still hold what was erased: migration backups, merged and
    not yet merged conflict copies of sync tools. A forget cannot reach into them."""
    folder, name, stem = path.parent, path.name, path.stem
    found = {
        *folder.glob(f"{name}.*.bak"),
        *folder.glob(f"{stem}*conflict*"),
        *folder.glob(f"{stem} (*"),
        *folder.glob(".zpp-merged/*"),
    }
    return sorted(p for p in found if p.is_file() and p != path)


def is_forgotten(row: sqlite3.Row | dict) -> bool:
    return row["given_name"] == FORGOTTEN_NAME and row["handle"] == forgotten_handle(row["id"])


def reapply(tx: Tx) -> list[str]:
    """Erase again what a merge brought back into forgotten members; returns their ids.

    A copy that edited a forgotten member after the forget (a newer clock) wins
    that field in a merge; call this after every merge.
    """
    again = []
    for row in tx.conn.execute(
        "SELECT * FROM members WHERE given_name = ? AND handle LIKE 'forgotten-%'",
        (FORGOTTEN_NAME,),
    ).fetchall():
        if is_forgotten(row) and not _is_clean(tx.conn, row):
            forget(tx, row["id"])
            again.append(row["id"])
    return again


def _is_clean(conn: sqlite3.Connection, row: sqlite3.Row) -> bool:
    for field, blank in MEMBER_BLANK.items():
        value = json.dumps(blank) if isinstance(blank, list) else blank
        if row[field] != value:
            return False
    for table, rows in child_rows(conn, row["id"]).items():
        for child in rows:
            blank = CHILD_BLANKS[table]
            if any(child[k] != v for k, v in blank.items()):
                return False
    ids = [row["id"], *(c["id"] for rows in child_rows(conn, row["id"]).values() for c in rows)]
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        for (data,) in conn.execute(
            f"SELECT data FROM changes WHERE row_id IN ({','.join('?' * len(chunk))})", chunk
        ):
            if any(v is not None for k, v in json.loads(data).items() if k != "deleted"):
                return False
    return True


# -- data portability ---------------------------------------------------------------
def _plain(row: sqlite3.Row) -> dict[str, Any]:
    out = dict(row)
    for key in ("links", "languages", "tags", "clocks", "audience", "data"):
        if isinstance(out.get(key), str) and out[key][:1] in "[{":
            with contextlib.suppress(ValueError):
                out[key] = json.loads(out[key])
    return out


def export_member(conn: sqlite3.Connection, member_id: str) -> dict[str, Any]:
    """Everything zpp holds about a member, as one JSON-ready object.

    The member's own copy (a data-portability request): private fields and
    removed (tombstoned) rows included, and the change history of every row.
    """
    from zppcli import members

    row = conn.execute("SELECT * FROM members WHERE id = ?", (member_id,)).fetchone()
    if row is None:
        raise NotFound(f"member {member_id!r} not found")
    children = child_rows(conn, member_id)
    stored = {"members": [_plain(row)]}
    stored.update({table: [_plain(r) for r in rows] for table, rows in children.items()})
    if "gatherings" in _tables(conn):
        stored["gatherings_hosted"] = [
            _plain(r)
            for r in conn.execute(
                "SELECT * FROM gatherings WHERE host_member_id = ? ORDER BY start_at", (member_id,)
            )
        ]
    ids = [member_id, *(r["id"] for rows in children.values() for r in rows)]
    history = []
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        history += [
            _plain(r)
            for r in conn.execute(
                "SELECT hlc, device_id, tbl, row_id, op, data FROM changes"
                f" WHERE row_id IN ({','.join('?' * len(chunk))})",
                chunk,
            )
        ]
    history.sort(key=lambda h: (h["hlc"], h["row_id"]))
    found = members.records(conn, [member_id])
    return {
        "exported_at": utc_now(),
        "member": found[0] if found else None,
        "stored_rows": stored,
        "history": history,
        "note": "Everything this zpp directory holds about the member: the record as shown, "
        "every stored row (removed ones too, with their per-field clocks) and the change history.",
    }
