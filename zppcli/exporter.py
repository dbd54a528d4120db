"""Exports: vCard (one file or a vdir), CSV and JSON, streamed and written atomically.

Who leaves the directory: members whose visibility is `public` (they agreed to
be shared outside it); `network` and `private` members only with
include_private. Contacts marked private never leave in vCard or CSV; the JSON
export (the complete backup form) carries them only with include_private.

Records are read in chunks, so 100,000 members never sit in memory at once.
"""

from __future__ import annotations

import csv
import json
import os
import re
import sqlite3
import tempfile
from array import array
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from zppcli import vcard
from zppcli.files import atomic_write, file_mode, fsync_dir
from zppcli.output import csv_safe

CHUNK = 2000  # members per read: bigger chunks read neighbouring pages together
JSON_FORMAT = "zpp-directory"
JSON_VERSION = 1
VDIR_MANIFEST = ".zpp-export.json"  # the cards zpp wrote here; only these are ever removed
Progress = Callable[[int], None] | None


@dataclass
class Selection:
    ids: list[str]  # members to export, in directory order
    left_out: int = 0  # matched but not shared outside the directory
    # file_order[j]: the index in ids of the j-th of them in the order their rows lie
    # in the db file (for write_vcards, which reads them in that order)
    file_order: list[int] | None = None


def select(conn: sqlite3.Connection, filters=None, include_private: bool = False) -> Selection:
    """The members to export: filters (search.Filters) applied, then visibility."""
    wanted = None
    if filters is not None and not filters.is_empty():
        from zppcli import search

        wanted = set(search.find(conn, filters))
    from functools import lru_cache

    from zppcli.textfold import fold

    folded = lru_cache(maxsize=1 << 16)(fold)  # name parts recur ("van", "de", "Jan" ...)

    def sort_key(given: str, particle: str, family: str) -> tuple[str, str, str]:
        # names.dutch_sort_key, with the folding cached
        return (folded(family or given), folded(given), folded(particle))

    keep, left_out = [], 0
    cur = conn.cursor()
    cur.row_factory = None  # plain tuples: faster than sqlite3.Row
    # One string per member ("family\0given\0particle\0id" sorts like the tuple):
    # 100,000 members in ~15 MB, not a row and a tuple each. Read in rowid order,
    # which is the order of the table's pages in the file: no sort.
    for r in cur.execute(
        "SELECT id, given_name, particle, family_name, visibility FROM members"
        " WHERE deleted = 0 ORDER BY rowid"
    ):
        if wanted is not None and r[0] not in wanted:
            continue
        if r[4] != "public" and not include_private:
            left_out += 1
            continue
        keep.append("\0".join((*sort_key(r[1], r[2], r[3]), r[0])))
    by_name = sorted(range(len(keep)), key=keep.__getitem__)
    ids = [keep[i].rpartition("\0")[2] for i in by_name]
    del keep
    file_order = [0] * len(by_name)  # the inverse: where in ids each member read went
    for k, i in enumerate(by_name):
        file_order[i] = k
    return Selection(ids, left_out, file_order)


class _Reader:
    """Reads members and the rows that hang off them, a chunk of ids at a time, as
    plain tuples (cheaper than sqlite3.Row); iter_records and the vCard writer
    build what they need from them."""

    RECORD_COLUMNS = (
        "id, handle, display_name, given_name, particle, family_name, sort_key, city, region,"
        " website, links, bio, languages, day_rate, tags, note, visibility, created_at, updated_at"
    )
    CARD_COLUMNS = (
        "id, handle, display_name, given_name, particle, family_name, city, region, website,"
        " links, bio, languages, tags, updated_at"
    )

    def __init__(self, conn: sqlite3.Connection, columns: str):
        from zppcli.textfold import fold

        self.skill_names = {
            r[0]: (r[1], fold(r[1]))
            for r in conn.execute("SELECT id, name FROM skills WHERE deleted = 0").fetchall()
        }
        self.collectives = {
            r[0]: (r[1], r[2])
            for r in conn.execute("SELECT id, handle, name FROM collectives WHERE deleted = 0")
        }
        self.cur = conn.cursor()
        self.cur.row_factory = None  # plain tuples: faster than sqlite3.Row
        self.columns = columns
        self.parsed: dict[str, Any] = {}  # the same few JSON lists ('["nl","en"]') recur

    def loads(self, text: str) -> Any:
        value = self.parsed.get(text)
        if value is None:
            if len(self.parsed) > 4096:
                self.parsed.clear()
            value = self.parsed[text] = json.loads(text)
        return value

    def chunk(self, part: list[str]) -> tuple[dict, dict, dict, dict, dict]:
        """{id: member row}, then {id: list} of its e-mails and phones ((type, value,
        private), by position), skills (sort tuples, in records' order) and
        collectives ((name, handle, role), by name) for the live members in part."""
        from zppcli.skills import LEVEL_RANK

        cur, marks = self.cur, ",".join("?" * len(part))
        found = {
            r[0]: r
            for r in cur.execute(
                f"SELECT {self.columns} FROM members WHERE deleted = 0 AND id IN ({marks})", part
            ).fetchall()
        }
        emails: dict[str, list] = {i: [] for i in found}
        phones: dict[str, list] = {i: [] for i in found}
        for m, kind, ctype, value, private in cur.execute(
            "SELECT member_id, kind, type, value, private FROM contacts"
            f" WHERE deleted = 0 AND member_id IN ({marks}) ORDER BY position, value",
            part,
        ).fetchall():
            if m in found:
                (emails if kind == "email" else phones)[m].append((ctype, value, private))
        skills: dict[str, list] = {i: [] for i in found}
        names = self.skill_names
        for m, sid, level, wants, mentor in cur.execute(
            "SELECT member_id, skill_id, level, wants_to_learn, can_mentor FROM member_skills"
            f" WHERE deleted = 0 AND member_id IN ({marks})",
            part,
        ).fetchall():
            if m in found and sid in names:
                name, folded = names[sid]
                skills[m].append(
                    (-LEVEL_RANK[level], folded, name, level, bool(wants), bool(mentor))
                )
        for member_skills in skills.values():
            if len(member_skills) > 1:
                member_skills.sort()  # (-level rank, folded name, ...) as members.records sorts
        groups: dict[str, list] = {i: [] for i in found}
        for m, cid, role in cur.execute(
            "SELECT member_id, collective_id, role FROM collective_members"
            f" WHERE deleted = 0 AND member_id IN ({marks})",
            part,
        ).fetchall():
            if m in found and cid in self.collectives:
                handle, name = self.collectives[cid]
                groups[m].append((name, handle, role))
        for member_groups in groups.values():
            if len(member_groups) > 1:
                member_groups.sort(key=_first)
        return found, emails, phones, skills, groups

    def periods(self, part: list[str], found: dict) -> dict[str, list]:
        periods: dict[str, list] = {i: [] for i in found}
        for pid, m, a, b, status, hours, note in self.cur.execute(
            "SELECT id, member_id, start_date, end_date, status, hours_per_week, note"
            f" FROM availability WHERE deleted = 0 AND member_id IN ({','.join('?' * len(part))})"
            " ORDER BY start_date, end_date",
            part,
        ).fetchall():
            if m in found:
                periods[m].append(
                    {
                        "id": pid,
                        "from": a,
                        "to": b,
                        "status": status,
                        "hours_per_week": hours,
                        "note": note,
                    }
                )
        return periods


def _first(item: tuple) -> Any:
    return item[0]


def _contacts(found: list[tuple]) -> list[dict[str, Any]]:
    return [{"type": t, "value": v, "private": bool(p)} for t, v, p in found]


def iter_records(
    conn: sqlite3.Connection, ids: list[str], progress: Progress = None
) -> Iterator[dict]:
    """The member records (exactly as members.records builds them) in the order of ids.

    A bulk reader for exports: members.records sorts every chunk and folds names
    for it, which costs more than writing the vCard; here the order is given."""
    reader = _Reader(conn, _Reader.RECORD_COLUMNS)
    loads = reader.loads
    for start in range(0, len(ids), CHUNK):
        part = ids[start : start + CHUNK]
        found, emails, phones, skills, groups = reader.chunk(part)
        periods = reader.periods(part, found)
        for member_id in part:
            r = found.get(member_id)
            if r is None:
                continue
            yield {
                "id": r[0],
                "handle": r[1],
                "name": r[2],
                "given_name": r[3],
                "particle": r[4],
                "family_name": r[5],
                "sort_key": r[6],
                "emails": _contacts(emails[member_id]),
                "phones": _contacts(phones[member_id]),
                "city": r[7],
                "region": r[8],
                "website": r[9],
                "links": loads(r[10]),
                "bio": r[11],
                "languages": loads(r[12]),
                "day_rate": r[13],
                "tags": loads(r[14]),
                "note": r[15],
                "visibility": r[16],
                "skills": [
                    {"skill": s[2], "level": s[3], "wants_to_learn": s[4], "can_mentor": s[5]}
                    for s in skills[member_id]
                ],
                "collectives": [
                    {"handle": handle, "name": name, "role": role}
                    for name, handle, role in groups[member_id]
                ],
                "availability": periods[member_id],
                "created_at": r[17],
                "updated_at": r[18],
            }
        if progress:
            progress(len(part))


# -- vCard -----------------------------------------------------------------------
def iter_vcards(
    conn: sqlite3.Connection, ids: list[str], version: str = "3.0", progress: Progress = None
) -> Iterator[str]:
    """vcard.card(record) for each record iter_records gives, in the order of ids, built
    from the rows read without making the records (a card needs few of their fields)."""
    reader = _Reader(conn, _Reader.CARD_COLUMNS)
    for start in range(0, len(ids), CHUNK):
        part = ids[start : start + CHUNK]
        for _, text in _cards(reader, part, version):
            yield text
        if progress:
            progress(len(part))


def _cards(reader: _Reader, part: list[str], version: str) -> Iterator[tuple[int, str]]:
    """(index in part, card) of each live member in part: one read of the rows."""
    loads, compose, categories = reader.loads, vcard.compose, vcard.merged_categories
    found, emails, phones, skills, groups = reader.chunk(part)
    for k, member_id in enumerate(part):
        r = found.get(member_id)
        if r is None:
            continue
        yield (
            k,
            compose(
                version,
                r[0],
                r[2],
                r[3],
                r[4],
                r[5],
                r[1],
                [(t, v) for t, v, p in emails[member_id] if not p],
                [(t, v) for t, v, p in phones[member_id] if not p],
                r[6],
                r[7],
                [r[8], *loads(r[9])],
                [g[0] for g in groups[member_id]],
                categories([(s[2], s[3], s[4]) for s in skills[member_id]], loads(r[12])),
                loads(r[11]),
                r[10],
                r[13],
            ),
        )


class CardSpool:
    """Cards composed a chunk of members at a time into a binary file (UTF-8), for
    write_vcards and its worker process."""

    def __init__(self, conn: sqlite3.Connection, version: str, file: IO[bytes]):
        self.reader, self.version, self.file = _Reader(conn, _Reader.CARD_COLUMNS), version, file

    def add(self, part: list[str]) -> array:
        """The cards of part, in that order; the size of each (0: no card, the member
        was removed)."""
        sizes, write = array("q", bytes(8 * len(part))), self.file.write
        for k, text in _cards(self.reader, part, self.version):
            data = text.encode("utf-8")
            write(data)
            sizes[k] = len(data)
        return sizes


# From this many members on, write_vcards reads them in file order (see there) ...
FILE_ORDER_FROM = 4 * CHUNK
# ... and from this many on, with a second core, a second process shares the work:
# starting one costs ~0.07 s of CPU, and saves ~0.3 s at 20,000 members.
TWO_PROCESSES_FROM = 20_000
# Reading in file order, neighbouring ids lie on neighbouring pages whatever the
# chunk, so a small one does (and 2,000 members' rows and cards held at once cost
# ~10 MB more per process). SQLite's own default page cache (2 MB) reads 100,000
# members as fast as 32 MB did: with the db in the OS's file cache a page read
# costs little. Both count twice when two processes share the work.
FILE_ORDER_CHUNK = 500
FILE_ORDER_CACHE_KB = 2048


def write_vcards(
    conn,
    ids: list[str],
    out: IO,
    version: str = "3.0",
    progress: Progress = None,
    processes: int | None = None,
    file_order: list[int] | None = None,
) -> int:
    """The cards of ids, in that order, to out; returns how many.

    A big export reads the members in the order their rows lie in the db file, not
    in directory (name) order, which would read each page of the members, contacts
    and skills tables several times over (100,000 members: 770,000 page reads
    instead of 220,000). The cards go to a temporary file as they are made and are
    copied out from there in the order of ids, so memory stays flat.

    With two processes, a second one (exportworker) composes cards on another core
    meanwhile: it takes chunks from the start of the file order, this process from
    the end, until they meet, so that both finish together however busy either
    core is. processes: None (the default) chooses two from TWO_PROCESSES_FROM
    members on when there is a second core; 1 or 2 choose (and read in file order
    whatever the number of ids). The output is the same: if the worker cannot start
    or fails, this process composes its part as well.

    file_order: Selection.file_order of these ids, if known (else it is looked up).
    """
    if len(ids) < FILE_ORDER_FROM and not processes:
        n = 0
        for text in iter_vcards(conn, ids, version, progress):
            out.write(text)
            n += 1
        return n
    from zppcli import exportworker

    if processes is None:
        processes = 2 if len(ids) >= TWO_PROCESSES_FROM and exportworker.usable_cpus() > 1 else 1
    # The worker reads through its own connection: only committed rows, from a file.
    path = _db_file(conn) if processes > 1 and not conn.in_transaction else None
    chunk, cache_kb = FILE_ORDER_CHUNK, FILE_ORDER_CACHE_KB
    cache = conn.execute("PRAGMA cache_size").fetchone()[0]
    conn.execute(f"PRAGMA cache_size = -{cache_kb}")
    try:
        with ExitStack() as stack:
            worker = path and exportworker.start(path, version, chunk, cache_kb)
            if worker:
                stack.enter_context(worker)  # started first: it boots meanwhile
            order = _file_order(conn, ids) if file_order is None else file_order
            ordered = [ids[k] for k in order]
            spool = CardSpool(conn, version, stack.enter_context(_spool_file()))
            if not worker:
                mine = _compose(spool, ordered, range(0, len(ordered), chunk), chunk, progress)
                parts = [(spool.file, mine)]
            else:
                worker.send(ordered)
                tick = progress and (lambda n: progress(n + worker.progress()))
                starts = reversed(range(0, len(ordered), chunk))
                mine = _compose(spool, ordered, starts, chunk, tick, worker.claim)
                theirs = mine[-1][0] if mine else len(ordered)  # the worker's: ordered[:theirs]
                # (when we took every chunk, the worker is not waited for: it is stopped)
                sizes = worker.result(progress, theirs) if theirs else array("q")
                if sizes is not None:
                    parts = [(spool.file, mine), (worker.cards, [(0, sizes)])]
                else:  # it failed: its part is composed here, reporting only what it did not
                    parts = [(spool.file, mine)]
                    spool.file = stack.enter_context(_spool_file())  # same reader, new file
                    tick = _skipping(progress, worker.seen)
                    parts.append(
                        (spool.file, _compose(spool, ordered, range(0, theirs, chunk), chunk, tick))
                    )
            del ordered
            if progress and len(order) < len(ids):
                progress(len(ids) - len(order))  # members gone from the table: no cards
            return _copy_out(out, len(ids), order, parts)
    finally:
        conn.execute(f"PRAGMA cache_size = {int(cache)}")


def _spool_file() -> IO[bytes]:
    return tempfile.TemporaryFile(prefix="zpp-export-")


def _compose(
    spool: CardSpool,
    ordered: list[str],
    starts: Iterable[int],
    chunk: int,
    progress: Progress,
    claim: Callable[[int], bool] | None = None,
) -> list[tuple[int, array]]:
    """Spool the chunks of ordered that begin at starts, in that order, as long as
    claim(number of the chunk) gives them to us; (start, sizes) of each."""
    done = []
    for start in starts:
        if claim and not claim(start // chunk):
            break  # the worker has it: we have met
        done.append((start, spool.add(ordered[start : start + chunk])))
        if progress:
            progress(len(done[-1][1]))
    return done


def _db_file(conn: sqlite3.Connection) -> str | None:
    """The file of conn's main db (None for one in memory)."""
    for row in conn.execute("PRAGMA database_list").fetchall():
        if row[1] == "main":
            return row[2] or None
    return None


def _file_order(conn: sqlite3.Connection, ids: list[str]) -> list[int]:
    """The indexes in ids of the members, in the order of their rows in the db file
    (one that is not in the table at all is left out)."""
    n = len(ids)
    at = {member_id: k for k, member_id in enumerate(ids)}
    cur = conn.cursor()
    cur.row_factory = None
    # rowid * n + k: sorting plain ints, not tuples or a key list
    keys = [
        rowid * n + at[i] for i, rowid in cur.execute("SELECT id, rowid FROM members") if i in at
    ]
    del at
    keys.sort()
    return [key % n for key in keys]


def _skipping(progress: Progress, already: int) -> Progress:
    """progress, leaving out the first `already` members (reported before)."""
    if not progress:
        return None

    def tick(n: int) -> None:
        nonlocal already
        skip = min(n, already)
        already -= skip
        if n > skip:
            progress(n - skip)

    return tick


def _copy_out(
    out: IO, total: int, order: list[int], parts: list[tuple[IO[bytes], list[tuple[int, array]]]]
) -> int:
    """Copy the spooled cards to out in the order of ids; returns how many.

    parts: (spool, stretches) with stretches the (j, sizes) of the cards in that
    spool, one after the other: sizes[i] is the card of order[j + i], the index in
    ids of that member; total, how many ids there are."""
    where, length = array("q", bytes(8 * total)), array("q", bytes(8 * total))
    which = bytearray(total)
    for p, (_, stretches) in enumerate(parts):
        at = 0
        for j, sizes in stretches:
            for k, size in zip(order[j : j + len(sizes)], sizes, strict=True):
                where[k], length[k], which[k] = at, size, p
                at += size
    reads = [_reader(spool) for spool, _ in parts]
    n, batch = 0, []
    for k, size in enumerate(length):
        if size:  # 0: no card (the member was removed)
            batch.append(reads[which[k]](where[k], size))
            n += 1
            if len(batch) == 256:
                out.write(b"".join(batch).decode("utf-8"))
                batch.clear()
    out.write(b"".join(batch).decode("utf-8"))
    return n


def _reader(spool: IO[bytes]) -> Callable[[int, int], bytes]:
    """read(at, size) of a spool file, unbuffered: a buffered read of one card reads
    8 kB, and the next card is rarely beside it. seek+read, not os.pread (which
    Windows lacks)."""
    spool.flush()
    raw = getattr(spool, "raw", spool)

    def read(at: int, size: int) -> bytes:
        raw.seek(at)
        return raw.read(size)

    return read


@dataclass
class VdirReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)


def write_vdir(
    conn, ids: list[str], folder: Path, version: str = "3.0", progress: Progress = None
) -> VdirReport:
    """One <uid>.vcf per member. Rewrites only cards whose bytes changed; removes
    cards that zpp wrote earlier (listed in the manifest) for members no longer
    exported; never touches any other file."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    manifest_path = folder / VDIR_MANIFEST
    try:
        written_before = set(json.loads(manifest_path.read_text(encoding="utf-8"))["files"])
    except (OSError, ValueError, KeyError, TypeError):
        written_before = set()
    report, now = VdirReport(), set()
    pending: list[tuple[str, Path, bool]] = []  # (temp file, card, new)
    try:
        for rec in iter_records(conn, ids, progress):
            name = f"{rec['id']}.vcf"
            data = vcard.card(rec, version).encode("utf-8")
            target = folder / name
            now.add(name)
            try:
                old = target.read_bytes()
            except FileNotFoundError:
                old = None
            if old == data:
                report.unchanged += 1
                continue
            fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
            pending.append((tmp, target, old is None))
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.chmod(tmp, file_mode(target))
        if pending:
            # One sync for all new cards instead of an fsync each (20,000 cards: minutes
            # on a real disk); every card is on disk before any takes its place.
            os.sync()
            for tmp, target, new in pending:
                os.replace(tmp, target)
                (report.added if new else report.updated).append(target.name)
            pending = []
            fsync_dir(folder)
    finally:
        for tmp, _, _ in pending:
            with suppress(FileNotFoundError):
                os.unlink(tmp)
    ours = written_before | _zpp_cards(folder, now | written_before)
    for name in sorted(ours - now):
        with suppress(OSError):
            (folder / name).unlink()
            report.removed.append(name)
    with atomic_write(manifest_path) as f:
        json.dump({"written_by": "zpp export vcard --vdir", "files": sorted(now)}, f, indent=1)
        f.write("\n")
    return report


_CARD_NAME = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.vcf$")


def _zpp_cards(folder: Path, known: set[str]) -> set[str]:
    """Cards zpp wrote that the manifest does not list (it was lost): named
    <uuid>.vcf and carrying zpp's PRODID."""
    mark = f"\r\nPRODID:{vcard.PRODID}\r\n".encode()
    found = set()
    for path in folder.iterdir():
        if path.name in known or not _CARD_NAME.match(path.name):
            continue
        try:
            with path.open("rb") as f:
                head = f.read(4096)
        except OSError:
            continue
        if mark in head:
            found.add(path.name)
    return found


# -- CSV -------------------------------------------------------------------------
CSV_COLUMNS = [
    "id",
    "handle",
    "name",
    "given_name",
    "particle",
    "family_name",
    "emails",
    "phones",
    "city",
    "region",
    "website",
    "links",
    "languages",
    "tags",
    "skills",
    "learning",
    "collectives",
    "day_rate",
    "visibility",
    "bio",
    "updated_at",
]


def csv_row(rec: dict[str, Any]) -> dict[str, str]:
    """One flat row; lists are joined with '; ' in the syntax `zpp member add` takes."""
    skills = [
        s["skill"]
        + ("" if s["level"] == "competent" else f":{s['level']}")
        + (":mentor" if s["can_mentor"] else "")
        for s in rec["skills"]
        if not (s["wants_to_learn"] and s["level"] == "learning")
    ]
    return {
        **{
            k: rec[k]
            for k in (
                "id",
                "handle",
                "name",
                "given_name",
                "particle",
                "family_name",
                "city",
                "region",
                "website",
                "visibility",
                "bio",
                "updated_at",
            )
        },
        "emails": "; ".join(f"{e['type']}={e['value']}" for e in rec["emails"] if not e["private"]),
        "phones": "; ".join(f"{p['type']}={p['value']}" for p in rec["phones"] if not p["private"]),
        "links": "; ".join(rec["links"]),
        "languages": "; ".join(rec["languages"]),
        "tags": "; ".join(rec["tags"]),
        "skills": "; ".join(skills),
        "learning": "; ".join(s["skill"] for s in rec["skills"] if s["wants_to_learn"]),
        "collectives": "; ".join(
            c["handle"] + ("" if c["role"] == "member" else f":{c['role']}")
            for c in rec["collectives"]
        ),
        "day_rate": "" if rec["day_rate"] is None else str(rec["day_rate"]),
    }


def write_csv(conn, ids: list[str], out: IO, progress: Progress = None) -> int:
    """CSV with a header; every cell passes the spreadsheet formula guard."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    n = 0
    for rec in iter_records(conn, ids, progress):
        row = csv_row(rec)
        writer.writerow([csv_safe(row[c]) for c in CSV_COLUMNS])
        n += 1
    return n


# -- JSON ------------------------------------------------------------------------
def json_member(rec: dict[str, Any], include_private: bool) -> dict[str, Any]:
    """A member as the directory file holds it: everything but derived fields and timestamps."""
    out = {k: rec[k] for k in ("id", "handle", "given_name", "particle", "family_name")}
    for kind in ("emails", "phones"):
        out[kind] = [dict(c) for c in rec[kind] if include_private or not c["private"]]
    out.update(
        {
            k: rec[k]
            for k in (
                "city",
                "region",
                "website",
                "links",
                "bio",
                "languages",
                "day_rate",
                "tags",
                "note",
                "visibility",
            )
        }
    )
    out["skills"] = rec["skills"]
    out["collectives"] = [{"handle": c["handle"], "role": c["role"]} for c in rec["collectives"]]
    out["availability"] = rec["availability"]
    return out


def catalogue(conn: sqlite3.Connection) -> tuple[list[dict], list[dict]]:
    from zppcli import skills

    skill_list = [
        {
            "id": s.id,
            "name": s.name,
            "category": s.category,
            "description": s.description,
            "aliases": s.aliases,
        }
        for s in sorted(skills.catalogue(conn), key=lambda s: (s.name.casefold(), s.id))
    ]
    coll = [
        {k: r[k] for k in ("id", "handle", "name", "description", "website")}
        for r in conn.execute("SELECT * FROM collectives WHERE deleted = 0 ORDER BY handle, id")
    ]
    return skill_list, coll


def _dump(value: Any, indent: int) -> str:
    text = json.dumps(value, ensure_ascii=False, indent=2)
    return text.replace("\n", "\n" + " " * indent)


def write_json(
    conn, ids: list[str], out: IO, include_private: bool = False, progress: Progress = None
) -> int:
    """The complete directory, deterministic (no timestamps), streamed member by member."""
    skill_list, coll = catalogue(conn)
    out.write("{\n")
    out.write(f'  "format": "{JSON_FORMAT}",\n  "version": {JSON_VERSION},\n')
    out.write(f'  "skills": {_dump(skill_list, 2)},\n')
    out.write(f'  "collectives": {_dump(coll, 2)},\n')
    out.write('  "members": [')
    n = 0
    for rec in iter_records(conn, ids, progress):
        out.write(("," if n else "") + "\n    " + _dump(json_member(rec, include_private), 4))
        n += 1
    out.write("\n  ]\n}\n" if n else "]\n}\n")
    return n
