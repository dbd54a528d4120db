"""Whole-process speed of `zpp team` on a 100,000-member directory, against a floor.

The directory is the search benchmark's (5 skills and 3 availability periods
per member, written with executemany into a fresh schema and indexed with
searchindex.rebuild) plus 12 collectives holding a third of the members. The
floor is `python -c "import sqlite3"`: what any Python program pays to start.
Each figure is the median of N whole-process runs measured in this run.

    python benchmarks/team.py [--members 100000] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from datetime import date
from pathlib import Path

from common import cached_db, compile_bytecode, ensure_built, measure, zpp_command

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


TARGET_MS = 1000
CASES = {
    "3 needs, a week": [
        "--need",
        "camera,sound design,montage",
        "--from",
        "2026-12-07",
        "--to",
        "2026-12-11",
    ],
    "8 needs, expert": [
        "--need",
        "camera,sound design,montage,color grading,unreal,ios,drone,regie",
        "--from",
        "2026-12-07",
        "--to",
        "2026-12-11",
        "--level",
        "expert",
    ],
    "5 needs, city+coll": [
        "--need",
        "camera,montage,podcast,vfx,lichtontwerp",
        "--from",
        "2026-12-08",
        "--city",
        "Hilversum",
        "--prefer-collective",
        "collectief-3",
    ],
}


def build(path: Path, n: int, today: date) -> None:
    import search as search_bench

    from zppcli import db, searchindex
    from zppcli.store import derived_id

    search_bench.build(path, n, today)
    conn = db.connect(path)
    rnd = random.Random(11)
    now = "2026-11-26T00:00:00.000000Z"
    clocks = json.dumps({"deleted": "1764115200000-00000-bench"})
    groups = []
    for k in range(12):
        cid = derived_id("bench-collective", str(k))
        groups.append(cid)
        conn.execute(
            "INSERT INTO collectives (id, handle, name, created_at, updated_at, clocks)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (cid, f"collectief-{k}", f"Collectief {k}", now, now, clocks),
        )
    ids = [r[0] for r in conn.execute("SELECT id FROM members")]
    rows = [
        (
            derived_id("collective_member", rnd.choice(groups), mid),
            rnd.choice(groups),
            mid,
            now,
            now,
            clocks,
        )
        for mid in ids
        if rnd.random() < 1 / 3
    ]
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT OR IGNORE INTO collective_members (id, collective_id, member_id, created_at,"
        " updated_at, clocks) VALUES (?, ?, ?, ?, ?, ?)",
        rows,
    )
    searchindex.rebuild(conn)
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    today = date(2026, 12, 1)
    path = cached_db("team", args.members)
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
    floor, floor_cpu, _ = measure([sys.executable, "-c", "import sqlite3"], env, args.runs)
    print(
        f"floor (python -c 'import sqlite3'): {floor:.1f} ms wall, {floor_cpu:.1f} ms CPU, median"
        f" of {args.runs}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    )
    print(
        f"{'case':<20} {'format':<6} {'wall ms':>8} {'ratio':>6} {'CPU ms':>7} {'target':>10}"
        f" {'peak RSS MB':>12}"
    )
    ok = True
    for label, argv in CASES.items():
        for fmt in ("tsv", "json"):
            ms, cpu, rss = measure([*zpp_cmd, "team", *argv, "--format", fmt], env, args.runs)
            ok &= ms <= TARGET_MS
            print(
                f"{label:<20} {fmt:<6} {ms:8.1f} {ms / floor:6.1f} {cpu:7.1f}"
                f" {'<=' + str(TARGET_MS) + ' ms':>10} {rss:12.1f}"
            )
    print("(peak RSS counts the db pages mapped by PRAGMA mmap_size: shared file cache, not heap)")
    print("all targets met" if ok else "TARGET MISSED")


if __name__ == "__main__":
    main()
