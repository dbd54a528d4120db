import sqlite3

import pytest

from tests.conftest import zpp_subprocess
from zppcli import db


def shape(conn: sqlite3.Connection) -> dict:
    """Tables with their columns, and indexes: what a schema means, not how it was written."""
    out = {}
    for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' ORDER BY name"
    ):
        cols = [tuple(r)[1:] for r in conn.execute(f'PRAGMA table_xinfo("{name}")')]
        out[name] = cols
    out["__indexes__"] = sorted(
        (r[0], r[1], r[2])
        for r in conn.execute("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index'")
    )
    return out


def test_new_db_has_the_schema_ids_and_version(run, db_path):
    run("db", "init", ok=True)
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA application_id").fetchone()[0] == db.APPLICATION_ID
    assert conn.execute("PRAGMA user_version").fetchone()[0] == db.schema_version()
    reference = sqlite3.connect(":memory:")
    reference.executescript(db.schema_sql())
    assert shape(conn) == shape(reference)
    assert db.is_zpp_file(db_path)


def test_empty_file_becomes_a_zpp_db(run, db_path):
    db_path.write_bytes(b"")
    run("member", "add", "Anaïs de Wit", ok=True)
    assert db.is_zpp_file(db_path)


@pytest.mark.parametrize("snapshot", ["schema-v1.sql"])
def test_migrating_an_old_db_gives_the_schema_of_schema_sql(tmp_path, snapshot):
    from pathlib import Path

    old = tmp_path / "old.db"
    c = sqlite3.connect(old)
    c.executescript((Path(__file__).parent / "data" / snapshot).read_text())
    c.execute("INSERT INTO meta VALUES ('probe', 'kept')")
    c.commit()
    version = c.execute("PRAGMA user_version").fetchone()[0]
    c.close()
    conn = db.connect(old)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == db.schema_version()
    assert conn.execute("SELECT value FROM meta WHERE key = 'probe'").fetchone()[0] == "kept"
    reference = sqlite3.connect(":memory:")
    reference.executescript(db.schema_sql())
    assert shape(conn) == shape(reference)
    if version < db.schema_version():
        assert list(tmp_path.glob(f"old.db.v{version}-*.bak")), "a backup is made before migrating"


def test_schema_version_constant_matches_schema_sql():
    assert db.schema_version() == db.SCHEMA_VERSION


def test_every_migration_step_exists_up_to_the_schema_version():
    steps = db.migration_steps()
    assert all(v in steps for v in range(2, db.schema_version() + 1))


def test_newer_schema_is_refused_with_exit_5(run, db_path):
    run("db", "init", ok=True)
    c = sqlite3.connect(db_path)
    c.execute(f"PRAGMA user_version = {db.schema_version() + 1}")
    c.commit()
    c.close()
    before = db_path.read_bytes()
    result = zpp_subprocess("member", "list")
    assert result.returncode == 5
    assert "upgrade zpp" in result.stderr
    assert "Traceback" not in result.stderr
    assert db_path.read_bytes() == before


def test_foreign_sqlite_file_is_refused(run, db_path):
    c = sqlite3.connect(db_path)
    c.execute("CREATE TABLE photos (id)")
    c.commit()
    c.close()
    result = run("member", "list")
    assert result.exit_code == 1
    assert "not a zpp db" in result.stderr
    assert not db.is_zpp_file(db_path)


def test_db_path_precedence(run, tmp_path, monkeypatch):
    assert run("db", "path").stdout.strip() == str(tmp_path / "zpp.db")
    assert run("db", "path", "--db", str(tmp_path / "x.db")).stdout.strip() == str(
        tmp_path / "x.db"
    )
    monkeypatch.delenv("ZPP_DB")
    default = run("db", "path").stdout.strip()
    assert default.startswith(str(tmp_path / "home")) and default.endswith("zpp/zpp.db")


def test_reading_a_missing_db_says_how_to_create_it(run, db_path):
    result = run("member", "list")
    assert result.exit_code == 1
    assert "zpp db init" in result.stderr
    assert not db_path.exists()


def test_check_reports_version_integrity_and_counts(run, example_db):
    result = run("db", "check", "--json", ok=True)
    import json

    items = {r["item"]: r["value"] for r in json.loads(result.stdout)}
    assert items["schema version"] == db.schema_version()
    assert items["integrity"] == "ok"
    assert items["members"] == "51"
    assert int(items["skills"]) >= 25
    assert items["collectives"] == "4"


def test_init_example_twice_is_harmless_but_never_mixes_into_other_data(run, example_db, tmp_path):
    again = run("db", "init", "--example")
    assert again.exit_code == 0 and "nothing loaded" in again.stderr
    assert run("db", "check", "--json").stdout.count('"51"') == 1
    other = tmp_path / "other.db"
    run("member", "add", "Anaïs de Wit", "--db", str(other), ok=True)
    assert run("db", "init", "--example", "--db", str(other)).exit_code == 4


def test_example_availability_is_relative_to_today(run, example_db, monkeypatch):
    import json

    first = json.loads(run("show", "joran-vdburg", "--json").stdout)["availability"][0]["from"]
    assert first == "2026-12-01"  # offset 0 on the pinned day


def test_a_write_refuses_a_db_file_replaced_since_it_was_opened(run, example_db):
    import os
    import shutil

    from zppcli import store
    from zppcli.errors import Conflict

    conn = db.connect(example_db)
    copy = example_db.with_name("merged.db")
    shutil.copyfile(example_db, copy)
    os.replace(copy, example_db)  # what `zpp sync` does when it swaps a merged copy in
    with pytest.raises(Conflict, match="replaced"), store.Tx(conn) as tx:
        tx.insert("meta_probe_never_reached", {})
    conn.close()
    fresh = db.connect(example_db)
    with store.Tx(fresh) as tx:  # a new connection writes normally
        assert tx.conn.execute("SELECT count(*) FROM members").fetchone()[0] == 51
    fresh.close()


def test_migrating_to_version_3_rekeys_the_search_index(run, example_db):
    """Version 2 keyed the index by the UUID's first 15 hex digits; the migration's
    rebuild keys every member by fts_rowid, and search finds the same members."""
    from zppcli import searchindex

    before = run("search", "montage", "--format", "tsv", ok=True).stdout
    conn = sqlite3.connect(example_db)
    rows = conn.execute("SELECT member_id, name, skills, meta, bio FROM members_fts").fetchall()
    conn.execute("DELETE FROM members_fts")
    conn.executemany(
        "INSERT INTO members_fts (rowid, member_id, name, skills, meta, bio) VALUES (?, ?, ?, ?, ?, ?)",
        [(int(r[0].replace("-", "")[:15], 16), *r) for r in rows],
    )
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()
    migrated = db.connect(example_db)
    assert migrated.execute("PRAGMA user_version").fetchone()[0] == 3
    keyed = migrated.execute("SELECT rowid, member_id FROM members_fts").fetchall()
    migrated.close()
    assert len(keyed) == len(rows) > 20
    assert all(rowid == searchindex.fts_rowid(member_id) for rowid, member_id in keyed)
    assert run("search", "montage", "--format", "tsv", ok=True).stdout == before
