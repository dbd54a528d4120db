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
    from zppcli.team import free_members

    today = today or dates.today()
    live = "JOIN members m ON m.id = ms.member_id AND m.deleted = 0"
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

    holders: dict[str, set[str]] = {}
    skills = []
    for row in conn.execute(
        f"""SELECT s.id, s.name, s.category,
                   count(DISTINCT CASE WHEN ms.level != 'learning' THEN ms.member_id END) AS members,
                   count(DISTINCT CASE WHEN ms.level = 'expert' THEN ms.member_id END) AS experts,
                   count(DISTINCT CASE WHEN ms.can_mentor = 1 OR ms.level = 'expert'
                                       THEN ms.member_id END) AS mentors,
                   count(DISTINCT CASE WHEN ms.wants_to_learn = 1 THEN ms.member_id END) AS wanted
              FROM skills s
              LEFT JOIN (SELECT ms.* FROM member_skills ms {live} WHERE ms.deleted = 0) ms
                ON ms.skill_id = s.id
             WHERE s.deleted = 0
             GROUP BY s.id"""
    ):
        skills.append(
            {
                "skill": row["name"],
                "category": row["category"],
                "members": row["members"],
                "experts": row["experts"],
                "mentors": row["mentors"],
                "wanted": row["wanted"],
                "_id": row["id"],
            }
        )
    for member_id, skill_id in conn.execute(
        f"""SELECT ms.member_id, ms.skill_id FROM member_skills ms {live}
             WHERE ms.deleted = 0 AND ms.level != 'learning'"""
    ):
        holders.setdefault(skill_id, set()).add(member_id)
    ranges = week_ranges(today, weeks)
    free_by_week = [free_members(conn, a, b) for a, b in ranges]
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
