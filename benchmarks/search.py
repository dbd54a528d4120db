"""Whole-process speed of `zpp search` on a 100,000-member directory, against a floor.

The floor is a bare `python -c` script that opens the same db with sqlite3 and
runs an equivalent FTS query, printing TSV: what any Python CLI must pay.
Each figure is the median of N runs measured in the same run, so the ratios
hold on a noisy machine. Peak RSS is each child's ru_maxrss.

    python benchmarks/search.py [--members 100000] [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import uuid
from datetime import date, timedelta
from pathlib import Path

from common import cached_db, compile_bytecode, ensure_built, measure, zpp_command

GIVEN = [
    "Jöran",
    "Anaïs",
    "Łukasz",
    "Ørjan",
    "Zoë",
    "Renée",
    "Jeroen",
    "Sanne",
    "Daan",
    "Fleur",
    "Mikkel",
    "José",
    "Hélène",
    "Thijs",
    "Lotte",
    "Bram",
    "Iris",
    "Kees",
    "Noor",
    "Ayşe",
    "Friederike",
    "Wim",
    "Sophie",
    "Youssef",
    "Marjolein",
    "Evert",
    "Ton",
    "Ingrid",
    "Bas",
    "Linh",
]
PARTICLES = ["", "", "", "van", "de", "van den", "van der", "ter", "op den", "van 't"]
FAMILY = [
    "Bürg",
    "Kowalczyk",
    "Solberg",
    "Müller",
    "Strauß",
    "Bæk",
    "Nguyễn",
    "Jansen",
    "de Wit",
    "Bakker",
    "Visser",
    "Smit",
    "Meijer",
    "Mulder",
    "Bos",
    "Vos",
    "Peters",
    "Hendriks",
    "Dekker",
    "Brouwer",
    "Kamp",
    "Berg",
    "Dijk",
    "Linden",
    "Vermeulen",
    "Hoekstra",
    "Bosman",
    "Graaf",
]
CITIES = ["Hilversum", "Amsterdam", "Utrecht", "Bussum", "Baarn", "Almere", "Laren", "Huizen"]
BIO = [
    "Documentairemaker bij het Mediapark.",
    "Werkt voor NPO en Beeld en Geluid.",
    "Maakt games en apps in Hilversum.",
    "Podcaster en presentator.",
    "Freelance editor.",
]


def build(path: Path, n: int, today: date) -> None:
    """A synthetic directory written straight into a fresh schema, then indexed."""
    from zppcli import db, searchindex
    from zppcli.store import derived_id
    from zppcli.textfold import slug

    if path.exists():
        path.unlink()
    conn = db.connect(path)
    rnd = random.Random(7)
    now = "2026-11-26T00:00:00.000000Z"
    clocks = json.dumps({"deleted": "1764115200000-00000-bench"})
    skills = [
        s.strip()
        for s in [
            "Camera",
            " Montage",
            " Sound design",
            " Geluidstechniek",
            " Audio mixing",
            " Color grading",
            " Motion graphics",
            " Unity",
            " Unreal",
            " iOS",
            " Android",
            " Podcast",
            " Presentatie",
            " Scenario schrijven",
            " Regie",
            " Productie",
            " Lichtontwerp",
            " Drone",
            " VFX",
            " 3D animatie",
            " Social media",
            " YouTube",
            " Copywriting",
            " Fotografie",
            " Journalistiek",
            " UX design",
        ]
    ]
    skill_ids = {s: derived_id("skill", slug(s)) for s in skills}
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO skills (id, name, created_at, updated_at, clocks) VALUES (?, ?, ?, ?, ?)",
        [(i, s, now, now, clocks) for s, i in skill_ids.items()],
    )
    conn.execute(
        "INSERT INTO skill_aliases (id, skill_id, alias, created_at, updated_at, clocks) VALUES (?, ?, ?, ?, ?, ?)",
        (derived_id("alias", "montage"), skill_ids["Montage"], "video editing", now, now, clocks),
    )
    members, member_skills, periods, contacts = [], [], [], []
    for k in range(n):
        mid = str(uuid.UUID(int=rnd.getrandbits(128), version=4))
        given, particle, family = rnd.choice(GIVEN), rnd.choice(PARTICLES), rnd.choice(FAMILY)
        members.append(
            (
                mid,
                f"m{k}",
                given,
                particle,
                family,
                rnd.choice(CITIES),
                rnd.choice(BIO),
                now,
                now,
                clocks,
            )
        )
        contacts.append((derived_id("c", mid), mid, "email", f"m{k}@example.org", now, now, clocks))
        for s in rnd.sample(skills, 5):
            member_skills.append(
                (
                    derived_id("ms", mid, s),
                    mid,
                    skill_ids[s],
                    rnd.choice(["learning", "competent", "expert"]),
                    now,
                    now,
                    clocks,
                )
            )
        start = today + timedelta(days=rnd.randint(-10, 20))
        for status in rnd.sample(["available", "partly", "booked"], 3):
            end = start + timedelta(days=rnd.randint(3, 30))
            periods.append(
                (
                    str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
                    mid,
                    start.isoformat(),
                    end.isoformat(),
                    status,
                    now,
                    now,
                    clocks,
                )
            )
            start = end + timedelta(days=1)
    conn.executemany(
        "INSERT INTO members (id, handle, given_name, particle, family_name, city, bio, created_at,"
        " updated_at, clocks) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        members,
    )
    conn.executemany(
        "INSERT INTO contacts (id, member_id, kind, value, created_at, updated_at, clocks)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        contacts,
    )
    conn.executemany(
        "INSERT INTO member_skills (id, member_id, skill_id, level, created_at, updated_at, clocks)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        member_skills,
    )
    conn.executemany(
        "INSERT INTO availability (id, member_id, start_date, end_date, status, created_at,"
        " updated_at, clocks) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        periods,
    )
    searchindex.rebuild(conn)
    conn.execute("COMMIT")
    conn.execute("VACUUM")
    conn.execute("ANALYZE")
    conn.close()


FLOOR = r"""
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
rows = conn.execute(
    "SELECT m.handle, m.given_name, m.family_name, m.city FROM members_fts h"
    " JOIN members m ON m.id = h.member_id WHERE h.members_fts MATCH ?"
    " ORDER BY h.rank LIMIT 50", (sys.argv[2],)).fetchall()
out = sys.stdout
for r in rows:
    out.write("\t".join(str(x) for x in r) + "\n")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    today = date(2026, 12, 1)
    path = cached_db("search", args.members)
    if args.build_only:
        build(path, args.members, today)
        return
    ensure_built(__file__, path, args.members)
    compile_bytecode()
    env = {
        **os.environ,
        "ZPP_DB": str(path),
        "ZPP_TODAY": today.isoformat(),
        "ZPP_DEVICE_ID": "bench",
    }
    zpp_cmd = zpp_command()
    queries = {
        "name query": (["search", "burg"], '"burg"*'),
        "skill + --free": (
            ["search", "montage", "--skill", "camera", "--free", "2026-12-07..2026-12-11"],
            '"montage"*',
        ),
        "no-hit query": (["search", "xyzzyq"], '"xyzzyq"*'),
    }
    print(
        f"{'case':<18} {'format':<6} {'zpp ms':>8} {'floor ms':>9} {'ratio':>6} {'target':>7} {'peak RSS MB':>12}"
    )
    ok = True
    for label, (argv, fts) in queries.items():
        floor, _, _ = measure([sys.executable, "-c", FLOOR, str(path), fts], env, args.runs)
        for fmt, target in (("tsv", 2.5), ("table", 4.0)):
            # table output is what a terminal gets; forced here, since stdout is a pipe
            ms, _, rss = measure([*zpp_cmd, *argv, "--format", fmt], env, args.runs)
            ratio = ms / floor
            ok &= ratio <= target and rss <= 60
            print(
                f"{label:<18} {fmt:<6} {ms:8.1f} {floor:9.1f} {ratio:6.2f} {'<=' + str(target):>7} {rss:12.1f}"
            )
    print("all targets met" if ok else "TARGET MISSED")


if __name__ == "__main__":
    main()
