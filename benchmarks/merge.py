"""Benchmark: merging two 100,000-member copies that differ in 1% of members (issue 6).

    python benchmarks/merge.py [--members 100000] [--differ 0.01]

1. builds a synthetic db fast (executemany into a fresh schema, valid clocks,
   an e-mail and two skills per member, the search index built);
2. copies it twice and edits a different 1% of members in each copy (city,
   day rate, a new e-mail, a few deletes), through the real store (Tx);
3. baseline: `VACUUM INTO` a copy of the db, in a child process;
4. times `merge.merge` of one copy into the other, in a child process, and
   reads that child's peak RSS (targets: <= 10 s, <= 200 MB);
5. times `zpp sync` end to end (the same merge into a fresh copy, then the
   atomic replace) with the other copy named as a Syncthing conflict copy.
Nothing here is a test: it prints figures, machines are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

CHILD = r"""
import sys, time, json, os
from pathlib import Path
mode, target, other = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
t = time.perf_counter()
if mode == "baseline":
    import sqlite3
    c = sqlite3.connect(target)
    c.execute("VACUUM INTO ?", (other,))
    c.close()
    extra = {}
elif mode == "merge":
    from zppcli import db, merge
    conn = db.connect(target)
    report = merge.merge(conn, Path(other))
    conn.close()
    extra = {"added": report.count("added"), "updated": report.count("updated"),
             "deleted": report.count("deleted"), "duplicates": len(report.duplicates)}
else:
    from zppcli import sync
    report = sync.sync(target)
    extra = {"copies": len(report.merged)}
seconds = time.perf_counter() - t
# VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec, so it would show the parent's peak
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(json.dumps({"seconds": seconds, "rss_mb": hwm / 1024, **extra}))
"""


def build(path: Path, n: int) -> None:
    from zppcli import clock, searchindex
    from zppcli import db as dbmod
    from zppcli.store import derived_id

    conn = dbmod.connect(path)
    rnd = random.Random(6)
    now = "2026-11-26T09:00:00.000000Z"
    wall = clock.wall_ms() - 86_400_000
    skills = [(derived_id("skill", f"skill{i}"), f"Skill {i}") for i in range(32)]
    stamp = clock.format_clock(wall, 0, "bench")
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO skills (id, name, created_at, updated_at, clocks) VALUES (?, ?, ?, ?, ?)",
        [
            (sid, name, now, now, json.dumps({"name": stamp, "deleted": stamp}))
            for sid, name in skills
        ],
    )
    member_fields = ["handle", "given_name", "family_name", "city", "bio", "day_rate", "deleted"]
    members, contacts, mskills = [], [], []
    for i in range(n):
        mid = str(uuid.UUID(int=rnd.getrandbits(128), version=4))
        s = clock.format_clock(wall + i // 50, i % 50, "bench")
        members.append(
            (
                mid,
                f"lid-{i}",
                f"Lid{i}",
                f"Familie{i % 997}",
                rnd.choice(["Hilversum", "Utrecht", "Almere"]),
                f"Maakt dingen nummer {i}.",
                rnd.randrange(300, 900),
                now,
                now,
                json.dumps(dict.fromkeys(member_fields, s), sort_keys=True),
            )
        )
        email = f"lid{i}@voorbeeld.example"
        contacts.append(
            (
                derived_id("contact", mid, "email", email),
                mid,
                "email",
                email,
                now,
                now,
                json.dumps(
                    dict.fromkeys(["member_id", "kind", "value", "deleted"], s), sort_keys=True
                ),
            )
        )
        for sid, _ in rnd.sample(skills, 2):
            mskills.append(
                (
                    derived_id("member_skill", mid, sid),
                    mid,
                    sid,
                    now,
                    now,
                    json.dumps(
                        dict.fromkeys(["member_id", "skill_id", "level", "deleted"], s),
                        sort_keys=True,
                    ),
                )
            )
    conn.executemany(
        "INSERT INTO members (id, handle, given_name, family_name, city, bio, day_rate, created_at, updated_at, clocks)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        members,
    )
    conn.executemany(
        "INSERT INTO contacts (id, member_id, kind, value, created_at, updated_at, clocks)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        contacts,
    )
    conn.executemany(
        "INSERT INTO member_skills (id, member_id, skill_id, created_at, updated_at, clocks)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        mskills,
    )
    conn.execute("COMMIT")
    conn.execute("BEGIN")
    searchindex.rebuild(conn)
    conn.execute("COMMIT")
    conn.close()


def edit(path: Path, device: str, picks: list[str]) -> None:
    """Edit the picked members through the real store: city + rate, a new e-mail, every 20th deleted."""
    os.environ["ZPP_DEVICE_ID"] = device
    from zppcli import db as dbmod
    from zppcli import members
    from zppcli.store import Tx

    conn = dbmod.connect(path)
    with Tx(conn) as tx:
        for n, mid in enumerate(picks):
            if n % 20 == 0:
                members.remove(tx, mid)
                continue
            members.edit(
                tx,
                mid,
                members.MemberInput(
                    values={"city": f"Stad {device}", "day_rate": 100 + n},
                    add_emails=[("home", f"{device}{n}@thuis.example")],
                ),
            )
    conn.close()


def child(mode: str, target: Path, other: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(target), str(other)],
        capture_output=True,
        text=True,
        env={**os.environ, "ZPP_DEVICE_ID": "merger"},
    )
    if out.returncode:
        raise SystemExit(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--differ", type=float, default=0.01)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="zpp-bench-merge-"))
    try:
        base = work / "base.db"
        t = time.perf_counter()
        build(base, args.members)
        print(
            f"built {args.members:,} members in {time.perf_counter() - t:.1f} s "
            f"({base.stat().st_size / 1e6:.0f} MB)"
        )
        a, b = work / "a.db", work / "b.db"
        shutil.copyfile(base, a)
        shutil.copyfile(base, b)
        import sqlite3

        c = sqlite3.connect(base)
        ids = [r[0] for r in c.execute("SELECT id FROM members ORDER BY id")]
        c.close()
        k = int(len(ids) * args.differ)
        rnd = random.Random(7)
        chosen = rnd.sample(ids, 2 * k)
        t = time.perf_counter()
        edit(a, "deva", chosen[:k])
        edit(b, "devb", chosen[k:])
        print(f"edited {k:,} members in each copy in {time.perf_counter() - t:.1f} s")

        baseline = child("baseline", a, work / "vacuum-copy.db")
        target = work / "merge-target.db"
        shutil.copyfile(a, target)
        merged = child("merge", target, b)
        synced_db = work / "sync" / "zpp.db"
        synced_db.parent.mkdir()
        shutil.copyfile(a, synced_db)
        shutil.copyfile(b, synced_db.parent / "zpp.sync-conflict-20261126-101500-ABCDEFG.db")
        synced = child("sync", synced_db, synced_db)

        print(
            f"baseline VACUUM INTO copy: {baseline['seconds']:.2f} s, peak RSS {baseline['rss_mb']:.0f} MB"
        )
        print(
            f"merge.merge (1% differ):   {merged['seconds']:.2f} s, peak RSS {merged['rss_mb']:.0f} MB "
            f"= {merged['seconds'] / baseline['seconds']:.1f}x the baseline time "
            f"[{merged['added']} added, {merged['updated']} updated, {merged['deleted']} deleted rows]"
            f"  targets: <= 10 s, <= 200 MB"
        )
        print(
            f"zpp sync (merge + replace): {synced['seconds']:.2f} s, peak RSS {synced['rss_mb']:.0f} MB "
            f"= {synced['seconds'] / baseline['seconds']:.1f}x the baseline time"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
