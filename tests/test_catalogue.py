"""Skills (catalogue, aliases, a member's skills), availability and collectives through the CLI."""

import json

from tests.conftest import snapshot


def rows(result) -> list[dict]:
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_skill_catalogue_with_aliases_and_counts(run, example_db):
    catalogue = {r["skill"]: r for r in rows(run("skill", "list", "--json"))}
    assert len(catalogue) >= 25
    assert "video editing" in catalogue["Montage"]["aliases"]
    assert catalogue["Camera"]["members"] >= 3 and catalogue["Camera"]["mentors"] >= 1


def test_skill_add_alias_and_conflicts(run, example_db):
    run(
        "skill",
        "add",
        "Audiodescriptie",
        "--alias",
        "audio description",
        "--category",
        "audio",
        ok=True,
    )
    assert run("skill", "add", "AUDIODESCRIPTIE ").exit_code == 4  # same slug
    assert (
        run("skill", "alias", "camera", "Audio Description").exit_code == 4
    )  # alias of another skill
    run("skill", "alias", "audiodescriptie", "ad-tekst", ok=True)
    run("skill", "set", "joran-vdburg", "ad-tekst:competent", ok=True)
    skills = {s["skill"]: s for s in rows(run("skill", "list", "joran-vdburg", "--json"))}
    assert skills["Audiodescriptie"]["level"] == "competent"


def test_skill_set_learn_and_drop(run, example_db):
    run("skill", "set", "joran-vdburg", "unity", "--learn", ok=True)
    skills = {s["skill"]: s for s in rows(run("skill", "list", "joran-vdburg", "--json"))}
    assert skills["Unity"] == {
        "skill": "Unity",
        "level": "learning",
        "wants_to_learn": True,
        "can_mentor": False,
    }
    run("skill", "drop", "joran-vdburg", "unity", ok=True)
    assert "Unity" not in {s["skill"] for s in rows(run("skill", "list", "joran-vdburg", "--json"))}
    assert run("skill", "drop", "joran-vdburg", "unity").exit_code == 3


def test_skill_rm_removes_it_from_members_after_confirmation(run, example_db, conn):
    assert run("skill", "rm", "drone").exit_code == 2  # no terminal, no --yes
    run("skill", "rm", "drone", "--yes", ok=True)
    assert run("search", "--skill", "drone").exit_code == 3
    live = (
        conn()
        .execute(
            "SELECT count(*) FROM member_skills ms JOIN skills s ON s.id = ms.skill_id"
            " WHERE s.name = 'Drone' AND ms.deleted = 0"
        )
        .fetchone()[0]
    )
    assert live == 0


def test_avail_list_and_clear(run, example_db):
    periods = rows(run("avail", "list", "joran-vdburg", "--json"))
    assert periods and all(p["handle"] == "joran-vdburg" for p in periods)
    window = rows(run("avail", "list", "--from", "2026-12-10", "--to", "2026-12-12", "--json"))
    assert all(p["from"] <= "2026-12-12" and p["to"] >= "2026-12-10" for p in window)
    run("avail", "clear", "joran-vdburg", "--from", "2026-12-01", "--to", "2026-12-31", ok=True)
    left = rows(run("avail", "list", "joran-vdburg", "--json"))
    assert left and all(p["to"] < "2026-12-01" or p["from"] > "2026-12-31" for p in left)
    run("avail", "clear", "joran-vdburg", ok=True)
    assert rows(run("avail", "list", "joran-vdburg", "--json")) == []


def test_avail_bad_input_changes_nothing(run, example_db):
    before = snapshot(example_db)
    for args, field in (
        (["--from", "2026-12-10", "--to", "2026-12-01", "--status", "available"], "to"),
        (["--from", "2026-12-01", "--to", "2026-12-10", "--status", "vrij"], "status"),
        (["--from", "2026-13-01", "--to", "2026-12-10", "--status", "booked"], "from"),
        (["--from", "today", "--to", "+3", "--status", "partly", "--hours", "200"], "hours"),
    ):
        result = run("avail", "set", "joran-vdburg", *args)
        assert result.exit_code == 1, (args, result.stderr)
        assert result.stderr.startswith(f"zpp: {field} "), result.stderr
    assert snapshot(example_db) == before


def test_collectives(run, example_db):
    listing = {c["handle"]: c for c in rows(run("collective", "list", "--json"))}
    assert len(listing) == 4 and all(c["members"] > 0 for c in listing.values())
    handle = run(
        "collective", "add", "Studio Vijfhoek", "--website", "vijfhoek.example", ok=True
    ).stdout.strip()
    assert handle == "studio-vijfhoek"
    assert run("collective", "add", "Studio Vijfhoek").exit_code == 4
    run("collective", "join", "studio-vijfhoek", "joran-vdburg", "--role", "founder", ok=True)
    shown = rows(run("collective", "show", "Studio Vijfhoek", "--json"))
    assert shown["website"] == "https://vijfhoek.example"
    assert shown["members"] == [
        {
            "handle": "joran-vdburg",
            "name": "Jöran van den Bürg",
            "role": "founder",
            "city": "Hilversum",
        }
    ]
    run("collective", "leave", "studio-vijfhoek", "joran-vdburg", ok=True)
    assert run("collective", "leave", "studio-vijfhoek", "joran-vdburg").exit_code == 3
    assert run("collective", "show", "nope").exit_code == 3
