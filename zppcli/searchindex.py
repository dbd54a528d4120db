"""Keeps the full-text index of members (members_fts) in step with the data.

The store refreshes the members a transaction touched before it commits;
`zpp db reindex` rebuilds everything. The index text is folded (textfold) so
that ł, ø, ß and æ match their plain-letter spellings.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterable

from zppcli.textfold import fold

CHUNK = 500
# bm25 weights per column: member_id, name, skills, meta, bio (as in schema.sql).
WEIGHTS = (0.0, 10.0, 8.0, 3.0, 1.0)
RANK = f"bm25({', '.join(str(w) for w in WEIGHTS)})"


def fts_rowid(member_id: str) -> int:
    """The member's rowid in the index: 63 bits of a hash of its UUID, stable (rowids of
    ordinary tables change on VACUUM) and as good as unique. Before schema version 3
    it was the UUID's first 15 hex digits, which time-ordered UUIDs (version 7, as
    PostgreSQL's uuidv7() makes them) share within a millisecond: importing them
    failed on a duplicate rowid."""
    digest = hashlib.blake2b(member_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for i in range(0, len(items), CHUNK):
        yield items[i : i + CHUNK]


_FOLDED: dict[str, str] = {}  # word -> fold(word), for the words names and bios repeat


def _fold(text: str) -> str:
    """textfold.fold, faster: plain ASCII only needs casefold (nothing in it decomposes,
    combines or is a special letter); other text is folded a word at a time, with the
    words remembered (a space is a starter: folding never crosses it)."""
    if text.isascii():
        return text.casefold()
    out = []
    for word in text.split(" "):
        folded = _FOLDED.get(word)
        if folded is None:
            folded = fold(word)
            if len(_FOLDED) < 100_000:
                _FOLDED[word] = folded
        out.append(folded)
    return " ".join(out)


def _documents(conn: sqlite3.Connection, ids: list[str]) -> list[tuple]:
    marks = ",".join("?" * len(ids))
    skills: dict[str, list[str]] = defaultdict(list)
    for row in conn.execute(
        f"""SELECT ms.member_id, s.name,
                   (SELECT group_concat(a.alias, ' ') FROM skill_aliases a
                     WHERE a.skill_id = s.id AND a.deleted = 0) AS aliases
              FROM member_skills ms JOIN skills s ON s.id = ms.skill_id AND s.deleted = 0
             WHERE ms.deleted = 0 AND ms.member_id IN ({marks})
               AND NOT (ms.wants_to_learn = 1 AND ms.level = 'learning')""",
        ids,
    ):
        skills[row[0]].append(f"{row[1]} {row[2] or ''}")
    collectives: dict[str, list[str]] = defaultdict(list)
    for row in conn.execute(
        f"""SELECT cm.member_id, c.name, c.handle FROM collective_members cm
              JOIN collectives c ON c.id = cm.collective_id AND c.deleted = 0
             WHERE cm.deleted = 0 AND cm.member_id IN ({marks})""",
        ids,
    ):
        collectives[row[0]].append(f"{row[1]} {row[2]}")
    docs = []
    for m in conn.execute(
        f"""SELECT id, handle, display_name, city, region, tags, languages, bio
              FROM members WHERE deleted = 0 AND id IN ({marks})""",
        ids,
    ):
        meta = " ".join(
            [
                m["city"],
                m["region"],
                *json.loads(m["tags"]),
                *json.loads(m["languages"]),
                *collectives[m["id"]],
            ]
        )
        docs.append(
            (
                fts_rowid(m["id"]),
                m["id"],
                _fold(f"{m['display_name']} {m['handle']}"),
                _fold(" ".join(skills[m["id"]])),
                _fold(meta),
                _fold(m["bio"]),
            )
        )
    return docs


# From this many members on, refresh reads whole tables once instead of looking the
# members up 500 at a time (a big import: 100,000 members, 1.5 s less).
SCAN_FROM = 5000


def skill_texts(conn: sqlite3.Connection) -> dict[str, str]:
    """skill id -> what a member with it has in the index's skills column: its name and
    aliases (bulkimport writes the index with these too)."""
    return {
        r[0]: f"{r[1]} {r[2] or ''}"
        for r in conn.execute(
            """SELECT s.id, s.name, (SELECT group_concat(a.alias, ' ') FROM skill_aliases a
                                      WHERE a.skill_id = s.id AND a.deleted = 0)
                 FROM skills s WHERE s.deleted = 0"""
        )
    }


def collective_texts(conn: sqlite3.Connection) -> dict[str, str]:
    """collective id -> what its members have in the index's meta column."""
    return {
        r[0]: f"{r[1]} {r[2]}"
        for r in conn.execute("SELECT id, name, handle FROM collectives WHERE deleted = 0")
    }


def _all_documents(conn: sqlite3.Connection, ids: set[str]) -> list[tuple]:
    """_documents for many members at once: each table read in one pass, rows in
    rowid order (the order _documents's member_id index lookups give them)."""
    skill_text = skill_texts(conn)
    skills: dict[str, list[str]] = defaultdict(list)
    for member_id, skill_id in conn.execute(
        """SELECT member_id, skill_id FROM member_skills
            WHERE deleted = 0 AND NOT (wants_to_learn = 1 AND level = 'learning')"""
    ):
        if member_id in ids and skill_id in skill_text:
            skills[member_id].append(skill_text[skill_id])
    collective_text = collective_texts(conn)
    collectives: dict[str, list[str]] = defaultdict(list)
    for member_id, collective_id in conn.execute(
        "SELECT member_id, collective_id FROM collective_members WHERE deleted = 0"
    ):
        if member_id in ids and collective_id in collective_text:
            collectives[member_id].append(collective_text[collective_id])
    docs = []
    loads, empty = json.loads, ()
    for member_id, handle, display_name, city, region, tags, languages, bio in conn.execute(
        """SELECT id, handle, display_name, city, region, tags, languages, bio
             FROM members WHERE deleted = 0"""
    ):
        if member_id not in ids:
            continue
        meta = " ".join(
            [
                city,
                region,
                *(loads(tags) if tags != "[]" else empty),
                *(loads(languages) if languages != "[]" else empty),
                *collectives.get(member_id, empty),
            ]
        )
        docs.append(
            (
                fts_rowid(member_id),
                member_id,
                _fold(f"{display_name} {handle}"),
                _fold(" ".join(skills.get(member_id, empty))),
                _fold(meta),
                _fold(bio),
            )
        )
    docs.sort()
    return docs


def refresh(conn: sqlite3.Connection, member_ids: Iterable[str]) -> None:
    ids = sorted(set(member_ids))
    if len(ids) >= SCAN_FROM:
        docs = _all_documents(conn, set(ids))
        for i in range(0, len(ids), CHUNK):
            conn.executemany(
                "DELETE FROM members_fts WHERE rowid = ?",
                [(fts_rowid(m),) for m in ids[i : i + CHUNK]],
            )
        conn.executemany(
            "INSERT INTO members_fts (rowid, member_id, name, skills, meta, bio)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            docs,
        )
        return
    for chunk in _chunks(ids):
        conn.executemany(
            "DELETE FROM members_fts WHERE rowid = ?", [(fts_rowid(i),) for i in chunk]
        )
        conn.executemany(
            "INSERT INTO members_fts (rowid, member_id, name, skills, meta, bio)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            _documents(conn, chunk),
        )


def rebuild(conn: sqlite3.Connection) -> int:
    conn.execute("INSERT INTO members_fts (members_fts, rank) VALUES ('rank', ?)", (RANK,))
    conn.execute("DELETE FROM members_fts")
    ids = [r[0] for r in conn.execute("SELECT id FROM members WHERE deleted = 0")]
    refresh(conn, ids)
    conn.execute("INSERT INTO members_fts (members_fts) VALUES ('optimize')")
    return len(ids)


def members_with_skills(conn: sqlite3.Connection, skill_ids: set[str]) -> set[str]:
    marks = ",".join("?" * len(skill_ids))
    rows = conn.execute(
        f"SELECT DISTINCT member_id FROM member_skills WHERE skill_id IN ({marks})",
        list(skill_ids),
    )
    return {r[0] for r in rows}


def members_in_collectives(conn: sqlite3.Connection, collective_ids: set[str]) -> set[str]:
    marks = ",".join("?" * len(collective_ids))
    rows = conn.execute(
        f"SELECT DISTINCT member_id FROM collective_members WHERE collective_id IN ({marks})",
        list(collective_ids),
    )
    return {r[0] for r in rows}
