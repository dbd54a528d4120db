"""Benchmark: 100,000 members out as vCards and in from JSON (issue 4).

    python benchmarks/export.py [--members 100000] [--vobject-sample 5000]
                                [--baseline-members 10000] [--export-only]

1. writes a synthetic directory (JSON, the `zpp export json` form) of N members;
2. times `zpp import json` of it into an empty db, all processes counted (target:
   <= 15 s for 100k), and, as this run's baseline, the first --baseline-members of
   them imported both ways: by that fast path (bulkimport) and by the ordinary
   importer, which an import into a db with members takes;
3. times `zpp export vcard --include-private -o FILE` of all of them in a child
   process, twice, and samples the peak RSS of that process and of every process it
   starts (its export worker), summed (targets: >= 20,000 cards/s, <= 100 MB);
4. serializes the same records with vobject in this run (the baseline) and
   prints our rate as a multiple of it.
--export-only: steps 3 and 4 alone, on a db of N members built once into
benchmarks/.cache (for working on the export; a full run times both).
Nothing here is a test: it prints figures, machines are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from common import cached_db, compile_bytecode, ensure_built, run_tree

HERE = Path(__file__).resolve().parent

GIVEN = [
    "Jöran",
    "Łukasz",
    "Saïd",
    "Renée",
    "Anaïs",
    "Mikkel",
    "Fleur",
    "Thijs",
    "Youssef",
    "Zofia",
    "Ingrid",
    "Bram",
    "Chloé",
    "Søren",
    "Noémi",
    "Kees",
    "Lotte",
    "Daan",
    "Emma",
    "Sem",
]
PARTICLES = ["", "", "", "van", "de", "van den", "van der", "ter", "in 't"]
FAMILY = [
    "Bürg",
    "Kowalczyk",
    "Bakker",
    "Dubois",
    "Bæk",
    "Beek",
    "Bosman",
    "Bouzid",
    "Ødegård",
    "Visser",
    "Jansen",
    "de Vries",
    "Smit",
    "Meijer",
    "Mulder",
    "Groot",
    "Bos",
    "Vos",
    "Peters",
]
CITIES = ["Hilversum", "Amsterdam", "Utrecht", "Almere", "Baarn", "Huizen", "Bussum", "Naarden"]
SKILLS = [
    "Camera",
    "Montage",
    "Geluid",
    "Regie",
    "Drone",
    "Podcast",
    "Radio",
    "Fotografie",
    "Motion graphics",
    "Color grading",
    "Copywriting",
    "Lichtontwerp",
]
LEVELS = ["learning", "competent", "expert"]


def synthetic(n: int, seed: int = 4) -> dict:
    rnd = random.Random(seed)
    skills = [
        {
            "id": str(uuid.UUID(int=rnd.getrandbits(128))),
            "name": s,
            "category": "",
            "description": "",
            "aliases": [],
        }
        for s in SKILLS
    ]
    collectives = [
        {
            "id": str(uuid.UUID(int=rnd.getrandbits(128))),
            "handle": f"collectief-{i}",
            "name": f"Collectief {i}",
            "description": "",
            "website": "",
        }
        for i in range(20)
    ]
    members = []
    for i in range(n):
        given, particle, family = rnd.choice(GIVEN), rnd.choice(PARTICLES), rnd.choice(FAMILY)
        members.append(
            {
                "id": str(uuid.UUID(int=rnd.getrandbits(128))),
                "handle": f"m{i:06d}",
                "given_name": given,
                "particle": particle,
                "family_name": family,
                "emails": [
                    {"type": "work", "value": f"m{i:06d}@voorbeeld.example", "private": False}
                ],
                "phones": [{"type": "mobile", "value": f"+3161{i:07d}", "private": False}],
                "city": rnd.choice(CITIES),
                "region": "Gooi en Vechtstreek",
                "website": f"https://m{i:06d}.example",
                "links": [],
                "bio": "Freelancer in Hilversum Media Valley; camera, montage en geluid, "
                "voor NPO, RTL en kleine producenten. Werkt graag in teams.",
                "languages": ["nl", "en"],
                "day_rate": 400 + i % 400,
                "tags": ["benchmark"],
                "note": "",
                "visibility": "public",
                "skills": [
                    {
                        "skill": s,
                        "level": rnd.choice(LEVELS),
                        "wants_to_learn": False,
                        "can_mentor": False,
                    }
                    for s in rnd.sample(SKILLS, 2)
                ],
                "collectives": [{"handle": rnd.choice(collectives)["handle"], "role": "member"}]
                if i % 3 == 0
                else [],
                "availability": [],
            }
        )
    return {
        "format": "zpp-directory",
        "version": 1,
        "skills": skills,
        "collectives": collectives,
        "members": members,
    }


def run_child(args: list[str], env: dict) -> tuple[float, float, float]:
    """Wall seconds, peak RSS (MB) and CPU seconds (user + sys) of one child process.

    CPU seconds are printed too because these machines are shared: wall time
    moves with everyone else's load, CPU time much less."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"{' '.join(args)} failed ({code}): {proc.stderr.read()}")
    return seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def vobject_card(rec: dict):
    """The same fields as zppcli.vcard, the way one writes it with vobject."""
    import vobject

    card = vobject.vCard()
    card.add("uid").value = f"urn:uuid:{rec['id']}"
    card.add("fn").value = rec["name"]
    family = " ".join(p for p in (rec["particle"], rec["family_name"]) if p)
    card.add("n").value = vobject.vcard.Name(family=family, given=rec["given_name"])
    card.add("sort-string").value = rec["family_name"]
    card.add("x-zpp-handle").value = rec["handle"]
    for e in rec["emails"]:
        prop = card.add("email")
        prop.value, prop.type_param = e["value"], ["INTERNET", e["type"].upper()]
    for p in rec["phones"]:
        prop = card.add("tel")
        prop.value, prop.type_param = p["value"], ["CELL", "VOICE"]
    card.add("adr").value = vobject.vcard.Address(city=rec["city"], region=rec["region"])
    card.add("url").value = rec["website"]
    for c in rec["collectives"]:
        card.add("org").value = [c["name"]]
    card.add("categories").value = [s["skill"] for s in rec["skills"]] + rec["tags"]
    card.add("note").value = rec["bio"]
    card.add("rev").value = rec["updated_at"][:19] + "Z"
    return card.serialize()


def time_exports(zpp: list[str], env: dict, n: int, out: Path) -> float:
    """Times `zpp export vcard` of all n members twice; the last rate (cards/s)."""
    # Twice: right after the import the kernel is still writing the db back to
    # disk, which slows the first run's fsync; the second shows the export itself.
    for attempt in ("first", "again"):
        load = os.getloadavg()[0]
        use = run_tree([*zpp, "export", "vcard", "--include-private", "-o", str(out)], env)
        size = out.stat().st_size / 1e6
        print(
            f"export vcard  {n:>7} cards    {use.seconds:6.1f} s wall ({use.cpu:6.1f} s CPU)  "
            f"{n / use.seconds:6.0f} cards/s ({n / use.cpu:.0f} per CPU s)  "
            f"peak RSS {use.rss_sum:4.0f} MB summed over {use.processes} processes "
            f"(largest {use.rss_max:.0f})  [{attempt}, load {load:.1f}] "
            f"({size:.0f} MB file; targets >= 20000 cards/s, <= 100 MB)"
        )
    return n / use.seconds


def compare_with_vobject(env: dict, sample: int, rate: float) -> None:
    """The baseline: the same records serialized by vobject, in this run."""
    sys.path.insert(0, str(HERE.parent))
    os.environ.update(env)
    from zppcli import db, exporter, vcard

    conn = db.connect(Path(env["ZPP_DB"]))
    ids = exporter.select(conn, None, True).ids[:sample]
    recs = list(exporter.iter_records(conn, ids))
    start = time.perf_counter()
    for rec in recs:
        vobject_card(rec)
    vobject_rate = len(recs) / (time.perf_counter() - start)
    start = time.perf_counter()
    for rec in recs:
        vcard.card(rec)
    ours = len(recs) / (time.perf_counter() - start)
    print(
        f"serializer only, {len(recs)} records: zppcli.vcard {ours:8.0f} cards/s, "
        f"vobject {vobject_rate:6.0f} cards/s  -> {ours / vobject_rate:.0f}x"
    )
    print(
        f"whole export (db read + serialize + write) vs vobject serializing alone: "
        f"{rate / vobject_rate:.0f}x"
    )
    conn.close()


def export_only(n: int, sample: int) -> None:
    """--export-only: the export timings on a cached db of n members (built once, by
    `zpp import json` in a child), without timing the import."""
    path = cached_db("export", n)
    ensure_built(__file__, path, n)
    compile_bytecode()
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    env = {**os.environ, "ZPP_DB": str(path), "ZPP_DEVICE_ID": "bench"}
    with tempfile.TemporaryDirectory(prefix="zpp-bench-") as tmp:
        rate = time_exports([sys.executable, "-m", "zppcli"], env, n, Path(tmp) / "all.vcf")
    compare_with_vobject(env, sample, rate)


def build_only(n: int) -> None:
    path = cached_db("export", n)
    with tempfile.TemporaryDirectory(prefix="zpp-bench-") as tmp:
        source = Path(tmp) / "directory.json"
        source.write_text(json.dumps(synthetic(n), ensure_ascii=False), encoding="utf-8")
        env = {**os.environ, "ZPP_DB": str(path), "ZPP_DEVICE_ID": "bench"}
        subprocess.run(
            [sys.executable, "-m", "zppcli", "import", "json", str(source)], env=env, check=True
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=100_000)
    ap.add_argument("--vobject-sample", type=int, default=5_000)
    ap.add_argument("--baseline-members", type=int, default=10_000)
    ap.add_argument(
        "--export-only",
        action="store_true",
        help="time only the export (and vobject), on a db cached in benchmarks/.cache",
    )
    ap.add_argument("--write-synthetic", metavar="PATH", help=argparse.SUPPRESS)
    ap.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    n = args.members
    if args.build_only:
        build_only(n)
        return
    if args.export_only:
        export_only(n, args.vobject_sample)
        return
    if args.write_synthetic:
        Path(args.write_synthetic).write_text(
            json.dumps(synthetic(n), ensure_ascii=False), encoding="utf-8"
        )
        return
    b = min(args.baseline_members, n)
    compile_bytecode()
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="zpp-bench-") as tmp:
        tmp = Path(tmp)
        source = tmp / "directory.json"
        # made in a child: a forked child's peak RSS counts its parent's pages until
        # exec, so this process stays small while it measures the others
        subprocess.run(
            [sys.executable, __file__, "--write-synthetic", str(source), "--members", str(n)],
            check=True,
        )
        env = {**os.environ, "ZPP_DB": str(tmp / "bench.db"), "ZPP_DEVICE_ID": "bench"}
        zpp = [sys.executable, "-m", "zppcli"]

        usage = run_tree([*zpp, "import", "json", str(source)], env)
        print(
            f"import json   {n:>7} members  {usage.seconds:6.1f} s wall ({usage.cpu:6.1f} s CPU,"
            f" {usage.processes} processes)  {n / usage.seconds:6.0f} members/s  peak RSS"
            f" {usage.rss_sum:4.0f} MB summed  (target <= 15 s for 100k)"
        )

        if b:
            small = tmp / "small.json"
            subprocess.run(
                [sys.executable, __file__, "--write-synthetic", str(small), "--members", str(b)],
                check=True,
            )
            # the baseline: the ordinary importer (a record at a time, rows in batches),
            # which a db that has members gets; the same file, fast path and that
            ordinary = (
                "import sys; from zppcli import importer; from zppcli.cli import app;"
                " importer.BULK = False;"
                " sys.argv = ['zpp', 'import', 'json', sys.argv[1]]; app()"
            )
            rates = {}
            for label, cmd in (
                ("fast path", [*zpp, "import", "json", str(small)]),
                ("ordinary importer", [sys.executable, "-c", ordinary, str(small)]),
            ):
                small_env = {**env, "ZPP_DB": str(tmp / f"small-{len(rates)}.db")}
                small_usage = run_tree(cmd, small_env)
                rates[label] = b / small_usage.seconds
                print(
                    f"import json   {b:>7} members  {small_usage.seconds:6.1f} s wall"
                    f" ({small_usage.cpu:6.1f} s CPU)  {rates[label]:6.0f} members/s  {label}"
                )
            print(
                f"fast path vs the ordinary importer ({b} members, wall): "
                f"{rates['fast path'] / rates['ordinary importer']:.1f}x;"
                f" {n} members by the fast path vs {b} by the ordinary importer, members/s:"
                f" {n / usage.seconds / rates['ordinary importer']:.1f}x"
            )

        rate = time_exports(zpp, env, n, tmp / "all.vcf")
        compare_with_vobject(env, args.vobject_sample, rate)


if __name__ == "__main__":
    main()
