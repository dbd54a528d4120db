"""The fast path of `zpp import json` into a directory without members.

A collective that brings its directory into a new db imports every member as
new. Such a member needs nothing from the db, so its work is done away from it:
- it is checked with the functions importer.Importer.apply uses and turned into
  exactly the rows Importer writes for a new member (stamped clocks, its one
  change-log entry, its search-index text);
- the rows of a segment of members go into a small in-memory SQLite db,
  which is serialized; the importing connection deserializes it (a copy of the
  bytes) and copies its rows in with INSERT ... SELECT, without a Python object
  per value.
A big file is prepared by worker processes (see worker()), the
segments taken in turn, while the importing process copies. Python's share of
an import (checks, rows, log entries, index text: ~2/3 of it) then runs on the
other cores.

Each record the fast path cannot vouch for goes to Importer.apply, in its place
in the file: a malformed one, one without a handle or naming a skill or a
collective the catalogue lacks, and one sharing a UID, e-mail address, handle
or period id with a record before it. So an import writes the db the
record-at-a-time importer writes (test_bulkimport.py compares the two).
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import pickle
import sqlite3
import subprocess
import sys
from collections import namedtuple
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from zppcli import clock, contacts, members, searchindex, store
from zppcli.collectives import membership_id
from zppcli.errors import ZppError
from zppcli.exportworker import usable_cpus
from zppcli.importer import (
    BadRecord,
    Incoming,
    MemberReader,
    _member_item,
    _uuid,
    checked,
    lookup_collective,
    lookup_skill,
    period_ids,
    period_values,
)
from zppcli.names import check_handle
from zppcli.searchindex import _fold, fts_rowid
from zppcli.skills import member_skill_id
from zppcli.store import _LIST_JSON, _LOG_JSON, _time_ordered_ids

# Members per segment: small ones first, so the importing process starts copying
# soon; then big ones, whose rows, sorted by id, meet the db's indexes in fewer pages.
FIRST_SEGMENT = 500
SEGMENT = 5000
WORKERS_FROM = 4_000_000  # bytes of a file from which workers prepare it (~5,000 members)
READ_CHUNK = 1 << 22  # bytes a worker reads at a time: it never holds the whole text
MAX_WORKERS = 3
# The search index's settings while it loads (see load()), and FTS5's own defaults.
FTS_LOAD_SETTINGS = {"hashsize": 64 << 20, "automerge": 0}
FTS_DEFAULTS = {"hashsize": 1 << 20, "automerge": 4}
SCHEMA = "zpp_segment"  # the name the importing connection attaches segments under
CHILD_TABLES = ("contacts", "member_skills", "collective_members", "availability")
TABLES = ("members", *CHILD_TABLES)


def attach(conn: sqlite3.Connection) -> None:
    """Before the import's transaction: SQLite attaches nothing inside one."""
    conn.execute(f"ATTACH ':memory:' AS {SCHEMA}")
    # The search index's own statements keep statement journals; in memory, not in a
    # temporary file (100,000 members: 70,000 page writes).
    conn.execute("PRAGMA temp_store = MEMORY")


def detach(conn: sqlite3.Connection) -> None:
    conn.execute(f"DETACH {SCHEMA}")


# -- what a worker needs to know of the db ----------------------------------------------
@dataclass
class Job:
    path: str
    start: int  # where the members array starts in the text
    columns: dict[str, list[tuple[str, str | None]]]  # table -> (column, SQL default)
    skill_words: dict[str, str]  # as Importer.skill_id looks skills up
    skill_text: dict[str, str]  # skill id -> its search-index text
    collective_keys: dict[str, str]  # as Importer.collective_id looks collectives up
    collective_text: dict[str, str]  # collective id -> its search-index text
    device: str
    last_clock: str | None
    encoding: str = "utf-8-sig"  # the file's, as the importing process read it
    segment: int = SEGMENT
    first_segment: int = FIRST_SEGMENT
    chunk: int = READ_CHUNK
    lane: int = 0  # this worker prepares segments lane, lane + lanes, ...
    lanes: int = 1
    handoff: tuple[int, int] = (-1, -1)  # pipe fds: from the lane before, to the one after


def make_job(imp, source) -> Job:
    """The job of preparing source (importer.JsonMembers) for imp (an Importer whose
    catalogue is applied): the lookups and search-index texts it uses."""
    conn = imp.conn
    imp.skill_id("")  # builds its tables of words and keys
    imp.collective_id("", create=False)
    columns = {}
    for table in TABLES:
        defaults = {
            r["name"]: r["dflt_value"] for r in conn.execute(f'PRAGMA table_xinfo("{table}")')
        }
        columns[table] = [(c, defaults[c]) for c in store.writable_columns(conn, table)]
    return Job(
        path=str(source.path),
        start=source.start,
        columns=columns,
        skill_words=dict(imp._skill_words),
        skill_text=searchindex.skill_texts(conn),
        collective_keys=dict(imp._collectives),
        collective_text=searchindex.collective_texts(conn),
        device=imp.tx.device,
        last_clock=imp.tx._last_clock,
        encoding=source.encoding,
        segment=SEGMENT,
        first_segment=FIRST_SEGMENT,
        chunk=READ_CHUNK,
    )


def segment_schema(job: Job) -> str:
    """A segment's tables: each table's writable columns with the db's defaults (a
    record without a field gets what an INSERT without it gets), and `rec`, the
    record's place in its segment. Always made before any row, in one order, so
    every segment has the same root pages: statements prepared against one
    segment stay right for the next (deserialize keeps the schema cookie)."""
    parts = []
    for table in TABLES:
        cols = ["rec", "id"]
        cols += [f'"{c}"' + ("" if d is None else f" DEFAULT {d}") for c, d in job.columns[table]]
        cols += ["clocks"]  # created_at and updated_at: Segment.now, for all rows
        parts.append(f"CREATE TABLE {table} ({', '.join(cols)});")
    parts.append("CREATE TABLE changes (rec, id, hlc, row_id, data);")
    parts.append("CREATE TABLE fts (rec, fts_rowid, member_id, name, skills, meta, bio);")
    return "\n".join(parts)


# -- preparing (in a worker process, or inline) ---------------------------------------
# A record in the segment's tables: what the importing process checks against the
# records before it. start/end: where it is in the file, to hand it to Importer.
Fast = namedtuple("Fast", "id emails handle periods label line start end")


@dataclass
class Segment:
    number: int
    records: list  # Fast, or importer.Incoming / Malformed for Importer.apply
    data: bytes = b""  # the serialized segment db
    last_stamp: str | None = None
    now: str = ""  # the rows' created_at and updated_at
    # when every record is Fast: their UIDs, e-mail addresses, handles and period ids
    keys: tuple[list, list, list, list] | None = None


@dataclass
class Failure:
    """The file cannot be read on from here (importer.BadRecord's where and reason)."""

    where: str
    reason: str


class Slow(Exception):
    """This record goes to Importer.apply."""


class Preparer:
    def __init__(self, job: Job):
        self.job = job
        self.schema = segment_schema(job)
        self.wall, self.counter = -1, 0
        if job.last_clock:
            self.wall, self.counter, _ = clock.parse_clock(job.last_clock)
        self._file_size = os.path.getsize(job.path)  # bytes: about its characters
        self._read = [0, 0]  # characters and members of this lane's segments so far
        self._skills: dict[str, str | None] = {}  # the same few names, over and over
        self._collectives: dict[str, str | None] = {}

    def stamps(self, count: int) -> list[str]:
        """The next count clocks, as Tx.insert_many ticks them, in this worker's lane
        of the counter (lane, lane + lanes, ...): no two workers stamp alike."""
        lane, lanes, top, device = self.job.lane, self.job.lanes, clock.MAX_COUNTER, self.job.device
        now, wall, counter, out = clock.wall_ms(), self.wall, self.counter, []
        head = f"{wall:013d}-"
        for _ in range(count):
            if now > wall:
                wall, counter = now, lane
                head = f"{wall:013d}-"
            else:
                counter += lanes - (counter - lane) % lanes
                if counter > top:
                    wall, counter = wall + 1, lane
                    head = f"{wall:013d}-"
            out.append(f"{head}{counter:05d}-{device}")
        self.wall, self.counter = wall, counter
        return out

    def prepare(self, number: int, records: list[tuple[Any, int, int, int]]) -> Segment:
        """One segment of (member object, line, start, end), in file order."""
        seg = Segment(number, [])
        rows: dict[str, list[tuple[str, int, dict]]] = {t: [] for t in TABLES}
        docs, logs = [], {}
        for rec_no, (rec, line, start, end) in enumerate(records):
            item = _member_item(rec, f"{self.job.path}:{line}")
            if not isinstance(item, Incoming):
                seg.records.append(item)
                continue
            try:
                fast, own, doc, logs[rec_no] = self.member(item)
            except (Slow, ZppError, ValueError, KeyError, TypeError, AttributeError):
                seg.records.append(item)  # Importer.apply does it, or names the error
                continue
            seg.records.append(fast._replace(line=line, start=start, end=end))
            for table, row_id, data in own:
                rows[table].append((row_id, rec_no, data))
            docs.append((rec_no, *doc))
        seg.now = store.utc_now()
        seg.data, seg.last_stamp = self.segment_db(rows, docs, logs)
        if all(isinstance(r, Fast) for r in seg.records):
            fast = seg.records
            seg.keys = (
                [f.id for f in fast],
                [e for f in fast for e in f.emails],
                [f.handle for f in fast],
                [p for f in fast for p in f.periods],
            )
        return seg

    def member(self, item) -> tuple[Fast, list[tuple[str, str, dict]], tuple, str]:
        """A new member as Importer.apply writes it: its rows ((table, row id, the
        data as the db and the change log get it), its own first), its row of the
        search index and its change-log entry's data (importer.member_entries: the
        member's data, its other rows under "rows"). Raises Slow for anything
        Importer would do otherwise, or the error Importer would raise."""
        job = self.job
        values, emails, phones = checked(item)
        periods = period_ids(item)
        if (
            item.categories
            or not values.get("handle")  # Importer makes one up
            or not (values.get("given_name") or values.get("family_name"))  # it says why not
            or len(set(periods)) != len(periods)
        ):
            raise Slow
        member_id = item.id or store.new_id()
        data = {c: _list_json(v) if v.__class__ is list else v for c, v in values.items()}
        data["deleted"] = 0
        own: list[tuple[str, str, dict]] = [("members", member_id, data)]
        staged: dict[str, int] = {}

        def put(table: str, row_id: str, row: dict) -> None:
            if row_id in staged:  # named twice (a skill, a collective): the later one wins
                at = staged[row_id]
                own[at] = (table, row_id, {**own[at][2], **row})
                return
            staged[row_id] = len(own)
            own.append((table, row_id, row))

        for kind, found in (("email", emails), ("phone", phones)):
            seen = set()
            for position, (ctype, value, private) in enumerate(found):
                if value in seen:
                    continue
                seen.add(value)
                put(
                    "contacts",
                    members.contact_id(member_id, kind, value),
                    {
                        "member_id": member_id,
                        "kind": kind,
                        "type": ctype,
                        "value": value,
                        "private": int(private),
                        "position": position,
                        "deleted": 0,
                    },
                )
        for spec in item.skills:
            sid = self._skills.get(spec.ref, "")
            if sid == "":
                sid = self._skills[spec.ref] = lookup_skill(job.skill_words, spec.ref)
            if sid is None:
                raise Slow  # a skill the catalogue lacks: Importer adds it
            put(
                "member_skills",
                member_skill_id(member_id, sid),
                {
                    "member_id": member_id,
                    "skill_id": sid,
                    "level": spec.level,
                    "wants_to_learn": int(spec.wants_to_learn),
                    "can_mentor": int(spec.mentor),
                    "deleted": 0,
                },
            )
        for ref, role in item.collectives:
            cid = self._collectives.get(ref, "")
            if cid == "":
                cid = self._collectives[ref] = lookup_collective(job.collective_keys, ref)
            if cid is None:
                raise Slow  # Importer makes it, or says why not
            put(
                "collective_members",
                membership_id(cid, member_id),
                {
                    "collective_id": cid,
                    "member_id": member_id,
                    "role": role or "member",
                    "deleted": 0,
                },
            )
        for p, row_id in zip(item.availability or (), _period_row_ids(item), strict=True):
            row = {**period_values(member_id, p), "deleted": 0}
            own.append(("availability", row_id or store.new_id(), row))
        # its row of the search index, as searchindex._all_documents makes it: the
        # skills and collectives in the order of their rows (by id, as written)
        skills = sorted(
            (r, job.skill_text[d["skill_id"]])
            for t, r, d in own
            if t == "member_skills" and not (d["wants_to_learn"] and d["level"] == "learning")
        )
        groups = sorted(
            (r, job.collective_text[d["collective_id"]])
            for t, r, d in own
            if t == "collective_members"
        )
        given, particle = values.get("given_name", ""), values.get("particle", "")
        family, handle = values.get("family_name", ""), values["handle"]
        name = given + (" " + particle if particle else "") + (" " + family if family else "")
        meta = [values.get("city", ""), values.get("region", "")]
        meta += [*values.get("tags", ()), *values.get("languages", ()), *(g for _, g in groups)]
        doc = (
            fts_rowid(member_id),
            member_id,
            _fold(f"{name} {handle}"),
            _fold(" ".join(s for _, s in skills)),
            _fold(" ".join(meta)),
            _fold(values.get("bio", "")),
        )
        fast = Fast(
            member_id,
            tuple(dict.fromkeys(e for _, e, _ in emails)),
            handle,
            tuple(p for p in periods if p),
            item.label,
            0,
            0,
            0,
        )
        logged: dict[str, dict] = {}
        for table, row_id, row in islice(own, 1, None):
            logged.setdefault(table, {})[row_id] = row
        return fast, own, doc, _LOG_JSON({**data, "rows": logged})

    def segment_db(self, rows: dict, docs: list, logs: dict[int, str]) -> tuple[bytes, str | None]:
        """The segment's tables, serialized, and the last stamp in them. Rows go in
        in id order per table, stamped in that order (as Tx.insert_many does)."""
        conn = sqlite3.connect(":memory:", isolation_level=None)
        try:
            conn.executescript(self.schema)
            conn.execute("BEGIN")
            last = None
            entries: list[tuple] = []  # (member id, place in segment, stamp)
            for table in TABLES:
                table_rows = sorted(rows[table], key=_first)
                if not table_rows:
                    continue
                stamps = self.stamps(len(table_rows))
                last = stamps[-1]
                shapes: dict[tuple, tuple[list[str], list[tuple]]] = {}
                for (row_id, rec_no, data), stamp in zip(table_rows, stamps, strict=True):
                    shape = tuple(data)
                    if shape not in shapes:
                        shapes[shape] = (store.clocks_parts(shape), [])
                    parts, shape_rows = shapes[shape]
                    shape_rows.append((rec_no, row_id, *data.values(), stamp.join(parts)))
                    if table == "members":
                        entries.append((row_id, rec_no, stamp))
                for shape, (_, shape_rows) in shapes.items():
                    names = ["rec", "id", *(f'"{c}"' for c in shape), "clocks"]
                    conn.executemany(
                        f"INSERT INTO {table} ({', '.join(names)})"
                        f" VALUES ({', '.join('?' * len(names))})",
                        shape_rows,
                    )
            conn.executemany(
                "INSERT INTO changes VALUES (?, ?, ?, ?, ?)",
                [
                    (rec_no, change_id, stamp, member_id, logs[rec_no])
                    for change_id, (member_id, rec_no, stamp) in zip(
                        _time_ordered_ids(len(entries)), entries, strict=True
                    )
                ],
            )
            docs.sort(key=_second)
            conn.executemany("INSERT INTO fts VALUES (?, ?, ?, ?, ?, ?, ?)", docs)
            conn.execute("COMMIT")
            return conn.serialize(), last
        finally:
            conn.close()

    def _size(self, number: int, begin: tuple[int, int] | None) -> int:
        """How many members segment `number` takes: FIRST_SEGMENT doubling up to
        SEGMENT; towards the end of the file less, about a third of what is left
        (with two lanes), so the last segments are small: the importing process
        copies the last one while the workers have nothing left to do."""
        job, (chars, count) = self.job, self._read
        size = min(job.segment, job.first_segment << number)
        if count and begin:
            left = (self._file_size - begin[0]) * count // chars  # members, about
            size = min(size, max(job.first_segment, left // (job.lanes + 1)))
        return size

    def segments(self) -> Iterator[Segment | Failure]:
        """This lane's segments of the file, then a Failure if the file breaks off.

        With lanes, each worker parses only its own segments: having read one, it
        tells the next lane where the segment after it starts (job.handoff), and
        waits to be told where its own next one starts. The news that the file
        ends (or breaks off) goes round the ring."""
        job = self.job
        reader = MemberReader(Path(job.path), job.encoding, job.start, job.chunk)
        relay = _Relay(job.handoff) if job.lanes > 1 else None
        number = 0
        try:
            while True:
                if number % job.lanes != job.lane:  # another worker's
                    if (number + 1) % job.lanes == job.lane:  # the one before this lane's
                        at = relay.receive()
                        if at is None:
                            relay.send(None)
                            return
                        reader.seek(*at)
                else:
                    try:
                        begin = reader.at()
                        records = list(islice(reader, self._size(number, begin)))
                        at = reader.at()
                    except BadRecord:
                        if relay:
                            relay.send(None)
                        raise
                    if relay:
                        relay.send(at)
                    if records and at:
                        self._read[0] += at[0] - begin[0]
                        self._read[1] += len(records)
                    if records:
                        yield self.prepare(number, records)
                    if at is None:
                        return
                number += 1
        except BadRecord as e:
            yield Failure(e.where, e.reason)
        finally:
            reader.close()


class _Relay:
    """A worker's ends of the ring of pipes: where a segment starts, from the lane
    before it, to the lane after it ("offset line", or "end")."""

    def __init__(self, fds: tuple[int, int]):
        self.inbox = os.fdopen(fds[0], "rb")
        self.outbox = os.fdopen(fds[1], "wb", buffering=0)

    def receive(self) -> tuple[int, int] | None:
        words = self.inbox.readline().split()
        if not words:  # the lane before died: stop without the final None, so the
            raise SystemExit(1)  # importing process cannot take the file for done
        return (int(words[0]), int(words[1])) if len(words) == 2 else None

    def send(self, at: tuple[int, int] | None) -> None:
        with contextlib.suppress(BrokenPipeError):  # the lane after stopped
            self.outbox.write(b"end\n" if at is None else b"%d %d\n" % at)


def _period_row_ids(item) -> list[str | None]:
    """The row id Importer gives each of the member's periods (None: a new one)."""
    return [
        _uuid(p.get("id", "")) if isinstance(p, dict) and p.get("id") else None
        for p in item.availability or ()
    ]


_LISTS: dict[tuple, str] = {}  # the same few lists of languages and tags, as JSON


def _list_json(value: list) -> str:
    key = tuple(value)
    text = _LISTS.get(key)
    if text is None:
        text = _LIST_JSON(value)
        if len(_LISTS) < 4096:
            _LISTS[key] = text
    return text


def _first(item: tuple) -> Any:
    return item[0]


def _second(item: tuple) -> Any:
    return item[1]


# -- the importing process -------------------------------------------------------------
def load(imp, source, report, progress: Callable[[int], None] | None, apply_one: Callable) -> None:
    """Import source (importer.JsonMembers) through imp, whose transaction is open and
    whose db has no members; apply_one(item) imports a record through Importer."""
    conn, tx = imp.conn, imp.tx
    # Nothing in the index depends on the catalogue yet: no member to refresh for it.
    tx.dirty_skills.clear()
    tx.dirty_collectives.clear()
    job = make_job(imp, source)
    copier = _Copier(conn, job)
    seen = _Seen()
    workers = _worker_count(source)
    # While loading, the search index holds up to 64 MB of terms before it writes them
    # out, not 1 MB (it writes them at each segment anyway: FTS5 does so whenever a
    # rowid is lower than the one before), and merges none of the index segments it
    # writes (100,000 members: 1.2 s and 0.6 s less; 14 index segments, not 5). Both
    # as they were afterwards: later writes merge the segments a little at a time.
    settings = {
        k: conn.execute("SELECT v FROM members_fts_config WHERE k = ?", (k,)).fetchone()
        for k in FTS_LOAD_SETTINGS
    }
    for k, value in FTS_LOAD_SETTINGS.items():
        _fts_config(conn, k, value)
    source.release()  # only a record that repeats another is read from it again
    for seg in segments(job, workers):
        if isinstance(seg, Failure):
            raise BadRecord(seg.where, seg.reason)
        copier.load(seg)
        seg.data = b""  # copied by deserialize: let go of it (25 MB for 5,000 members)
        _apply_segment(imp, source, seg, copier, seen, report, apply_one)
        if seg.last_stamp:
            tx.observe(seg.last_stamp)
        if progress:
            progress(len(seg.records))
    for k, was in settings.items():
        _fts_config(conn, k, was[0] if was else FTS_DEFAULTS[k])


def _fts_config(conn: sqlite3.Connection, key: str, value: int) -> None:
    conn.execute("INSERT INTO members_fts (members_fts, rank) VALUES (?, ?)", (key, value))


def _worker_count(source) -> int:
    cores = usable_cpus()
    if os.path.getsize(source.path) < WORKERS_FROM or cores < 2 or not sys.executable:
        return 0
    return min(MAX_WORKERS, cores)


class _Seen:
    """UIDs, e-mail addresses, handles and period ids of the records imported so far."""

    def __init__(self):
        self.ids: set[str] = set()
        self.emails: set[str] = set()
        self.handles: set[str] = set()
        self.periods: set[str] = set()

    def take(self, keys: tuple[list, list, list, list]) -> bool:
        """Add a segment's keys (Segment.keys) when they repeat nothing before them nor
        each other; False (and nothing added) when they do."""
        pairs = tuple(zip(keys, (self.ids, self.emails, self.handles, self.periods), strict=True))
        if not all(len(set(new)) == len(new) and known.isdisjoint(new) for new, known in pairs):
            return False
        for new, known in pairs:
            known.update(new)
        return True

    def repeats(self, f: Fast) -> bool:
        return (
            f.id in self.ids
            or f.handle in self.handles
            or not self.emails.isdisjoint(f.emails)
            or not self.periods.isdisjoint(f.periods)
        )

    def add(self, member_id, emails, handle, periods) -> None:
        if member_id:
            self.ids.add(member_id)
        self.emails.update(emails)
        if handle:
            self.handles.add(handle)
        self.periods.update(periods)


def _keys_of(item) -> tuple:
    """What a record for Importer.apply may write that a later record could repeat."""
    if not isinstance(item, Incoming):
        return None, (), None, ()
    emails = []
    for _, value, _ in item.emails:
        try:
            emails.append(contacts.normalize_email(value))
        except (ZppError, AttributeError, TypeError):
            continue
    try:
        handle = check_handle(str(item.values.get("handle") or ""))
    except ZppError:
        handle = None
    return item.id, emails, handle, [p for p in period_ids(item) if p]


def _apply_segment(imp, source, seg: Segment, copier, seen: _Seen, report, apply_one) -> None:
    if seg.keys is not None and seen.take(seg.keys):  # the common case: all new, copied whole
        copier.copy(0, len(seg.records) - 1)
        _note_added(report, source, seg.records)
        return
    run: list[tuple[int, Fast]] = []  # records to copy, in a row

    def copy_run() -> None:
        if run:
            copier.copy(run[0][0], run[-1][0])
            _note_added(report, source, [f for _, f in run])
            run.clear()

    for rec_no, record in enumerate(seg.records):
        if isinstance(record, Fast) and not seen.repeats(record):
            run.append((rec_no, record))
            seen.add(record.id, record.emails, record.handle, record.periods)
            continue
        copy_run()  # the records before it are in the db when Importer looks
        if isinstance(record, Fast):
            record = _item_of(source, record)
        member_id, emails, handle, periods = _keys_of(record)
        imported = apply_one(record)
        seen.add(member_id, emails, handle, periods)
        if imported:
            seen.add(None, (), imported, ())
    copy_run()


def _item_of(source, f: Fast):
    """The record as importer reads it, for Importer.apply."""
    return _member_item(json.loads(source.text[f.start : f.end]), f"{source.path}:{f.line}")


def _note_added(report, source, fast: list[Fast]) -> None:
    if not report.keep_all:
        report.counts["added"] += len(fast)
        return
    for f in fast:
        report.note("added", f.label, f.handle, f"{source.path}:{f.line}")


class _Copier:
    """Copies a segment's rows (attached as SCHEMA) into the db."""

    def __init__(self, conn: sqlite3.Connection, job: Job):
        self.conn, self.layout = conn, None
        self.params = {"device": job.device, "now": ""}  # and first, last: the records'
        self.sql = []
        for table in TABLES:
            cols = ["id", *(f'"{c}"' for c, _ in job.columns[table]), "clocks"]
            self.sql.append(
                f"INSERT OR FAIL INTO main.{table} ({', '.join(cols)}, created_at, updated_at)"
                f" SELECT {', '.join(cols)}, :now, :now FROM {SCHEMA}.{table}"
                " WHERE rec BETWEEN :first AND :last"
            )
        self.sql.append(
            "INSERT OR FAIL INTO main.changes (id, hlc, device_id, tbl, row_id, op, data)"
            f" SELECT id, hlc, :device, 'members', row_id, 'insert', data FROM {SCHEMA}.changes"
            " WHERE rec BETWEEN :first AND :last"
        )
        self.sql.append(
            "INSERT OR FAIL INTO main.members_fts (rowid, member_id, name, skills, meta, bio)"
            f" SELECT fts_rowid, member_id, name, skills, meta, bio FROM {SCHEMA}.fts"
            " WHERE rec BETWEEN :first AND :last"
        )

    def load(self, seg: Segment) -> None:
        self.conn.deserialize(seg.data, name=SCHEMA)
        self.params["now"] = seg.now
        layout = self.conn.execute(
            f"SELECT group_concat(name || ':' || rootpage) FROM {SCHEMA}.sqlite_schema"
        ).fetchone()[0]
        if self.layout is None:
            self.layout = layout
        elif layout != self.layout:  # see segment_schema
            raise RuntimeError(f"segment tables differ: {layout} != {self.layout}")

    def copy(self, first: int, last: int) -> None:
        params = {**self.params, "first": first, "last": last}
        for sql in self.sql:
            self.conn.execute(sql, params)


# -- worker processes ------------------------------------------------------------------
# A fresh interpreter with this process's sys.path, so it imports this same zppcli
# (as exportworker starts its worker; the reasons not to use multiprocessing are there).
BOOT = (
    "import sys; sys.path[:] = sys.argv[1].split('\\n'); "
    "from zppcli.bulkimport import worker; worker()"
)


def segments(job: Job, workers: int) -> Iterator[Segment | Failure]:
    """The file's segments in order: prepared here (workers 0), or by that many
    worker processes taking them in turn."""
    if workers == 0:
        yield from Preparer(job).segments()
        return
    procs = []
    ring = [os.pipe() for _ in range(workers)]  # ring[k]: from lane k to lane k + 1
    try:
        for lane in range(workers):
            handoff = (ring[lane - 1][0], ring[lane][1])
            proc = subprocess.Popen(
                [sys.executable, "-c", BOOT, "\n".join(sys.path)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                pass_fds=handoff,
            )
            procs.append(proc)
            pickle.dump(
                Job(**{**job.__dict__, "lane": lane, "lanes": workers, "handoff": handoff}),
                proc.stdin,
                protocol=pickle.HIGHEST_PROTOCOL,
            )
            proc.stdin.close()
        for fds in ring:  # the workers hold them now: a lane's death is an end of file
            for fd in fds:
                os.close(fd)
        ring = []
        number = 0
        while True:
            proc = procs[number % workers]
            try:
                message = pickle.load(proc.stdout)
            except (EOFError, pickle.UnpicklingError):
                raise ZppError(
                    f"import worker {number % workers} stopped (exit code {proc.wait()})"
                ) from None
            if message is None:  # this lane has no more: the file is done
                return
            yield message
            if isinstance(message, Failure):
                return
            number += 1
    finally:
        for fds in ring:
            for fd in fds:
                os.close(fd)
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            proc.stdout.close()


def worker() -> None:
    """A worker process (BOOT): a Job on stdin, its segments on stdout, then None."""
    # Millions of short-lived dicts and tuples, no cycles to collect: the cyclic
    # collector took a tenth of a worker's time. Reference counting frees them.
    gc.disable()
    job = pickle.load(sys.stdin.buffer)
    out = sys.stdout.buffer
    for seg in Preparer(job).segments():
        pickle.dump(seg, out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()
    pickle.dump(None, out)
    out.flush()
