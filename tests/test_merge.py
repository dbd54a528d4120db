"""merge.py: the merge algebra, tombstones, clocks, duplicates, schema versions, dry runs.

Replicas are real db files written through the real core functions (members,
skills, availability) and merged with merge.merge; content is compared as
stored, so "identical" means every field and every clock.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from zppcli import clock, members, merge, skills
from zppcli import db as dbmod
from zppcli.errors import SchemaTooNew, ZppError
from zppcli.store import Tx

SKILLS = ("Montage", "Camera", "Podcast")
FIELDS = {
    "city": st.sampled_from(["Hilversum", "Utrecht", "Almere", "Baarn"]),
    "bio": st.text(alphabet="abcdeé", min_size=1, max_size=12),
    "day_rate": st.integers(0, 2000),
    "tags": st.lists(st.sampled_from(["radio", "tv", "web"]), max_size=2, unique=True),
}
SETTINGS = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@contextlib.contextmanager
def device(name: str):
    old = os.environ.get("ZPP_DEVICE_ID")
    os.environ["ZPP_DEVICE_ID"] = name
    try:
        yield
    finally:
        if old is None:
            del os.environ["ZPP_DEVICE_ID"]
        else:
            os.environ["ZPP_DEVICE_ID"] = old


@contextlib.contextmanager
def writing(path: Path, dev: str):
    conn = dbmod.connect(path)
    try:
        with device(dev), Tx(conn) as tx:
            yield tx
    finally:
        conn.close()


def base_db(path: Path) -> list[str]:
    """A small shared ancestor: three members and the skill catalogue; returns member ids."""
    with writing(path, "base") as tx:
        for name in SKILLS:
            skills.add_skill(tx, name)
        for i, name in enumerate(("Anna Jansen", "Bram de Vries", "Cor Bakker")):
            members.add(
                tx,
                name,
                members.MemberInput(
                    values={"handle": f"base-{i}"}, emails=[("work", f"base{i}@x.example")]
                ),
            )
        ids = [r[0] for r in tx.conn.execute("SELECT id FROM members ORDER BY handle")]
    return ids


def merged(target: Path, other: Path, dev: str, out: Path | None = None, **kw) -> merge.Report:
    """Merge other into target (or into a copy at out) as device dev."""
    if out is not None:
        shutil.copyfile(target, out)
        target = out
    conn = dbmod.connect(target)
    try:
        with device(dev):
            return merge.merge(conn, other, **kw)
    finally:
        conn.close()


def content(path: Path, clocks: bool = True) -> dict[str, list[tuple]]:
    """Every synced and unioned row (not updated_at, not local meta), sorted."""
    conn = sqlite3.connect(path)
    try:
        out = {}
        for table in [*merge.synced_tables(conn), *merge.union_tables(conn)]:
            cols = [
                c
                for c in merge._columns(conn, table)
                if c != "updated_at" and (clocks or c != "clocks")
            ]
            if not clocks and table in ("changes", "devices"):
                continue
            out[table] = sorted(
                tuple(map(repr, r)) for r in conn.execute(f"SELECT {', '.join(cols)} FROM {table}")
            )
        return out
    finally:
        conn.close()


def live_fts_consistent(path: Path) -> bool:
    conn = sqlite3.connect(path)
    try:
        live = {r[0] for r in conn.execute("SELECT id FROM members WHERE deleted = 0")}
        indexed = {r[0] for r in conn.execute("SELECT member_id FROM members_fts")}
        return live == indexed
    finally:
        conn.close()


# -- replica edits as hypothesis data -------------------------------------------------------
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.integers(0, 99)),
        st.tuples(st.just("edit"), st.integers(0, 9), st.sampled_from(sorted(FIELDS)), st.data()),
        st.tuples(st.just("delete"), st.integers(0, 9)),
        st.tuples(
            st.just("skill"),
            st.integers(0, 9),
            st.sampled_from(SKILLS),
            st.sampled_from(skills.LEVELS),
        ),
        st.tuples(st.just("unskill"), st.integers(0, 9), st.sampled_from(SKILLS)),
    ),
    max_size=6,
)


def apply_ops(path: Path, dev: str, ops: list) -> None:
    with writing(path, dev) as tx:
        for n, op in enumerate(ops):
            ids = [
                r[0]
                for r in tx.conn.execute("SELECT id FROM members WHERE deleted = 0 ORDER BY id")
            ]
            kind = op[0]
            if kind == "add":
                members.add(
                    tx, f"Lid {dev}{n} Test", members.MemberInput(values={"handle": f"{dev}-{n}"})
                )
            elif not ids:
                continue
            elif kind == "edit":
                value = op[3].draw(FIELDS[op[2]])
                members.edit(tx, ids[op[1] % len(ids)], members.MemberInput(values={op[2]: value}))
            elif kind == "delete":
                members.remove(tx, ids[op[1] % len(ids)])
            elif kind == "skill":
                spec = skills.SkillSpec(op[2], op[3], False, False)
                skills.set_member_skill(tx, ids[op[1] % len(ids)], spec)
            elif kind == "unskill":
                member = ids[op[1] % len(ids)]
                held = tx.conn.execute(
                    "SELECT 1 FROM member_skills WHERE id = ? AND deleted = 0",
                    (skills.member_skill_id(member, skills.skill_id(op[2])),),
                ).fetchone()
                if held:
                    skills.remove_member_skill(tx, member, op[2])


@pytest.fixture
def base(tmp_path) -> Path:
    path = tmp_path / "base.db"
    base_db(path)
    return path


def replicas(base: Path, tmp: Path, edits: list[list]) -> list[Path]:
    paths = []
    for i, ops in enumerate(edits):
        path = tmp / f"r{i}-{os.urandom(3).hex()}.db"
        shutil.copyfile(base, path)
        apply_ops(path, f"dev{i}", ops)
        paths.append(path)
    return paths


# -- the algebra --------------------------------------------------------------------------
@SETTINGS
@given(a=OPS, b=OPS)
def test_merge_is_commutative(base, tmp_path, a, b):
    ra, rb = replicas(base, tmp_path, [a, b])
    ab = tmp_path / f"ab-{os.urandom(3).hex()}.db"
    ba = tmp_path / f"ba-{os.urandom(3).hex()}.db"
    merged(ra, rb, "dev0", out=ab)
    merged(rb, ra, "dev1", out=ba)
    assert content(ab) == content(ba)
    assert live_fts_consistent(ab) and live_fts_consistent(ba)


@SETTINGS
@given(a=OPS, b=OPS, c=OPS)
def test_merge_is_associative(base, tmp_path, a, b, c):
    ra, rb, rc = replicas(base, tmp_path, [a, b, c])
    tag = os.urandom(3).hex()
    ab, ab_c = tmp_path / f"ab{tag}.db", tmp_path / f"ab_c{tag}.db"
    bc, a_bc = tmp_path / f"bc{tag}.db", tmp_path / f"a_bc{tag}.db"
    merged(ra, rb, "dev0", out=ab)
    merged(ab, rc, "dev0", out=ab_c)
    merged(rb, rc, "dev1", out=bc)
    merged(ra, bc, "dev0", out=a_bc)
    assert content(ab_c) == content(a_bc)


@SETTINGS
@given(a=OPS, b=OPS)
def test_merge_is_idempotent(base, tmp_path, a, b):
    ra, rb = replicas(base, tmp_path, [a, b])
    before = content(ra)
    report = merged(ra, ra, "dev0")
    assert content(ra) == before and not report.changes
    merged(ra, rb, "dev0")
    once = content(ra)
    again = merged(ra, rb, "dev0")
    assert content(ra) == once
    assert again.changes == [] and all(n == 0 for n in again.unioned.values())


@SETTINGS
@given(a=OPS)
def test_merging_an_empty_db_changes_nothing(base, tmp_path, a):
    (ra,) = replicas(base, tmp_path, [a])
    empty = tmp_path / f"empty-{os.urandom(3).hex()}.db"
    dbmod.connect(empty).close()
    before = content(ra)
    report = merged(ra, empty, "dev0")
    assert content(ra) == before
    assert report.changes == []


def test_the_report_names_added_updated_and_deleted(base, tmp_path):
    a, b = replicas(base, tmp_path, [[], []])
    with writing(b, "dev1") as tx:
        members.add(tx, "Nieuw Lid", members.MemberInput(values={"handle": "nieuw"}))
        anna = members.find_by_handle(tx.conn, "base-0")["id"]
        members.edit(tx, anna, members.MemberInput(values={"city": "Baarn", "day_rate": 500}))
        members.remove(tx, members.find_by_handle(tx.conn, "base-1")["id"])
    report = merged(a, b, "dev0")
    by = {(c.table, c.label): c for c in report.changes}
    assert by[("members", "nieuw")].change == "added"
    assert by[("members", "base-0")].change == "updated"
    assert sorted(by[("members", "base-0")].fields) == ["city", "day_rate"]
    assert by[("members", "base-1")].change == "deleted"
    assert report.count("added") == 1 and report.count("deleted") >= 2  # the member and its e-mail


# -- edits, tombstones and clocks -------------------------------------------------------------
@SETTINGS
@given(
    split=st.lists(st.sampled_from(sorted(FIELDS)), min_size=1, max_size=4, unique=True).flatmap(
        lambda fs: st.tuples(st.just(fs), st.integers(0, len(fs)))
    ),
    data=st.data(),
)
def test_no_edit_is_lost_when_edits_touch_different_fields(base, tmp_path, split, data):
    fields, cut = split
    mine, theirs = fields[:cut], fields[cut:]
    ra, rb = replicas(base, tmp_path, [[], []])
    wanted = {}
    for path, dev, chosen in ((ra, "dev0", mine), (rb, "dev1", theirs)):
        values = {f: data.draw(FIELDS[f]) for f in chosen}
        wanted.update(values)
        with writing(path, dev) as tx:
            anna = members.find_by_handle(tx.conn, "base-0")["id"]
            members.edit(tx, anna, members.MemberInput(values=values))
    merged(ra, rb, "dev0")
    merged(rb, ra, "dev1")
    for path in (ra, rb):
        conn = dbmod.connect(path)
        rec = members.record(conn, members.find_by_handle(conn, "base-0")["id"])
        conn.close()
        for f, value in wanted.items():
            assert rec[f] == value, (f, rec[f], value)


def test_a_tombstone_beats_an_old_copy_and_an_edit_after_it(base, tmp_path):
    old, deleter = replicas(base, tmp_path, [[], []])
    with writing(deleter, "dev1") as tx:
        members.remove(tx, members.find_by_handle(tx.conn, "base-2")["id"])
    with writing(old, "dev0") as tx:  # written later than the delete, other fields
        members.edit(
            tx,
            members.find_by_handle(tx.conn, "base-1")["id"],
            members.MemberInput(values={"city": "Baarn"}),
        )
    merged(deleter, old, "dev1")
    merged(old, deleter, "dev0")
    for path in (old, deleter):
        conn = dbmod.connect(path)
        assert members.find_by_handle(conn, "base-2") is None
        assert (
            conn.execute(
                "SELECT count(*) FROM contacts WHERE value = 'base2@x.example' AND deleted = 0"
            ).fetchone()[0]
            == 0
        )
        assert members.find_by_handle(conn, "base-1")["city"] == "Baarn"
        conn.close()
        assert live_fts_consistent(path)


def test_an_explicit_readd_after_a_delete_wins(base, tmp_path):
    a, b = replicas(base, tmp_path, [[], []])
    with writing(a, "dev0") as tx:
        anna = members.find_by_handle(tx.conn, "base-0")["id"]
        skills.set_member_skill(tx, anna, skills.SkillSpec("Camera", "expert", False, False))
    shutil.copyfile(a, b)
    old = tmp_path / "old.db"
    shutil.copyfile(a, old)
    with writing(b, "dev1") as tx:
        skills.remove_member_skill(tx, anna, "Camera")
    merged(a, b, "dev0")  # a learns of the delete ...
    with writing(a, "dev0") as tx:  # ... and adds the skill again, on purpose
        skills.set_member_skill(tx, anna, skills.SkillSpec("Camera", "competent", False, False))
    merged(b, a, "dev1")
    merged(b, old, "dev1")  # an old copy from before the delete changes nothing
    conn = dbmod.connect(b)
    levels = [
        s["level"] for s in skills.member_skills(conn, [anna])[anna] if s["skill"] == "Camera"
    ]
    conn.close()
    assert levels == ["competent"]


@settings(max_examples=60, deadline=None)
@given(walls=st.lists(st.integers(1_600_000_000_000, 1_900_000_000_000), min_size=1, max_size=30))
def test_the_clock_never_goes_backwards_when_the_wall_clock_does(walls):
    last = None
    for now in walls:
        stamp = clock.tick(last, "dev", now_ms=now)
        assert last is None or stamp > last
        last = stamp


def test_a_clock_far_in_the_future_is_clamped_and_reported(base, tmp_path):
    a, b = replicas(base, tmp_path, [[], []])
    future = clock.wall_ms() + 3 * 24 * 3600 * 1000
    c = sqlite3.connect(b)  # a copy written by a device whose clock is 3 days ahead
    row_id, clocks = c.execute("SELECT id, clocks FROM members WHERE handle = 'base-0'").fetchone()
    stamps = json.loads(clocks)
    stamps["city"] = clock.format_clock(future, 0, "fast")
    c.execute(
        "UPDATE members SET city = 'Toekomst', clocks = ? WHERE id = ?",
        (json.dumps(stamps), row_id),
    )
    c.commit()
    c.close()
    report = merged(a, b, "dev0")
    assert [(x["table"], x["field"]) for x in report.clamped] == [("members", "city")]
    conn = dbmod.connect(a)
    kept = json.loads(
        conn.execute("SELECT clocks FROM members WHERE id = ?", (row_id,)).fetchone()[0]
    )
    assert int(kept["city"][:13]) < future
    meta_clock = conn.execute("SELECT value FROM meta WHERE key = 'clock'").fetchone()[0]
    assert int(meta_clock[:13]) < future  # this file's clock did not jump ahead either
    conn.close()
    with writing(a, "dev0") as tx:  # a later edit here still wins
        members.edit(tx, row_id, members.MemberInput(values={"city": "Laren"}))
    conn = dbmod.connect(a)
    assert members.get_row(conn, row_id)["city"] == "Laren"
    conn.close()


# -- replicas at random: a state machine ---------------------------------------------------------
class Replicas(RuleBasedStateMachine):
    """N replicas do adds, edits and deletes through the core and merge in random orders."""

    N = 3

    @initialize()
    def setup(self):
        import tempfile

        self.dir = Path(tempfile.mkdtemp(prefix="zpp-replicas-"))
        base = self.dir / "base.db"
        base_db(base)
        self.paths = []
        for i in range(self.N):
            path = self.dir / f"r{i}.db"
            shutil.copyfile(base, path)
            self.paths.append(path)
        self.known_deleted: list[set[str]] = [set() for _ in range(self.N)]
        self.step = 0

    def teardown(self):
        shutil.rmtree(getattr(self, "dir", "/nonexistent"), ignore_errors=True)

    def _ids(self, i: int) -> list[str]:
        c = sqlite3.connect(self.paths[i])
        ids = [r[0] for r in c.execute("SELECT id FROM members WHERE deleted = 0 ORDER BY id")]
        c.close()
        return ids

    @rule(i=st.integers(0, N - 1), shared_email=st.booleans())
    def add(self, i, shared_email):
        self.step += 1
        handle = f"r{i}-{self.step}"
        # a shared address: the same person entered on two devices, folded on merge
        emails = [("work", "gedeeld@x.example" if shared_email else f"{handle}@x.example")]
        with writing(self.paths[i], f"dev{i}") as tx:
            if shared_email and members.email_owner(tx.conn, "gedeeld@x.example"):
                return
            members.add(
                tx, f"Lid {handle}", members.MemberInput(values={"handle": handle}, emails=emails)
            )

    @rule(
        i=st.integers(0, N - 1),
        pick=st.integers(0, 50),
        field=st.sampled_from(sorted(FIELDS)),
        data=st.data(),
    )
    def edit(self, i, pick, field, data):
        ids = self._ids(i)
        if ids:
            with writing(self.paths[i], f"dev{i}") as tx:
                members.edit(
                    tx,
                    ids[pick % len(ids)],
                    members.MemberInput(values={field: data.draw(FIELDS[field])}),
                )

    @rule(i=st.integers(0, N - 1), pick=st.integers(0, 50))
    def delete(self, i, pick):
        ids = self._ids(i)
        if ids:
            victim = ids[pick % len(ids)]
            with writing(self.paths[i], f"dev{i}") as tx:
                members.remove(tx, victim)
            self.known_deleted[i].add(victim)

    @rule(
        i=st.integers(0, N - 1),
        pick=st.integers(0, 50),
        skill=st.sampled_from(SKILLS),
        level=st.sampled_from(skills.LEVELS),
    )
    def skill(self, i, pick, skill, level):
        ids = self._ids(i)
        if ids:
            with writing(self.paths[i], f"dev{i}") as tx:
                skills.set_member_skill(
                    tx, ids[pick % len(ids)], skills.SkillSpec(skill, level, False, False)
                )

    @precondition(lambda self: hasattr(self, "paths"))
    @rule(i=st.integers(0, N - 1), j=st.integers(0, N - 1))
    def merge(self, i, j):
        if i != j:
            merged(self.paths[i], self.paths[j], f"dev{i}")
            self.known_deleted[i] |= self.known_deleted[j]

    @invariant()
    def no_tombstoned_member_returns(self):
        if not hasattr(self, "paths"):
            return
        for i in range(self.N):
            live = set(self._ids(i))
            assert not (live & self.known_deleted[i])

    def converge(self):
        for _ in range(2):  # gather into 0, spread, twice: duplicate fixes settle in round one
            for j in range(1, self.N):
                merged(self.paths[0], self.paths[j], "dev0")
            for j in range(1, self.N):
                merged(self.paths[j], self.paths[0], f"dev{j}")
        first = content(self.paths[0])
        for path in self.paths[1:]:
            assert content(path) == first
        for path in self.paths:
            assert live_fts_consistent(path)
            c = sqlite3.connect(path)
            shared = c.execute(
                "SELECT count(DISTINCT c.member_id) FROM contacts c JOIN members m ON m.id = c.member_id"
                " WHERE m.deleted = 0 AND c.deleted = 0 AND c.value = 'gedeeld@x.example'"
            ).fetchone()[0]
            handles = c.execute(
                "SELECT count(*) - count(DISTINCT handle) FROM members WHERE deleted = 0"
            ).fetchone()[0]
            c.close()
            assert shared <= 1 and handles == 0


class ConvergingReplicas(Replicas):
    def teardown(self):
        if hasattr(self, "paths"):
            self.converge()
        super().teardown()


ConvergingReplicas.TestCase.settings = settings(
    max_examples=15,
    stateful_step_count=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestReplicasConverge = ConvergingReplicas.TestCase


# -- duplicates the union reveals ----------------------------------------------------------------
def test_the_same_person_added_on_two_devices_folds_into_one_the_same_way(base, tmp_path):
    a, b = replicas(base, tmp_path, [[], []])
    for path, dev, city in ((a, "dev0", "Hilversum"), (b, "dev1", "")):
        with writing(path, dev) as tx:
            members.add(
                tx,
                "Jan de Vries",
                members.MemberInput(
                    values={"city": city} if city else {"bio": "Editor"},
                    emails=[("work", "jan@x.example")],
                    phones=[("mobile", "+31612345678")],
                ),
            )
    ab, ba = tmp_path / "ab.db", tmp_path / "ba.db"
    rep_ab = merged(a, b, "dev0", out=ab)
    rep_ba = merged(b, a, "dev1", out=ba)
    assert [d.kind for d in rep_ab.duplicates] == ["email"] == [d.kind for d in rep_ba.duplicates]
    results = []
    for path in (ab, ba):
        conn = dbmod.connect(path)
        owner = members.email_owner(conn, "jan@x.example")
        rec = members.record(conn, owner["id"])
        live = conn.execute(
            "SELECT count(*) FROM members WHERE deleted = 0 AND given_name = 'Jan'"
        ).fetchone()[0]
        conn.close()
        results.append((owner["id"], rec["city"], rec["bio"], live))
    assert results[0] == results[1]
    assert results[0][1:] == ("Hilversum", "Editor", 1)  # both devices' fields kept on the survivor


def test_a_handle_taken_twice_is_renamed_the_same_way_on_both_sides(base, tmp_path):
    a, b = replicas(base, tmp_path, [[], []])
    for path, dev in ((a, "dev0"), (b, "dev1")):
        with writing(path, dev) as tx:
            members.add(tx, "Piet Jansen", members.MemberInput(values={"handle": "piet"}))
    ab, ba = tmp_path / "ab.db", tmp_path / "ba.db"
    rep = merged(a, b, "dev0", out=ab)
    merged(b, a, "dev1", out=ba)
    assert [d.kind for d in rep.duplicates] == ["handle"]
    handles = []
    for path in (ab, ba):
        c = sqlite3.connect(path)
        handles.append(
            sorted(c.execute("SELECT id, handle FROM members WHERE given_name = 'Piet'").fetchall())
        )
        c.close()
    assert handles[0] == handles[1]
    assert sorted(h for _, h in handles[0])[0] == "piet" and handles[0][0][1] != handles[0][1][1]


# -- schema versions, non-zpp files, dry runs ----------------------------------------------------
def test_a_copy_with_a_newer_schema_is_refused(base, tmp_path):
    newer = tmp_path / "newer.db"
    shutil.copyfile(base, newer)
    c = sqlite3.connect(newer)
    c.execute(f"PRAGMA user_version = {dbmod.schema_version() + 1}")
    c.commit()
    c.close()
    with pytest.raises(SchemaTooNew):
        merged(base, newer, "dev0")


def test_an_older_copy_is_migrated_in_a_temp_copy_and_left_as_it_was(base, tmp_path):
    old = tmp_path / "old.db"
    c = sqlite3.connect(old)
    c.executescript((Path(__file__).parent / "data" / "schema-v1.sql").read_text())
    now = "2026-11-26T10:00:00.000000Z"
    stamp = clock.format_clock(clock.wall_ms(), 0, "olddev")
    fields = ["handle", "given_name", "family_name", "deleted"]
    c.execute(
        "INSERT INTO members (id, handle, given_name, family_name, created_at, updated_at, clocks)"
        " VALUES ('11111111-2222-4333-8444-555555555555', 'oud', 'Oud', 'Lid', ?, ?, ?)",
        (now, now, json.dumps(dict.fromkeys(fields, stamp))),
    )
    c.commit()
    c.close()
    before = old.read_bytes()
    report = merged(base, old, "dev0")
    assert old.read_bytes() == before
    assert [c.label for c in report.changes] == ["oud"]
    assert list(tmp_path.glob("old.db.*.bak")) == []


def test_a_file_that_is_not_a_zpp_db_is_refused(base, tmp_path):
    other = tmp_path / "other.db"
    c = sqlite3.connect(other)
    c.execute("CREATE TABLE t (x)")
    c.commit()
    c.close()
    with pytest.raises(ZppError, match="not a zpp db"):
        merged(base, other, "dev0")


def test_a_dry_run_reports_the_same_and_changes_nothing(base, tmp_path):
    a, b = replicas(base, tmp_path, [[("add", 1)], [("add", 2), ("delete", 0)]])
    before = a.read_bytes()
    dry = merged(a, b, "dev0", dry_run=True)
    assert a.read_bytes() == before
    real = merged(a, b, "dev0")
    assert [(c.table, c.row_id, c.change) for c in dry.changes] == [
        (c.table, c.row_id, c.change) for c in real.changes
    ]
    assert dry.changes and dry.dry_run and not real.dry_run


def test_cli_db_merge_prints_changes_and_dry_run_keeps_the_db(run, example_db, tmp_path):
    from conftest import snapshot

    other = tmp_path / "other.db"
    shutil.copyfile(example_db, other)
    run("member", "edit", "mikkel-baek", "--city", "Utrecht", "--db", other, ok=True)
    before = snapshot(example_db)
    dry = run("db", "merge", other, "--dry-run", "--format", "json", ok=True)
    assert snapshot(example_db) == before
    rows = json.loads(dry.stdout)
    assert [(r["change"], r["what"], r["fields"]) for r in rows] == [
        ("updated", "mikkel-baek", ["city"])
    ]
    assert "would merge" in dry.stderr
    real = run("db", "merge", other, "--format", "tsv", ok=True)
    assert "updated\tmembers" in real.stdout
    shown = run("show", "mikkel-baek", "--format", "json", ok=True)
    assert "Utrecht" in shown.stdout
    missing = run("db", "merge", tmp_path / "nope.db")
    assert missing.exit_code == 1 and "nope.db" in missing.stderr


def test_cli_db_merge_of_a_newer_copy_exits_5_and_changes_nothing(run, example_db, tmp_path):
    from conftest import snapshot

    newer = tmp_path / "newer.db"
    shutil.copyfile(example_db, newer)
    c = sqlite3.connect(newer)
    c.execute(f"PRAGMA user_version = {dbmod.schema_version() + 1}")
    c.commit()
    c.close()
    before = snapshot(example_db)
    result = run("db", "merge", newer)
    assert result.exit_code == 5 and "newer than this zpp" in result.stderr
    assert snapshot(example_db) == before


def test_a_copy_edited_after_a_forget_is_erased_again_by_the_merge(
    run, example_db, tmp_path, monkeypatch
):
    copy = tmp_path / "laptop.db"
    shutil.copyfile(example_db, copy)
    run("member", "forget", "joran-vdburg", "--yes", ok=True)
    monkeypatch.setenv("ZPP_DEVICE_ID", "laptop")
    run("member", "edit", "joran-vdburg", "--city", "Geheimstad", "--db", copy, ok=True)
    monkeypatch.setenv("ZPP_DEVICE_ID", "testdev")
    result = run("db", "merge", copy, ok=True)
    assert "erased again" in result.stderr
    c = sqlite3.connect(example_db)
    assert c.execute("SELECT count(*) FROM members WHERE city = 'Geheimstad'").fetchone()[0] == 0
    assert (
        c.execute("SELECT count(*) FROM changes WHERE data LIKE '%Geheimstad%'").fetchone()[0] == 0
    )
    c.close()


def test_a_gathering_changed_on_two_devices_gets_a_higher_sequence_after_the_merge(base, tmp_path):
    """Both devices raised SEQUENCE to 1; a calendar that has one 1 ignores the other, so
    the merge numbers the changes 1, 2 (the same on both sides) and SEQUENCE becomes 2."""
    from icalendar import Calendar

    from zppcli import gatherings, ics

    with writing(base, "base") as tx:
        gid = gatherings.add(
            tx,
            gatherings.GatheringInput(
                title="Old School borrel",
                start="2026-12-10 17:30",
                duration="2h",
                place="Mediapark",
            ),
        )
    a, b = replicas(base, tmp_path, [[], []])
    with writing(a, "dev0") as tx:
        g = gatherings.get_row(tx.conn, gid)
        gatherings.record_send(tx, g, "announce", recipient="text")  # announced as SEQUENCE 0
        gatherings.edit(tx, g, gatherings.GatheringInput(place="Beeld en Geluid"))
        gatherings.record_send(tx, gatherings.get_row(tx.conn, gid), "announce", recipient="text")
    with writing(b, "dev1") as tx:
        gatherings.edit(
            tx,
            gatherings.get_row(tx.conn, gid),
            gatherings.GatheringInput(start="2026-12-10 18:00"),
        )
    ab, ba = tmp_path / "ab.db", tmp_path / "ba.db"
    report = merged(a, b, "dev0", out=ab)
    merged(b, a, "dev1", out=ba)
    assert report.resequenced == ["Old School borrel"] and "renumbered" in report.summary()
    assert content(ab, clocks=False) == content(ba, clocks=False)
    conn = dbmod.connect(ab)
    g = gatherings.get_row(conn, gid)
    assert g["sequence"] == 2 and [h["sequence"] for h in gatherings.history(conn, gid)] == [1, 2]
    event = Calendar.from_ical(ics.calendar(conn, [g]).to_ical()).walk("VEVENT")[0]
    assert int(event["SEQUENCE"]) == 2 and str(event["LOCATION"]).startswith("Beeld en Geluid")
    assert event.decoded("DTSTART").strftime("%H:%M") == "18:00"
    # dev0 announced SEQUENCE 1 (its own change): the next update names dev1's change
    changed = gatherings.unannounced_changes(conn, g)
    assert [list(h["changes"]) for h in changed] == [["start_at", "end_at"]]
    conn.close()
    assert merged(ab, ba, "dev0").resequenced == []  # converged: nothing left to renumber
