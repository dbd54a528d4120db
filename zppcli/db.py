"""Opening a zpp db: path resolution, pragmas, creation and migration.

This is the only module that opens a connection. It imports nothing heavy
(not even pathlib: paths are strings here): every command, including the fast
search path, goes through it.
"""

from __future__ import annotations

import os
import re
import sqlite3
from datetime import UTC, datetime

from zppcli.errors import SchemaTooNew, ZppError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

APPLICATION_ID = 0x5A505031  # "ZPP1"
SQLITE_HEADER = b"SQLite format 3\x00"
MIGRATIONS_PACKAGE = "zppcli.migrations"
# The version schema.sql ends with (a test keeps them equal): known without
# reading the file, so that opening a current db costs nothing extra.
SCHEMA_VERSION = 3


def default_path() -> str:
    from platformdirs import user_data_dir  # only when neither --db nor ZPP_DB is set

    return os.path.join(user_data_dir("zpp", appauthor=False), "zpp.db")


def locate(db: str | os.PathLike | None = None) -> str:
    """--db PATH > $ZPP_DB > the platform's user data dir."""
    if db:
        return os.path.expanduser(os.fspath(db))
    env = os.environ.get("ZPP_DB")
    if env:
        return os.path.expanduser(env)
    return default_path()


def resolve_path(db: str | os.PathLike | None = None) -> Path:
    """locate() as a Path, for the commands that work with the file itself."""
    from pathlib import Path

    return Path(locate(db))


def schema_sql() -> str:
    """The schema as shipped in the wheel, or from the repo root in a checkout."""
    from importlib import resources

    packaged = resources.files("zppcli").joinpath("schema.sql")
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    checkout = os.path.join(
        os.path.dirname(os.path.dirname(os.path.realpath(__file__))), "schema.sql"
    )
    with open(checkout, encoding="utf-8") as f:
        return f.read()


def schema_version() -> int:
    """The version schema.sql sets (read from the file; see SCHEMA_VERSION)."""
    match = re.search(r"PRAGMA\s+user_version\s*=\s*(\d+)", schema_sql(), re.IGNORECASE)
    assert match, "schema.sql must end by setting PRAGMA user_version"
    return int(match.group(1))


def migration_steps() -> dict[int, str]:
    """{target version: SQL} for every file zppcli/migrations/NNNN_name.sql."""
    from importlib import resources

    steps = {}
    for entry in resources.files(MIGRATIONS_PACKAGE).iterdir():
        match = re.fullmatch(r"(\d{4})_[\w-]+\.sql", entry.name)
        if match:
            steps[int(match.group(1))] = entry.read_text(encoding="utf-8")
    return steps


def is_zpp_file(path: str | os.PathLike) -> bool:
    """True when the file is an SQLite db carrying zpp's application id."""
    try:
        with open(path, "rb") as f:
            header = f.read(100)
    except OSError:
        return False
    return (
        len(header) == 100
        and header.startswith(SQLITE_HEADER)
        and int.from_bytes(header[68:72], "big") == APPLICATION_ID
    )


class Connection(sqlite3.Connection):
    """A connection that remembers which file (inode) it opened.

    `zpp sync` swaps a merged copy in by rename; a command that opened the old
    file before the swap must not write to it (its edits would vanish with the
    unlinked inode). Tx checks `replaced()` once it holds the write lock.
    """

    path: str | None = None
    inode: int | None = None

    def remember_file(self, path: str) -> None:
        self.path = path
        try:
            self.inode = os.stat(path).st_ino
        except OSError:
            self.inode = None

    def replaced(self) -> bool:
        if self.path is None or self.inode is None:
            return False
        try:
            return os.stat(self.path).st_ino != self.inode
        except OSError:
            return True


def raw(target: str | os.PathLike, *, uri: bool = False) -> sqlite3.Connection:
    """A plain connection to a file zpp copies, snapshots or checks (merge, sync,
    backups): no migration and no pragmas. Commands use connect()."""
    return sqlite3.connect(target, uri=uri)


def _configure(conn: sqlite3.Connection) -> None:
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout = 10000")


def connect(
    path: str | os.PathLike, *, create: bool = True, reading: bool = False
) -> sqlite3.Connection:
    """Open (and if needed create or migrate) the zpp db at path.

    Raises NotFound-style ZppError when the file is missing and create is
    False, ZppError for a non-zpp SQLite file, SchemaTooNew for a newer schema.
    `reading`: the command only reads, so the shared-location check (journal
    mode, the one-time advice), which every writing command makes, is skipped.
    """
    path = os.fspath(path)
    exists = os.path.exists(path) and os.path.getsize(path) > 0
    if not exists and not create:
        raise ZppError(f"no zpp db at {path}; create one with `zpp db init` (or pass --db PATH)")
    if exists and not os.path.isfile(path):
        raise ZppError(f"db path {path!r} is not a file")
    if not exists:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    if exists and _size(path + "-wal"):
        from zppcli import location

        location.guard(path)  # a stray -wal beside a shared db: stop before SQLite applies it
    try:
        conn = sqlite3.connect(path, isolation_level=None, factory=Connection)
    except sqlite3.OperationalError as e:
        raise ZppError(f"cannot open db {path!r}: {e}") from None
    _configure(conn)
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    except sqlite3.DatabaseError as e:
        conn.close()
        raise ZppError(f"{path} is not a zpp db ({e})") from None
    current = SCHEMA_VERSION
    if exists and app_id != APPLICATION_ID:
        has_tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if has_tables:
            conn.close()
            raise ZppError(f"{path} is an SQLite file but not a zpp db (application_id {app_id})")
    if version > current:
        conn.close()
        raise SchemaTooNew(
            f"{path} has schema version {version}, newer than this zpp understands "
            f"({current}); upgrade zpp (pip install -U zppcli) to open it"
        )
    if version < current:
        _create_or_migrate(conn, path, version, current)
    if not reading:
        _check_location(conn, path)
    conn.remember_file(path)
    return conn


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


_notes: list[str] = []


def drain_notes() -> list[str]:
    """Advice gathered while opening dbs (shared-folder warnings), for the CLI to show."""
    notes = list(_notes)
    _notes.clear()
    return notes


def _check_location(conn: Connection, path: str) -> None:
    """A shared db leaves WAL; the one-time advice waits in drain_notes() for the CLI."""
    from zppcli import location

    _notes.extend(location.check(conn, path))


def _create_or_migrate(conn: sqlite3.Connection, path: str, version: int, current: int) -> None:
    if version == 0:
        conn.executescript("BEGIN;" + schema_sql() + ";COMMIT;")
        from zppcli import location

        conn.execute(f"PRAGMA journal_mode = {location.journal_mode(path)}")
        return
    backup = backup_copy(conn, path, f"v{version}")
    steps = migration_steps()
    missing = [v for v in range(version + 1, current + 1) if v not in steps]
    if missing:
        raise ZppError(f"no migration to schema version {missing[0]}; {path} is unchanged")
    try:
        conn.execute("BEGIN IMMEDIATE")
        for target in range(version + 1, current + 1):
            for statement in split_statements(steps[target]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {target:d}")
        from zppcli import searchindex

        searchindex.rebuild(conn)  # the index is derived: rebuild it for the new schema
        conn.execute("COMMIT")
    except sqlite3.Error as e:
        conn.execute("ROLLBACK")
        raise ZppError(f"migrating {path} failed ({e}); it is unchanged, backup at {backup}") from e


def split_statements(script: str) -> list[str]:
    """Split an SQL script into complete statements (so they run in our transaction)."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip() and not buffer.strip().startswith("--"):
        statements.append(buffer.strip())
    return statements


def backup_copy(conn: sqlite3.Connection, path: str, label: str) -> str:
    """A consistent copy of the db beside it (the backup API, not a file copy)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = f"{path}.{label}-{stamp}.bak"
    dest = raw(target)
    try:
        conn.backup(dest)
    finally:
        dest.close()
    return target


def live_count(conn: sqlite3.Connection, table: str) -> int:
    """Rows that are not tombstones (all rows of a table without `deleted`)."""
    has_deleted = any(c[1] == "deleted" for c in conn.execute(f'PRAGMA table_info("{table}")'))
    where = " WHERE deleted = 0" if has_deleted else ""
    return conn.execute(f'SELECT count(*) FROM "{table}"{where}').fetchone()[0]


def health(conn: sqlite3.Connection) -> tuple[list[str], list[dict]]:
    """(integrity_check lines, rows of schema version, integrity, orphans, counts per table)."""
    integrity = [r[0] for r in conn.execute("PRAGMA integrity_check")]
    orphans = conn.execute("PRAGMA foreign_key_check").fetchall()
    rows = [
        {"item": "schema version", "value": conn.execute("PRAGMA user_version").fetchone()[0]},
        {"item": "integrity", "value": "; ".join(integrity)},
        {"item": "orphaned rows", "value": len(orphans)},
    ]
    for table in table_names(conn):
        if table == "meta":
            continue
        live = live_count(conn, table)
        total = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
        extra = f" (+{total - live} deleted)" if total > live else ""
        rows.append({"item": table, "value": f"{live}{extra}"})
    return integrity, rows


def table_names(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        " AND name NOT LIKE 'members_fts%' ORDER BY name"
    )
    return [r[0] for r in rows]
