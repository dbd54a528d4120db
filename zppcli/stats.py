"""The network at a glance: members, skills in supply vs wanted, collectives, who is free when.

Supply counts members who have a skill at level competent or expert; mentors are marked mentors or experts (what
`zpp search --mentor` finds); wanted counts members who wish to learn it.
The heatmap counts, per skill and per working week (Monday to Friday; this
week from today), the members with the skill who are free for all of it, by
the rule of `zpp search --free`.
"""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from typing import Any

from zppcli.textfold import fold

WEEKS = 8


def week_ranges(today: date, weeks: int = WEEKS) -> list[tuple[date, date]]:
    """Working weeks from this one: (Monday or today, Friday)."""
    monday = today - timedelta(days=today.weekday())
    if today.weekday() >= 5:  # a weekend: start with the coming week
        monday += timedelta(days=7)
    out = []
    for k in range(weeks):
        start = monday + timedelta(days=7 * k)
        out.append((max(start, today), start + timedelta(days=4)))
    return out


def overview(
    conn: sqlite3.Connection, today: date | None = None, weeks: int = WEEKS
) -> dict[str, Any]:
    from zppcli import dates
    from zppcli.team import free_members_each, map_file

    today = today or dates.today()
    map_file(conn)  # many scans of a possibly big file
    total = conn.execute("SELECT count(*) FROM members WHERE deleted = 0").fetchone()[0]
    by_visibility = {v: 0 for v in ("public", "network", "private")}
    for visibility, n in conn.execute(
        "SELECT visibility, count(*) FROM members WHERE deleted = 0 GROUP BY visibility"
    ):
        by_visibility[visibility] = n
    cities: dict[str, list] = {}
    for city, n in conn.execute(
        "SELECT city, count(*) FROM members WHERE deleted = 0 AND city != '' GROUP BY city"
    ):
        entry = cities.setdefault(fold(city), [city, 0])
        entry[1] += n
    with_availability = conn.execute(
        "SELECT count(DISTINCT a.member_id) FROM availability a JOIN members m ON m.id = a.member_id"
        " AND m.deleted = 0 WHERE a.deleted = 0 AND a.end_date >= ?",
        (today.isoformat(),),
    ).fetchone()[0]

    # member_skills holds one row per member and skill (derived ids), so sums count members.
    counts = {
        r[0]: r[1:]
        for r in conn.execute(
            """SELECT skill_id, sum(level != 'learning'), sum(level = 'expert'),
                      sum(can_mentor = 1 OR level = 'expert'), sum(wants_to_learn)
                 FROM member_skills
                WHERE deleted = 0 AND member_id NOT IN (SELECT id FROM members WHERE deleted = 1)
                GROUP BY skill_id"""
        )
    }
    skills = []
    for skill_id, name, category in conn.execute(
        "SELECT id, name, category FROM skills WHERE deleted = 0"
    ):
        have, experts, mentors, wanted = counts.get(skill_id, (0, 0, 0, 0))
        skills.append(
            {
                "skill": name,
                "category": category,
                "members": have,
                "experts": experts,
                "mentors": mentors,
                "wanted": wanted,
                "_id": skill_id,
            }
        )
    holders: dict[str, set[str]] = {}
    for member_id, skill_id in conn.execute(
        """SELECT member_id, skill_id FROM member_skills
            WHERE deleted = 0 AND level != 'learning'
              AND member_id NOT IN (SELECT id FROM members WHERE deleted = 1)"""
    ):
        holders.setdefault(skill_id, set()).add(member_id)
    ranges = week_ranges(today, weeks)
    free_by_week = free_members_each(conn, ranges)
    for s in skills:
        have = holders.get(s.pop("_id"), set())
        s["free_per_week"] = [len(have & free) for free in free_by_week]
    skills.sort(key=lambda s: (-s["members"], fold(s["skill"])))

    collectives = [
        {"handle": r[0], "name": r[1], "members": r[2]}
        for r in conn.execute(
            """SELECT c.handle, c.name, count(m.id) FROM collectives c
                 LEFT JOIN collective_members cm ON cm.collective_id = c.id AND cm.deleted = 0
                 LEFT JOIN members m ON m.id = cm.member_id AND m.deleted = 0
                WHERE c.deleted = 0 GROUP BY c.id"""
        )
    ]
    collectives.sort(key=lambda c: (-c["members"], fold(c["name"])))
    return {
        "today": today.isoformat(),
        "members": {
            "total": total,
            "by_visibility": by_visibility,
            "with_availability": with_availability,
            "cities": [
                {"city": c, "members": n}
                for c, n in sorted(cities.values(), key=lambda x: (-x[1], fold(x[0])))
            ],
        },
        "skills": skills,
        "collectives": collectives,
        "weeks": [{"from": a.isoformat(), "to": b.isoformat()} for a, b in ranges],
        "free_per_week": [len(free) for free in free_by_week],
    }
