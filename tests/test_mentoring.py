"""zpp mentor match: as many pairs as possible, load limits, same city first, workshops."""

from __future__ import annotations

import json
import random
import shlex
from itertools import product

import pytest

from zppcli import db, members, mentoring, search
from zppcli.skills import SkillSpec, add_skill
from zppcli.store import Tx

SKILLS = ["Camera", "Montage", "Unreal"]


def make_db(path, people):
    """people: [(name, city, [skill specs like 'camera:expert' or 'montage:competent:mentor'],
    [skills to learn])]."""
    conn = db.connect(path)
    with Tx(conn) as tx:
        for s in SKILLS:
            add_skill(tx, s)
        for name, city, has, learns in people:
            specs = []
            for text in has:
                ref, level, *mentor = text.split(":")
                specs.append(SkillSpec(ref, level, bool(mentor)))
            specs += [SkillSpec(s, "learning", False, True) for s in learns]
            members.add(tx, name, members.MemberInput(values={"city": city}, skills=specs))
    return conn


def test_no_mentor_gets_more_than_the_limit(tmp_path):
    conn = make_db(
        tmp_path / "m.db",
        [
            ("Anna Mentor", "Hilversum", ["camera:expert"], []),
            ("Bas Leerling", "Hilversum", [], ["camera"]),
            ("Cor Leerling", "Bussum", [], ["camera"]),
            ("Dirk Leerling", "Utrecht", [], ["camera"]),
        ],
    )
    result = mentoring.match(conn)
    assert len(result.pairs) == 2 and result.load == {"anna-mentor": 2}
    assert [u.learner.handle for u in result.unmatched] == ["dirk-leerling"] or len(
        result.unmatched
    ) == 1
    assert "has 2 learners already" in result.unmatched[0].reason
    assert any(p.learner.handle == "bas-leerling" and p.same_city for p in result.pairs)
    assert len(mentoring.match(conn, max_per_mentor=3).pairs) == 3
    one = mentoring.match(conn, max_per_mentor=1)
    assert [(p.learner.handle, p.mentor.handle) for p in one.pairs] == [
        ("bas-leerling", "anna-mentor")
    ]


def test_learners_nobody_can_mentor_are_listed(tmp_path):
    conn = make_db(
        tmp_path / "m.db",
        [
            ("Anna Mentor", "Hilversum", ["camera:competent:mentor", "montage:competent"], []),
            ("Bas Leerling", "Hilversum", [], ["unreal", "montage", "camera"]),
            ("Cor Zelf", "Hilversum", ["unreal:expert"], []),
        ],
    )
    result = mentoring.match(conn)
    assert [(p.learner.handle, p.skill, p.mentor.handle) for p in result.pairs] == [
        ("bas-leerling", "Camera", "anna-mentor"),
        ("bas-leerling", "Unreal", "cor-zelf"),
    ]
    # competent without the mentor mark does not mentor
    assert [(u.learner.handle, u.skill) for u in result.unmatched] == [("bas-leerling", "Montage")]
    assert "nobody can mentor Montage" in result.unmatched[0].reason


def brute_force(learners, mentors, cap):
    """Best (pairs, same-city pairs) over every assignment; learners: [(city, skill)],
    mentors: [(city, {skills})]."""
    best = (0, 0)
    options = [
        [None] + [m for m, (_, skills) in enumerate(mentors) if skill in skills]
        for _, skill in learners
    ]
    for choice in product(*options):
        load = [0] * len(mentors)
        for m in choice:
            if m is not None:
                load[m] += 1
        if any(n > cap for n in load):
            continue
        pairs = sum(m is not None for m in choice)
        same = sum(
            1
            for (city, _), m in zip(learners, choice, strict=True)
            if m is not None and mentors[m][0] == city
        )
        best = max(best, (pairs, same))
    return best


@pytest.mark.parametrize("seed", range(25))
def test_as_many_pairs_as_any_assignment_then_same_city(tmp_path, seed):
    rng = random.Random(seed)
    cities = ["Hilversum", "Bussum", "Utrecht"]
    people, learners, mentors = [], [], []
    for k in range(rng.randint(1, 3)):
        skills = rng.sample(SKILLS, rng.randint(1, 2))
        city = rng.choice(cities)
        people.append(
            (f"Mentor{chr(65 + k)} Test", city, [f"{s.lower()}:expert" for s in skills], [])
        )
        mentors.append((city, set(skills)))
    for k in range(rng.randint(1, 6)):
        skill = rng.choice(SKILLS)
        city = rng.choice(cities)
        people.append((f"Leerling{chr(65 + k)} Test", city, [], [skill.lower()]))
        learners.append((city, skill))
    cap = rng.randint(1, 2)
    result = mentoring.match(make_db(tmp_path / "m.db", people), max_per_mentor=cap)
    same = sum(p.same_city for p in result.pairs)
    assert (len(result.pairs), same) == brute_force(learners, mentors, cap)
    assert all(n <= cap for n in result.load.values())
    assert len(result.pairs) + len(result.unmatched) == len(learners)


def test_cli_on_the_example_directory(example_db, run, conn):
    data = json.loads(run("mentor", "match", "--json", ok=True).stdout)
    assert data["pairs"] and data["unmatched"]
    assert max(data["load"].values()) <= 2
    c = conn()
    for pair in data["pairs"]:
        mentors_of = set(search.find(c, search.Filters(mentor=pair["skill"])))
        learners_of = set(search.find(c, search.Filters(learner=pair["skill"])))
        mentor_id = members.find_by_handle(c, pair["mentor"]["handle"])["id"]
        learner_id = members.find_by_handle(c, pair["learner"]["handle"])["id"]
        assert mentor_id in mentors_of and learner_id in learners_of and mentor_id != learner_id
    tight = json.loads(run("mentor", "match", "--json", "--max-per-mentor", "1", ok=True).stdout)
    assert set(tight["load"].values()) == {1} and len(tight["pairs"]) < len(data["pairs"])
    only = json.loads(run("mentor", "match", "--json", "--skill", "kleurcorrectie", ok=True).stdout)
    assert {p["skill"] for p in only["pairs"] + only["unmatched"]} == {"Color grading"}
    tsv = run(
        "mentor", "match", "--format", "tsv", "--city", "Utrecht", ok=True
    ).stdout.splitlines()
    assert tsv[0].split("\t") == [
        "skill",
        "learner",
        "learner_city",
        "mentor",
        "mentor_city",
        "note",
    ]
    assert all(line.split("\t")[2] == "Utrecht" for line in tsv[1:])
    assert run("mentor", "match", "--as", "party").exit_code == 1


def test_as_gathering_prints_a_command_that_plans_the_workshop(example_db, run):
    lines = run("mentor", "match", "--as", "gathering", ok=True).stdout.splitlines()
    unreal = [line for line in lines if "Workshop Unreal" in line]
    assert len(unreal) == 1
    argv = shlex.split(unreal[0])
    assert argv[:3] == ["zpp", "gathering", "add"]
    assert argv[argv.index("--learner") + 1] == "Unreal"
    # the printed command runs as it is
    result = run(*argv[1:])
    assert result.exit_code == 0, result.stderr
    listing = run("gathering", "list", "--format", "tsv", ok=True).stdout
    assert "Workshop Unreal" in listing


@pytest.mark.parametrize("seed", range(40))
def test_the_big_directory_path_still_makes_the_most_pairs(seed):
    rng = random.Random(seed)
    cities = ["Hilversum", "Bussum", "Utrecht", ""]
    people = [
        mentoring.Person(f"id{k:03d}", f"m{k:03d}", f"M {k}", rng.choice(cities))
        for k in range(rng.randint(1, 25))
    ]
    by_id = {p.id: p for p in people}
    teaches = {
        s: {p.id: rng.random() < 0.5 for p in rng.sample(people, rng.randint(0, len(people)))}
        for s in SKILLS
    }
    wishes = []
    for k in range(rng.randint(1, 60)):
        learner = mentoring.Person(f"l{k:03d}", f"l{k:03d}", f"L {k}", rng.choice(cities))
        skill = rng.choice(SKILLS)
        wishes.append(mentoring._Wish(learner, skill, sorted(teaches[skill]), teaches[skill]))
    cap = rng.randint(1, 3)
    exact = mentoring._exact(wishes, by_id, cap)
    greedy = mentoring._greedy(wishes, by_id, cap)
    assert sum(m is not None for m in greedy) == sum(m is not None for m in exact)
    for assigned in (exact, greedy):
        load = {}
        for wish, m in zip(wishes, assigned, strict=True):
            if m is not None:
                assert m in wish.mentors()
                load[m] = load.get(m, 0) + 1
        assert all(n <= cap for n in load.values())
