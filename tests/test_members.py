import json
import sqlite3
import sys

import pytest

from tests.conftest import snapshot, zpp_subprocess
from zppcli import names


@pytest.mark.parametrize(
    "full, given, particle, family",
    [
        ("Jöran van den Bürg", "Jöran", "van den", "Bürg"),
        ("Sophie van 't Hek", "Sophie", "van 't", "Hek"),
        ("Evert op den Kamp", "Evert", "op den", "Kamp"),
        ("Jan Willem Bakker", "Jan Willem", "", "Bakker"),
        ("Yasmina El Amrani", "Yasmina", "", "El Amrani"),
        ("Łukasz Kowalczyk", "Łukasz", "", "Kowalczyk"),
        ("Cher", "Cher", "", ""),
    ],
)
def test_split_name(full, given, particle, family):
    name = names.split_name(full)
    assert (name.given, name.particle, name.family) == (given, particle, family)
    assert name.display == full


def test_add_prints_handle_and_normalises_contacts(run):
    result = run(
        "member",
        "add",
        "Jöran van den Bürg",
        "--email",
        "Joran@Beeldhaven.Example",
        "--phone",
        "06 12345678",
        "--phone",
        "home=035 625 1234",
        "--city",
        "Hilversum",
        ok=True,
    )
    assert result.stdout == "joran-vdburg\n"
    rec = json.loads(run("member", "show", "joran-vdburg", "--json", ok=True).stdout)
    assert rec["sort_key"] == "Bürg, Jöran van den"
    assert rec["emails"] == [
        {"type": "work", "value": "joran@beeldhaven.example", "private": False}
    ]
    assert [(p["type"], p["value"]) for p in rec["phones"]] == [
        ("mobile", "+31612345678"),
        ("home", "+31356251234"),
    ]


def test_handles_are_unique(run):
    assert run("member", "add", "Anaïs de Wit", ok=True).stdout.strip() == "anais-dwit"
    assert run("member", "add", "Anaïs de Wit", ok=True).stdout.strip() == "anais-dwit-2"
    assert run("member", "add", "Bas Dekker", "--handle", "anais-dwit").exit_code == 4


@pytest.mark.parametrize(
    "args, field",
    [
        (["--email", "not-an-address"], "email"),
        (["--email", "a@b"], "email"),
        (["--phone", "12"], "phone"),
        (["--phone", "06 1234"], "phone"),
        (["--skill", "camera:guru"], "skill"),
        (["--rate", "veel"], "day rate"),
        (["--visibility", "secret"], "visibility"),
        (["--website", "not a url"], "website"),
        (["--lang", "nederlands"], "language"),
    ],
)
def test_bad_input_names_field_and_value_and_changes_nothing(run, example_db, args, field):
    before = snapshot(example_db)
    result = run("member", "add", "Test Persoon", *args)
    assert result.exit_code == 1, result.stderr
    assert result.stderr.startswith(f"zpp: {field} ")
    assert args[1] in result.stderr or args[1].split(":")[-1] in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert snapshot(example_db) == before


def test_unknown_skill_suggests_and_changes_nothing(run, example_db):
    before = snapshot(example_db)
    result = run("member", "add", "Test Persoon", "--skill", "camra:expert")
    assert result.exit_code == 3
    assert "Camera" in result.stderr
    assert snapshot(example_db) == before


def test_duplicate_email_is_a_conflict(run, example_db):
    result = run("member", "add", "Dubbel Ganger", "--email", "JORAN@beeldhaven.example")
    assert result.exit_code == 4
    assert "joran-vdburg" in result.stderr


def test_members_sort_dutch_style_on_family_name(run):
    for name in (
        "Kees van den Berg",
        "Anna Aalders",
        "Jöran van den Bürg",
        "Bart Burgers",
        "Pieter de Vries",
        "Zoë Abma",
    ):
        run("member", "add", name, ok=True)
    out = run("member", "list", "--format", "tsv", ok=True).stdout.splitlines()
    assert [line.split("\t")[1] for line in out[1:]] == [
        "Anna Aalders",
        "Zoë Abma",
        "Kees van den Berg",
        "Jöran van den Bürg",
        "Bart Burgers",
        "Pieter de Vries",
    ]


def test_piped_output_is_tsv(example_db):
    result = zpp_subprocess("member", "list")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "handle\tname\tcity\tskills\temail\tphone"
    assert len(lines) == 52
    assert all(line.count("\t") == 5 for line in lines)


def test_formats_json_and_csv(run, example_db):
    rows = json.loads(run("member", "list", "--json", ok=True).stdout)
    assert len(rows) == 51 and {"emails", "skills", "availability"} <= set(rows[0])
    csv_out = run("member", "list", "--format", "csv", ok=True).stdout
    assert csv_out.splitlines()[0] == "handle,name,city,skills,email,phone"


def test_edit_by_flags(run, example_db):
    run(
        "member",
        "edit",
        "joran-vdburg",
        "--city",
        "Bussum",
        "--phone",
        "035 621 9999",
        "--rm-email",
        "joran.burg@gmail.example",
        "--skill",
        "montage:expert",
        "--tag",
        "drama",
        "--untag",
        "npo",
        ok=True,
    )
    rec = json.loads(run("show", "joran-vdburg", "--json").stdout)
    assert rec["city"] == "Bussum"
    assert "+31356219999" in [p["value"] for p in rec["phones"]]
    assert [e["value"] for e in rec["emails"]] == ["joran@beeldhaven.example"]
    assert {
        "skill": "Montage",
        "level": "expert",
        "wants_to_learn": False,
        "can_mentor": False,
    } in rec["skills"]
    assert "drama" in rec["tags"] and "npo" not in rec["tags"]


def test_edit_in_editor_applies_a_valid_form(run, example_db, tmp_path, monkeypatch):
    script = tmp_path / "ed.py"
    script.write_text(
        "import sys, pathlib\n"
        "p = pathlib.Path(sys.argv[1]); t = p.read_text()\n"
        "p.write_text(t.replace('city = \"Hilversum\"', 'city = \"Laren\"'))\n"
    )
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")
    run("member", "edit", "joran-vdburg", ok=True)
    assert json.loads(run("show", "joran-vdburg", "--json").stdout)["city"] == "Laren"


def test_edit_in_editor_keeps_an_invalid_form_and_changes_nothing(
    run, example_db, tmp_path, monkeypatch
):
    script = tmp_path / "ed.py"
    script.write_text(
        "import sys, pathlib\n"
        "p = pathlib.Path(sys.argv[1]); t = p.read_text()\n"
        'p.write_text(t.replace(\'city = "Hilversum"\', \'city = "Laren"\\nemails = ["kapot"]\', 1)'
        ".replace('emails = [', 'old_emails = [', 1))\n"
    )
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")
    before = snapshot(example_db)
    result = run("member", "edit", "joran-vdburg")
    assert result.exit_code == 1
    assert "kept in" in result.stderr
    kept = result.stderr.rsplit("kept in ", 1)[1].strip()
    from pathlib import Path

    assert 'city = "Laren"' in Path(kept).read_text()
    assert snapshot(example_db) == before


def test_rm_needs_confirmation_and_leaves_a_tombstone(run, example_db, conn):
    assert run("member", "rm", "joran-vdburg").exit_code == 2
    run("member", "rm", "joran-vdburg", "--yes", ok=True)
    assert run("show", "joran-vdburg").exit_code == 3
    row = conn().execute("SELECT deleted FROM members WHERE handle = 'joran-vdburg'").fetchone()
    assert row["deleted"] == 1
    live = (
        conn()
        .execute(
            "SELECT count(*) FROM contacts c JOIN members m ON m.id = c.member_id"
            " WHERE m.handle = 'joran-vdburg' AND c.deleted = 0"
        )
        .fetchone()[0]
    )
    assert live == 0


def test_resolve_by_uuid_prefix_and_by_one_hit_search(run, example_db):
    rec = json.loads(run("show", "joran-vdburg", "--json").stdout)
    assert json.loads(run("show", rec["id"][:8], "--json").stdout)["handle"] == "joran-vdburg"
    assert json.loads(run("show", "Łukasz", "--json").stdout)["name"] == "Łukasz Kowalczyk"
    many = run("show", "van")
    assert many.exit_code == 4 and "use a handle" in many.stderr


def test_every_write_is_clocked_and_logged(run, example_db, conn):
    run("member", "edit", "joran-vdburg", "--city", "Baarn", ok=True)
    c = conn()
    row = c.execute(
        "SELECT id, clocks, created_at, updated_at FROM members WHERE handle = 'joran-vdburg'"
    ).fetchone()
    clocks = json.loads(row["clocks"])
    assert clocks["city"] > clocks["given_name"]
    assert clocks["city"].endswith("-testdev")
    assert row["updated_at"] > row["created_at"]
    change = c.execute(
        "SELECT op, data FROM changes WHERE row_id = ? ORDER BY hlc DESC", (row["id"],)
    ).fetchone()
    assert change["op"] == "update" and json.loads(change["data"]) == {"city": "Baarn"}


def test_no_traceback_without_zpp_debug(example_db):
    result = zpp_subprocess(
        "avail",
        "set",
        "joran-vdburg",
        "--from",
        "morgenochtend",
        "--to",
        "+3",
        "--status",
        "available",
    )
    assert result.returncode == 1
    assert result.stderr.startswith("zpp: from 'morgenochtend': not a date")
    assert "Traceback" not in result.stderr


def test_interactive_add_refuses_without_terminal(run):
    result = run("member", "add")
    assert result.exit_code == 2
    assert "name" in result.stderr


def test_sqlite_untouched_by_failed_transaction(run, example_db):
    before = snapshot(example_db)
    # the second e-mail conflicts after the first was written in the same transaction
    result = run(
        "member",
        "add",
        "Nieuw Lid",
        "--email",
        "nieuw@voorbeeld.nl",
        "--email",
        "joran@beeldhaven.example",
    )
    assert result.exit_code == 4
    assert snapshot(example_db) == before
    assert sqlite3.connect(example_db).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
