"""Merging another copy of the db into this one, field by field, losing nothing.

Every synced table (one with `id` and `clocks` columns, found in sqlite_master,
so new tables merge without code here) is merged row by row: for each field
the value with the larger hybrid logical clock wins; equal clocks with
different values (which only a bug or a hand edit makes) fall to the larger
value, so every device picks the same one. `deleted` is an ordinary field, so
a tombstone beats the older edits it followed and an old copy cannot revive
it. Tables with an `id` but no clocks (devices, changes) merge by union.

The other copy is read from a snapshot (the backup API) in a temp folder,
migrated there if it is older, and ATTACHed, so only the rows that differ
reach Python. After the merge, duplicates that only the union reveals (one
e-mail on two members, a handle taken twice) are resolved the same way on
every device; see `resolve_duplicates`.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zppcli import clock
from zppcli import db as dbmod
from zppcli.errors import SchemaTooNew, ZppError
from zppcli.store import Tx, writable_columns

FUTURE_SLACK_MS = 24 * 3600 * 1000
PAGE = 2000
BOOKKEEPING = ("id", "created_at", "updated_at", "clocks")
LIST_FIELDS = ("links", "languages", "tags")


@dataclass
class Change:
    table: str
    row_id: str
    change: str  # added | updated | deleted | restored
    fields: list[str] = field(default_factory=list)
    label: str = ""
    member_id: str = ""  # the member a child row (contact, skill ...) belongs to


@dataclass
class Duplicate:
    kind: str  # email | handle
    value: str
    survivor: str  # handle
    other: str  # handle (before any rename)
    action: str


@dataclass
class Report:
    source: str
    dry_run: bool = False
    changes: list[Change] = field(default_factory=list)
    clamped: list[dict[str, str]] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    unioned: dict[str, int] = field(default_factory=dict)
    forgotten: list[str] = field(default_factory=list)  # member ids erased again (privacy)
    resequenced: list[str] = field(default_factory=list)  # gatherings changed on two devices

    def count(self, change: str) -> int:
        return sum(1 for c in self.changes if c.change == change)

    def summary(self) -> str:
        parts = [f"{self.count(k)} {k}" for k in ("added", "updated", "deleted", "restored")]
        text = "rows: " + ", ".join(parts)
        if self.duplicates:
            text += f"; {len(self.duplicates)} duplicate(s) resolved"
        if self.clamped:
            text += f"; {len(self.clamped)} future clock(s) clamped"
        if self.resequenced:
            text += f"; {len(self.resequenced)} gathering(s) changed on two devices renumbered"
        return text


class _DryRun(Exception):
    def __init__(self, report: Report):
        self.report = report


# -- tables --------------------------------------------------------------------
def _columns(conn: sqlite3.Connection, table: str, schema: str = "main") -> list[str]:
    rows = conn.execute(f'PRAGMA "{schema}".table_xinfo("{table}")').fetchall()
    return [r[1] for r in rows if r[6] == 0]  # hidden 0: stored, not generated


def _tables(conn: sqlite3.Connection, schema: str = "main") -> list[str]:
    """Ordinary tables (not virtual, not the shadow tables of the full-text index)."""
    return [
        r[0]
        for r in conn.execute(
            "SELECT name FROM pragma_table_list WHERE schema = ? AND type = 'table'"
            " AND name NOT LIKE 'sqlite_%' ORDER BY name",
            (schema,),
        )
    ]


def synced_tables(conn: sqlite3.Connection, schema: str = "main") -> list[str]:
    """Tables merged field by field: those with `id` and `clocks` columns."""
    return [t for t in _tables(conn, schema) if {"id", "clocks"} <= set(_columns(conn, t, schema))]


def union_tables(conn: sqlite3.Connection, schema: str = "main") -> list[str]:
    """Tables merged by union: an `id`, no clocks (devices, changes); `meta` stays local."""
    return [
        t
        for t in _tables(conn, schema)
        if t != "meta" and "id" in (cols := _columns(conn, t, schema)) and "clocks" not in cols
    ]


# -- the other copy ----------------------------------------------------------------
def snapshot(other: Path, workdir: Path) -> Path:
    """A consistent, current-schema copy of another db in workdir (the original is only read)."""
    if not other.is_file():
        raise ZppError(f"no file {str(other)!r} to merge")
    if not dbmod.is_zpp_file(other):
        raise ZppError(f"{other} is not a zpp db (no SQLite header with zpp's application id)")
    target = workdir / "other.db"
    src = dbmod.raw(f"{other.resolve().as_uri()}?{_read_mode(other)}", uri=True)
    try:
        version = src.execute("PRAGMA user_version").fetchone()[0]
        current = dbmod.schema_version()
        if version > current:
            raise SchemaTooNew(
                f"{other} has schema version {version}, newer than this zpp understands "
                f"({current}); upgrade zpp (pip install -U zppcli) before merging it"
            )
        dest = dbmod.raw(target)
        try:
            src.backup(dest)
        finally:
            dest.close()
    except sqlite3.DatabaseError as e:
        raise ZppError(f"cannot read {other}: {e}") from None
    finally:
        src.close()
    if version < current:  # migrate the copy, never the original
        dbmod.connect(target).close()
    return target


def _read_mode(path: Path) -> str:
    """Read-only; a WAL-mode file with no -wal beside it (a copy nobody writes) is opened
    immutable, since opening it otherwise leaves -wal/-shm files beside it (in a sync folder,
    in a git work tree)."""
    with open(path, "rb") as f:
        header = f.read(20)
    wal_mode = len(header) == 20 and header[18] == 2
    if wal_mode and not path.with_name(path.name + "-wal").exists():
        return "mode=ro&immutable=1"
    return "mode=ro"


# -- one row -------------------------------------------------------------------------
def _order(value: Any) -> tuple:
    """A total order over SQLite values, to break a tie the same way everywhere."""
    if value is None:
        return (0, 0)
    if isinstance(value, int | float):
        return (1, value)
    if isinstance(value, bytes):
        return (3, value)
    return (2, str(value))


def _clocks(text: str | None) -> dict[str, str]:
    try:
        raw = json.loads(text or "{}")
    except ValueError:
        return {}
    return {k: v for k, v in raw.items() if isinstance(v, str) and clock.CLOCK_RE.match(v)}


def clamp(clocks: dict[str, str], now_ms: int) -> dict[str, str]:
    """Clocks more than 24 h ahead of now pulled back to now; returns {field: original}."""
    clamped = {}
    for name, stamp in clocks.items():
        wall, counter, device = clock.parse_clock(stamp)
        if wall > now_ms + FUTURE_SLACK_MS:
            clamped[name] = stamp
            clocks[name] = clock.format_clock(now_ms, counter, device)
    return clamped


def merge_row(
    local: dict[str, Any] | None,
    remote: dict[str, Any],
    fields: list[str],
    remote_clocks: dict[str, str],
) -> tuple[dict[str, Any] | None, list[str]]:
    """The merged row (None when the local row already is it) and the fields that changed."""
    if local is None:
        merged = dict(remote)
        merged["clocks"] = json.dumps(remote_clocks, sort_keys=True)
        return merged, list(fields)
    local_clocks = _clocks(local["clocks"])
    merged, clocks, changed = dict(local), dict(local_clocks), []
    for name in fields:
        mine, theirs = local_clocks.get(name, ""), remote_clocks.get(name, "")
        if theirs > mine or (theirs == mine and _order(remote[name]) > _order(local[name])):
            if _order(remote[name]) != _order(local[name]):
                changed.append(name)
            merged[name] = remote[name]
    for name, stamp in remote_clocks.items():
        if stamp > clocks.get(name, ""):
            clocks[name] = stamp
    merged["clocks"] = json.dumps(clocks, sort_keys=True)
    merged["created_at"] = min(local["created_at"], remote["created_at"])
    merged["updated_at"] = max(local["updated_at"], remote["updated_at"])
    if merged == local:
        return None, []
    return merged, changed


def _label(conn: sqlite3.Connection, table: str, row: dict[str, Any]) -> str:
    """What a change is about, for people: a handle, a name, "handle: e-mail"."""
    own = next(
        (str(row[k]) for k in ("handle", "name", "title", "value", "alias") if row.get(k)), ""
    )
    if table != "members" and row.get("member_id"):
        member = conn.execute(
            "SELECT handle FROM members WHERE id = ?", (row["member_id"],)
        ).fetchone()
        if row.get("skill_id"):
            skill = conn.execute(
                "SELECT name FROM skills WHERE id = ?", (row["skill_id"],)
            ).fetchone()
            own = skill[0] if skill else own
        if member is not None:
            return f"{member[0]}: {own}" if own else member[0]
    return own


# -- a whole copy --------------------------------------------------------------------
def merge(
    conn: sqlite3.Connection, other: Path, *, dry_run: bool = False, now_ms: int | None = None
) -> Report:
    """Merge the zpp db at `other` into conn's db in one transaction; with dry_run, roll back."""
    other = Path(other)
    with tempfile.TemporaryDirectory(prefix="zpp-merge-") as work:
        copy = snapshot(other, Path(work))
        conn.execute("ATTACH DATABASE ? AS other", (str(copy),))
        try:
            try:
                with Tx(conn) as tx:
                    report = merge_attached(tx, str(other), now_ms=now_ms)
                    report.dry_run = dry_run
                    if dry_run:
                        raise _DryRun(report)
            except _DryRun as done:
                report = done.report
        finally:
            conn.execute("DETACH DATABASE other")
    return report


def merge_attached(tx: Tx, source: str, *, now_ms: int | None = None) -> Report:
    """Merge the db attached as `other` into main, inside tx."""
    conn = tx.conn
    now_ms = clock.wall_ms() if now_ms is None else now_ms
    report = Report(source=source)
    theirs = set(_tables(conn, "other"))
    for table in sorted(
        synced_tables(conn), key=lambda t: (t != "members", t)
    ):  # members first: labels
        if table in theirs:
            _merge_table(tx, table, report, now_ms)
    for table in union_tables(conn):
        if table in theirs:
            report.unioned[table] = _union_table(tx, table)
    report.duplicates = resolve_duplicates(tx)
    from zppcli import gatherings, privacy

    report.resequenced = gatherings.resequence(tx)
    report.forgotten = privacy.reapply(tx)  # a copy's edit of a forgotten member is erased again
    return report


def _merge_table(tx: Tx, table: str, report: Report, now_ms: int) -> None:
    conn = tx.conn
    common = set(_columns(conn, table, "other"))
    columns = [c for c in _columns(conn, table) if c in common]
    fields = [c for c in columns if c not in BOOKKEEPING and c in writable_columns(conn, table)]
    differs = " OR ".join(
        [f"m.{c} IS NOT o.{c}" for c in [*fields, "clocks"]]
        + ["o.created_at < m.created_at", "o.updated_at > m.updated_at"]  # min / max of both
    )
    # One pass finds the rows that differ (ids only); they are read in chunks after it.
    # (No ORDER BY: it would walk `other` through its id index, 2-3x slower; sorted here.)
    ids = sorted(
        r[0]
        for r in conn.execute(
            f"SELECT o.id FROM other.{table} o LEFT JOIN main.{table} m ON m.id = o.id"
            f" WHERE m.id IS NULL OR {differs}"
        )
    )
    names = ", ".join(columns)
    for start in range(0, len(ids), PAGE):
        chunk = ids[start : start + PAGE]
        marks = ",".join("?" * len(chunk))
        theirs = conn.execute(
            f"SELECT {names} FROM other.{table} WHERE id IN ({marks}) ORDER BY id", chunk
        )
        mine = {
            r[0]: dict(zip(columns, r, strict=True))
            for r in conn.execute(f"SELECT {names} FROM main.{table} WHERE id IN ({marks})", chunk)
        }
        for raw in theirs.fetchall():
            remote = dict(zip(columns, raw, strict=True))
            local = mine.get(remote["id"])
            remote_clocks = _clocks(remote["clocks"])
            for name, original in clamp(remote_clocks, now_ms).items():
                report.clamped.append(
                    {"table": table, "id": remote["id"], "field": name, "clock": original}
                )
            merged, changed = merge_row(local, remote, fields, remote_clocks)
            if merged is None:
                continue
            tx.apply_remote(table, merged)
            if not changed:
                continue  # only clocks or timestamps moved
            if local is None:
                kind = "deleted" if merged.get("deleted") else "added"
            elif "deleted" in changed:
                kind = "deleted" if merged["deleted"] else "restored"
            else:
                kind = "updated"
            report.changes.append(
                Change(
                    table,
                    remote["id"],
                    kind,
                    changed if kind == "updated" else [],
                    _label(conn, table, merged),
                    merged.get("member_id") or "",
                )
            )


def _union_table(tx: Tx, table: str) -> int:
    conn = tx.conn
    common = set(_columns(conn, table, "other"))
    columns = [c for c in _columns(conn, table) if c in common]
    ids = sorted(
        r[0]
        for r in conn.execute(
            f"SELECT o.id FROM other.{table} o WHERE NOT EXISTS (SELECT 1 FROM main.{table} m WHERE m.id = o.id)"
        )
    )
    for start in range(0, len(ids), PAGE):
        chunk = ids[start : start + PAGE]
        rows = conn.execute(
            f"SELECT {', '.join(columns)} FROM other.{table} WHERE id IN ({','.join('?' * len(chunk))}) ORDER BY id",
            chunk,
        ).fetchall()
        for raw in rows:
            tx.apply_remote(table, dict(zip(columns, raw, strict=True)))
    return len(ids)


# -- duplicates the union reveals -------------------------------------------------------
def _first_clock(row: sqlite3.Row) -> str:
    """The clock of a row's first write: who was there first."""
    return min(_clocks(row["clocks"]).values(), default="")


def resolve_duplicates(tx: Tx) -> list[Duplicate]:
    """Fold members sharing an e-mail into one, rename a handle taken twice; same result on every device.

    Survivors are chosen from the rows alone (earliest first write, then id),
    and a renamed handle is derived from the member's id, so two devices that
    merge the same copies write the same values.
    """
    return _fold_shared_emails(tx) + _rename_taken_handles(tx)


def _fold_shared_emails(tx: Tx) -> list[Duplicate]:
    conn = tx.conn
    rows = conn.execute(
        """SELECT c.value, c.member_id FROM contacts c
             JOIN members m ON m.id = c.member_id AND m.deleted = 0
            WHERE c.kind = 'email' AND c.deleted = 0 AND c.value IN (
                  SELECT c2.value FROM contacts c2 JOIN members m2 ON m2.id = c2.member_id AND m2.deleted = 0
                   WHERE c2.kind = 'email' AND c2.deleted = 0
                   GROUP BY c2.value HAVING count(DISTINCT c2.member_id) > 1)
            ORDER BY c.value, c.member_id"""
    ).fetchall()
    if not rows:
        return []
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    shared: dict[str, str] = {}
    for value, member_id in rows:
        if value in shared:
            a, b = find(shared[value]), find(member_id)
            if a != b:
                parent[max(a, b)] = min(a, b)
        else:
            shared[value] = member_id
            find(member_id)
    groups: dict[str, list[str]] = {}
    for member_id in parent:
        groups.setdefault(find(member_id), []).append(member_id)
    emails = {}
    for value, member_id in rows:
        emails.setdefault(member_id, value)
    found = []
    for ids in groups.values():
        members = [conn.execute("SELECT * FROM members WHERE id = ?", (i,)).fetchone() for i in ids]
        members.sort(key=lambda r: (_first_clock(r), r["id"]))
        survivor = members[0]
        for loser in members[1:]:
            fold_member(tx, loser, survivor)
            found.append(
                Duplicate(
                    "email",
                    emails[loser["id"]],
                    survivor["handle"],
                    loser["handle"],
                    f"{loser['handle']} ({loser['id'][:8]}) folded into "
                    f"{survivor['handle']} ({survivor['id'][:8]})",
                )
            )
    return found


def fold_member(tx: Tx, loser: sqlite3.Row, survivor: sqlite3.Row) -> None:
    """Move everything of `loser` onto `survivor` (newer fields win, lists unite), then tombstone loser."""
    conn = tx.conn
    lc, sc = _clocks(loser["clocks"]), _clocks(survivor["clocks"])
    values: dict[str, Any] = {}
    for name in writable_columns(conn, "members"):
        if name in ("handle", "deleted") or loser[name] in (None, "", "[]"):
            continue
        if name in LIST_FIELDS:
            mine, theirs = json.loads(survivor[name] or "[]"), json.loads(loser[name] or "[]")
            union = mine + [x for x in theirs if x not in mine]
            if union != mine:
                values[name] = union
        elif survivor[name] in (None, "") or lc.get(name, "") > sc.get(name, ""):
            values[name] = loser[name]
    if values:
        tx.update("members", survivor["id"], values)
    _move_children(tx, loser["id"], survivor["id"])
    tx.update("members", loser["id"], {"deleted": 1})


def _derived(table: str, row: sqlite3.Row, member_id: str) -> str | None:
    """The id a row of these tables would have on the surviving member (ids derive from natural keys)."""
    from zppcli.collectives import membership_id
    from zppcli.members import contact_id
    from zppcli.skills import member_skill_id

    if table == "contacts":
        return contact_id(member_id, row["kind"], row["value"])
    if table == "member_skills":
        return member_skill_id(member_id, row["skill_id"])
    if table == "collective_members":
        return membership_id(row["collective_id"], member_id)
    return None


def _move_children(tx: Tx, loser: str, survivor: str) -> None:
    conn = tx.conn
    for table in synced_tables(conn):
        if table == "members":
            continue
        writable = writable_columns(conn, table)
        for column in [c for c in writable if c.endswith("member_id")]:
            rows = conn.execute(
                f"SELECT * FROM {table} WHERE {column} = ? AND deleted = 0 ORDER BY id", (loser,)
            ).fetchall()
            for row in rows:
                target = _derived(table, row, survivor) if column == "member_id" else None
                if target is None:  # no natural key: the row itself moves
                    tx.update(table, row["id"], {column: survivor})
                    continue
                live = conn.execute(
                    f"SELECT deleted FROM {table} WHERE id = ?", (target,)
                ).fetchone()
                if live is None or live["deleted"]:
                    values = {c: row[c] for c in writable if c != "deleted"}
                    tx.upsert(table, target, {**values, column: survivor})
                tx.delete(table, row["id"])


def _rename_taken_handles(tx: Tx) -> list[Duplicate]:
    conn = tx.conn
    found = []
    taken = conn.execute(
        "SELECT handle FROM members WHERE deleted = 0 GROUP BY handle HAVING count(*) > 1 ORDER BY handle"
    ).fetchall()
    for (handle,) in taken:
        rows = conn.execute(
            "SELECT * FROM members WHERE deleted = 0 AND handle = ?", (handle,)
        ).fetchall()
        rows.sort(key=lambda r: (_clocks(r["clocks"]).get("handle", ""), r["id"]))
        for row in rows[1:]:
            new = _free_handle(conn, handle, row["id"])
            tx.update("members", row["id"], {"handle": new})
            found.append(
                Duplicate("handle", handle, rows[0]["handle"], handle, f"renamed to {new}")
            )
    return found


def _free_handle(conn: sqlite3.Connection, handle: str, member_id: str) -> str:
    """handle-<start of the id>: the same on every device, whatever else is taken there."""
    hexid = member_id.replace("-", "")
    for size in (4, 8, 32):
        candidate = f"{handle}-{hexid[:size]}"
        if (
            conn.execute(
                "SELECT 1 FROM members WHERE deleted = 0 AND handle = ? AND id <> ?",
                (candidate, member_id),
            ).fetchone()
            is None
        ):
            return candidate
    return f"{handle}-{hexid}"


def merge_files(ours: Path, theirs: Path) -> Report:
    """Merge file `theirs` into file `ours` (git's merge driver): ours ends in the
    rollback journal, since a file in a repository must have no -wal beside it."""
    conn = dbmod.connect(ours, create=False)
    try:
        report = merge(conn, theirs)
        conn.execute("PRAGMA journal_mode = DELETE")
    finally:
        conn.close()
    return report
