"""Mentor matching (leven lang leren): learners paired with members who can teach the skill.

A learner is a member who wants to learn a skill; a mentor of a skill is a
member marked as mentor for it or at level expert (what `zpp search --mentor`
finds). Each (learner, skill) wish gets at most one mentor and no mentor gets
more than `max_per_mentor` learners. Up to EXACT_EDGES wish-mentor pairs the
assignment is a min-cost max-flow: as many pairs as any assignment can make,
and among those, in this order, mentors in the learner's city, the load spread
(a mentor's second learner costs more than another mentor's first), marked
mentors over experts who did not offer. Beyond that (thousands of members) a
greedy pass plus augmenting paths still makes the maximum number of pairs and
follows the preferences greedily. Ties go by handle: deterministic.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from heapq import heapify, heappop, heappush, heapreplace

from zppcli.errors import InvalidInput
from zppcli.textfold import fold

COST_OTHER_CITY = 1000
COST_PER_LOAD = 10
COST_NOT_OFFERED = 1
EXACT_EDGES = 20_000  # wish-mentor pairs up to which the assignment is min-cost exact


@dataclass(frozen=True)
class Person:
    id: str
    handle: str
    name: str
    city: str


@dataclass
class Pair:
    learner: Person
    mentor: Person
    skill: str
    same_city: bool


@dataclass
class Unmatched:
    learner: Person
    skill: str
    reason: str
    mentors: list[str] = field(default_factory=list)  # handles of the (full) mentors of the skill


@dataclass
class Matching:
    pairs: list[Pair] = field(default_factory=list)
    unmatched: list[Unmatched] = field(default_factory=list)
    load: dict[str, int] = field(default_factory=dict)  # mentor handle -> learners
    max_per_mentor: int = 2

    def to_dict(self) -> dict:
        def person(p: Person) -> dict:
            return {"handle": p.handle, "name": p.name, "city": p.city}

        return {
            "max_per_mentor": self.max_per_mentor,
            "pairs": [
                {
                    "skill": p.skill,
                    "learner": person(p.learner),
                    "mentor": person(p.mentor),
                    "same_city": p.same_city,
                }
                for p in self.pairs
            ],
            "unmatched": [
                {"skill": u.skill, "learner": person(u.learner), "reason": u.reason}
                for u in self.unmatched
            ],
            "load": self.load,
        }


def _people(
    conn: sqlite3.Connection, sql: str, params: list
) -> list[tuple[Person, str, str, bool]]:
    rows = conn.execute(sql, params).fetchall()
    return [
        (
            Person(r["member_id"], r["handle"], r["display_name"], r["city"]),
            r["skill_id"],
            r["name"],
            bool(r["offered"]),
        )
        for r in rows
    ]


_BASE = """SELECT ms.member_id, m.handle, m.display_name, m.city, ms.skill_id, s.name, {offered} AS offered
             FROM member_skills ms
             JOIN members m ON m.id = ms.member_id AND m.deleted = 0
             JOIN skills s ON s.id = ms.skill_id AND s.deleted = 0
            WHERE ms.deleted = 0 AND {where}"""


def match(
    conn: sqlite3.Connection,
    skill: str | None = None,
    city: str | None = None,
    max_per_mentor: int = 2,
) -> Matching:
    """Pair learners (of `skill`, living in `city`, when given) with mentors anywhere."""
    if max_per_mentor < 1:
        raise InvalidInput("max-per-mentor", max_per_mentor, "must be at least 1")
    where, params = "", []
    if skill:
        from zppcli.skills import resolve

        where = " AND ms.skill_id = ?"
        params.append(resolve(conn, skill).id)
    learners = _people(
        conn, _BASE.format(offered="0", where="ms.wants_to_learn = 1" + where), params
    )
    if city:
        learners = [x for x in learners if fold(x[0].city) == fold(city.strip())]
    mentors = _people(
        conn,
        _BASE.format(
            offered="ms.can_mentor",
            where="(ms.can_mentor = 1 OR ms.level = 'expert') AND ms.wants_to_learn = 0" + where,
        ),
        params,
    )
    learners.sort(key=lambda x: (fold(x[2]), x[0].handle, x[0].id))
    by_id: dict[str, Person] = {}
    teaches: dict[str, dict[str, bool]] = {}  # skill id -> {mentor id: offered}
    for person, skill_id, _, offered in mentors:
        by_id[person.id] = person
        teaches.setdefault(skill_id, {})[person.id] = offered
    order = {mid: i for i, mid in enumerate(sorted(by_id, key=lambda m: (by_id[m].handle, m)))}
    pools = {
        skill_id: sorted(mentors_of, key=order.__getitem__)
        for skill_id, mentors_of in teaches.items()
    }
    wishes = [
        _Wish(learner, skill_name, pools.get(skill_id, []), teaches.get(skill_id, {}))
        for learner, skill_id, skill_name, _ in learners
    ]
    solve = _exact if sum(len(w.pool) for w in wishes) <= EXACT_EDGES else _greedy
    assigned = solve(wishes, by_id, max_per_mentor)

    out = Matching(max_per_mentor=max_per_mentor)
    for wish, mentor_id in zip(wishes, assigned, strict=True):
        learner, skill_name = wish.learner, wish.skill
        if mentor_id is not None:
            mentor = by_id[mentor_id]
            out.pairs.append(Pair(learner, mentor, skill_name, _same_city(learner, mentor)))
            out.load[mentor.handle] = out.load.get(mentor.handle, 0) + 1
        elif wish.has_mentor:
            full = sorted(by_id[m].handle for m in wish.mentors())
            out.unmatched.append(
                Unmatched(
                    learner,
                    skill_name,
                    f"every mentor of {skill_name} has {max_per_mentor} learners already",
                    full,
                )
            )
        else:
            out.unmatched.append(
                Unmatched(learner, skill_name, f"nobody can mentor {skill_name} yet")
            )
    out.load = dict(sorted(out.load.items()))
    return out


@dataclass
class _Wish:
    learner: Person
    skill: str
    pool: list[str]  # ids of every mentor of the skill, by handle (shared by its wishes)
    offered: dict[str, bool]  # mentor id -> marked as mentor (else: an expert)

    def mentors(self) -> list[str]:
        """Who can mentor this wish: the pool without the learner."""
        return [m for m in self.pool if m != self.learner.id]

    @property
    def has_mentor(self) -> bool:
        return any(m != self.learner.id for m in self.pool[:2])


def _cost(wish: _Wish, mentor: Person) -> int:
    return (0 if _same_city(wish.learner, mentor) else COST_OTHER_CITY) + (
        0 if wish.offered[mentor.id] else COST_NOT_OFFERED
    )


def _exact(wishes: list[_Wish], by_id: dict[str, Person], cap: int) -> list[str | None]:
    """Min-cost max-flow: source -> wish -> mentor -> sink, one sink edge per load slot."""
    graph = _Graph()
    source, sink = graph.node(), graph.node()
    mentor_node = {m: graph.node() for m in by_id}
    edges: list[list[tuple[int, str]]] = []
    for wish in wishes:
        node = graph.node()
        graph.edge(source, node, 0)
        edges.append(
            [(graph.edge(node, mentor_node[m], _cost(wish, by_id[m])), m) for m in wish.mentors()]
        )
    for m in sorted(by_id, key=lambda m: (by_id[m].handle, m)):
        for slot in range(cap):
            graph.edge(mentor_node[m], sink, slot * COST_PER_LOAD)
    graph.min_cost_max_flow(source, sink)
    return [next((m for e, m in options if graph.cap[e] == 0), None) for options in edges]


def _greedy(wishes: list[_Wish], by_id: dict[str, Person], cap: int) -> list[str | None]:
    """For big directories: each wish takes its best mentor with room (same city, least
    loaded, marked mentor, handle), scarce skills first; then every wish left over looks for
    an augmenting path (a chain of re-assignments), so the number of pairs is still the
    maximum. The preferences are then followed greedily, not optimally."""
    assigned: list[str | None] = [None] * len(wishes)
    load = dict.fromkeys(by_id, 0)
    pupils: dict[str, list[int]] = {m: [] for m in by_id}
    # Per skill, and per skill and city: a heap of (load, not offered, handle order, mentor),
    # refreshed lazily when a popped entry's load is out of date.
    order = {m: i for i, m in enumerate(sorted(by_id, key=lambda m: (by_id[m].handle, m)))}
    heaps: dict[tuple[str, str | None], list] = {}
    for wish in wishes:
        if (wish.skill, None) in heaps:
            continue
        for m, offered in wish.offered.items():  # every mentor of the skill
            entry = (0, not offered, order[m], m)
            heaps.setdefault((wish.skill, None), []).append(entry)
            heaps.setdefault((wish.skill, _city_key(by_id[m].city)), []).append(entry)
    for h in heaps.values():
        heapify(h)

    def pick(key: tuple[str, str | None], learner: str) -> str | None:
        heap, skipped, found = heaps.get(key), [], None
        while heap:
            n, off, o, m = heap[0]
            if load[m] >= cap:
                heappop(heap)
            elif load[m] != n:
                heapreplace(heap, (load[m], off, o, m))
            elif m == learner:
                skipped.append(heappop(heap))
            else:
                found = m
                break
        for entry in skipped:
            heappush(heap, entry)
        return found

    for w in sorted(range(len(wishes)), key=lambda w: (len(wishes[w].pool), w)):
        wish = wishes[w]
        if not wish.has_mentor:
            continue
        here = _city_key(wish.learner.city) if wish.learner.city else None
        best = (pick((wish.skill, here), wish.learner.id) if here else None) or pick(
            (wish.skill, None), wish.learner.id
        )
        if best is not None:
            assigned[w] = best
            load[best] += 1
            pupils[best].append(w)
    hopeless: set[str] = set()  # skills with no augmenting path since the last success
    for w, wish in enumerate(wishes):
        if assigned[w] is not None or not wish.has_mentor or wish.skill in hopeless:
            continue
        path = _augmenting_path(w, wishes, assigned, load, pupils, cap)
        if path is None:
            hopeless.add(wish.skill)
            continue
        hopeless.clear()
        for wi, m in path:  # wish wi moves to mentor m
            old = assigned[wi]
            if old is not None:
                load[old] -= 1
                pupils[old].remove(wi)
            assigned[wi] = m
            load[m] += 1
            pupils[m].append(wi)
    return assigned


def _augmenting_path(start, wishes, assigned, load, pupils, cap):
    """Breadth-first: [(wish, new mentor), ...] ending at a mentor with room, or None."""
    parent: dict[str, tuple[int, str | None]] = {}  # mentor -> (wish that reaches it, from mentor)
    queue = deque()
    for m in wishes[start].mentors():
        if m not in parent:
            parent[m] = (start, None)
            queue.append(m)
    while queue:
        m = queue.popleft()
        if load[m] < cap:
            path = []
            while m is not None:
                wi, came_from = parent[m]
                path.append((wi, m))
                m = came_from
            return path
        for wi in pupils[m]:
            for m2 in wishes[wi].mentors():
                if m2 not in parent:
                    parent[m2] = (wi, m)
                    queue.append(m2)
    return None


def _same_city(a: Person, b: Person) -> bool:
    return bool(a.city) and _city_key(a.city) == _city_key(b.city)


@lru_cache(maxsize=4096)
def _city_key(city: str) -> str:
    return fold(city.strip())


class _Graph:
    """Unit-capacity min-cost flow by successive shortest paths (Bellman-Ford queue)."""

    def __init__(self) -> None:
        self.head: list[list[int]] = []
        self.to: list[int] = []
        self.cap: list[int] = []
        self.cost: list[int] = []

    def node(self) -> int:
        self.head.append([])
        return len(self.head) - 1

    def edge(self, a: int, b: int, cost: int) -> int:
        """A unit edge a->b; returns its index (its residual twin is index + 1)."""
        for frm, to, cap, c in ((a, b, 1, cost), (b, a, 0, -cost)):
            self.head[frm].append(len(self.to))
            self.to.append(to)
            self.cap.append(cap)
            self.cost.append(c)
        return len(self.to) - 2

    def min_cost_max_flow(self, source: int, sink: int) -> tuple[int, int]:
        flow = total = 0
        n = len(self.head)
        while True:
            dist = [None] * n
            back = [-1] * n
            dist[source] = 0
            queue, queued = deque([source]), [False] * n
            queued[source] = True
            while queue:
                u = queue.popleft()
                queued[u] = False
                for e in self.head[u]:
                    if self.cap[e] and (
                        dist[self.to[e]] is None or dist[u] + self.cost[e] < dist[self.to[e]]
                    ):
                        dist[self.to[e]] = dist[u] + self.cost[e]
                        back[self.to[e]] = e
                        if not queued[self.to[e]]:
                            queued[self.to[e]] = True
                            queue.append(self.to[e])
            if dist[sink] is None:
                return flow, total
            v = sink
            while v != source:
                e = back[v]
                self.cap[e] -= 1
                self.cap[e ^ 1] += 1
                v = self.to[e ^ 1]
            flow += 1
            total += dist[sink]


# -- a workshop for those nobody can mentor ------------------------------------------------
def gathering_commands(
    result: Matching, city: str | None = None, today: date | None = None
) -> list[str]:
    """`zpp gathering add ...` lines: one workshop per skill with unmatched learners."""
    import shlex

    from zppcli import dates

    base = today or dates.today()
    # the first Thursday at least two weeks out, in the evening
    day = base + timedelta(days=14)
    day += timedelta(days=(3 - day.weekday()) % 7)
    by_skill: dict[str, list[Unmatched]] = {}
    for u in result.unmatched:
        by_skill.setdefault(u.skill, []).append(u)
    lines = []
    for skill, wishes in sorted(by_skill.items(), key=lambda kv: fold(kv[0])):
        who = ", ".join(u.learner.handle for u in wishes)
        many = len(wishes) > 1
        args = [
            "zpp",
            "gathering",
            "add",
            f"Workshop {skill}",
            "--start",
            f"{day.isoformat()} 19:30",
            "--duration",
            "2h",
            "--learner",
            skill,
            "--description",
            f"For the {len(wishes)} members who want to learn {skill}: {who}."
            if many
            else f"For {who}, who wants to learn {skill}.",
        ]
        if wishes[0].mentors:  # the mentors are full: one of them could teach a group at once
            args += ["--host", wishes[0].mentors[0]]
        if city:
            args += ["--city", city]
        lines.append(" ".join(shlex.quote(a) for a in args))
    return lines
