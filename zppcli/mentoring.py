"""Mentor matching (leven lang leren): learners paired with members who can teach the skill.

A learner is a member who wants to learn a skill; a mentor of a skill is a
member marked as mentor for it or at level expert (what `zpp search --mentor`
finds). Each (learner, skill) wish gets at most one mentor and no mentor gets
more than `max_per_mentor` learners. The assignment is a min-cost max-flow:
it makes as many pairs as any assignment can, and among those prefers, in this
order, mentors in the learner's city, spreading the load (a mentor's second
learner costs more than another mentor's first), and marked mentors over
experts who did not offer. Ties go by handle, so the result is deterministic.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from dataclasses import dataclass, field
from datetime import date, timedelta

from zppcli.errors import InvalidInput
from zppcli.textfold import fold

COST_OTHER_CITY = 1000
COST_PER_LOAD = 10
COST_NOT_OFFERED = 1


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
    mentor_people = sorted({m[0] for m in mentors}, key=lambda p: (p.handle, p.id))
    teaches: dict[str, dict[str, bool]] = {}  # skill id -> {mentor id: offered}
    for person, skill_id, _, offered in mentors:
        teaches.setdefault(skill_id, {})[person.id] = offered

    # The flow network: source -> wish -> mentor -> sink (one edge per load slot).
    graph = _Graph()
    source, sink = graph.node(), graph.node()
    wish_nodes = [graph.node() for _ in learners]
    mentor_node = {p.id: graph.node() for p in mentor_people}
    for node in wish_nodes:
        graph.edge(source, node, 0)
    candidate_edges: dict[int, list[tuple[int, str]]] = {}
    for w, (learner, skill_id, _, _) in enumerate(learners):
        for mentor in mentor_people:
            offered = teaches.get(skill_id, {}).get(mentor.id)
            if offered is None or mentor.id == learner.id:
                continue
            cost = (0 if _same_city(learner, mentor) else COST_OTHER_CITY) + (
                0 if offered else COST_NOT_OFFERED
            )
            e = graph.edge(wish_nodes[w], mentor_node[mentor.id], cost)
            candidate_edges.setdefault(w, []).append((e, mentor.id))
    for mentor in mentor_people:
        for slot in range(max_per_mentor):
            graph.edge(mentor_node[mentor.id], sink, slot * COST_PER_LOAD)
    graph.min_cost_max_flow(source, sink)

    by_id = {p.id: p for p in mentor_people}
    out = Matching(max_per_mentor=max_per_mentor)
    for w, (learner, _, skill_name, _) in enumerate(learners):
        chosen = [mid for e, mid in candidate_edges.get(w, []) if graph.cap[e] == 0]
        if chosen:
            mentor = by_id[chosen[0]]
            out.pairs.append(Pair(learner, mentor, skill_name, _same_city(learner, mentor)))
            out.load[mentor.handle] = out.load.get(mentor.handle, 0) + 1
        elif candidate_edges.get(w):
            full = sorted(by_id[mid].handle for _, mid in candidate_edges[w])
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


def _same_city(a: Person, b: Person) -> bool:
    return bool(a.city) and fold(a.city) == fold(b.city)


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
