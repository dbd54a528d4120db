"""The one way to write: every insert, update and delete goes through a Tx.

A Tx is one transaction (one per command, so bad input leaves the db exactly
as it was). Each write stamps the fields it sets with a hybrid logical clock,
keeps created_at / updated_at, turns deletes into tombstones, logs the change
for `zpp log`, and marks the members whose search index must be refreshed
before the transaction commits.

The change log (`changes`) has one entry per write: (clock, device, table, row
id, op, data: the fields written, new values). One exception: an import logs a
member it adds as ONE insert entry, the member's own, with the entries of the
rows added with it (contacts, skills, collectives, periods) under "rows":
{table: {row id: data}} (importer.member_entries; insert and insert_many hand
their entries to the caller when given a `log` list). 100,000 imported members
log 100,000 entries, not 530,000. Readers need nothing more: `zpp log` finds the
entry by the member's id, forgetting blanks it whole (scrub_history blanks
every top-level value), a merge unites entries by id.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from zppcli import clock

# Namespace for ids derived from natural keys (a member's skill, an e-mail ...):
# the same fact added on two devices gets the same id, so copies merge.
NAMESPACE = uuid.UUID("6f1d3c52-8a57-4f0e-9a43-1b7a2e5f0d11")
BOOKKEEPING = ("id", "created_at", "updated_at", "clocks")
_columns_cache: dict[str, tuple[str, ...]] = {}

# How a write to a table reaches the search index: which column names a member.
MEMBER_COLUMN = {
    "members": "id",
    "contacts": "member_id",
    "member_skills": "member_id",
    "collective_members": "member_id",
    "availability": None,  # not indexed for text search
}


_NAMESPACE_BYTES = NAMESPACE.bytes
# the RFC 4122 variant: the first hex digit of group 4 becomes 8, 9, a or b
_VARIANT = {d: "89ab"[int(d, 16) % 4] for d in "0123456789abcdef"}


def derived_id(*parts: str) -> str:
    """str(uuid.uuid5(NAMESPACE, "\x1f".join(parts))), without building a UUID object."""
    h = hashlib.sha1(_NAMESPACE_BYTES + "\x1f".join(parts).encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


def clocks_parts(shape: tuple[str, ...]) -> list[str]:
    """The clocks column of a new row with these columns (and deleted), as
    json.dumps({column: stamp ...}, sort_keys=True) writes it, cut where the stamp
    goes: stamp.join(parts)."""
    keys = sorted({*shape, "deleted"})
    parts = [("{" if i == 0 else '", ') + json.dumps(k) + ': "' for i, k in enumerate(keys)]
    return [*parts, '"}']


def new_id() -> str:
    return str(uuid.uuid4())


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def writable_columns(conn: sqlite3.Connection, table: str) -> tuple[str, ...]:
    """The columns a write may set (generated and bookkeeping columns excluded)."""
    if table not in _columns_cache:
        rows = conn.execute(f'PRAGMA table_xinfo("{table}")').fetchall()
        if not rows:
            raise ValueError(f"no table {table!r}")
        # hidden: 0 normal, 2/3 generated columns
        _columns_cache[table] = tuple(
            r["name"] for r in rows if r["hidden"] == 0 and r["name"] not in BOOKKEEPING
        )
    return _columns_cache[table]


# The encoders `encode` and `_log` use, made once (json.dumps with options builds one per call).
_LIST_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_LOG_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True).encode


def _time_ordered_ids(count: int) -> list[str]:
    """`count` new UUIDs (version 7: unix ms, then a random start that counts up), in order.

    Used for change-log ids written in bulk: as unique as uuid4, but appended at
    the end of the id index instead of all over it."""
    ms = time.time_ns() // 1_000_000
    start = int.from_bytes(os.urandom(9), "big") >> 2  # 70 random bits, room to count up
    out = []
    for n in range(start, start + count):
        rand_a, rand_b = (n >> 62) & 0xFFF, n & ((1 << 62) - 1)
        h = f"{ms:012x}7{rand_a:03x}{(2 << 62) | rand_b:016x}"
        out.append(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
    return out


_PLAIN = frozenset((str, int, float, type(None), bytes))


def _encode(value: Any) -> Any:
    """encode, for insert_many: the same values, with the encoder made once."""
    if isinstance(value, list | dict):
        return _LIST_JSON(value)
    if isinstance(value, bool):
        return int(value)
    return value


def encode(value: Any) -> Any:
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if isinstance(value, bool):
        return int(value)
    return value


class Tx:
    """One transaction: `with Tx(conn) as tx: tx.insert(...)`."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self.device = clock.device_id()
        self._last_clock: str | None = None
        self.dirty_members: set[str] = set()
        self.dirty_skills: set[str] = set()
        self.dirty_collectives: set[str] = set()
        self.reindex_all = False

    # -- transaction -------------------------------------------------------
    def __enter__(self) -> Tx:
        self.conn.execute("BEGIN IMMEDIATE")
        if getattr(self.conn, "replaced", lambda: False)():
            self.conn.execute("ROLLBACK")
            from zppcli.errors import Conflict

            raise Conflict(
                f"{self.conn.path} was replaced (by `zpp sync`?) after this command opened it;"
                " nothing was written, run the command again"
            )
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'clock'").fetchone()
        self._last_clock = row[0] if row else None
        self._register_device()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.conn.execute("ROLLBACK")
            return
        try:
            self._refresh_index()
            if self._last_clock:
                self.conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('clock', ?)"
                    " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (self._last_clock,),
                )
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    def _register_device(self) -> None:
        self.conn.execute(
            "INSERT INTO devices (id, name, first_seen) VALUES (?, ?, ?)"
            " ON CONFLICT (id) DO NOTHING",
            (self.device, clock.device_name(), utc_now()),
        )

    def tick(self) -> str:
        self._last_clock = clock.tick(self._last_clock, self.device)
        return self._last_clock

    def observe(self, remote_clock: str) -> None:
        """Move this file's clock past a clock seen in another copy (merge)."""
        if not self._last_clock or remote_clock > self._last_clock:
            wall, counter, _ = clock.parse_clock(remote_clock)
            self._last_clock = clock.format_clock(wall, counter, self.device)

    # -- writes ------------------------------------------------------------
    def insert(
        self,
        table: str,
        values: dict[str, Any],
        row_id: str | None = None,
        log: list[tuple[str, str, str, dict]] | None = None,
    ) -> str:
        """Insert a new row; returns its id. With log, its change-log entry (stamp,
        table, row id, data) is appended there for the caller to write (log_inserts)."""
        columns = self._check(table, values)
        row_id = row_id or new_id()
        stamp, now = self.tick(), utc_now()
        data = {c: encode(values[c]) for c in columns}
        clocks = {c: stamp for c in (*columns, "deleted")}
        data.setdefault("deleted", 0)
        names = ["id", *data, "created_at", "updated_at", "clocks"]
        params = [row_id, *data.values(), now, now, json.dumps(clocks, sort_keys=True)]
        self.conn.execute(
            f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
            params,
        )
        if log is None:
            self._log(stamp, table, row_id, "insert", data)
        else:
            log.append((stamp, table, row_id, data))
        self._mark(table, row_id, data)
        return row_id

    def insert_many(
        self,
        table: str,
        rows: Iterable[tuple[str | None, dict[str, Any]]],
        log: list[tuple[str, str, str, dict]] | None = None,
    ) -> list[str]:
        """Insert many new rows ((row id or None, values) each): what one `insert`
        per row writes (the row, its own clock, its change-log entry, the index
        marks), with one executemany per shape of row instead of two statements
        per row. Rows are written (and their clocks ticked) in id order, which
        keeps the id indexes local; all rows of one call share created_at.
        With log, the change-log entries go there, as for insert.
        Returns the ids in the order given."""
        rows = [(row_id or new_id(), values) for row_id, values in rows]
        if not rows:
            return []
        now, device = utc_now(), self.device
        if self._last_clock:
            wall, counter, _ = clock.parse_clock(self._last_clock)
        else:
            wall, counter = -1, 0
        now_ms = clock.wall_ms()
        shapes: dict[tuple[str, ...], tuple[list[str], list[tuple]]] = {}
        entries = [] if log is None else log
        for row_id, values in sorted(rows, key=lambda r: r[0]):
            shape = tuple(values)
            if shape not in shapes:
                self._check(table, values)
                shapes[shape] = (clocks_parts(shape), [])
            parts, table_rows = shapes[shape]
            if now_ms > wall:  # clock.tick, without parsing the last clock each time
                wall, counter = now_ms, 0
            elif counter >= clock.MAX_COUNTER:
                wall, counter = wall + 1, 0
            else:
                counter += 1
            stamp = f"{wall:013d}-{counter:05d}-{device}"
            data = {c: v if v.__class__ in _PLAIN else _encode(v) for c, v in values.items()}
            data.setdefault("deleted", 0)
            table_rows.append((row_id, *data.values(), now, now, stamp.join(parts)))
            entries.append((stamp, table, row_id, data))
        self._last_clock = stamp
        for shape, (_, table_rows) in shapes.items():
            names = ["id", *shape, *(() if "deleted" in shape else ("deleted",))]
            names += ["created_at", "updated_at", "clocks"]
            self.conn.executemany(
                f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                table_rows,
            )
        if log is None:
            self.log_inserts(entries)
        column = MEMBER_COLUMN.get(table)
        if column == "id":
            self.dirty_members.update(row_id for row_id, _ in rows)
        elif column:  # as _mark marks them, in one go (after the write: it may look one up)
            self.dirty_members.update(
                values.get(column) or self._lookup(table, row_id, column) for row_id, values in rows
            )
        else:
            for row_id, values in rows:
                self._mark(table, row_id, values)
        return [row_id for row_id, _ in rows]

    def log_inserts(self, entries: list[tuple[str, str, str, dict]]) -> None:
        """Write change-log insert entries (stamp, table, row id, data): ids time-ordered."""
        device = self.device
        self.conn.executemany(
            "INSERT INTO changes (id, hlc, device_id, tbl, row_id, op, data)"
            " VALUES (?, ?, ?, ?, ?, 'insert', ?)",
            [
                (change_id, stamp, device, table, row_id, _LOG_JSON(data))
                for change_id, (stamp, table, row_id, data) in zip(
                    _time_ordered_ids(len(entries)), entries, strict=True
                )
            ],
        )

    def update(self, table: str, row_id: str, values: dict[str, Any]) -> dict[str, Any]:
        """Write the fields that differ; returns {field: new value} of what changed."""
        self._check(table, values)
        row = self.conn.execute(f"SELECT * FROM {table} WHERE id = ?", (row_id,)).fetchone()
        if row is None:
            raise KeyError(f"{table} {row_id} does not exist")
        changed = {c: encode(v) for c, v in values.items() if row[c] != encode(v)}
        if not changed:
            return {}
        stamp = self.tick()
        clocks = json.loads(row["clocks"] or "{}")
        clocks.update({c: stamp for c in changed})
        assignments = ", ".join(f"{c} = ?" for c in changed)
        self.conn.execute(
            f"UPDATE {table} SET {assignments}, updated_at = ?, clocks = ? WHERE id = ?",
            [*changed.values(), utc_now(), json.dumps(clocks, sort_keys=True), row_id],
        )
        op = "delete" if changed.get("deleted") == 1 else "update"
        self._log(stamp, table, row_id, op, changed)
        self._mark(table, row_id, dict(row))
        return changed

    def upsert(self, table: str, row_id: str, values: dict[str, Any]) -> dict[str, Any]:
        """Insert, or update (and revive a tombstone) a row with a derived id."""
        exists = self.conn.execute(f"SELECT 1 FROM {table} WHERE id = ?", (row_id,)).fetchone()
        if exists is None:
            self.insert(table, values, row_id=row_id)
            return dict(values)
        return self.update(table, row_id, {**values, "deleted": 0})

    def delete(self, table: str, row_id: str) -> bool:
        """Tombstone a row; True when it was live."""
        return bool(self.update(table, row_id, {"deleted": 1}))

    def apply_remote(self, table: str, row: dict[str, Any]) -> None:
        """Write a row as merged from another copy (see merge.py), clocks included.

        Rows with clocks replace the local row whole (the merge already chose
        each field); rows without (changes, devices) are a union: kept if new.
        """
        names = list(row)
        marks = ", ".join("?" * len(names))
        if "clocks" in row:
            for stamp in json.loads(row["clocks"] or "{}").values():
                self.observe(stamp)
            sets = ", ".join(f"{c} = excluded.{c}" for c in names if c != "id")
            action = f"DO UPDATE SET {sets}"
        else:
            action = "DO NOTHING"
        self.conn.execute(
            f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks}) ON CONFLICT (id) {action}",
            list(row.values()),
        )
        if "clocks" in row:
            self._mark(table, row["id"], row)

    def delete_where(self, table: str, where: str, params: Iterable[Any]) -> int:
        ids = [
            r[0]
            for r in self.conn.execute(
                f"SELECT id FROM {table} WHERE deleted = 0 AND ({where})", tuple(params)
            )
        ]
        for row_id in ids:
            self.delete(table, row_id)
        return len(ids)

    # -- the right to be forgotten (privacy.forget) ----------------------------
    def overwrite(self, table: str, row_id: str, values: dict[str, Any]) -> None:
        """Write these fields and stamp every one with a new clock, changed or not.

        An erased field must beat every older copy in a merge, even where it
        was already blank here: an old copy may still hold the value.
        """
        self._check(table, values)
        row = self.conn.execute(f"SELECT * FROM {table} WHERE id = ?", (row_id,)).fetchone()
        if row is None:
            raise KeyError(f"{table} {row_id} does not exist")
        data = {c: encode(v) for c, v in values.items()}
        stamp = self.tick()
        clocks = json.loads(row["clocks"] or "{}")
        clocks.update({c: stamp for c in data})
        assignments = ", ".join(f"{c} = ?" for c in data)
        self.conn.execute(
            f"UPDATE {table} SET {assignments}, updated_at = ?, clocks = ? WHERE id = ?",
            [*data.values(), utc_now(), json.dumps(clocks, sort_keys=True), row_id],
        )
        self._log(stamp, table, row_id, "delete" if data.get("deleted") == 1 else "update", data)
        self._mark(table, row_id, dict(row))

    def scrub_history(self, row_ids: Iterable[str]) -> int:
        """Blank the values in the change log of these rows; returns the entries scrubbed.

        The one write that rewrites history, for the right to be forgotten: the
        log keeps which fields changed, when and on which device, not the values.
        """
        ids = list(dict.fromkeys(row_ids))
        scrubbed = 0
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            rows = self.conn.execute(
                f"SELECT id, data FROM changes WHERE row_id IN ({','.join('?' * len(chunk))})",
                chunk,
            ).fetchall()
            for change_id, data in rows:
                old = json.loads(data or "{}")
                blank = {k: (v if k == "deleted" else None) for k, v in old.items()}
                self.conn.execute(
                    "UPDATE changes SET data = ? WHERE id = ?",
                    (json.dumps(blank, sort_keys=True), change_id),
                )
                scrubbed += 1
        return scrubbed

    # -- helpers -----------------------------------------------------------
    def _check(self, table: str, values: dict[str, Any]) -> list[str]:
        allowed = writable_columns(self.conn, table)
        unknown = [c for c in values if c not in allowed]
        if unknown:
            raise ValueError(f"{table} has no writable column {unknown[0]!r}")
        return list(values)

    def _log(self, stamp: str, table: str, row_id: str, op: str, data: dict[str, Any]) -> None:
        self.conn.execute(
            "INSERT INTO changes (id, hlc, device_id, tbl, row_id, op, data)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                new_id(),
                stamp,
                self.device,
                table,
                row_id,
                op,
                json.dumps(data, ensure_ascii=False, sort_keys=True),
            ),
        )

    def _mark(self, table: str, row_id: str, row: dict[str, Any]) -> None:
        if table == "skills":
            self.dirty_skills.add(row_id)
        elif table == "skill_aliases":
            self.dirty_skills.add(row.get("skill_id") or self._lookup(table, row_id, "skill_id"))
        elif table == "collectives":
            self.dirty_collectives.add(row_id)
        elif MEMBER_COLUMN.get(table):
            column = MEMBER_COLUMN[table]
            member = row.get(column) or self._lookup(table, row_id, column)
            self.dirty_members.add(row_id if column == "id" else member)

    def _lookup(self, table: str, row_id: str, column: str) -> str:
        return self.conn.execute(
            f"SELECT {column} FROM {table} WHERE id = ?", (row_id,)
        ).fetchone()[0]

    def _refresh_index(self) -> None:
        from zppcli import searchindex

        if self.reindex_all:
            searchindex.rebuild(self.conn)
            return
        members = set(self.dirty_members)
        if self.dirty_skills:
            members |= searchindex.members_with_skills(self.conn, self.dirty_skills)
        if self.dirty_collectives:
            members |= searchindex.members_in_collectives(self.conn, self.dirty_collectives)
        if members:
            searchindex.refresh(self.conn, members)
