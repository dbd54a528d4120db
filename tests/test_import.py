"""zpp import vcard|csv|json: real-world vCards, all-or-nothing, dry runs, round trips."""

from __future__ import annotations

import csv
import io
import json

import vobject
from conftest import snapshot

V21 = (
    "BEGIN:VCARD\r\n"
    "VERSION:2.1\r\n"
    "N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:van der M=C3=B6len;Sa=C3=AFd;;;\r\n"
    "FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Sa=C3=AFd van der M=C3=B6len\r\n"
    "TEL;CELL;PREF:06-11223344\r\n"
    "TEL;WORK:+31 35 123 4567\r\n"
    "EMAIL;INTERNET;HOME:said@molen.example\r\n"
    "NOTE;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Geluidsman bij de publieke omroep, twintig j=\r\n"
    "aar. =C3=89=C3=A9n regel.\r\n"
    "ADR;WORK:;;Mediapark 1;Hilversum;Noord-Holland;1217 WE;NL\r\n"
    "END:VCARD\r\n"
)
APPLE30 = (
    "BEGIN:VCARD\r\n"
    "VERSION:3.0\r\n"
    "PRODID:-//Apple Inc.//macOS 14.0//EN\r\n"
    "N:Kowalska;Zofia;;;\r\n"
    "FN:Zofia Kowalska\r\n"
    "item1.EMAIL;type=INTERNET;type=pref:zofia@studio.example\r\n"
    "item1.X-ABLabel:_$!<Work>!$_\r\n"
    "item2.TEL;type=pref:+48 601 234 567\r\n"
    "item2.X-ABLabel:mobiel\r\n"
    "ORG:De Beeldhaven;\r\n"
    "CATEGORIES:Montage,Lesgeven op zaterdag\r\n"
    "NOTE:Editor\\, colorist\\; werkt vanuit Utrecht.\\nTweede regel van een lange \r\n"
    " notitie die gevouwen is.\r\n"
    "URL;type=pref:zofia.example\r\n"
    "END:VCARD\r\n"
)
V40 = (
    "BEGIN:VCARD\r\n"
    "VERSION:4.0\r\n"
    "UID:urn:uuid:0b6c2a8e-54a4-4b55-9a4b-4f1e8e5b9d21\r\n"
    "FN:Ingrid Ødegård\r\n"
    'N;SORT-AS="Ødegård,Ingrid":Ødegård;Ingrid;;;\r\n'
    "EMAIL;TYPE=work;PREF=1:ingrid@fjord.example\r\n"
    "TEL;VALUE=uri;TYPE=cell:tel:+4791234567\r\n"
    "LANG;PREF=1:no\r\n"
    "LANG;PREF=2:en\r\n"
    "END:VCARD\r\n"
)
BROKEN = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Broken Card\r\nEMAIL:not-an-address\r\nEND:VCARD\r\n"


def show(run, handle) -> dict:
    return json.loads(run("member", "show", handle, "--json", ok=True).stdout)


def handle_of(run, email) -> str:
    out = run("search", email.split("@")[0], "--format", "json", ok=True).stdout
    return next(
        m["handle"] for m in json.loads(out) if any(e["value"] == email for e in m["emails"])
    )


def test_vcards_as_real_address_books_write_them(run, example_db, tmp_path):
    f = tmp_path / "phone.vcf"
    f.write_bytes((V21 + APPLE30 + V40).encode("utf-8"))
    r = run("import", "vcard", f, ok=True)
    assert "3 added, 0 updated" in r.stderr
    said = show(run, handle_of(run, "said@molen.example"))
    assert (said["given_name"], said["particle"], said["family_name"]) == (
        "Saïd",
        "van der",
        "Mölen",
    )
    assert [p["value"] for p in said["phones"]] == ["+31611223344", "+31351234567"]
    assert [p["type"] for p in said["phones"]] == ["mobile", "work"]
    assert said["bio"] == "Geluidsman bij de publieke omroep, twintig jaar. Één regel."
    assert said["city"] == "Hilversum"
    zofia = show(run, handle_of(run, "zofia@studio.example"))
    assert zofia["emails"][0]["value"] == "zofia@studio.example"  # grouped item1.EMAIL
    assert zofia["phones"][0]["value"] == "+48601234567"
    assert [c["name"] for c in zofia["collectives"]] == ["De Beeldhaven"]
    assert [s["skill"] for s in zofia["skills"]] == ["Montage"]  # known skill
    assert zofia["tags"] == ["lesgeven op zaterdag"]  # unknown category: a tag
    assert (
        zofia["bio"]
        == "Editor, colorist; werkt vanuit Utrecht.\nTweede regel van een lange notitie die gevouwen is."
    )
    assert zofia["website"] == "https://zofia.example"
    ingrid = show(run, "ingrid-odegard")
    assert ingrid["id"] == "0b6c2a8e-54a4-4b55-9a4b-4f1e8e5b9d21"  # the UID becomes the id
    assert ingrid["languages"] == ["no", "en"]


def test_match_by_uid_then_email_and_fill_in(run, example_db, tmp_path):
    joran = show(run, "joran-vdburg")
    by_email = tmp_path / "a.vcf"
    by_email.write_text(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:J. Bürg\r\nN:Bürg;J.;;;\r\n"
        "EMAIL:JORAN@beeldhaven.example\r\nEMAIL;TYPE=HOME:nieuw@joran.example\r\n"
        "CATEGORIES:Camera,Drone\r\nEND:VCARD\r\n"
    )
    r = run("import", "vcard", by_email, ok=True)
    assert "0 added, 1 updated" in r.stderr
    after = show(run, "joran-vdburg")
    assert "nieuw@joran.example" in [e["value"] for e in after["emails"]]
    assert len(after["emails"]) == len(joran["emails"]) + 1  # nothing removed
    levels = {s["skill"]: s["level"] for s in after["skills"]}
    assert levels["Camera"] == "expert" and levels["Drone"] == "learning"  # no downgrade
    by_uid = tmp_path / "b.vcf"
    by_uid.write_text(
        f"BEGIN:VCARD\r\nVERSION:4.0\r\nUID:urn:uuid:{joran['id']}\r\nFN:Jöran van den Bürg\r\n"
        "N:van den Bürg;Jöran;;;\r\nADR:;;;Bussum;;;\r\nEND:VCARD\r\n"
    )
    assert "1 updated" in run("import", "vcard", by_uid, ok=True).stderr
    assert show(run, "joran-vdburg")["city"] == "Bussum"
    assert "1 unchanged" in run("import", "vcard", by_uid, ok=True).stderr


def test_dry_run_reports_and_changes_nothing(run, example_db, tmp_path):
    f = tmp_path / "c.vcf"
    f.write_text(V21 + V40)
    before = snapshot(example_db)
    r = run("import", "vcard", f, "--dry-run", "--format", "tsv", ok=True)
    assert "would import" in r.stderr and "2 added" in r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split("\t")[:3] == ["action", "name", "handle"]
    assert [line.split("\t")[0] for line in lines[1:]] == ["added", "added"]
    assert snapshot(example_db) == before


def test_a_malformed_card_aborts_everything(run, example_db, tmp_path):
    f = tmp_path / "mixed.vcf"
    f.write_text(V21 + BROKEN + V40, newline="")
    before = snapshot(example_db)
    r = run("import", "vcard", f)
    assert r.exit_code == 1
    line = (V21).count("\r\n") + 1
    assert f"{f}:{line}: email 'not-an-address'" in r.stderr
    assert snapshot(example_db) == before
    garbage = tmp_path / "garbage.vcf"
    garbage.write_text("BEGIN:VCARD\r\nVERSION:3.0\r\nthis is no property\r\nEND:VCARD\r\n")
    r = run("import", "vcard", garbage)
    assert r.exit_code == 1 and f"{garbage}:1: not a valid vCard" in r.stderr
    assert snapshot(example_db) == before


def test_skip_invalid_imports_the_rest_and_lists_what_was_skipped(run, example_db, tmp_path):
    f = tmp_path / "mixed.vcf"
    f.write_text(V21 + BROKEN + V40, newline="")
    r = run("import", "vcard", f, "--skip-invalid", "--format", "tsv", ok=True)
    assert "2 added, 0 updated, 0 unchanged, 1 skipped" in r.stderr
    skipped = [line.split("\t") for line in r.stdout.splitlines()[1:]]
    assert len(skipped) == 1 and skipped[0][0] == "skipped" and "not-an-address" in skipped[0][4]
    assert show(run, "ingrid-odegard")["emails"][0]["value"] == "ingrid@fjord.example"


def test_vdir_import(run, example_db, tmp_path, monkeypatch):
    vdir = tmp_path / "vdir"
    run("export", "vcard", "--vdir", vdir, "--include-private", ok=True)
    monkeypatch.setenv("ZPP_DB", str(tmp_path / "new.db"))
    r = run("import", "vcard", vdir, ok=True)
    assert "51 added" in r.stderr


def _card_fields(text: str) -> dict:
    out = {}
    for card in vobject.readComponents(text):
        fields = []
        for name, props in sorted(card.contents.items()):
            if name == "rev":
                continue
            for p in props:
                value = p.value
                if name == "categories":
                    value = sorted(v.casefold() for v in value)
                fields.append((name, str(value), sorted(p.params.items()), p.group))
        out[card.uid.value] = sorted(fields)
    return out


def test_vcard_round_trip_on_the_fields_vcard_carries(run, example_db, tmp_path, monkeypatch):
    for version in ("3.0", "4.0"):
        first = run("export", "vcard", "--include-private", "--vcard-version", version, ok=True)
        f = tmp_path / f"all-{version}.vcf"
        f.write_bytes(first.stdout_bytes)
        monkeypatch.setenv("ZPP_DB", str(tmp_path / f"fresh-{version}.db"))
        run("import", "vcard", f, ok=True)
        second = run("export", "vcard", "--include-private", "--vcard-version", version, ok=True)
        a, b = _card_fields(first.stdout), _card_fields(second.stdout)
        assert len(a) == 51 and a == b
        monkeypatch.setenv("ZPP_DB", str(example_db))


def test_csv_round_trip_and_formula_guard_undone(run, example_db, tmp_path, monkeypatch):
    run("member", "edit", "joran-vdburg", "--bio", "=SUM(A1)", ok=True)
    first = run("export", "csv", "--include-private", ok=True).stdout
    assert ",'=SUM(A1)," in first
    f = tmp_path / "all.csv"
    f.write_text(first)
    monkeypatch.setenv("ZPP_DB", str(tmp_path / "fresh.db"))
    run("import", "json", _catalogue_only(run, tmp_path, example_db, monkeypatch), ok=True)
    r = run("import", "csv", f, ok=True)
    assert "51 added" in r.stderr
    second = run("export", "csv", "--include-private", ok=True).stdout

    def rows(text):
        return [
            {k: v for k, v in row.items() if k != "updated_at"}
            for row in csv.DictReader(io.StringIO(text))
        ]

    assert rows(first) == rows(second)
    assert show(run, "joran-vdburg")["bio"] == "=SUM(A1)"


def _catalogue_only(run, tmp_path, example_db, monkeypatch):
    """The example's skills and collectives, no members (CSV carries no catalogue)."""
    fresh = str(tmp_path / "fresh.db")
    monkeypatch.setenv("ZPP_DB", str(example_db))
    data = json.loads(run("export", "json", "--include-private", ok=True).stdout)
    data["members"] = []
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps(data))
    monkeypatch.setenv("ZPP_DB", fresh)
    return path


def test_csv_errors_name_file_and_line(run, example_db, tmp_path):
    f = tmp_path / "people.csv"
    f.write_text('name,emails,bio\nAnna de Wit,anna@wit.example,"twee\nregels"\nBob Bad,bob@@x,\n')
    before = snapshot(example_db)
    r = run("import", "csv", f)
    assert r.exit_code == 1 and f"{f}:4: email 'bob@@x'" in r.stderr
    assert snapshot(example_db) == before
    f.write_text("foo,bar\n1,2\n")
    r = run("import", "csv", f)
    assert r.exit_code == 1 and "no header with a name" in r.stderr


def test_json_errors_name_file_and_line(run, example_db, tmp_path):
    data = json.loads(run("export", "json", "--include-private", ok=True).stdout)
    i = next(i for i, m in enumerate(data["members"]) if i > 2 and m["emails"])
    data["members"][i]["emails"][0]["value"] = "broken@@example"
    text = json.dumps(data, indent=2, ensure_ascii=False)
    f = tmp_path / "d.json"
    f.write_text(text)
    id_at = text.index(json.dumps(data["members"][i]["id"]))
    expected_line = text[: text.rindex("{", 0, id_at)].count("\n") + 1  # where the member starts
    before = snapshot(example_db)
    r = run("import", "json", f)
    assert r.exit_code == 1 and f"{f}:{expected_line}: email 'broken@@example'" in r.stderr
    assert snapshot(example_db) == before
    # members before the catalogue: the file is read whole; the line is the member's id
    reordered = {"members": data["members"], "skills": data["skills"], "collectives": []}
    text = json.dumps(reordered, indent=2, ensure_ascii=False)
    f.write_text(text)
    id_line = text[: text.index(json.dumps(data["members"][i]["id"]))].count("\n") + 1
    r = run("import", "json", f)
    assert r.exit_code == 1 and f"{f}:{id_line}: email 'broken@@example'" in r.stderr
    assert snapshot(example_db) == before
    f.write_text('{"skills": [], "collectives": [], "members": [\n\n  {"id": 2,,}\n]}')
    r = run("import", "json", f)
    assert r.exit_code == 1 and f"{f}:3: not valid JSON" in r.stderr
    f.write_text('{"members": [\n  {"id": 1,,}\n]}')
    r = run("import", "json", f)
    assert r.exit_code == 1 and f"{f}:2: not valid JSON" in r.stderr


def test_a_day_rate_beyond_sqlite_integers_is_bad_input_not_a_crash(run, example_db, tmp_path):
    """Found by test_hostile_json_members_never_crash: 2**63 passed the check and broke
    the batch's INSERT at the end of the import (OverflowError, an internal error)."""
    data = json.loads(run("export", "json", "--include-private", ok=True).stdout)
    data["members"][3]["day_rate"] = 2**63
    f = tmp_path / "d.json"
    f.write_text(json.dumps(data, indent=2, ensure_ascii=False))
    before = snapshot(example_db)
    r = run("import", "json", f)
    assert r.exit_code == 1 and "day rate 9223372036854775808: too large" in r.stderr
    assert snapshot(example_db) == before
    data["members"][3]["day_rate"] = 2**63 - 1
    f.write_text(json.dumps(data, indent=2, ensure_ascii=False))
    run("import", "json", f, ok=True)


def test_removed_or_forgotten_members_are_never_brought_back(run, example_db, tmp_path):
    backup = tmp_path / "backup.json"
    run("export", "json", "--include-private", "-o", backup, ok=True)
    joran = show(run, "joran-vdburg")
    run("member", "rm", "joran-vdburg", "--yes", ok=True)
    r = run("import", "json", backup, ok=True)
    assert "0 added, 0 updated, 50 unchanged, 1 skipped" in r.stderr
    assert "was removed from this directory" in r.stderr or "skipped" in r.stderr
    assert run("member", "show", "joran-vdburg").exit_code == 3
    card = tmp_path / "j.vcf"
    card.write_text(
        f"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:urn:uuid:{joran['id']}\r\nFN:Jöran van den Bürg\r\n"
        "EMAIL:joran@beeldhaven.example\r\nEND:VCARD\r\n"
    )
    r = run("import", "vcard", card, "--dry-run", "--format", "tsv", ok=True)
    assert "1 skipped" in r.stderr and "not brought back" in r.stdout


def test_hostile_vcards_never_crash_and_never_half_import(run, db_path, tmp_path):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    run("db", "init", ok=True)
    lines = st.one_of(
        st.sampled_from(
            [
                "FN:Ann de Wit",
                "N:de Wit;Ann;;;",
                "EMAIL:ann@wit.example",
                "TEL:0612345678",
                "ORG:;;",
                "CATEGORIES:,,,",
                "ADR:;;;;;;",
                "UID:urn:uuid:zzz",
                "VERSION:2.1",
                "NOTE;ENCODING=QUOTED-PRINTABLE:=C3=",
                "N;CHARSET=x-unknown:a;b",
                "BEGIN:VCARD",
                "END:VCARD",
                "item1.EMAIL;type=pref:x@y.example",
                "TEL;VALUE=uri:tel:",
                " folded",
                "URL:javascript:alert(1)",
                "EMAIL:",
                "FN:",
            ]
        ),
        st.text(st.characters(exclude_categories=("Cs",)), max_size=30),
    )
    cards = st.lists(st.lists(lines, max_size=8), min_size=1, max_size=3).map(
        lambda cs: "".join(
            "BEGIN:VCARD\r\nVERSION:3.0\r\n" + "".join(x + "\r\n" for x in c) + "END:VCARD\r\n"
            for c in cs
        )
    )

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(text=cards)
    def check(text):
        f = tmp_path / "hostile.vcf"
        f.write_text(text, encoding="utf-8", newline="")
        before = snapshot(db_path)
        r = run("import", "vcard", f)
        assert "internal error" not in r.stderr, r.stderr
        assert r.exit_code in (0, 1), r.stderr
        if r.exit_code == 1:
            assert str(f) in r.stderr or "zpp:" in r.stderr
            assert snapshot(db_path) == before  # all or nothing
        r = run("import", "vcard", f, "--skip-invalid")
        assert "internal error" not in r.stderr, r.stderr

    check()


def test_hostile_json_members_never_crash(run, example_db, tmp_path):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    data = json.loads(
        run("export", "json", "--include-private", "--skill", "camera", ok=True).stdout
    )
    template = data["members"][0]
    junk = st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=10),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
        ),
        max_leaves=6,
    )
    paths = [
        ("id",),
        ("given_name",),
        ("emails",),
        ("emails", 0),
        ("emails", 0, "type"),
        ("phones", 0, "value"),
        ("skills",),
        ("skills", 0, "level"),
        ("collectives", 0),
        ("availability",),
        ("day_rate",),
        ("tags",),
        ("visibility",),
        ("links",),
    ]

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(changes=st.lists(st.tuples(st.sampled_from(paths), junk), min_size=1, max_size=3))
    def check(changes):
        rec = json.loads(json.dumps(template))
        rec["id"] = "0b6c2a8e-54a4-4b55-9a4b-4f1e8e5b9d21"
        for path, value in changes:
            target = rec
            try:
                for key in path[:-1]:
                    target = target[key]
                target[path[-1]] = value
            except (KeyError, IndexError, TypeError):
                continue
        f = tmp_path / "hostile.json"
        f.write_text(json.dumps({**data, "members": [rec]}, ensure_ascii=False))
        r = run("import", "json", f, "--dry-run")
        assert "internal error" not in r.stderr, r.stderr
        assert r.exit_code in (0, 1, 3, 4), r.stderr

    check()


def test_hostile_csv_never_crashes(run, example_db, tmp_path):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    cell = st.one_of(
        st.sampled_from(
            [
                "Ann de Wit",
                "ann@wit.example",
                "work=a@b.example; home=x",
                "=1+1",
                "'=SUM(A1)",
                "camera:expert:mentor",
                "nosuchskill",
                "beeldhaven:lead",
                '"',
                "\x00",
                "x" * 140000,
                "06 1234 5678",
                "public",
                "secret",
            ]
        ),
        st.text(max_size=12),
    )
    header = "name,emails,phones,skills,collectives,visibility,day_rate,links,handle\n"

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(rows=st.lists(st.lists(cell, min_size=1, max_size=9), max_size=3))
    def check(rows):
        f = tmp_path / "hostile.csv"
        buf = io.StringIO()
        csv.writer(buf).writerows(rows)
        f.write_text(header + buf.getvalue(), encoding="utf-8")
        r = run("import", "csv", f, "--dry-run")
        assert "internal error" not in r.stderr, r.stderr
        assert r.exit_code in (0, 1, 3, 4), r.stderr

    check()


def test_values_with_unicode_line_separators_round_trip(run, example_db, tmp_path, monkeypatch):
    bio = "Eerste\u2028BEGIN:VCARD\u0085END:VCARD\x0cnog; meer, tekst\\"
    run("member", "edit", "joran-vdburg", "--bio", bio, ok=True)
    f = tmp_path / "j.vcf"
    f.write_bytes(
        run("export", "vcard", "--include-private", "--skill", "camera", ok=True).stdout_bytes
    )
    monkeypatch.setenv("ZPP_DB", str(tmp_path / "fresh.db"))
    r = run("import", "vcard", f, ok=True)
    assert "0 skipped" in r.stderr
    assert show(run, "joran-vdburg")["bio"] == bio.replace("\x0c", "")  # controls are dropped


def test_member_records_from_search_json_import_into_an_empty_db(
    run, example_db, tmp_path, monkeypatch
):
    f = tmp_path / "camera.json"
    f.write_text(run("search", "--skill", "camera", "--format", "json", ok=True).stdout)
    expected = {m["handle"] for m in json.loads(f.read_text())}
    monkeypatch.setenv("ZPP_DB", str(tmp_path / "fresh.db"))
    r = run("import", "json", f, ok=True)
    assert f"{len(expected)} added" in r.stderr
    got = json.loads(run("member", "list", "--format", "json", ok=True).stdout)
    assert {m["handle"] for m in got} == expected
    joran = show(run, "joran-vdburg")
    assert {(c["name"], c["role"]) for c in joran["collectives"]} == {
        ("De Beeldhaven", "founder"),
        ("Old School Collectief", "member"),
    }
