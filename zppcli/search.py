"""Search: free text (ranked, accent-folded, prefix) plus filters that compose with AND.

The same Filters serve `zpp search`, exports and a gathering's audience. This
module sits on the fast path of a piped search: it imports only the standard
library and zpp's light modules.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import date

from zppcli.errors import InvalidInput
from zppcli.skills import LEVELS
from zppcli.skills import resolve as resolve_skill
from zppcli.textfold import fold

SORTS = ("relevance", "name", "city")


class Filters:
    """What to look for; every filter given must hold.

    A plain class, not a dataclass: importing dataclasses (inspect) costs more
    than a piped search may spend on start-up.
    """

    FIELDS = (
        "query",
        "skills",
        "level",
        "free",
        "city",
        "collective",
        "tag",
        "lang",
        "mentor",
        "learner",
    )

    def __init__(
        self,
        query: str | None = None,
        skills: list[str] | None = None,
        level: str | None = None,
        free: tuple[date, date] | None = None,
        city: str | None = None,
        collective: str | None = None,
        tag: str | None = None,
        lang: str | None = None,
        mentor: str | None = None,
        learner: str | None = None,
    ):
        self.query = query
        self.skills = list(skills or [])  # all of them
        self.level = level  # minimum level for --skill
        self.free = free
        self.city = city
        self.collective = collective
        self.tag = tag
        self.lang = lang
        self.mentor = mentor  # can mentor this skill
        self.learner = learner  # wants to learn this skill

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.FIELDS}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Filters) and self.as_dict() == other.as_dict()

    def __repr__(self) -> str:
        return f"Filters({', '.join(f'{k}={v!r}' for k, v in self.as_dict().items() if v)})"

    @classmethod
    def from_flags(
        cls,
        query=None,
        skill=None,
        level=None,
        free=None,
        city=None,
        collective=None,
        tag=None,
        lang=None,
        mentor=None,
        learner=None,
    ) -> Filters:
        """From the command-line flags, validated (levels, dates)."""
        from zppcli.dates import parse_range
        from zppcli.skills import check_level

        return cls(
            query=query,
            skills=list(skill or []),
            level=check_level(level) if level else None,
            free=parse_range(free, "free") if free else None,
            city=city,
            collective=collective,
            tag=tag,
            lang=lang,
            mentor=mentor,
            learner=learner,
        )

    def is_empty(self) -> bool:
        return not any(self.as_dict().values())

    def to_json(self) -> str:
        data = {k: v for k, v in self.as_dict().items() if v}
        if self.free:
            data["free"] = [self.free[0].isoformat(), self.free[1].isoformat()]
        import json

        return json.dumps(data, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Filters:
        import json

        data = json.loads(text or "{}")
        if data.get("free"):
            data["free"] = tuple(date.fromisoformat(d) for d in data["free"])
        return cls(**data)

    def describe(self) -> str:
        """'skill camera, city Hilversum' for people."""
        parts = [f"'{self.query}'"] if self.query else []
        parts += [f"skill {s}" for s in self.skills]
        if self.level:
            parts.append(f"level {self.level}+")
        if self.free:
            a, b = self.free
            parts.append(f"free {a.isoformat()}" + (f"..{b.isoformat()}" if b != a else ""))
        for label, value in (
            ("city", self.city),
            ("collective", self.collective),
            ("tag", self.tag),
            ("language", self.lang),
            ("mentors of", self.mentor),
            ("learners of", self.learner),
        ):
            if value:
                parts.append(f"{label} {value}")
        return ", ".join(parts) or "everyone"


def match_expression(text: str) -> str | None:
    """User text -> a safe FTS5 MATCH: every word quoted, as a prefix, ANDed.

    Quotes, AND/OR/NEAR, *, (, -, : are never operators: folding and splitting
    on non-word characters leaves only words, each inside double quotes.
    """
    words = [w for w in re.split(r"[\W_]+", fold(text)) if w]
    if not words:
        return None
    return " ".join(f'"{w}"*' for w in words)


def member_ids_matching(conn: sqlite3.Connection, text: str, limit: int = 50) -> list[str]:
    return find(conn, Filters(query=text), limit=limit)


def _skill_id(conn: sqlite3.Connection, ref: str, field_name: str) -> str:
    return resolve_skill(conn, ref, field_name).id


def _fold_fn(conn: sqlite3.Connection) -> None:
    conn.create_function("zpp_fold", 1, lambda s: fold(s or ""), deterministic=True)


def find(
    conn: sqlite3.Connection, f: Filters, *, limit: int | None = None, sort: str = "relevance"
) -> list[str]:
    """Member ids matching every filter, best first (or by name / city)."""
    if f.level and f.level not in LEVELS:
        raise InvalidInput("level", f.level, f"use one of {', '.join(LEVELS)}")
    if sort not in SORTS:
        raise InvalidInput("sort", sort, f"use one of {', '.join(SORTS)}")
    where, params, joins = ["m.deleted = 0"], [], "members m"
    order = "m.sort_key"
    if f.query is not None:
        expr = match_expression(f.query)
        if expr is None:
            return []
        # members_fts first, ORDER BY its rank: FTS5 sorts inside the index
        # (the rank function and its weights are set in schema.sql).
        joins = "members_fts hit JOIN members m ON m.id = hit.member_id"
        where.append("hit.members_fts MATCH ?")
        params.append(expr)
        order = "hit.rank"
    levels = LEVELS[LEVELS.index(f.level) :] if f.level else LEVELS
    for ref in f.skills:
        where.append(
            "EXISTS (SELECT 1 FROM member_skills ms WHERE ms.member_id = m.id AND ms.deleted = 0"
            f" AND ms.skill_id = ? AND ms.level IN ({','.join('?' * len(levels))})"
            " AND NOT (ms.wants_to_learn = 1 AND ms.level = 'learning'))"
        )
        params += [_skill_id(conn, ref, "skill"), *levels]
    if f.level and not f.skills:
        raise InvalidInput("level", f.level, "goes with --skill (the level of that skill)")
    if f.mentor:
        where.append(
            "EXISTS (SELECT 1 FROM member_skills ms WHERE ms.member_id = m.id AND ms.deleted = 0"
            " AND ms.skill_id = ? AND (ms.can_mentor = 1 OR ms.level = 'expert'))"
        )
        params.append(_skill_id(conn, f.mentor, "mentor"))
    if f.learner:
        where.append(
            "EXISTS (SELECT 1 FROM member_skills ms WHERE ms.member_id = m.id AND ms.deleted = 0"
            " AND ms.skill_id = ? AND ms.wants_to_learn = 1)"
        )
        params.append(_skill_id(conn, f.learner, "learner"))
    if f.city:
        _fold_fn(conn)
        where.append("zpp_fold(m.city) = ?")
        params.append(fold(f.city.strip()))
    if f.collective:
        from zppcli.collectives import resolve as resolve_collective

        where.append(
            "EXISTS (SELECT 1 FROM collective_members cm WHERE cm.member_id = m.id"
            " AND cm.deleted = 0 AND cm.collective_id = ?)"
        )
        params.append(resolve_collective(conn, f.collective)["id"])
    if f.tag:
        where.append("EXISTS (SELECT 1 FROM json_each(m.tags) WHERE value = ?)")
        params.append(f.tag.strip().lower())
    if f.lang:
        where.append("EXISTS (SELECT 1 FROM json_each(m.languages) WHERE value = ?)")
        params.append(f.lang.strip().lower())
    covered = "1"
    if f.free:
        # One pass over the member's periods: bit 4 = something booked overlaps,
        # bit 2 = one free period covers it all, bit 1 = a free period overlaps.
        # Covered by several adjacent periods (bits 1 without 2) is checked in Python.
        lo, hi = f.free[0].isoformat(), f.free[1].isoformat()
        code = (
            "(SELECT 4 * max(a.status = 'booked' AND a.start_date <= ? AND a.end_date >= ?)"
            " + 2 * max(a.status != 'booked' AND a.start_date <= ? AND a.end_date >= ?)"
            " + max(a.status != 'booked' AND a.start_date <= ? AND a.end_date >= ?)"
            " FROM availability a WHERE a.member_id = m.id AND a.deleted = 0)"
        )
        where.append(f"{code} IN (1, 3)")
        params += [hi, lo, lo, hi, hi, lo]
        covered = f"{code} = 3"
        params = [hi, lo, lo, hi, hi, lo, *params]
    if sort == "name":
        order = "m.sort_key"
    elif sort == "city":
        order = "m.city = '', m.city, m.sort_key"
    sql = f"SELECT m.id, {covered} AS covered FROM {joins} WHERE {' AND '.join(where)} ORDER BY {order}"
    ranked = f.query is not None and sort == "relevance"
    out: list[str] = []
    for row in conn.execute(sql, params):
        if not row[1] and not _covered(conn, row[0], f.free):
            continue
        out.append(row[0])
        if ranked and limit and len(out) >= limit:
            break
    if not ranked and sort != "city":
        out = _dutch_order(conn, out)
    return out[:limit] if limit else out


def _covered(conn: sqlite3.Connection, member_id: str, free: tuple[date, date]) -> bool:
    spans = conn.execute(
        "SELECT start_date, end_date, status FROM availability WHERE member_id = ? AND deleted = 0",
        (member_id,),
    ).fetchall()
    from zppcli.availability import is_free

    return is_free([tuple(s) for s in spans], *free)


def _dutch_order(conn: sqlite3.Connection, ids: list[str]) -> list[str]:
    """sort_key is accent-sensitive in SQL; put Bürg between Burg and Bus."""
    keys = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        for r in conn.execute(
            f"SELECT id, family_name, given_name, particle FROM members"
            f" WHERE id IN ({','.join('?' * len(chunk))})",
            chunk,
        ):
            keys[r[0]] = (fold(r[1] or r[2]), fold(r[2]), fold(r[3]), r[0])
    return sorted(ids, key=keys.__getitem__)


def suggestions(conn: sqlite3.Connection, text: str | None, f: Filters, n: int = 3) -> list[str]:
    """'did you mean' words for a search with no hits: names and skills near the typos."""
    words = [w for w in re.split(r"[\W_]+", fold(text or "")) if len(w) >= 3]
    words += [fold(s) for s in f.skills]
    if not words:
        return []
    import difflib

    from zppcli.skills import catalogue

    skill_words = {fold(w): s.name for s in catalogue(conn) for w in (s.name, *s.aliases)}
    out: list[str] = []
    for word in words:
        for pool in (skill_words, _name_terms(conn, word)):
            nearby = [k for k in pool if abs(len(k) - len(word)) <= 2 and k[:1] == word[:1]]
            for hit in difflib.get_close_matches(word, nearby, n=n, cutoff=0.7):
                shown = pool[hit] or _name_as_written(conn, hit)
                if shown and shown not in out and hit != word:
                    out.append(shown)
    return out[:n]


def _name_terms(conn: sqlite3.Connection, word: str) -> dict[str, None]:
    """The words of live members' names (as the index holds them: folded) that start
    like word and are about as long; read from the FTS vocabulary, not the members."""
    rows = conn.execute(
        "SELECT term FROM members_fts_vocab WHERE col = 'name' AND term >= ? AND term < ?"
        " AND length(term) BETWEEN ? AND ?",
        (word[0], chr(ord(word[0]) + 1), len(word) - 2, len(word) + 2),
    )
    return dict.fromkeys(term for (term,) in rows)


def _name_as_written(conn: sqlite3.Connection, term: str) -> str | None:
    """A given or family name whose folded form is the index term ('burg' -> 'Bürg');
    None for a term that is no such name (a handle, a particle)."""
    rows = conn.execute(
        "SELECT m.given_name, m.family_name FROM members_fts h JOIN members m ON m.id = h.member_id"
        " WHERE h.members_fts MATCH ? LIMIT 20",
        (f'name : "{term}"',),
    )
    for names in rows:
        for name in names:
            for part in re.split(r"[\W_]+", name or ""):
                if fold(part) == term:
                    return part
    return None
