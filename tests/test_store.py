"""store.Tx.insert_many (the bulk path `zpp import json` writes new members with) and
the search index's fast fold.

insert_many must write what one `insert` per row writes: the same rows and values,
one clock per row (unique, increasing, every field stamped with it), one change-log
entry per row with the same data, and the same members marked for the index.
Real db files, compared as stored; merges run through the real merge.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zppcli import clock, merge
from zppcli import db as dbmod
from zppcli.searchindex import _fold
from zppcli.store import Tx
from zppcli.textfold import fold

NOW = "2026-12-01T10:00:00.000000Z"


def _rows(n: int) -> dict[str, list[tuple[str | None, dict]]]:
    members, contacts, skills = [], [], []
    for i in range(n):
        mid = str(uuid.UUID(int=(i * 7919 + 13) << 64 | i))
        members.append(
            (
                mid,
                {
                    "handle": f"lid-{i}",
                    "given_name": "Jöran" if i % 2 else "Łukasz",
                    "particle": "van" if i % 3 else "",
                    "family_name": f"Bürg {i}",
                    "city": "Hilversum",
                    "tags": ["radio", "tv"][: i % 3],
                    "languages": ["nl"],
                    "day_rate": None if i % 4 == 0 else 300 + i,
                    "bio": f'Zegt "hoi"\nen\u2028meer {i}',
                    **({"visibility": "public"} if i % 2 else {}),  # two shapes of row
                },
            )
        )
        contacts.append(
            (
                str(uuid.uuid5(uuid.NAMESPACE_URL, f"c{i}")),
                {
                    "member_id": mid,
                    "kind": "email",
                    "type": "work",
                    "value": f"lid{i}@voorbeeld.example",
                    "position": 0,
                    "private": bool(i % 2),
                },
            )
        )
        skills.append(
            (
                str(uuid.uuid5(uuid.NAMESPACE_URL, f"s{i}")),
                {"name": f"Vak {i}", "category": "", "description": ""},
            )
        )
    return {"members": members, "contacts": contacts, "skills": skills}


def _write(path: Path, rows: dict, bulk: bool) -> Tx:
    conn = dbmod.connect(path)
    try:
        with Tx(conn) as tx:
            for table, table_rows in rows.items():
                if bulk:
                    ids = tx.insert_many(table, table_rows)
                    assert ids == [r for r, _ in table_rows]
                else:
                    for row_id, values in table_rows:
                        tx.insert(table, values, row_id=row_id)
            dirty = set(tx.dirty_members)
        return tx, dirty, conn.execute("SELECT value FROM meta WHERE key = 'clock'").fetchone()[0]
    finally:
        conn.close()


def _table(path: Path, table: str) -> list[dict]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY id")]
    finally:
        conn.close()


def test_insert_many_writes_what_one_insert_per_row_writes(tmp_path, monkeypatch):
    monkeypatch.setenv("ZPP_DEVICE_ID", "bulk")
    rows = _rows(40)
    _, dirty_one, _ = _write(tmp_path / "one.db", rows, bulk=False)
    _, dirty_bulk, last = _write(tmp_path / "bulk.db", rows, bulk=True)
    assert dirty_bulk == dirty_one == {r for r, _ in rows["members"]}
    stamps = []
    for table in ("members", "contacts", "skills"):
        one, bulk = _table(tmp_path / "one.db", table), _table(tmp_path / "bulk.db", table)
        assert [r["id"] for r in bulk] == [r["id"] for r in one]
        for a, b in zip(one, bulk, strict=True):
            skip = ("created_at", "updated_at", "clocks")
            assert {k: v for k, v in a.items() if k not in skip} == {
                k: v for k, v in b.items() if k not in skip
            }
            assert b["created_at"] == b["updated_at"]
            ca, cb = json.loads(a["clocks"]), json.loads(b["clocks"])
            assert sorted(ca) == sorted(cb)  # the same fields stamped ...
            assert len(set(cb.values())) == 1  # ... each row with one clock of its own
            assert b["clocks"] == json.dumps(cb, sort_keys=True)  # written as insert writes it
            stamps.append(next(iter(cb.values())))
    assert len(set(stamps)) == len(stamps) == 120  # unique clocks
    assert max(stamps) == last  # the file's clock moved to the last one
    for s in stamps:
        assert clock.parse_clock(s)[2] == "bulk"
    # within a table, clocks go up in id order (the order the rows are written in)
    for table in ("members", "contacts", "skills"):
        table_stamps = [
            next(iter(json.loads(r["clocks"]).values()))
            for r in _table(tmp_path / "bulk.db", table)
        ]
        assert table_stamps == sorted(table_stamps)
    # change log: one insert entry per row, same data, stamped with the row's clock
    one_log = _table(tmp_path / "one.db", "changes")
    bulk_log = _table(tmp_path / "bulk.db", "changes")
    assert len(bulk_log) == len(one_log) == 120
    assert len({c["id"] for c in bulk_log}) == 120
    assert all(uuid.UUID(c["id"]).version == 7 for c in bulk_log)

    def entries(log):
        return sorted((c["tbl"], c["row_id"], c["op"], c["device_id"], c["data"]) for c in log)

    assert entries(bulk_log) == entries(one_log)
    row_clock = {
        r["id"]: next(iter(json.loads(r["clocks"]).values()))
        for t in ("members", "contacts", "skills")
        for r in _table(tmp_path / "bulk.db", t)
    }
    assert all(c["hlc"] == row_clock[c["row_id"]] for c in bulk_log)
    # the search index got the same documents
    one_fts = sorted(tuple(r.values())[1:] for r in _fts(tmp_path / "one.db"))
    assert one_fts == sorted(tuple(r.values())[1:] for r in _fts(tmp_path / "bulk.db"))
    assert len(one_fts) == 40


def _fts(path: Path) -> list[dict]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT rowid, * FROM members_fts")]
    finally:
        conn.close()


def test_insert_many_clocks_follow_the_files_clock(tmp_path, monkeypatch):
    """A clock ahead of the wall clock (from a merge) is still passed, never repeated."""
    monkeypatch.setenv("ZPP_DEVICE_ID", "bulk")
    path = tmp_path / "z.db"
    conn = dbmod.connect(path)
    future = clock.format_clock(clock.wall_ms() + 3_600_000, 99_998, "other")
    with Tx(conn) as tx:
        tx.observe(future)
        tx.insert_many("skills", _rows(3)["skills"])
    stamps = sorted(
        next(iter(json.loads(r[0]).values())) for r in conn.execute("SELECT clocks FROM skills")
    )
    conn.close()
    assert all(s > future for s in stamps)
    assert len(set(stamps)) == 3
    assert stamps[0].startswith(future[:13])  # same ms, counter 99999
    assert stamps[1][:13] == str(int(future[:13]) + 1)  # then it borrows the next ms


def test_insert_many_is_all_or_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("ZPP_DEVICE_ID", "bulk")
    path = tmp_path / "z.db"
    conn = dbmod.connect(path)
    rows = _rows(3)["skills"]
    try:
        with Tx(conn) as tx:
            tx.insert_many("skills", [*rows, rows[0]])  # a repeated id
    except sqlite3.IntegrityError:
        pass
    else:
        raise AssertionError("a repeated id must fail")
    assert conn.execute("SELECT count(*) FROM skills").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM changes WHERE tbl = 'skills'").fetchone()[0] == 0
    conn.close()


def test_merge_of_a_bulk_imported_db_and_an_edited_copy_converges(tmp_path, monkeypatch, run):
    """Bulk-import a directory; a copy edits some members; merging both ways gives the same."""
    source = tmp_path / "dir.json"
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    monkeypatch.setenv("ZPP_DB", str(tmp_path / "example.db"))
    run("db", "init", "--example", ok=True)
    run("export", "json", "--include-private", "-o", source, ok=True)
    monkeypatch.setenv("ZPP_DB", str(a))
    monkeypatch.setenv("ZPP_DEVICE_ID", "laptop")
    run("import", "json", source, ok=True)
    conn = sqlite3.connect(a)
    assert conn.execute("SELECT count(*) FROM members").fetchone()[0] == 51
    assert (
        conn.execute("SELECT count(*) FROM changes").fetchone()[0]
        > conn.execute("SELECT count(*) FROM members").fetchone()[0]
    )
    handles = [r[0] for r in conn.execute("SELECT handle FROM members ORDER BY handle LIMIT 3")]
    conn.close()
    shutil.copyfile(a, b)
    monkeypatch.setenv("ZPP_DB", str(b))
    monkeypatch.setenv("ZPP_DEVICE_ID", "phone")
    run("member", "edit", handles[0], "--city", "Baarn", ok=True)
    run("member", "rm", handles[1], "--yes", ok=True)
    monkeypatch.setenv("ZPP_DB", str(a))
    monkeypatch.setenv("ZPP_DEVICE_ID", "laptop")
    run("member", "edit", handles[2], "--city", "Huizen", ok=True)
    ab, ba = tmp_path / "ab.db", tmp_path / "ba.db"
    shutil.copyfile(a, ab)
    shutil.copyfile(b, ba)
    for target, other, dev in ((ab, b, "laptop"), (ba, a, "phone")):
        conn = dbmod.connect(target)
        old = os.environ["ZPP_DEVICE_ID"]
        os.environ["ZPP_DEVICE_ID"] = dev
        try:
            merge.merge(conn, other)
        finally:
            os.environ["ZPP_DEVICE_ID"] = old
            conn.close()
    for table in ("members", "contacts", "member_skills", "collective_members", "changes"):
        cols = "*" if table == "changes" else "id, clocks, deleted"
        x = sorted(map(tuple, sqlite3.connect(ab).execute(f"SELECT {cols} FROM {table}")))
        y = sorted(map(tuple, sqlite3.connect(ba).execute(f"SELECT {cols} FROM {table}")))
        assert x == y, table
    conn = sqlite3.connect(ab)
    assert conn.execute("SELECT city FROM members WHERE handle = ?", (handles[0],)).fetchone()[
        0
    ] == ("Baarn")
    assert conn.execute("SELECT city FROM members WHERE handle = ?", (handles[2],)).fetchone()[
        0
    ] == ("Huizen")
    assert conn.execute(
        "SELECT deleted FROM members WHERE handle = ?", (handles[1],)
    ).fetchone() == (1,)
    conn.close()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=30))
def test_fast_fold_is_fold(text):
    assert _fold(text) == fold(text)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(["Łukasz", "Ørjan", "Bürg", "Strauß", "Æble", "é", "e\u0301", " ", "A"]),
        max_size=8,
    ).map("".join)
)
def test_fast_fold_is_fold_on_accented_words(text):
    assert _fold(text) == fold(text)


# -- the importer's batches: the same result as writing each record straight away ------
def _directory(path: Path) -> Path:
    def member(n, uid, handle=None, email=None, **extra):
        rec = {
            "id": str(uuid.UUID(int=uid << 80 | uid)),
            "given_name": "Anna",
            "family_name": f"Visser {n}",
            "emails": [{"type": "work", "value": email or f"lid{n}@voorbeeld.example"}],
            "phones": [{"type": "mobile", "value": f"+3161234{n:04d}"}],
            "skills": [{"skill": "Montage", "level": "expert"}],
            "collectives": [{"handle": "gooi-collectief", "role": "member"}] if n % 2 else [],
            "availability": [],
            **extra,
        }
        if handle:
            rec["handle"] = handle
        return rec

    period = {"from": "2026-12-01", "to": "2026-12-05", "status": "booked"}
    members = [
        member(1, 1, "anna", "anna@voorbeeld.example"),
        member(2, 2, None, "ANNA@voorbeeld.example"),  # the e-mail of a batched member
        member(3, 3, "anna"),  # a batched member's handle
        member(4, 4),  # no handle: anna-visser-4
        member(5, 1, "anna-nieuw", city="Baarn"),  # a batched member's UID
        member(6, 6, availability=[{**period, "id": str(uuid.UUID(int=99))}]),
        member(7, 7, availability=[{**period, "id": str(uuid.UUID(int=99))}]),  # same period id
        member(8, 8, collectives=[{"handle": "bestaat-niet"}]),  # invalid: no such collective
        member(9, 9, "anna-visser4"),  # the handle member 4 got
        *(member(n, n) for n in range(10, 16)),
    ]
    data = {
        "format": "zpp-directory",
        "version": 1,
        "skills": [{"name": "Montage", "category": "", "description": "", "aliases": ["edit"]}],
        "collectives": [
            {
                "id": str(uuid.UUID(int=77 << 80)),
                "handle": "gooi-collectief",
                "name": "Gooi Collectief",
            }
        ],
        "members": members,
    }
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def _import(path: Path, source: Path, **kw):
    from zppcli import importer

    conn = dbmod.connect(path)
    try:
        items, catalogue, _ = importer.read("json", source)
        return importer.run(conn, items, catalogue=catalogue, **kw)
    finally:
        conn.close()


def _logged_data(table: str, data: str) -> str:
    """A change's data, without the random ids of new availability periods (also
    where an imported member's entry holds them, under "rows")."""
    if table == "availability":
        return ""
    value = json.loads(data)
    periods = (value.get("rows") or {}).get("availability")
    if periods:
        fixed = str(uuid.UUID(int=99))
        value["rows"]["availability"] = sorted(
            [k if k == fixed else "", v] for k, v in periods.items()
        )
    return json.dumps(value, sort_keys=True)


def _stored(path: Path) -> dict[str, list[tuple]]:
    """Every row as stored, without what differs by when it was written (and the
    random ids of new availability periods)."""
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    out = {}
    try:
        for table in ("members", "contacts", "member_skills", "collective_members", "availability"):
            rows = []
            for r in conn.execute(f"SELECT * FROM {table}"):
                row = dict(r)
                for k in ("created_at", "updated_at", "clocks"):
                    row.pop(k)
                if table == "availability" and row["id"] != str(uuid.UUID(int=99)):
                    row.pop("id")
                rows.append(tuple(sorted(row.items())))
            out[table] = sorted(rows)
        out["changes"] = sorted(
            (r["tbl"], r["op"], _logged_data(r["tbl"], r["data"]))
            for r in conn.execute("SELECT * FROM changes")
        )
        out["fts"] = sorted(map(tuple, conn.execute("SELECT * FROM members_fts")))
    finally:
        conn.close()
    return out


def test_import_in_batches_writes_what_one_record_at_a_time_writes(tmp_path, monkeypatch):
    from zppcli import importer

    source = _directory(tmp_path / "dir.json")
    results = {}
    batchable = importer.Importer._batchable
    for name, batch, how in (
        ("straight", 1000, lambda self, item: False),  # record at a time: tx.insert per row
        ("batch2", 2, batchable),
        ("batch1000", 1000, batchable),
    ):
        monkeypatch.setattr(importer.Importer, "BATCH", batch)
        monkeypatch.setattr(importer.Importer, "_batchable", how)
        report = _import(tmp_path / f"{name}.db", source, skip_invalid=True)
        results[name] = (
            report.counts,
            [r["where"] for r in report.rows],
            _stored(tmp_path / f"{name}.db"),
        )
    assert results["straight"][0] == {"added": 12, "updated": 2, "unchanged": 0, "skipped": 1}
    assert results["batch2"] == results["straight"]
    assert results["batch1000"] == results["straight"]
    stored = results["batch2"][2]
    handles = sorted(dict(r)["handle"] for r in stored["members"])
    assert {"anna-nieuw", "anna-2", "anna-visser4", "anna-visser4-2"} <= set(handles)
    assert not any(dict(r)["family_name"] == "Visser 8" for r in stored["members"])


def test_import_in_batches_aborts_whole(tmp_path, monkeypatch):
    """Without --skip-invalid a bad record after a written batch leaves the db empty."""
    from zppcli import importer

    monkeypatch.setattr(importer.Importer, "BATCH", 2)
    source = _directory(tmp_path / "dir.json")
    try:
        _import(tmp_path / "z.db", source)
    except importer.BadRecord as e:
        assert "bestaat-niet" in str(e)
    else:
        raise AssertionError("member 8 must abort the import")
    conn = sqlite3.connect(tmp_path / "z.db")
    for table in ("members", "contacts", "changes", "members_fts"):
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table
    conn.close()


def test_refresh_reading_whole_tables_gives_the_same_index(tmp_path, monkeypatch, run):
    from zppcli import searchindex

    run("db", "init", "--example", ok=True)
    path = Path(os.environ["ZPP_DB"])
    conn = dbmod.connect(path)
    before = sorted(map(tuple, conn.execute("SELECT rowid, * FROM members_fts")))
    ids = [r[0] for r in conn.execute("SELECT id FROM members WHERE deleted = 0")]
    monkeypatch.setattr(searchindex, "SCAN_FROM", 1)
    conn.execute("BEGIN")
    conn.execute("DELETE FROM members_fts")
    searchindex.refresh(conn, ids[::2])  # some members: only theirs come back
    half = sorted(map(tuple, conn.execute("SELECT rowid, * FROM members_fts")))
    searchindex.refresh(conn, ids)
    after = sorted(map(tuple, conn.execute("SELECT rowid, * FROM members_fts")))
    conn.execute("ROLLBACK")
    conn.close()
    assert len(before) == 51
    assert after == before
    assert half == [r for r in before if r[1] in set(ids[::2])]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=20), min_size=1, max_size=4))
def test_derived_id_is_uuid5(parts):
    from zppcli.store import NAMESPACE, derived_id

    try:
        expected = str(uuid.uuid5(NAMESPACE, "\x1f".join(parts)))
    except UnicodeEncodeError:  # lone surrogates: neither can encode them
        return
    assert derived_id(*parts) == expected


def test_a_new_member_naming_a_skill_or_collective_twice_gets_the_later_one(tmp_path, run):
    """Batched, a repeated row of one record is the later one (as for an existing member,
    where the second write is an update); written one row at a time it was an internal error."""
    card = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Anna Visser\r\nN:Visser;Anna;;;\r\n"
        "EMAIL:anna@voorbeeld.example\r\nORG:Gooi Collectief\r\nORG:Gooi Collectief\r\n"
        "END:VCARD\r\n"
    )
    (tmp_path / "a.vcf").write_text(card, encoding="utf-8")
    result = run("import", "vcard", tmp_path / "a.vcf")
    assert result.exit_code == 0, result.stderr
    data = {
        "format": "zpp-directory",
        "version": 1,
        "skills": [{"name": "Montage"}],
        "collectives": [],
        "members": [
            {
                "given_name": "Bram",
                "family_name": "Bos",
                "skills": [
                    {"skill": "Montage", "level": "competent"},
                    {"skill": "montage", "level": "expert", "can_mentor": True},
                ],
            }
        ],
    }
    (tmp_path / "b.json").write_text(json.dumps(data), encoding="utf-8")
    result = run("import", "json", tmp_path / "b.json")
    assert result.exit_code == 0, result.stderr
    conn = sqlite3.connect(os.environ["ZPP_DB"])
    assert conn.execute(
        "SELECT level, can_mentor FROM member_skills ms JOIN members m ON m.id = ms.member_id"
        " WHERE m.handle = 'bram-bos'"
    ).fetchall() == [("expert", 1)]
    assert conn.execute(
        "SELECT count(*) FROM collective_members cm JOIN members m ON m.id = cm.member_id"
        " WHERE m.handle = 'anna-visser'"
    ).fetchone() == (1,)
    conn.close()


def _journal(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        conn.close()


def test_import_into_an_empty_db_goes_through_the_rollback_journal_and_back(tmp_path, monkeypatch):
    """Same rows as through WAL; WAL again afterwards, after an abort too; a db with
    members, or one another connection holds open, stays in WAL throughout."""
    from zppcli import importer

    source = _directory(tmp_path / "dir.json")
    modes = []
    real = importer._run

    def watched(conn, *args):
        modes.append(conn.execute("PRAGMA journal_mode").fetchone()[0])
        return real(conn, *args)

    monkeypatch.setattr(importer, "_run", watched)
    _import(tmp_path / "rollback.db", source, skip_invalid=True)
    with monkeypatch.context() as m:
        m.setattr(importer, "_rollback_journal_if_empty", lambda conn: None)
        _import(tmp_path / "wal.db", source, skip_invalid=True)
    assert modes == ["delete", "wal"]
    assert _stored(tmp_path / "rollback.db") == _stored(tmp_path / "wal.db")
    assert _journal(tmp_path / "rollback.db") == "wal"
    assert not (tmp_path / "rollback.db-journal").exists()

    modes.clear()
    _import(tmp_path / "rollback.db", source, skip_invalid=True)  # has members now
    try:
        _import(tmp_path / "aborted.db", source)  # member 8 aborts it
    except importer.BadRecord:
        pass
    else:
        raise AssertionError("member 8 must abort the import")
    assert _stored(tmp_path / "aborted.db")["members"] == []
    assert _journal(tmp_path / "aborted.db") == "wal"
    held = dbmod.connect(tmp_path / "held.db")
    held.execute("SELECT count(*) FROM members").fetchone()
    try:
        _import(tmp_path / "held.db", source, skip_invalid=True)
    finally:
        held.close()
    assert modes == ["wal", "delete", "wal"]
    assert _stored(tmp_path / "held.db") == _stored(tmp_path / "wal.db")
    assert _journal(tmp_path / "held.db") == "wal"


@pytest.mark.parametrize("batch", [1000, 2], ids=["one-batch", "batches-of-2"])
def test_an_imported_member_is_logged_once_holding_every_row_added_with_it(
    tmp_path, monkeypatch, batch
):
    """One change-log entry per added member, the member's own insert entry with
    those of its contacts, skills, collectives and periods under "rows": unfolded,
    exactly the entries one per row would have been (ids and data); the
    record-at-a-time path logs the same way."""
    from zppcli import importer

    monkeypatch.setattr(importer.Importer, "BATCH", batch)
    monkeypatch.setattr(importer, "BULK", False)  # test_bulkimport compares that with this
    source = _directory(tmp_path / "dir.json")
    _import(tmp_path / "compact.db", source, skip_invalid=True)
    with monkeypatch.context() as m:
        m.setattr(importer, "member_entries", lambda logged: logged)  # one entry a row
        _import(tmp_path / "per-row.db", source, skip_invalid=True)
    with monkeypatch.context() as m:
        m.setattr(importer.Importer, "_batchable", lambda self, item: False)
        _import(tmp_path / "straight.db", source, skip_invalid=True)
    compact, per_row = (
        _table(tmp_path / "compact.db", "changes"),
        _table(tmp_path / "per-row.db", "changes"),
    )
    added = {
        r[0] for r in sqlite3.connect(tmp_path / "compact.db").execute("SELECT id FROM members")
    }
    unfolded = []
    for c in compact:
        data = json.loads(c["data"])
        if c["tbl"] == "members" and c["op"] == "insert":
            assert c["row_id"] in added
            for table, rows in data.pop("rows").items():
                unfolded += [(table, row_id, "insert", v) for row_id, v in rows.items()]
        unfolded.append((c["tbl"], c["row_id"], c["op"], data))
    assert len(compact) < len(per_row)
    expected = [(c["tbl"], c["row_id"], c["op"], json.loads(c["data"])) for c in per_row]

    def key(entry):  # availability ids of new periods are random: compare without them
        table, row_id, op, data = entry
        return (
            table,
            "" if table == "availability" else row_id,
            op,
            json.dumps(data, sort_keys=True),
        )

    assert sorted(map(key, unfolded)) == sorted(map(key, expected))
    inserts = [c for c in compact if c["op"] == "insert"]
    assert sum(c["tbl"] == "members" for c in inserts) == len(added) == 12
    # what stays apart: rows a later record added to a member already there
    updated = {c["row_id"] for c in compact if c["tbl"] == "members" and c["op"] == "update"}
    apart = [json.loads(c["data"]) for c in inserts if c["tbl"] == "contacts"]
    assert apart and all(d["member_id"] in updated for d in apart)
    assert (
        _stored(tmp_path / "straight.db")["changes"] == _stored(tmp_path / "compact.db")["changes"]
    )


def test_log_and_forget_read_an_imported_members_entry(run, tmp_path, monkeypatch):
    """zpp log shows an imported member's insert; zpp member forget blanks it, rows and all."""
    monkeypatch.setenv("ZPP_DB", str(tmp_path / "example.db"))
    run("db", "init", "--example", ok=True)
    source = tmp_path / "dir.json"
    run("export", "json", "--include-private", "-o", source, ok=True)
    monkeypatch.setenv("ZPP_DB", str(tmp_path / "imported.db"))
    run("import", "json", source, ok=True)
    rows = json.loads(run("log", "joran-vdburg", "--format", "json", ok=True).stdout)
    assert [(r["op"], r["table"], r["what"]) for r in rows] == [
        ("insert", "members", "joran-vdburg")
    ]
    conn = sqlite3.connect(tmp_path / "imported.db")
    (entry,) = conn.execute(
        "SELECT data FROM changes c JOIN members m ON m.id = c.row_id WHERE m.handle = ?",
        ("joran-vdburg",),
    ).fetchone()
    conn.close()
    assert "joran@beeldhaven.example" in entry and "Documentairecameraman" in entry
    export = json.loads(run("member", "export", "joran-vdburg", ok=True).stdout)
    assert export["history"][0]["data"]["rows"]["contacts"]
    run("member", "forget", "joran-vdburg", "--yes", ok=True)
    conn = sqlite3.connect(tmp_path / "imported.db")
    left = [r[0] for r in conn.execute("SELECT data FROM changes")]
    conn.close()
    assert not [d for d in left if "joran" in d.lower() or "Documentairecameraman" in d]
