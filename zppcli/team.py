"""The team builder: the smallest team, free for the whole period, that covers every need.

An exact set cover, small on one side (a production needs a handful of skills)
and large on the other (up to 100,000 members). Members are grouped into
classes of equal worth (their level per needed skill, whether they are in the
production's city and in the preferred collective); a class that another class
beats or equals on every count is dropped, which loses no optimal team. The
remaining classes are searched exhaustively, smallest team size first, always
branching on the need with the fewest candidates.

A team is ranked by, in this order: needs covered, size (smaller first),
members of --prefer-collective, the levels of the needs (each need counted at
the best level in the team), members in --city, pairs of team mates who share
a collective, and finally the handles, so the answer is deterministic.
The first five are exact over the whole directory (a test checks them against
brute force); the last two break the remaining ties among the members of the
classes kept.

Free means what `zpp search --free` means (availability.is_free): recorded
available/partly periods cover the whole range and nothing booked overlaps it.
"""

from __future__ import annotations

import sqlite3
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import combinations, product

from zppcli import availability
from zppcli.errors import InvalidInput, UsageError
from zppcli.skills import LEVELS, Skill
from zppcli.skills import resolve as resolve_skill
from zppcli.textfold import fold

MAX_NEEDS = 12
ALTERNATIVES = 3
SHOW_IF_MOVED = 3
LOOKAHEAD_DAYS = 180
IF_MOVED_POOL = 500
_TOP_COVERS = 200  # class-level covers taken into the final (member-level) round
_MAX_PRODUCT = 4096  # member choices tried per cover in the final round


@dataclass(eq=False)
class Candidate:
    id: str
    handle: str
    name: str
    city: str
    ranks: dict[int, int]  # need index -> level rank (only needs at the asked level or above)
    mentor: set[int] = field(default_factory=set)
    free: bool = False
    in_city: bool = False
    in_pref: bool = False
    collectives: frozenset[str] = frozenset()


@dataclass
class Pick:
    member: Candidate
    covers: list[dict]  # {skill, level, mentor} of the needs this member brings
    why: str


@dataclass
class Uncovered:
    skill: str
    reason: str
    if_dates_move: list[dict]  # {handle, name, level, free_from (ISO date or None = unknown)}


@dataclass
class Proposal:
    needs: list[Skill]
    start: date
    end: date
    level: str
    city: str | None
    prefer_collective: str | None
    team: list[Pick]
    uncovered: list[Uncovered]
    alternatives: list[list[Pick]]
    candidates_free: int

    def to_dict(self) -> dict:
        def pick(p: Pick) -> dict:
            m = p.member
            return {
                "handle": m.handle,
                "name": m.name,
                "city": m.city,
                "id": m.id,
                "covers": p.covers,
                "why": p.why,
            }

        return {
            "needs": [s.name for s in self.needs],
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "level": self.level,
            "city": self.city,
            "prefer_collective": self.prefer_collective,
            "complete": not self.uncovered,
            "free_candidates": self.candidates_free,
            "team": [pick(p) for p in self.team],
            "uncovered": [
                {"skill": u.skill, "reason": u.reason, "if_dates_move": u.if_dates_move}
                for u in self.uncovered
            ],
            "alternatives": [[pick(p) for p in alt] for alt in self.alternatives],
        }


# -- parsing -----------------------------------------------------------------------
def parse_needs(conn: sqlite3.Connection, text: str | list[str]) -> list[Skill]:
    """'camera, sound design,montage' -> skills (aliases allowed, duplicates dropped)."""
    parts = text if isinstance(text, list) else [text]
    refs = [r.strip() for p in parts for r in p.split(",") if r.strip()]
    if not refs:
        raise InvalidInput("need", text, "name at least one skill, like 'camera,montage'")
    out: dict[str, Skill] = {}
    for ref in refs:
        skill = resolve_skill(conn, ref, "need")
        out.setdefault(skill.id, skill)
    if len(out) > MAX_NEEDS:
        raise InvalidInput("need", text, f"at most {MAX_NEEDS} different skills per team")
    return list(out.values())


# -- candidates ----------------------------------------------------------------------
def candidates(
    conn: sqlite3.Connection,
    needs: list[Skill],
    start: date,
    end: date,
    level: str = "competent",
    city: str | None = None,
    prefer_collective_id: str | None = None,
    busy: bool = True,
) -> list[Candidate]:
    """Members with at least one need at the level: the free ones (sorted by id), then, with
    busy=True, the others. Names are filled in later, only for those that matter (_fill)."""
    if level not in LEVELS:
        raise InvalidInput("level", level, f"use one of {', '.join(LEVELS)}")
    if end < start:
        raise InvalidInput("to", end.isoformat(), f"is before from ({start.isoformat()})")
    levels = LEVELS[LEVELS.index(level) :]
    map_file(conn)
    free = free_members(conn, start, end)
    free -= {r[0] for r in conn.execute("SELECT id FROM members WHERE deleted = 1")}
    out: dict[str, Candidate] = {}
    busy_rows: list[tuple[str, int, int, int]] = []
    cases = " ".join(f"WHEN ? THEN {i}" for i in range(len(needs)))
    for row in conn.execute(
        f"""SELECT member_id, CASE skill_id {cases} END,
                   CASE level WHEN 'expert' THEN 2 WHEN 'competent' THEN 1 ELSE 0 END, can_mentor
              FROM member_skills
             WHERE deleted = 0 AND skill_id IN ({",".join("?" * len(needs))})
               AND level IN ({",".join("?" * len(levels))})
               AND NOT (wants_to_learn = 1 AND level = 'learning')""",
        [*(s.id for s in needs), *(s.id for s in needs), *levels],
    ):
        member_id = row[0]
        if member_id not in free:
            if busy:
                busy_rows.append(row)
            continue
        cand = out.get(member_id)
        if cand is None:
            cand = out[member_id] = Candidate(member_id, "", "", "", {}, free=True)
        cand.ranks[row[1]] = row[2]
        if row[3] or row[2] == 2:
            cand.mentor.add(row[1])
    if city and out:
        here = _members_in(conn, city)
        for cand in out.values():
            cand.in_city = cand.id in here
    if out:
        for member_id, collective_id in conn.execute(
            "SELECT cm.member_id, cm.collective_id FROM collective_members cm"
            " JOIN collectives k ON k.id = cm.collective_id AND k.deleted = 0 WHERE cm.deleted = 0"
        ):
            cand = out.get(member_id)
            if cand is not None:
                cand.collectives = cand.collectives | {collective_id}
                if collective_id == prefer_collective_id:
                    cand.in_pref = True
    # The busy ones are named only when they are shown (see _if_moved).
    others: dict[str, Candidate] = {}
    for member_id, need, rank, can_mentor in busy_rows:
        cand = others.get(member_id)
        if cand is None:
            cand = others[member_id] = Candidate(member_id, "", "", "", {})
        cand.ranks[need] = rank
        if can_mentor or rank == 2:
            cand.mentor.add(need)
    return sorted(out.values(), key=lambda c: c.id) + list(others.values())


def map_file(conn: sqlite3.Connection) -> None:
    """Read a big directory through mmap rather than page by page (2x on 100k members).

    Only in WAL mode, which zpp uses on local disks alone (location.journal_mode):
    a file on a network mount is left to ordinary reads.
    """
    if conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
        conn.execute("PRAGMA mmap_size = 1073741824")


def free_members(conn: sqlite3.Connection, start: date, end: date) -> set[str]:
    """Ids of members free for all of [start, end]: availability.is_free, over every member."""
    return free_members_each(conn, [(start, end)])[0]


def free_members_each(conn: sqlite3.Connection, ranges: list[tuple[date, date]]) -> list[set[str]]:
    """free_members for each of several sorted, non-overlapping ranges, in one scan."""
    if not ranges:
        return []
    iso = [(a.isoformat(), b.isoformat()) for a, b in ranges]
    ends = [hi for _, hi in iso]
    booked: list[set[str]] = [set() for _ in iso]
    covered: list[set[str]] = [set() for _ in iso]
    pieces: list[dict[str, list[tuple[str, str, str]]]] = [{} for _ in iso]
    for member_id, a, b, status in conn.execute(
        "SELECT member_id, start_date, end_date, status FROM availability"
        " WHERE deleted = 0 AND start_date <= ? AND end_date >= ?",
        (iso[-1][1], iso[0][0]),
    ):
        k = bisect_left(ends, a)  # the first range that does not end before this period
        while k < len(iso) and iso[k][0] <= b:
            lo, hi = iso[k]
            if status == "booked":
                booked[k].add(member_id)
            elif a <= lo and b >= hi:
                covered[k].add(member_id)
            else:
                pieces[k].setdefault(member_id, []).append((a, b, status))
            k += 1
    out = []
    for k, (start, end) in enumerate(ranges):
        free = covered[k] - booked[k]
        for member_id, spans in pieces[k].items():
            if (
                member_id not in booked[k]
                and member_id not in covered[k]
                and availability.is_free(spans, start, end)
            ):
                free.add(member_id)
        out.append(free)
    return out


def _members_in(conn: sqlite3.Connection, city: str) -> set[str]:
    """Ids of the live members in this city (accent- and case-insensitive)."""
    key = fold(city.strip())
    spellings = [
        r[0]
        for r in conn.execute("SELECT DISTINCT city FROM members WHERE deleted = 0")
        if fold(r[0]) == key
    ]
    if not spellings:
        return set()
    return {
        r[0]
        for r in conn.execute(
            f"SELECT id FROM members WHERE deleted = 0 AND city IN ({','.join('?' * len(spellings))})",
            spellings,
        )
    }


def _fill(conn: sqlite3.Connection, cands: list[Candidate]) -> None:
    """Handle, name and city of these candidates (looked up only for the few that matter)."""
    by_id = {c.id: c for c in cands}
    ids = list(by_id)
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        for member_id, handle, name, member_city in conn.execute(
            "SELECT id, handle, display_name, city FROM members"
            f" WHERE id IN ({','.join('?' * len(chunk))})",
            chunk,
        ):
            c = by_id[member_id]
            c.handle, c.name, c.city = handle, name, member_city


def _spans(
    conn: sqlite3.Connection, member_ids: list[str]
) -> dict[str, list[tuple[str, str, str]]]:
    out: dict[str, list] = {}
    for i in range(0, len(member_ids), 500):
        chunk = member_ids[i : i + 500]
        for r in conn.execute(
            "SELECT member_id, start_date, end_date, status FROM availability"
            f" WHERE deleted = 0 AND member_id IN ({','.join('?' * len(chunk))})",
            chunk,
        ):
            out.setdefault(r[0], []).append((r[1], r[2], r[3]))
    return out


# -- the search ----------------------------------------------------------------------
@dataclass
class _Class:
    key: tuple  # (ranks per need, -1 = not covered ..., in_city, in_pref)
    mask: int
    members: list[Candidate]


def _classes(free: list[Candidate], n: int, skip: frozenset[tuple] = frozenset()) -> list[_Class]:
    """The classes no other class beats or equals on every count (keys in skip left out)."""
    groups: dict[tuple, list[Candidate]] = {}
    for c in free:
        key = (*(c.ranks.get(i, -1) for i in range(n)), int(c.in_city), int(c.in_pref))
        if key not in skip:
            groups.setdefault(key, []).append(c)
    # Descending total: a class can only be beaten by one with an equal or larger total.
    keys = sorted(groups, key=lambda k: (-sum(k), k))
    front: list[tuple] = []
    # at_least[d][v]: bitset of the front's keys whose value in dimension d is >= v - 1.
    at_least = [[0] * 4 for _ in range(n + 2)]
    for key in keys:
        if all(v < 0 for v in key[:n]):
            continue
        beaten = -1  # all bits: a front key at least as good in every dimension so far
        for d, v in enumerate(key):
            beaten &= at_least[d][v + 1]
            if not beaten:
                break
        if beaten:
            continue
        bit = 1 << len(front)
        front.append(key)
        for d, v in enumerate(key):
            for w in range(v + 2):
                at_least[d][w] |= bit
    out = []
    for key in front:
        mask = sum(1 << i for i in range(n) if key[i] >= 0)
        out.append(_Class(key, mask, groups[key]))
    return out


def _min_cover(masks: set[int], full: int, limit: int) -> dict[int, int]:
    """{subset of the needs: fewest members covering it}, for every subset coverable by `limit`."""
    best: dict[int, int] = {0: 0}
    reach = {0}
    for size in range(1, limit + 1):
        grown = {m | c for m in reach for c in masks} | reach
        for m in grown - reach:
            sub = m
            while sub:
                best.setdefault(sub, size)
                sub = (sub - 1) & m
        if grown == reach or full in best:
            break
        reach = grown
    return best


def _covers(classes: list[_Class], target: int, size: int, min_cover: dict[int, int]):
    """Every set of `size` classes covering `target`, each set once.

    Branches on the uncovered need with the fewest classes; a class tried for a
    need is banned from its later siblings' subtrees, so no set comes twice.
    """
    by_need: dict[int, list[int]] = {}
    for ci, cl in enumerate(classes):
        for i in range(target.bit_length()):
            if cl.mask >> i & 1:
                by_need.setdefault(i, []).append(ci)

    def walk(chosen: tuple[int, ...], covered: int, banned: frozenset[int]):
        left = target & ~covered
        if not left:
            yield chosen
            return
        room = size - len(chosen)
        if min_cover.get(left, size + 1) > room:
            return
        if room == 1:  # the last member must cover everything that is left
            for ci in by_need.get(left.bit_length() - 1, ()):
                if ci not in banned and classes[ci].mask & left == left:
                    yield (*chosen, ci)
            return
        need = min(
            (i for i in range(left.bit_length()) if left >> i & 1),
            key=lambda i: len(by_need.get(i, ())),
        )
        tried = set(banned)
        for ci in by_need.get(need, ()):
            if ci in tried:
                continue
            yield from walk((*chosen, ci), covered | classes[ci].mask, frozenset(tried))
            tried.add(ci)

    yield from walk((), 0, frozenset())


def _class_score(classes: list[_Class], combo: tuple[int, ...], n: int) -> tuple:
    keys = [classes[ci].key for ci in combo]
    # per need the best rank in the team, +1, so that an uncovered need (-1) counts 0
    levels = sum(map(max, zip(*(k[:n] for k in keys), strict=True))) + n
    return (sum(k[n + 1] for k in keys), levels, sum(k[n] for k in keys))


def _shared_pairs(team: tuple[Candidate, ...]) -> int:
    return sum(1 for a, b in combinations(team, 2) if a.collectives & b.collectives)


def _choices(cl: _Class) -> list[Candidate]:
    """The members worth trying from a class: the first by handle of each collective set, plus the
    first two overall (for alternatives)."""
    picked: dict[frozenset, Candidate] = {}
    for c in cl.members:
        picked.setdefault(c.collectives, c)
    out = list(dict.fromkeys([*cl.members[:2], *picked.values()]))
    return out


def best_teams(
    cands: list[Candidate],
    n: int,
    max_size: int | None = None,
    how_many: int = 1 + ALTERNATIVES,
    fill=None,
) -> tuple[list[tuple[Candidate, ...]], int]:
    """The best teams (best first) and the mask of needs they cover.

    The best team comes from the non-dominated classes. When they hold fewer than
    `how_many` teams, the next layer of classes (those only the first layer beats)
    supplies the alternatives. fill(members) names the members of the classes used.
    """
    free = [c for c in cands if c.free]
    classes = _prepare(_classes(free, n), fill)
    masks = {cl.mask for cl in classes}
    full = 0
    for m in masks:
        full |= m
    if not full:
        return [], 0
    limit = min(max_size or n, n)
    min_cover = _min_cover(masks, full, limit)
    if full in min_cover:
        targets = [full]
    else:
        most = max(bin(m).count("1") for m in min_cover)
        targets = sorted(m for m in min_cover if bin(m).count("1") == most)
    out = _ranked(classes, targets, min_cover, n, how_many)
    if len(out) < how_many:
        layer = _prepare(_classes(free, n, frozenset(cl.key for cl in classes)), fill)
        if layer:
            both = classes + layer
            wider = _min_cover({cl.mask for cl in both}, full, limit)
            seen = {frozenset(c.id for c in team) for team in out}
            for team in _ranked(both, targets, wider, n, how_many + len(out)):
                if frozenset(c.id for c in team) not in seen and len(out) < how_many:
                    out.append(team)
    covered = 0
    for c in out[0]:
        for i in c.ranks:
            covered |= 1 << i
    return out, covered


def _prepare(classes: list[_Class], fill) -> list[_Class]:
    if fill is not None:
        fill([m for cl in classes for m in cl.members])
    for cl in classes:
        cl.members.sort(key=lambda c: (c.handle, c.id))
    return classes


def _ranked(
    classes: list[_Class], targets: list[int], min_cover: dict[int, int], n: int, how_many: int
) -> list[tuple[Candidate, ...]]:
    """The best `how_many` distinct teams of the smallest size covering one of the targets."""
    scored = []
    for target in targets:
        size = min_cover[target]
        for combo in _covers(classes, target, size, min_cover):
            scored.append(((-size, *_class_score(classes, combo, n)), target, combo))
    scored.sort(
        key=lambda s: (tuple(-x for x in s[0]), s[1], sorted(classes[ci].key for ci in s[2]))
    )
    teams: list[tuple[tuple, tuple[Candidate, ...]]] = []
    for score, _, combo in scored[:_TOP_COVERS]:
        options = [_choices(classes[ci]) for ci in combo]
        total = 1
        for o in options:
            total *= len(o)
        while total > _MAX_PRODUCT:  # keep the product small: trim the longest list
            longest = max(range(len(options)), key=lambda i: len(options[i]))
            options[longest] = options[longest][:-1]
            total = total // (len(options[longest]) + 1) * len(options[longest])
        for team in product(*options):
            handles = tuple(sorted(c.handle for c in team))
            teams.append(((*(-x for x in score), -_shared_pairs(team), handles), team))
    teams.sort(key=lambda t: t[0])
    out: list[tuple[Candidate, ...]] = []
    seen: set[frozenset[str]] = set()
    for _, team in teams:
        ids = frozenset(c.id for c in team)
        if ids not in seen:
            seen.add(ids)
            out.append(tuple(sorted(team, key=lambda c: (min(c.ranks), c.handle))))
        if len(out) >= how_many:
            break
    return out


# -- the proposal ------------------------------------------------------------------------
def build(
    conn: sqlite3.Connection,
    need: str | list[str],
    start: date,
    end: date,
    *,
    level: str = "competent",
    city: str | None = None,
    max_size: int | None = None,
    prefer_collective: str | None = None,
) -> Proposal:
    if max_size is not None and max_size < 1:
        raise InvalidInput("max", max_size, "a team has at least 1 member")
    needs = parse_needs(conn, need)
    pref_id = pref_name = None
    if prefer_collective:
        from zppcli.collectives import resolve as resolve_collective

        row = resolve_collective(conn, prefer_collective, "prefer-collective")
        pref_id, pref_name = row["id"], row["name"]
    cands = candidates(conn, needs, start, end, level, city, pref_id, busy=False)
    teams, covered = best_teams(cands, len(needs), max_size, fill=lambda ms: _fill(conn, ms))
    names = {row[0]: row[1] for row in conn.execute("SELECT id, name FROM collectives")}
    free_count: dict[int, int] = {}
    for c in cands:
        if c.free:
            for i in c.ranks:
                free_count[i] = free_count.get(i, 0) + 1
    picks = [_explain(t, needs, names, pref_name, city, free_count) for t in teams]
    uncovered = []
    coverable = 0
    for c in cands:
        if c.free:
            for i in c.ranks:
                coverable |= 1 << i
    for i, skill in enumerate(needs):
        if covered >> i & 1:
            continue
        holders = [c for c in candidates(conn, [skill], start, end, level) if not c.free]
        if coverable >> i & 1:
            reason = f"the team would grow beyond --max {max_size}"
        elif holders:
            reason = "nobody who has it is free for the whole period"
        else:
            reason = f"nobody has it at level {level} or above"
        uncovered.append(Uncovered(skill.name, reason, _if_moved(conn, holders, 0, start, end)))
    return Proposal(
        needs=needs,
        start=start,
        end=end,
        level=level,
        city=city,
        prefer_collective=pref_name,
        team=picks[0] if picks else [],
        uncovered=uncovered,
        alternatives=picks[1:],
        candidates_free=sum(c.free for c in cands),
    )


def _explain(
    team: tuple[Candidate, ...],
    needs: list[Skill],
    collective_names: dict[str, str],
    pref_name: str | None,
    city: str | None,
    free_count: dict[int, int],
) -> list[Pick]:
    best = {i: max(c.ranks.get(i, -1) for c in team) for i in range(len(needs))}
    picks = []
    for c in team:
        # A need counts as this member's when no team mate brings it at a higher level.
        own = [i for i in sorted(c.ranks) if c.ranks[i] == best[i]]
        covers = [
            {"skill": needs[i].name, "level": LEVELS[c.ranks[i]], "mentor": i in c.mentor}
            for i in own
        ]
        parts = []
        if len(own) > 1:
            parts.append(f"covers {len(own)} needs")
        only = [needs[i].name for i in own if free_count.get(i) == 1]
        if only:
            parts.append("the only one free for " + ", ".join(only))
        top = [needs[i].name for i in own if c.ranks[i] == 2 and free_count.get(i, 0) > 1]
        if top:
            parts.append("expert in " + ", ".join(top))
        if pref_name and c.in_pref:
            parts.append(f"member of {pref_name}")
        if city and c.in_city:
            parts.append(f"in {c.city}")
        mates = [o.handle for o in team if o is not c and o.collectives & c.collectives]
        if mates:
            shared = sorted(
                {
                    collective_names.get(k, k)
                    for o in team
                    if o is not c
                    for k in o.collectives & c.collectives
                }
            )
            parts.append(f"works with {', '.join(mates)} in {', '.join(shared)}")
        picks.append(Pick(c, covers, "; ".join(parts) or "free for the whole period"))
    return picks


def next_free(
    spans: list[tuple[str, str, str]], start: date, days: int, horizon: int = LOOKAHEAD_DAYS
) -> date | None:
    """The first date from `start - horizon` .. `start + horizon`, nearest first, on which a
    period of `days` days is free; None when availability is unknown or never free."""
    if not any(s != "booked" for _, _, s in spans):
        return None
    starts = set()
    for a, b, s in spans:
        if s == "booked":
            starts.add(date.fromisoformat(b) + timedelta(days=1))
        else:
            starts.add(date.fromisoformat(a))
    starts = sorted(
        (d for d in starts if abs((d - start).days) <= horizon),
        key=lambda d: (abs((d - start).days), d),
    )
    for d in starts:
        if availability.is_free(spans, d, d + timedelta(days=days - 1)):
            return d
    return None


def _if_moved(
    conn: sqlite3.Connection, cands: list[Candidate], need: int, start: date, end: date
) -> list[dict]:
    having = [c for c in cands if need in c.ranks and not c.free]
    if not having:
        return []
    # In a big directory, look at the strongest few hundred (by level, then a stable order).
    having = sorted(having, key=lambda c: (-c.ranks[need], c.id))[:IF_MOVED_POOL]
    by_id = {c.id: c for c in having}
    _fill(conn, having)
    spans = _spans(conn, list(by_id))
    days = (end - start).days + 1
    rows = []
    for c in by_id.values():
        when = next_free(spans.get(c.id, []), start, days)
        rows.append(
            (
                when is None,
                abs((when - start).days) if when else 0,
                -c.ranks[need],
                c.handle,
                c,
                when,
            )
        )
    rows.sort(key=lambda r: r[:4])
    return [
        {
            "handle": c.handle,
            "name": c.name,
            "level": LEVELS[c.ranks[need]],
            "free_from": when.isoformat() if when else None,
        }
        for *_, c, when in rows[:SHOW_IF_MOVED]
    ]


def check_dates(start: date | None, end: date | None) -> tuple[date, date]:
    if start is None:
        raise UsageError("from: missing; give --from DATE (and --to DATE)")
    end = end or start
    if end < start:
        raise InvalidInput("to", end.isoformat(), f"is before from ({start.isoformat()})")
    return start, end
