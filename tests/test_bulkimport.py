"""The fast path of `zpp import json` (bulkimport) writes the db the record-at-a-time
importer writes: the same file imported both ways gives the same rows, change log
and search index, whether prepared inline or by worker processes."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zppcli import bulkimport, contacts, importer
from zppcli.errors import InvalidInput

SKILLS = ["Camera", "Montage", "Geluid", "Regie", "Drone", "Color grading"]
STAMP = re.compile(r"\d{13}-\d{5}-[0-9a-z]+")


def _uuid(rnd: random.Random) -> str:
    return str(uuid.UUID(int=rnd.getrandbits(128), version=4))


def directory(n: int, seed: int) -> dict:
    """n members with what real files hold and what the fast path must hand over:
    repeated UIDs, e-mails and handles, no handle, a name only, national phone
    numbers, unknown skills and collectives, periods with and without ids, broken
    records."""
    rnd = random.Random(seed)
    collectives = [
        {"id": _uuid(rnd), "handle": f"collectief-{i}", "name": f"Collectief {i}"} for i in range(3)
    ]
    catalogue = [
        {"id": _uuid(rnd), "name": s, "aliases": ["beeld"] if s == "Camera" else []}
        for s in SKILLS[:4]
    ]
    out = []
    for i in range(n):
        member_id = _uuid(rnd)
        rec = {
            "id": member_id,
            "handle": f"lid-{i}",
            "given_name": rnd.choice(["Jöran", "Saïd", "Łukasz", "Fleur", "Anaïs"]),
            "particle": rnd.choice(["", "van", "van den", "de"]),
            "family_name": rnd.choice(["Bürg", "Bakker", "Ødegård", "Strauß"]),
            "emails": [{"type": "work", "value": f"Lid{i}@Voorbeeld.example", "private": False}],
            "phones": [{"type": "mobile", "value": f"+3161{i:07d}", "private": i % 5 == 0}],
            "city": rnd.choice(["Hilversum", "Baarn", ""]),
            "region": "Gooi",
            "website": f"https://lid{i}.example/werk",
            "links": [f"lid{i}.example"] if i % 4 == 0 else [],
            "bio": "Camera en montage; NPO, RTL.\nTweede regel.",
            "languages": ["nl", "en"],
            "day_rate": 300 + i if i % 3 else None,
            "tags": ["Docu", "docu ", "Drone"] if i % 6 == 0 else ["benchmark"],
            "note": "",
            "visibility": rnd.choice(["public", "network", "private"]),
            "skills": [
                {
                    "skill": rnd.choice(SKILLS[:4] + ["camera", "BEELD"]),
                    "level": rnd.choice(["learning", "competent", "expert"]),
                    "wants_to_learn": rnd.random() < 0.3,
                    "can_mentor": rnd.random() < 0.3,
                }
                for _ in range(rnd.randint(0, 3))
            ],
            "collectives": [{"handle": rnd.choice(collectives)["handle"], "role": "member"}]
            if i % 3 == 0
            else [],
            "availability": [
                {
                    "id": _uuid(rnd) if i % 2 else None,
                    "from": "2026-12-01",
                    "to": "2026-12-20",
                    "status": "available",
                    "hours_per_week": 24.5,
                    "note": "",
                }
            ]
            if i % 4 == 1
            else [],
        }
        kind = i % 17
        if kind == 2:  # one period id twice in one record
            period = {"id": _uuid(rnd), "from": "2027-01-04", "to": "2027-01-08"}
            rec["availability"] = [
                {**period, "status": "booked"},
                {**period, "status": "partly", "hours_per_week": 8},
            ]
        elif kind == 3 and out:  # the same member again, changed: an update
            rec["id"] = out[-2]["id"] if len(out) > 1 else out[-1]["id"]
        elif kind == 4 and out:  # another's e-mail address: matched by it
            rec["emails"].append(dict(out[-1]["emails"][0]))
        elif kind == 5 and out:  # another's handle: gets one of its own
            rec["handle"] = out[-1]["handle"]
        elif kind == 6:
            del rec["handle"]
        elif kind == 7:
            for key in ("given_name", "particle", "family_name"):
                del rec[key]
            rec["name"] = "Jan de Vries"
        elif kind == 8:
            rec["phones"].append({"type": "", "value": "035 123 4567", "private": False})
        elif kind == 9:
            rec["skills"].append({"skill": "Lichtontwerp", "level": "expert"})
        elif kind == 10:
            rec["collectives"] = [{"handle": "nieuw-collectief", "name": "Nieuw Collectief"}]
        elif kind == 11:
            rec["collectives"] = [{"handle": "bestaat-niet"}]  # invalid: no such collective
        elif kind == 12:
            rec["phones"] = [{"type": "mobile", "value": "+31 6 12", "private": False}]
        elif kind == 13:
            rec["emails"] = 5  # malformed
        elif kind == 14 and out:  # a period id another member's period has
            rec["availability"] = [dict(p) for p in out[-1]["availability"]] or rec["availability"]
        elif kind == 15:
            rec["emails"].append({"type": "home", "value": rec["emails"][0]["value"].lower()})
        elif kind == 16:
            del rec["id"]
        out.append(rec)
    return {
        "format": "zpp-directory",
        "version": 1,
        "skills": catalogue,
        "collectives": collectives,
        "members": out,
    }


def dump(path) -> dict:
    """Everything an import writes, without what differs by when and where it ran:
    timestamps, clock values, change-log ids and the ids made up for members and
    periods the file gives none."""
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    made_up = {  # replaced below where the file gave no id
        r[0]: f"<{r[1]}>"
        for table in ("members", "collectives")
        for r in conn.execute(f"SELECT id, handle FROM {table}")
    }
    out = {}
    for table in (
        "members",
        "contacts",
        "member_skills",
        "collective_members",
        "availability",
        "skills",
        "skill_aliases",
        "collectives",
    ):
        rows = []
        for r in conn.execute(f"SELECT * FROM {table}"):
            row = dict(r)
            del row["created_at"], row["updated_at"]
            row["clocks"] = sorted(json.loads(row["clocks"]))
            if table in importer.Importer.BATCH_TABLES[1:]:
                del row["id"]  # derived from the member's id, or made up (periods)
            rows.append(json.dumps(row, sort_keys=True))
        out[table] = sorted(rows)
    changes = []
    for r in conn.execute("SELECT device_id, tbl, row_id, op, data FROM changes"):
        data = json.loads(r["data"])
        for table, rows in data.pop("rows", {}).items():
            data[f"rows:{table}"] = sorted(json.dumps(v, sort_keys=True) for v in rows.values())
        changes.append(json.dumps([r["device_id"], r["tbl"], r["op"], data], sort_keys=True))
    out["changes"] = sorted(changes)
    out["fts"] = sorted(  # the skills in the order of their rows' ids: made up for some
        (r[0], r[1], sorted(r[2].split(" ")), r[3], r[4])
        for r in conn.execute("SELECT member_id, name, skills, meta, bio FROM members_fts")
    )
    text = json.dumps(out, sort_keys=True)
    conn.close()
    given = set(re.findall(r'"id": "([0-9a-f-]{36})"', json.dumps(SOURCE.get("data", {}))))
    for made_up_id, label in made_up.items():
        if made_up_id not in given:
            text = text.replace(made_up_id, label)
    assert not STAMP.search(text), "a clock value was left in"
    return {table: sorted(rows, key=str) for table, rows in json.loads(text).items()}


SOURCE: dict = {}


@pytest.fixture(autouse=True)
def no_hang():
    """Workers that wait on each other for ever fail the test instead of hanging it
    (where there is SIGALRM: not on Windows)."""
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def hung(signum, frame):
        raise TimeoutError("the import hangs (workers waiting on each other?)")

    before = signal.signal(signal.SIGALRM, hung)
    signal.alarm(120)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, before)


@pytest.fixture
def source(tmp_path):
    data = directory(120, seed=7)
    SOURCE["data"] = data
    path = tmp_path / "directory.json"
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def _import(run, tmp_path, monkeypatch, path, name, *args):
    db = tmp_path / f"{name}.db"
    monkeypatch.setenv("ZPP_DB", str(db))
    result = run("import", "json", path, "--skip-invalid", "--format", "json", *args)
    return db, result


def test_fast_path_writes_what_the_record_at_a_time_importer_writes(
    run, tmp_path, monkeypatch, source
):
    slow_db, slow = _import_slowly(run, tmp_path, monkeypatch, source)
    fast_db, fast = _import(run, tmp_path, monkeypatch, source, "inline")
    assert fast.exit_code == slow.exit_code == 0, (fast.stderr, slow.stderr)
    assert fast.stderr == slow.stderr.replace("slow.db", "inline.db")
    assert fast.stdout == slow.stdout
    skipped = json.loads(fast.stdout)
    assert len(skipped) >= 5  # the broken records really are in the file
    assert "1 updated" not in fast.stderr and " updated" in fast.stderr
    expected = dump(slow_db)
    assert dump(fast_db) == expected
    conn = sqlite3.connect(fast_db)  # the index's write buffer and merging are FTS5's own
    settings = dict(conn.execute("SELECT k, v FROM members_fts_config"))
    assert {k: settings[k] for k in bulkimport.FTS_DEFAULTS} == bulkimport.FTS_DEFAULTS
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    conn.close()

    monkeypatch.setattr(bulkimport, "WORKERS_FROM", 0)  # worker processes, tiny segments
    monkeypatch.setattr(bulkimport, "FIRST_SEGMENT", 2)  # segments of 2, 4, then 7
    monkeypatch.setattr(bulkimport, "SEGMENT", 7)
    monkeypatch.setattr(bulkimport, "READ_CHUNK", 997)  # workers read the file in pieces
    layouts = {  # workers find their members in either, two or three of them
        ("export", 2): source.read_text(encoding="utf-8"),
        ("compact", 3): json.dumps(SOURCE["data"], ensure_ascii=False),
    }
    for (layout, lanes), content in layouts.items():
        monkeypatch.setattr(bulkimport, "usable_cpus", lambda lanes=lanes: lanes)
        path = tmp_path / f"{layout}.json"
        path.write_text(content, encoding="utf-8")
        workers_db, workers = _import(run, tmp_path, monkeypatch, path, layout)
        where = re.compile(r"\w+\.json:\d+")  # a compact file is all one line
        assert where.sub("", workers.stdout) == where.sub("", slow.stdout), layout
        assert dump(workers_db) == expected, layout


@pytest.mark.parametrize("count", range(7))
def test_three_workers_end_wherever_the_file_ends(run, tmp_path, monkeypatch, count):
    """Segments of one member taken in turn by three workers: the file ends in the
    segment of each of them (and at once: no members). A lane that learns of the
    end passes it on, so every worker stops and all the members are imported."""
    monkeypatch.setattr(bulkimport, "WORKERS_FROM", 0)
    monkeypatch.setattr(bulkimport, "FIRST_SEGMENT", 1)
    monkeypatch.setattr(bulkimport, "SEGMENT", 1)
    monkeypatch.setattr(bulkimport, "usable_cpus", lambda: 3)
    data = directory(count, seed=13)
    path = tmp_path / "d.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    slow_db, slow = _import_slowly(run, tmp_path, monkeypatch, path)
    db, r = _import(run, tmp_path, monkeypatch, path, "three")
    assert r.exit_code == slow.exit_code == 0, r.stderr
    assert dump(db) == dump(slow_db)
    conn = sqlite3.connect(db)  # and not by importing nothing: lid-0 is a plain member
    assert conn.execute("SELECT count(*) FROM members WHERE handle = 'lid-0'").fetchone() == (
        (1,) if count else (0,)
    )
    conn.close()


def test_the_last_segments_are_small(run, tmp_path, monkeypatch):
    """Segments grow from FIRST_SEGMENT to SEGMENT, then shrink towards the end of the
    file, so the importing process is not left copying a big last one alone."""
    monkeypatch.setattr(bulkimport, "FIRST_SEGMENT", 10)
    monkeypatch.setattr(bulkimport, "SEGMENT", 100)
    sizes = []
    prepare = bulkimport.Preparer.prepare

    def counted(self, number, records):
        sizes.append(len(records))
        return prepare(self, number, records)

    monkeypatch.setattr(bulkimport.Preparer, "prepare", counted)
    path = tmp_path / "d.json"
    path.write_text(json.dumps(directory(600, seed=14), ensure_ascii=False), encoding="utf-8")
    _, r = _import(run, tmp_path, monkeypatch, path, "sizes")
    assert r.exit_code == 0, r.stderr
    assert sum(sizes) == 600 and sizes[:4] == [10, 20, 40, 80] and max(sizes) == 100
    tail = sizes[sizes.index(100) :]
    assert tail == sorted(tail, reverse=True) and tail[-1] <= 20 and len(tail) < 12, sizes


def _import_slowly(run, tmp_path, monkeypatch, path, *args):
    with monkeypatch.context() as m:
        m.setattr(importer, "BULK", False)
        return _import(run, tmp_path, monkeypatch, path, "slow", *args)


def test_first_bad_record_aborts_the_same_way(run, tmp_path, monkeypatch, source):
    db = tmp_path / "x.db"
    monkeypatch.setenv("ZPP_DB", str(db))
    slow = None
    with monkeypatch.context() as m:
        m.setattr(importer, "BULK", False)
        slow = run("import", "json", source)
    fast = run("import", "json", source)
    assert slow.exit_code == fast.exit_code != 0
    error = slow.stderr.splitlines()[-1]  # after "created a new db"
    assert fast.stderr.strip() == error and "directory.json:" in error
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM members").fetchone()[0] == 0
    conn.close()


def test_a_broken_file_fails_at_its_line_in_workers_too(run, tmp_path, monkeypatch):
    data = directory(40, seed=3)
    text = json.dumps(data, ensure_ascii=False, indent=2)
    cut = text.index('"handle": "lid-30"')
    broken = text[:cut] + '"handle": lid-30"' + text[cut + len('"handle": "lid-30"') :]
    path = tmp_path / "broken.json"
    path.write_text(broken, encoding="utf-8")
    line = broken[:cut].count("\n") + 1
    monkeypatch.setattr(bulkimport, "WORKERS_FROM", 0)
    monkeypatch.setattr(bulkimport, "SEGMENT", 4)
    monkeypatch.setattr(bulkimport, "usable_cpus", lambda: 2)
    r = run("import", "json", path, "--skip-invalid")
    assert r.exit_code != 0
    assert f"broken.json:{line}: not valid JSON" in r.stderr


def test_a_skill_named_twice_by_a_member_written_straight_away(run, tmp_path, monkeypatch):
    """Found by the test above: a new member that cannot wait in a batch (a period id
    twice) and names a skill twice crashed with UNIQUE constraint failed; the later
    level wins, as it does in a batch."""
    data = directory(1, seed=1)
    member = data["members"][0]
    member["skills"] = [
        {"skill": "Geluid", "level": "learning"},
        {"skill": "geluid", "level": "expert"},
    ]
    period = {"id": str(uuid.uuid4()), "from": "2027-01-04", "to": "2027-01-08"}
    member["availability"] = [{**period, "status": "booked"}, {**period, "status": "partly"}]
    path = tmp_path / "twice.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    for name, fast in (("slow", False), ("fast", True)):
        with monkeypatch.context() as m:
            if not fast:
                m.setattr(importer, "BULK", False)
            db, r = _import(run, tmp_path, monkeypatch, path, name)
        assert r.exit_code == 0, r.stderr
        conn = sqlite3.connect(db)
        assert conn.execute("SELECT level FROM member_skills").fetchall() == [("expert",)]
        assert conn.execute("SELECT status FROM availability").fetchall() == [("partly",)]
        conn.close()


# -- the shortcuts the fast path takes in shared checks, against the full checks --------
@settings(max_examples=400, deadline=None)
@given(
    st.one_of(
        st.text(max_size=40),
        st.builds(
            "{}://{}{}{}".format,
            st.sampled_from(["http", "https", "HTTP", "ftp"]),
            st.text(alphabet="abcXYZ09.-[]:@ é", max_size=15),
            st.sampled_from(["", ":80", ":99999", ":x"]),
            st.text(alphabet="/?#ab \t\x01\u00a0\u2028%[]é", max_size=12),
        ),
    )
)
def test_plain_urls_pass_the_full_url_check_unchanged(text):
    from zppcli import members

    if not members._PLAIN_URL.fullmatch(text):
        return
    assert members._check_url_fully(text, text, "website") == text


@given(st.uuids())
def test_canonical_uuids_are_what_uuid_makes_of_them(value):
    text = str(value)
    assert importer._CANONICAL_UUID.fullmatch(text)
    assert importer._uuid(text) == str(uuid.UUID(text)) == text
    assert importer._uuid(text.upper()) == text  # not canonical: the full parse


def _phonenumbers_says_valid(value: str) -> bool:
    import phonenumbers

    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(value))
    except phonenumbers.NumberParseException:
        return False


def _check_e164_says_valid(value: str) -> bool:
    try:
        return contacts.check_e164(value) == value
    except InvalidInput:
        return False


def test_e164_numbers_are_taken_apart_as_phonenumbers_parse_does():
    """contacts._e164_parts stands in for phonenumbers.parse on E.164 numbers: for every
    country code, numbers of every length, with and without a leading 0 or national
    prefix, it gives parse's country code and national number, or leaves the number
    to parse (None). check_e164 says valid where phonenumbers does."""
    import phonenumbers

    rnd = random.Random(164)
    taken = 0
    for country_code in sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE):
        for length in range(2, 15 - len(str(country_code))):
            for first in "0123456789":
                rest = "".join(rnd.choice("0123456789") for _ in range(length - 1))
                value = f"+{country_code}{first}{rest}"
                if not contacts.E164.fullmatch(value):
                    continue
                assert _check_e164_says_valid(value) == _phonenumbers_says_valid(value), value
                parts = contacts._e164_parts(value)
                if parts is None:
                    continue
                taken += 1
                number = phonenumbers.parse(value)
                assert parts == (number.country_code, str(number.national_number)), value
                assert not number.italian_leading_zero
    assert taken > 10_000  # the shortcut is what most numbers take


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True))
def test_e164_shortcut_on_any_e164_string(value):
    import phonenumbers

    parts = contacts._e164_parts(value)
    if parts is not None:
        number = phonenumbers.parse(value)
        assert parts == (number.country_code, str(number.national_number))
    assert _check_e164_says_valid(value) == _phonenumbers_says_valid(value)


def test_a_dry_run_reports_what_the_record_at_a_time_importer_reports(
    run, tmp_path, monkeypatch, source
):
    with monkeypatch.context() as m:
        m.setattr(importer, "BULK", False)
        slow_db, slow = _import(run, tmp_path, monkeypatch, source, "slow", "--dry-run")
    fast_db, fast = _import(run, tmp_path, monkeypatch, source, "fast", "--dry-run")
    assert fast.exit_code == slow.exit_code == 0
    rows = json.loads(fast.stdout)
    assert rows == json.loads(slow.stdout)
    assert {r["action"] for r in rows} == {"added", "updated", "skipped"}
    assert len(rows) == len(SOURCE["data"]["members"])
    for db in (slow_db, fast_db):
        conn = sqlite3.connect(db)
        assert conn.execute("SELECT count(*) FROM members").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM members_fts").fetchone()[0] == 0
        settings = dict(conn.execute("SELECT k, v FROM members_fts_config"))
        for k, default in bulkimport.FTS_DEFAULTS.items():
            assert settings.get(k, default) == default
        conn.close()


def test_validity_is_what_phonenumbers_says():
    """contacts.valid_number stands in for phonenumbers.is_valid_number: the example number of
    every type of every region, each digit changed, a digit more and less."""
    import phonenumbers
    from phonenumbers import PhoneNumberType

    numbers = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in range(12):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            national = str(example.national_number)
            variants = {national, national + "5", national[:-1]}
            for i in range(len(national)):
                variants |= {national[:i] + d + national[i + 1 :] for d in "0379"}
            for v in variants:
                if v and v[0] != "0":
                    numbers.append(
                        phonenumbers.PhoneNumber(
                            country_code=example.country_code, national_number=int(v)
                        )
                    )
    assert PhoneNumberType.MOBILE < 12 and len(numbers) > 20_000
    shortcut = valid = 0
    for number in numbers:
        expected = phonenumbers.is_valid_number(number)
        assert contacts.valid_number(number) == expected, number
        shortcut += contacts._number_checks(number.country_code) is not None
        valid += expected
    assert shortcut > len(numbers) // 2 and 0 < valid < len(numbers)


@pytest.mark.parametrize("workers", [0, 2])
def test_a_segment_repeating_an_earlier_one_goes_record_by_record(
    run, tmp_path, monkeypatch, workers
):
    """Every member new and complete, so whole segments are prepared as copyable;
    three repeat an e-mail, a UID and a handle of a member segments before them."""
    data, rnd = directory(24, seed=5), random.Random(5)
    plain = data["members"][0]
    members = []
    for i in range(24):
        rec = json.loads(json.dumps(plain))
        rec.update(id=_uuid(rnd), handle=f"lid-{i}", skills=[])
        rec["emails"] = [{"type": "work", "value": f"lid{i}@voorbeeld.example"}]
        rec["phones"] = [{"type": "mobile", "value": f"+3162{i:07d}"}]
        rec["availability"], rec["collectives"] = [], []
        members.append(rec)
    members[13]["emails"].append(dict(members[3]["emails"][0]))
    members[17]["id"] = members[5]["id"]
    members[21]["handle"] = members[9]["handle"]
    data["members"] = members
    SOURCE["data"] = data
    path = tmp_path / "repeats.json"
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    with monkeypatch.context() as m:
        m.setattr(importer, "BULK", False)
        slow_db, slow = _import(run, tmp_path, monkeypatch, path, "slow")
    monkeypatch.setattr(bulkimport, "FIRST_SEGMENT", 4)
    monkeypatch.setattr(bulkimport, "SEGMENT", 4)
    if workers:
        monkeypatch.setattr(bulkimport, "WORKERS_FROM", 0)
        monkeypatch.setattr(bulkimport, "usable_cpus", lambda: workers)
    fast_db, fast = _import(run, tmp_path, monkeypatch, path, "fast")
    assert fast.exit_code == slow.exit_code == 0, fast.stderr
    assert "22 added, 2 updated" in fast.stderr  # the repeated UID and e-mail update
    assert dump(fast_db) == dump(slow_db)


def test_a_worker_that_dies_fails_the_import_and_changes_nothing(
    run, tmp_path, monkeypatch, source
):
    monkeypatch.setattr(bulkimport, "WORKERS_FROM", 0)
    monkeypatch.setattr(bulkimport, "usable_cpus", lambda: 2)
    monkeypatch.setattr(bulkimport, "BOOT", "import sys; sys.stdin.buffer.read(); sys.exit(3)")
    db, r = _import(run, tmp_path, monkeypatch, source, "died")
    assert r.exit_code == 1
    assert r.stderr.splitlines()[-1] == "zpp: import worker 0 stopped (exit code 3)"
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM members").fetchone() == (0,)
    assert conn.execute("SELECT count(*) FROM skills").fetchone() == (0,)  # catalogue too
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    conn.close()


DYING_WORKER = """
import os, sys
sys.path[:] = sys.argv[1].split("\\n")
from zppcli import bulkimport as b

calls = []
init, prepare, send = b.Preparer.__init__, b.Preparer.prepare, b._Relay.send

def die(name):
    calls.append(name)
    if calls.count(name) == 2 and lane == [1] and name == sys.argv[2]:
        os._exit(5)

def counted_init(self, job):
    lane.append(job.lane)
    init(self, job)

lane = []
b.Preparer.__init__ = counted_init
b.Preparer.prepare = lambda self, *a: die("prepare") or prepare(self, *a)
b._Relay.send = lambda self, *a: die("send") or send(self, *a)
b.worker()
"""


@pytest.mark.parametrize("where", ["prepare", "send"])
def test_a_worker_that_dies_midway_fails_the_import_and_changes_nothing(
    run, tmp_path, monkeypatch, source, where
):
    """Lane 1 dies at its second segment: before it tells lane 0 where the segment
    after it starts (send), or after (prepare). Never an import that stops early
    as if the file ended there."""
    monkeypatch.setattr(bulkimport, "WORKERS_FROM", 0)
    monkeypatch.setattr(bulkimport, "FIRST_SEGMENT", 2)
    monkeypatch.setattr(bulkimport, "SEGMENT", 7)
    monkeypatch.setattr(bulkimport, "usable_cpus", lambda: 2)
    script = tmp_path / "dying.py"
    script.write_text(DYING_WORKER, encoding="utf-8")
    popen = subprocess.Popen

    def dying(args, **kw):  # the worker's command line, with the script and where
        return popen([args[0], str(script), args[3], where], **kw)

    monkeypatch.setattr(bulkimport.subprocess, "Popen", dying)
    db, r = _import(run, tmp_path, monkeypatch, source, "dies")
    assert r.exit_code == 1, r.stderr
    assert r.stderr.splitlines()[-1] == "zpp: import worker 1 stopped (exit code 5)"
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM members").fetchone() == (0,)
    conn.close()


def test_time_ordered_uuids_from_one_millisecond_import_and_are_found(run, tmp_path, monkeypatch):
    """UUIDv7 as PostgreSQL's uuidv7() makes them: one millisecond, a sub-millisecond
    counter, random bits. They share their first 15 hex digits, which keyed the
    search index before schema version 3: the import failed on a duplicate rowid."""
    data, rnd = directory(1, seed=9), random.Random(9)
    plain, members = data["members"][0], []
    for i in range(300):
        rec = json.loads(json.dumps(plain))
        digits = f"{1764158400123:012x}7{i:03x}{(2 << 62) | rnd.getrandbits(62):016x}"
        rec.update(id=str(uuid.UUID(digits)), handle=f"lid-{i}", skills=[], availability=[])
        rec["emails"] = [{"type": "work", "value": f"lid{i}@voorbeeld.example"}]
        rec["phones"] = [{"type": "mobile", "value": f"+3164{i:07d}"}]
        members.append(rec)
    assert len({m["id"].replace("-", "")[:15] for m in members}) < 20  # 300 ids
    data["members"] = members
    path = tmp_path / "v7.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    for bulk in (True, False):
        with monkeypatch.context() as m:
            m.setattr(importer, "BULK", bulk)
            db, r = _import(run, tmp_path, monkeypatch, path, f"v7-{bulk}")
        assert r.exit_code == 0, r.stderr
        assert "300 added" in r.stderr
        found = run("search", plain["family_name"], "--format", "json", "--limit", "1000").stdout
        assert len(json.loads(found)) == 300


def test_an_interrupted_import_stops_its_workers_and_keeps_nothing(tmp_path, monkeypatch, source):
    """Ctrl-C while segments come in: the workers are killed and waited for, and the
    transaction is rolled back."""
    from zppcli import db as dbmod

    monkeypatch.setattr(bulkimport, "WORKERS_FROM", 0)
    monkeypatch.setattr(bulkimport, "FIRST_SEGMENT", 2)
    monkeypatch.setattr(bulkimport, "SEGMENT", 7)
    monkeypatch.setattr(bulkimport, "usable_cpus", lambda: 2)
    conn = dbmod.connect(tmp_path / "interrupted.db")
    items, catalogue, _ = importer.read("json", source)
    calls = []

    def interrupt(n: int) -> None:
        calls.append(n)
        if len(calls) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        importer.run(conn, items, catalogue=catalogue, progress=interrupt, skip_invalid=True)
    children = [pid for pid in os.listdir("/proc") if pid.isdigit() and _parent(pid) == os.getpid()]
    assert children == []
    assert conn.execute("SELECT count(*) FROM members").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM skills").fetchone()[0] == 0
    conn.close()


def _parent(pid: str) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return int(f.read().rpartition(")")[2].split()[1])
    except (OSError, ValueError, IndexError):
        return None


@settings(max_examples=60, deadline=None)
@given(
    chunk=st.integers(1, 300),
    layout=st.sampled_from(["export", "compact", "bom", "cp1252"]),
    damage=st.sampled_from(["", "cut", "comma", "tail", "number", "trailing-comma", "value"]),
)
def test_reading_the_file_in_chunks_gives_what_reading_it_whole_gives(
    tmp_path_factory, chunk, layout, damage
):
    """importer.MemberReader (workers read big files a chunk at a time) against
    a reader of the whole text: the same records, lines and offsets, and the
    same error, wherever the chunks end."""
    data = directory(6, seed=11)
    if damage == "number":
        data["members"][2] = 12345  # a value that may end where a chunk ends
    text = json.dumps(data, ensure_ascii=False, indent=None if layout == "compact" else 2)
    head, members = text.split('"members"')  # damage only what follows the catalogue
    if damage == "cut":
        members = members[: len(members) * 2 // 3]
    elif damage == "comma":
        members = members.replace('}, {"id"', '} {"id"', 1).replace("},\n    {", "}\n    {", 1)
    elif damage == "tail":
        members = members.rstrip().removesuffix("}") + ', "extra": [1, 2'
    elif damage == "trailing-comma":
        members = members.replace("]\n}", ",]\n}").replace("]}", ",]}")
    elif damage == "value":
        members = members.replace('"visibility": "', '"visibility": x"', 1)
    text = head + '"members"' + members
    path = tmp_path_factory.mktemp("chunks") / "d.json"
    if layout == "bom":
        path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    elif layout == "cp1252":
        path.write_bytes(text.replace("Ł", "L").encode("cp1252", errors="replace"))
    else:
        path.write_text(text, encoding="utf-8")
    whole, encoding = importer._decoded(path)
    start = importer._stream_header(whole)[1]

    def run(records):
        out = []
        try:
            for record in records:
                out.append(record)
        except importer.BadRecord as e:
            out.append(("error", e.where, e.reason))
        return out

    expected = run(_whole_text_members(path, whole, start))
    assert run(importer.MemberReader(path, encoding, start, chunk)) == expected
    assert (expected[-1][0] == "error") == (damage not in ("", "number"))


def test_a_number_cut_by_a_chunk_end_is_read_whole(tmp_path):
    data = directory(3, seed=12)
    data["members"][1] = 1234567  # not a member, but valid JSON: a record to skip
    path = tmp_path / "n.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    whole, encoding = importer._decoded(path)
    start = importer._stream_header(whole)[1]
    expected = list(_whole_text_members(path, whole, start))
    assert expected[1][0] == 1234567
    for chunk in range(1, 80):
        assert list(importer.MemberReader(path, encoding, start, chunk)) == expected, chunk


def _whole_text_members(path, text: str, start: int):
    """The oracle for importer.MemberReader: the members of a text held whole, as the
    importer read them before it read files in chunks (raw_decode along the text)."""
    decoder, ws = json.JSONDecoder(), re.compile(r"[ \t\n\r]*")
    lineno, seen, pos = 1, 0, ws.match(text, start).end()
    try:
        if text[pos : pos + 1] == "]":
            pos += 1
        else:
            while True:
                rec, end = decoder.raw_decode(text, pos)
                lineno += text.count("\n", seen, pos)
                seen = pos
                yield rec, lineno, pos, end
                pos = ws.match(text, end).end()
                if text[pos : pos + 1] == ",":
                    pos = ws.match(text, pos + 1).end()
                    continue
                if text[pos : pos + 1] != "]":
                    raise json.JSONDecodeError("Expecting ',' delimiter", text, pos)
                pos += 1
                break
        rest = text[pos:].strip()
        if rest != "}":  # more keys after the members: they must still be valid JSON
            if not rest.startswith(","):
                raise json.JSONDecodeError("Expecting ',' delimiter", text, pos)
            json.loads("{" + rest[1:])
    except json.JSONDecodeError as e:
        raise importer.BadRecord(f"{path}:{e.lineno}", f"not valid JSON: {e.msg}") from None
