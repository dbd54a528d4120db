"""The team builder: optimal against brute force, uncovered needs, the date rules of search."""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from itertools import combinations

import pytest

from zppcli import availability, collectives, db, members, search, team
from zppcli.skills import LEVEL_RANK, SkillSpec, add_skill
from zppcli.store import Tx

START, END = date(2026, 12, 7), date(2026, 12, 11)
SKILLS = ["Camera", "Montage", "Sound design", "Drone", "Color grading"]
CITIES = ["Hilversum", "Bussum", "Utrecht"]


def make_db(path, people, groups=("Beeldhaven", "Old School")):
    """people: [(name, city, {skill: level}, [(from, to, status)], [collective])]."""
    conn = db.connect(path)
    with Tx(conn) as tx:
        for s in SKILLS:
            add_skill(tx, s)
        ids = {g: collectives.add(tx, g) for g in groups}
        for name, city, skills, spans, groups_of in people:
            handle = members.add(
                tx,
                name,
                members.MemberInput(
                    values={"city": city}, skills=[SkillSpec(s, lv) for s, lv in skills.items()]
                ),
            )
            mid = members.find_by_handle(tx.conn, handle)["id"]
            for a, b, status in spans:
                availability.set_period(tx, mid, a, b, status)
            for g in groups_of:
                cid = collectives.resolve(tx.conn, ids[g])["id"]
                collectives.join(tx, cid, mid)
    return conn


def random_people(rng: random.Random, n: int):
    people = []
    for k in range(n):
        skills = {
            s: rng.choice(["learning", "competent", "expert"])
            for s in rng.sample(SKILLS, rng.randint(0, 3))
        }
        shape = rng.random()
        if shape < 0.5:
            spans = [(START - timedelta(days=3), END + timedelta(days=3), "available")]
        elif shape < 0.65:  # two adjacent periods that only cover the range together
            spans = [
                (START - timedelta(days=1), START + timedelta(days=1), "available"),
                (START + timedelta(days=2), END, "partly"),
            ]
        elif shape < 0.8:  # free, but one day booked in the middle
            spans = [
                (START - timedelta(days=3), END + timedelta(days=3), "available"),
                (START + timedelta(days=2), START + timedelta(days=2), "booked"),
            ]
        elif shape < 0.9:  # free, except the last day is not recorded
            spans = [(START, END - timedelta(days=1), "available")]
        else:
            spans = []  # unknown
        groups = rng.sample(["Beeldhaven", "Old School"], rng.randint(0, 1))
        people.append(
            (f"Lid{chr(65 + k)} Test{chr(65 + k)}", rng.choice(CITIES), skills, spans, groups)
        )
    return people


def brute_force(conn, needs, level="competent", city=None, pref=None, max_size=None):
    """Best key over every subset of the members `zpp search --free` finds (the oracle)."""
    free = set(search.find(conn, search.Filters(free=(START, END))))
    recs = [r for r in members.records(conn) if r["id"] in free]
    rank = LEVEL_RANK[level]

    def ranks(r):
        return {
            s["skill"]: LEVEL_RANK[s["level"]]
            for s in r["skills"]
            if s["skill"] in needs
            and LEVEL_RANK[s["level"]] >= rank
            and not (s["wants_to_learn"] and s["level"] == "learning")
        }

    pool = [r for r in recs if ranks(r)]
    best = None
    for size in range(1, min(max_size or len(needs), len(pool)) + 1):
        for combo in combinations(pool, size):
            key = key_of(combo, needs, ranks, city, pref)
            best = key if best is None or key < best else best
    return best, ranks


def key_of(combo, needs, ranks, city, pref):
    covered = {n: max(ranks(r).get(n, -1) for r in combo) for n in needs}
    got = [v for v in covered.values() if v >= 0]
    return (
        -len(got),
        len(combo),
        -sum(1 for r in combo if pref and any(c["name"] == pref for c in r["collectives"])),
        -sum(v + 1 for v in got),
        -sum(1 for r in combo if city and r["city"] == city),
    )


@pytest.mark.parametrize("seed", range(60))
def test_team_is_optimal_against_brute_force(tmp_path, seed):
    rng = random.Random(seed)
    conn = make_db(tmp_path / "t.db", random_people(rng, rng.randint(4, 11)))
    needs = rng.sample(SKILLS, rng.randint(1, 4))
    city = rng.choice([None, "Hilversum"])
    pref = rng.choice([None, "Old School"])
    max_size = rng.choice([None, None, 1, 2])
    level = rng.choice(["competent", "competent", "expert", "learning"])
    proposal = team.build(
        conn,
        ",".join(needs),
        START,
        END,
        level=level,
        city=city,
        prefer_collective=pref,
        max_size=max_size,
    )
    expected, ranks = brute_force(conn, needs, level, city, pref, max_size)
    recs = {r["id"]: r for r in members.records(conn)}
    picked = [recs[p.member.id] for p in proposal.team]
    if expected is None:
        assert picked == []
        assert {u.skill for u in proposal.uncovered} == set(needs)
        return
    assert key_of(picked, needs, ranks, city, pref) == expected
    covered = {n for r in picked for n in ranks(r)}
    assert {u.skill for u in proposal.uncovered} == set(needs) - covered
    # alternatives are other teams, never better than the proposal
    for alt in proposal.alternatives:
        alt_recs = [recs[p.member.id] for p in alt]
        assert {r["id"] for r in alt_recs} != {r["id"] for r in picked}
        assert key_of(alt_recs, needs, ranks, city, pref) >= expected


def test_smallest_team_prefers_one_person_with_two_skills(tmp_path):
    free = [(START, END, "available")]
    conn = make_db(
        tmp_path / "t.db",
        [
            ("Anna Camera", "Hilversum", {"Camera": "expert"}, free, []),
            ("Bert Montage", "Hilversum", {"Montage": "expert"}, free, []),
            ("Cor Beide", "Utrecht", {"Camera": "competent", "Montage": "competent"}, free, []),
        ],
    )
    proposal = team.build(conn, "camera, montage", START, END)
    assert [p.member.handle for p in proposal.team] == ["cor-beide"]
    assert proposal.uncovered == []
    # with --level expert, Cor no longer counts and two experts are needed
    proposal = team.build(conn, "camera,montage", START, END, level="expert")
    assert sorted(p.member.handle for p in proposal.team) == ["anna-camera", "bert-montage"]


def test_ties_go_to_higher_levels_then_city_then_shared_collective(tmp_path):
    free = [(START, END, "available")]
    conn = make_db(
        tmp_path / "t.db",
        [
            ("Anna Camera", "Utrecht", {"Camera": "expert"}, free, []),
            ("Bep Camera", "Hilversum", {"Camera": "competent"}, free, ["Beeldhaven"]),
            ("Cas Camera", "Bussum", {"Camera": "expert"}, free, ["Beeldhaven"]),
            ("Dirk Geluid", "Bussum", {"Sound design": "expert"}, free, ["Beeldhaven"]),
        ],
    )
    # levels first: the two expert cameras beat Bep; a shared collective picks Cas over Anna
    proposal = team.build(conn, "camera,sound design", START, END)
    assert sorted(p.member.handle for p in proposal.team) == ["cas-camera", "dirk-geluid"]
    assert "works with" in proposal.team[0].why
    # the city comes before shared collectives
    proposal = team.build(conn, "camera,sound design", START, END, city="Utrecht")
    assert sorted(p.member.handle for p in proposal.team) == ["anna-camera", "dirk-geluid"]
    # a preferred collective comes before levels
    proposal = team.build(conn, "camera", START, END, prefer_collective="beeldhaven")
    assert [p.member.handle for p in proposal.team] == ["cas-camera"]


def test_uncovered_need_lists_who_would_cover_it_if_the_dates_moved(tmp_path):
    later = START + timedelta(days=14)
    conn = make_db(
        tmp_path / "t.db",
        [
            ("Anna Camera", "Hilversum", {"Camera": "expert"}, [(START, END, "available")], []),
            (
                "Dirk Geluid",
                "Bussum",
                {"Sound design": "expert"},
                [(START, END, "booked"), (later, later + timedelta(days=10), "available")],
                [],
            ),
            ("Eva Geluid", "Bussum", {"Sound design": "competent"}, [], []),
        ],
    )
    proposal = team.build(conn, "camera,sound design,drone", START, END)
    assert [p.member.handle for p in proposal.team] == ["anna-camera"]
    by_skill = {u.skill: u for u in proposal.uncovered}
    assert set(by_skill) == {"Sound design", "Drone"}
    moved = by_skill["Sound design"].if_dates_move
    assert moved[0] == {
        "handle": "dirk-geluid",
        "name": "Dirk Geluid",
        "level": "expert",
        "free_from": later.isoformat(),
    }
    assert moved[1]["handle"] == "eva-geluid" and moved[1]["free_from"] is None
    assert "nobody has it" in by_skill["Drone"].reason


def test_free_candidates_are_exactly_what_search_free_finds(tmp_path):
    rng = random.Random(7)
    conn = make_db(tmp_path / "t.db", random_people(rng, 30))
    needs = team.parse_needs(conn, ",".join(SKILLS))
    cands = team.candidates(conn, needs, START, END)
    for skill in SKILLS:
        expected = set(
            search.find(conn, search.Filters(skills=[skill], level="competent", free=(START, END)))
        )
        got = {c.id for c in cands if c.free and any(needs[i].name == skill for i in c.ranks)}
        assert got == expected, skill
    assert any(not c.free for c in cands)  # the data does exercise the date rules


def test_cli_all_formats_and_bad_input(example_db, run):
    args = [
        "team",
        "--need",
        "camera,sound design,montage",
        "--from",
        "2026-12-07",
        "--to",
        "2026-12-11",
    ]
    result = run(*args, "--json", ok=True)
    data = json.loads(result.stdout)
    assert data["needs"] == ["Camera", "Sound design", "Montage"]
    assert data["complete"] and len(data["team"]) == 3
    assert len(data["alternatives"]) == 3
    again = run(*args, "--json", ok=True)
    assert again.stdout == result.stdout  # deterministic
    tsv = run(*args, "--format", "tsv", ok=True).stdout.splitlines()
    assert tsv[0].split("\t") == ["team", "handle", "name", "city", "covers", "why"]
    assert [line.split("\t")[1] for line in tsv[1:4]] == [m["handle"] for m in data["team"]]
    csv_out = run(*args, "--format", "csv", ok=True).stdout
    assert csv_out.startswith("team,handle,name,city,covers,why\n")
    table = run(*args, "--format", "table", ok=True).stdout
    assert data["team"][0]["handle"] in table and "Alternatives" in table
    bad = run("team", "--need", "camera,basketweaving", "--from", "2026-12-07")
    assert bad.exit_code == 3 and "basketweaving" in bad.stderr
    bad = run("team", "--need", "camera", "--from", "2026-12-07", "--to", "2026-12-01")
    assert bad.exit_code == 1 and "2026-12-01" in bad.stderr
    bad = run("team", "--need", "camera", "--from", "2026-12-07", "--level", "guru")
    assert bad.exit_code == 1 and "guru" in bad.stderr


def test_from_alone_may_be_a_period(example_db, run):
    week = json.loads(run("team", "-n", "camera", "--from", "next week", "--json", ok=True).stdout)
    assert (week["from"], week["to"]) == ("2026-12-07", "2026-12-11")  # ZPP_TODAY is 2026-12-01
    span = json.loads(
        run("team", "-n", "camera", "--from", "2026-12-07..2026-12-11", "--json", ok=True).stdout
    )
    explicit = run(
        "team", "-n", "camera", "--from", "2026-12-07", "--to", "2026-12-11", "--json", ok=True
    )
    assert span == json.loads(explicit.stdout) == week


def test_alternatives_reach_beyond_the_best_class(example_db, run):
    data = json.loads(
        run(
            "team",
            "-n",
            "camera,sound design,montage",
            "--from",
            "2026-12-07..2026-12-11",
            "--city",
            "Hilversum",
            "--json",
            ok=True,
        ).stdout
    )
    assert {m["city"] for m in data["team"]} == {"Hilversum"}
    assert len(data["alternatives"]) == 3  # not all of them in Hilversum, but there are some
    teams = [frozenset(m["handle"] for m in t) for t in [data["team"], *data["alternatives"]]]
    assert len(set(teams)) == 4
