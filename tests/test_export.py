"""zpp export vcard|csv|json: oracles are vobject, khard and the csv/json modules."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import vobject

from zppcli import db as dbmod
from zppcli import exporter
from zppcli.cli.options import filters_from
from zppcli.store import Tx

KHARD = Path(sys.executable).parent / "khard"


def cards(text: str) -> list:
    return list(vobject.readComponents(text))


def by_fn(parsed) -> dict:
    return {c.fn.value: c for c in parsed}


def write(db_path, fn):
    conn = dbmod.connect(db_path)
    try:
        with Tx(conn) as tx:
            fn(tx)
    finally:
        conn.close()


def member_id(db_path, handle) -> str:
    conn = dbmod.connect(db_path)
    try:
        return conn.execute("SELECT id FROM members WHERE handle = ?", (handle,)).fetchone()[0]
    finally:
        conn.close()


def test_only_public_members_leave_by_default_and_stderr_says_so(run, example_db):
    r = run("export", "vcard", ok=True)
    parsed = cards(r.stdout)
    assert len(parsed) == 7
    assert "left out 44 members" in r.stderr
    r = run("export", "vcard", "--include-private", ok=True)
    assert len(cards(r.stdout)) == 51
    assert "left out" not in r.stderr


@pytest.mark.parametrize("version", ["3.0", "4.0"])
def test_every_card_parses_with_expected_values(run, example_db, version):
    r = run("export", "vcard", "--include-private", "--vcard-version", version, ok=True)
    text = r.stdout_bytes.decode("utf-8")
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")
    parsed = cards(text)
    assert {c.version.value for c in parsed} == {version}
    assert len({c.uid.value for c in parsed}) == 51
    joran = by_fn(parsed)["Jöran van den Bürg"]
    assert joran.n.value.family == "van den Bürg" and joran.n.value.given == "Jöran"
    if version == "3.0":
        assert joran.contents["sort-string"][0].value == "Bürg"
    else:
        assert joran.n.params["SORT-AS"] == ["Bürg,Jöran"]
    assert [e.value for e in joran.contents["email"]] == [
        "joran@beeldhaven.example",
        "joran.burg@gmail.example",
    ]
    assert sorted(o.value[0] for o in joran.contents["org"]) == [
        "De Beeldhaven",
        "Old School Collectief",
    ]
    assert {"Camera", "Montage", "Drone"} <= set(joran.categories.value)
    assert "Color grading" not in joran.categories.value  # a wish, not a skill
    assert joran.adr.value.city == "Hilversum"
    assert joran.uid.value == f"urn:uuid:{member_id(example_db, 'joran-vdburg')}"


def test_uid_is_stable_across_exports(run, example_db):
    a = run("export", "vcard", "--include-private", ok=True).stdout
    b = run("export", "vcard", "--include-private", ok=True).stdout
    assert a == b


def test_private_contacts_never_leave(run, example_db):
    mid = member_id(example_db, "joran-vdburg")
    write(
        example_db,
        lambda tx: [
            tx.update("contacts", r["id"], {"private": 1})
            for r in tx.conn.execute(
                "SELECT id FROM contacts WHERE member_id = ? AND value = ?",
                (mid, "joran.burg@gmail.example"),
            ).fetchall()
        ],
    )
    for kind in ("vcard", "csv"):
        out = run("export", kind, "--include-private", "--skill", "camera", ok=True).stdout
        assert "joran@beeldhaven.example" in out
        assert "joran.burg@gmail.example" not in out
    out = run("export", "json", ok=True).stdout  # the public-only JSON leaves them out too
    assert "joran.burg@gmail.example" not in out
    full = run("export", "json", "--include-private", ok=True).stdout
    assert "joran.burg@gmail.example" in full  # the complete backup keeps them, flagged
    rec = next(m for m in json.loads(full)["members"] if m["id"] == mid)
    assert {"type": "home", "value": "joran.burg@gmail.example", "private": True} in rec["emails"]


def test_filters_are_the_search_filters(run, example_db):
    r = run(
        "export", "vcard", "--include-private", "--skill", "camera", "--city", "Hilversum", ok=True
    )
    names = set(by_fn(cards(r.stdout)))
    assert "Jöran van den Bürg" in names
    search = run("search", "--skill", "camera", "--city", "Hilversum", "--format", "json", ok=True)
    assert names == {m["name"] for m in json.loads(search.stdout)}
    bad = run("export", "vcard", "--skill", "nonsuchskill")
    assert bad.exit_code == 3 and "nonsuchskill" in bad.stderr


def test_output_file_is_written_atomically(run, example_db, tmp_path, monkeypatch):
    target = tmp_path / "out.vcf"
    target.write_text("OLD CONTENT")
    real = exporter.iter_vcards

    def broken(*args):
        for i, text in enumerate(real(*args)):
            if i == 20:
                raise OSError("disk full")
            yield text

    monkeypatch.setattr(exporter, "iter_vcards", broken)
    r = run("export", "vcard", "--include-private", "-o", target)
    assert r.exit_code != 0
    assert target.read_text() == "OLD CONTENT"  # the interrupted export left the old file
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".out")) == []
    monkeypatch.setattr(exporter, "iter_vcards", real)
    run("export", "vcard", "--include-private", "-o", target, ok=True)
    assert len(cards(target.read_text())) == 51


def khard(config: Path, *args: str) -> str:
    r = subprocess.run(
        [str(KHARD), "-c", str(config), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "LANG": "C.UTF-8"},
    )
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_vdir_loads_in_khard_and_finds_names_with_diacritics(run, example_db, tmp_path):
    vdir = tmp_path / "contacts"
    run("export", "vcard", "--vdir", vdir, "--include-private", ok=True)
    files = sorted(p.name for p in vdir.glob("*.vcf"))
    assert len(files) == 51
    jid = member_id(example_db, "joran-vdburg")
    assert f"{jid}.vcf" in files
    config = tmp_path / "khard.conf"
    config.write_text(f"[addressbooks]\n[[zpp]]\npath = {vdir}\n")
    assert "Jöran van den Bürg" in khard(config, "list", "Bürg")
    assert "joran@beeldhaven.example" in khard(config, "email", "Jöran")
    assert "lukasz@beeldhaven.example" in khard(config, "email", "Łukasz")
    assert "Łukasz Kowalczyk" in khard(config, "list", "Kowalczyk")
    assert "Jöran" not in khard(config, "list", "Kowalczyk")


def test_vdir_reexport_updates_changed_removes_deleted_touches_nothing_else(
    run, example_db, tmp_path
):
    vdir = tmp_path / "contacts"
    run("export", "vcard", "--vdir", vdir, "--include-private", ok=True)
    mine = vdir / "not-from-zpp.vcf"
    mine.write_text("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Someone Else\r\nEND:VCARD\r\n")
    (vdir / "notes.txt").write_text("keep me")
    jid, lid = member_id(example_db, "joran-vdburg"), member_id(example_db, "lotte-dgraaf")
    lotte_before = (vdir / f"{lid}.vcf").stat()
    r = run("export", "vcard", "--vdir", vdir, "--include-private", ok=True)
    assert "0 added, 0 updated, 51 unchanged, 0 removed" in r.stderr
    run("member", "edit", "joran-vdburg", "--city", "Bussum", ok=True)
    run("member", "rm", "kees-camera", "--yes", ok=True)
    kid_file = [p for p in vdir.glob("*.vcf") if "kees-camera" in p.read_text()]
    assert len(kid_file) == 1
    r = run("export", "vcard", "--vdir", vdir, "--include-private", ok=True)
    assert "0 added, 1 updated, 49 unchanged, 1 removed" in r.stderr
    assert "Bussum" in (vdir / f"{jid}.vcf").read_text()
    assert not kid_file[0].exists()
    assert (vdir / f"{lid}.vcf").stat().st_ino == lotte_before.st_ino  # not rewritten
    assert mine.exists() and (vdir / "notes.txt").read_text() == "keep me"
    # a member who stops sharing disappears from the public vdir
    r = run("export", "vcard", "--vdir", vdir, ok=True)
    assert "43 removed" in r.stderr  # 44 non-public, one of them (Kees) removed already
    assert len(list(vdir.glob("*.vcf"))) == 7 + 1


def test_csv_guards_formulas_and_reads_back(run, example_db):
    run("member", "edit", "joran-vdburg", "--bio", '=HYPERLINK("http://evil")', ok=True)
    run("member", "edit", "joran-vdburg", "--given", "@Jöran", "--region", "-1+1", ok=True)
    out = run("export", "csv", "--include-private", ok=True).stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 51
    joran = next(r for r in rows if r["handle"] == "joran-vdburg")
    assert joran["bio"] == '\'=HYPERLINK("http://evil")'
    assert joran["given_name"] == "'@Jöran"
    assert joran["region"] == "'-1+1"
    assert joran["phones"].startswith("mobile=+31612345678")
    for row in rows:
        for cell in row.values():
            assert not cell or cell[0] not in "=+-@\t\r" or cell.lstrip("+-").isdigit()


def test_json_is_complete_and_round_trips_identically(run, example_db, tmp_path, monkeypatch):
    first = tmp_path / "a.json"
    run("export", "json", "--include-private", "-o", first, ok=True)
    data = json.loads(first.read_text())
    assert data["format"] == "zpp-directory" and data["version"] == 1
    assert (
        len(data["skills"]) == 32 and len(data["collectives"]) == 4 and len(data["members"]) == 51
    )
    joran = next(m for m in data["members"] if m["handle"] == "joran-vdburg")
    assert joran["availability"] and joran["day_rate"] == 650 and joran["visibility"] == "network"
    monkeypatch.setenv("ZPP_DB", str(tmp_path / "empty.db"))
    r = run("import", "json", first, ok=True)
    assert "51 added" in r.stderr
    second = tmp_path / "b.json"
    run("export", "json", "--include-private", "-o", second, ok=True)
    assert second.read_bytes() == first.read_bytes()


def test_usage_errors(run, example_db, tmp_path):
    r = run("export", "vcard", "--vcard-version", "2.1")
    assert r.exit_code == 2 and "3.0 or 4.0" in r.stderr
    r = run("export", "vcard", "-o", tmp_path / "x.vcf", "--vdir", tmp_path / "d")
    assert r.exit_code == 2
    r = run("export", "csv", "-o", tmp_path / "no" / "such" / "x.csv")
    assert r.exit_code == 1 and "does not exist" in r.stderr and "internal error" not in r.stderr
    (tmp_path / "file").write_text("")
    r = run("export", "vcard", "--vdir", tmp_path / "file")
    assert r.exit_code == 1 and "is not a folder" in r.stderr


def test_bulk_reader_gives_exactly_the_member_records(run, example_db):
    run("member", "rm", "kees-camera", "--yes", ok=True)  # tombstones stay out
    conn = dbmod.connect(example_db)
    try:
        from zppcli import members

        ids = exporter.select(conn, None, include_private=True).ids
        assert len(ids) == 50
        assert list(exporter.iter_records(conn, ids)) == members.records(conn)
    finally:
        conn.close()


def test_selection_knows_the_file_order_of_its_members(run, example_db):
    run("member", "add", "Aäron Achter", ok=True)  # the last row in the file, early by name
    run("member", "rm", "kees-camera", "--yes", ok=True)
    conn = dbmod.connect(example_db)
    try:
        for filters in (None, filters_from("montage")):
            sel = exporter.select(conn, filters, include_private=True)
            rowid = dict(conn.execute("SELECT id, rowid FROM members").fetchall())
            by_rowid = sorted(range(len(sel.ids)), key=lambda k: rowid[sel.ids[k]])
            assert sel.file_order == by_rowid == exporter._file_order(conn, sel.ids)
            assert sel.file_order != list(range(len(sel.ids)))  # not the name order
    finally:
        conn.close()


def test_progress_bar_only_on_a_terminal_for_long_jobs(monkeypatch):
    import io

    from zppcli import output as cli_export

    class Tty(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stderr", io.StringIO())
    with cli_export.progress_bar(5000, "x") as tick:
        assert tick is None  # piped: nothing
    monkeypatch.setattr(sys, "stderr", Tty())
    with cli_export.progress_bar(100, "x") as tick:
        assert tick is None  # short job: nothing
    with cli_export.progress_bar(5000, "x", to_terminal=True) as tick:
        assert tick is None  # the data itself goes to the terminal
    with cli_export.progress_bar(5000, "x") as tick:
        assert callable(tick)
        tick(2500)


def test_vdir_without_its_manifest_still_removes_only_zpp_cards(run, example_db, tmp_path):
    vdir = tmp_path / "contacts"
    run("export", "vcard", "--vdir", vdir, "--include-private", ok=True)
    (vdir / exporter.VDIR_MANIFEST).unlink()
    foreign = vdir / "0b6c2a8e-54a4-4b55-9a4b-4f1e8e5b9d21.vcf"  # a UUID name, not zpp's card
    foreign.write_text("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Other App\r\nEND:VCARD\r\n")
    kees = member_id(example_db, "kees-camera")
    run("member", "rm", "kees-camera", "--yes", ok=True)
    r = run("export", "vcard", "--vdir", vdir, "--include-private", ok=True)
    assert "1 removed" in r.stderr
    assert not (vdir / f"{kees}.vcf").exists() and foreign.exists()


def test_import_skips_an_org_that_cannot_be_a_collective(run, example_db, tmp_path):
    f = tmp_path / "o.vcf"
    f.write_text("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ann Org\r\nORG:\u2014\r\nEND:VCARD\r\n")
    r = run("import", "vcard", f, ok=True)
    assert "1 added" in r.stderr


def test_real_process_writes_crlf_and_exits_quietly_when_the_reader_stops(example_db):
    from conftest import zpp_subprocess

    full = zpp_subprocess("export", "vcard", "--include-private")
    assert full.returncode == 0
    proc = subprocess.run(
        [sys.executable, "-m", "zppcli", "export", "vcard", "--include-private"],
        capture_output=True,
    )
    assert proc.stdout.count(b"BEGIN:VCARD\r\n") == 51 and b"\n" not in proc.stdout.replace(
        b"\r\n", b""
    )
    # the JSON (~115 kB) is more than a pipe buffer holds, so the writer does see the close
    reader = subprocess.Popen(
        [sys.executable, "-m", "zppcli", "export", "json", "--include-private"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert reader.stdout.readline() == b"{\n"
    reader.stdout.close()  # like `| head -1`
    assert reader.wait() == 0
    assert b"zpp:" not in reader.stderr.read().replace(b"zpp: left out", b"")


def test_written_files_get_ordinary_permissions(run, example_db, tmp_path):
    old = os.umask(0o022)
    try:
        run("export", "vcard", "-o", tmp_path / "a.vcf", ok=True)
        assert (tmp_path / "a.vcf").stat().st_mode & 0o777 == 0o644
        os.chmod(tmp_path / "a.vcf", 0o600)  # a mode the user chose is kept
        run("export", "vcard", "-o", tmp_path / "a.vcf", ok=True)
        assert (tmp_path / "a.vcf").stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)


def test_an_interrupted_vdir_export_changes_no_card(run, example_db, tmp_path, monkeypatch):
    vdir = tmp_path / "contacts"
    run("export", "vcard", "--vdir", vdir, "--include-private", ok=True)
    before = {p.name: p.read_bytes() for p in vdir.iterdir()}
    real = exporter.vcard.card
    calls = []

    def broken(rec, version="3.0"):
        calls.append(1)
        if len(calls) > 20:
            raise KeyboardInterrupt
        return real(rec, version)

    monkeypatch.setattr(exporter.vcard, "card", broken)
    conn = dbmod.connect(example_db)
    try:
        with pytest.raises(KeyboardInterrupt):
            ids = exporter.select(conn, None, True).ids
            exporter.write_vdir(conn, ids, vdir, "4.0")  # every card would change
    finally:
        conn.close()
    assert {p.name: p.read_bytes() for p in vdir.iterdir()} == before  # no temp files either


def _hard_members(run, example_db) -> None:
    """The example directory plus what a card must get right: escaping, folding, a
    removed member (no card) and private contacts (never written)."""
    run(
        *("member", "add", "Zoë; van der, Berg\\", "--email", "zoe@x.example"),
        *("--email", "home=a-zoe@x.example", "--phone", "+31612340000", "--tag", "a,b;c"),
        *("--bio", "een;twee,drie\\vier\nvijf " + "ł" * 80, "--link", "https://x.example/a,b"),
        *("--lang", "nl", "--lang", "en", "--skill", "camera:expert", "--learn", "drone"),
        ok=True,
    )
    mid = member_id(example_db, "joran-vdburg")
    write(
        example_db,
        lambda tx: tx.conn.execute(  # private contacts, straight into the rows: never written
            "UPDATE contacts SET private = 1 WHERE member_id = ? AND value = ? OR value = ?",
            (mid, "joran.burg@gmail.example", "+31612340000"),
        ),
    )
    run("member", "rm", "kees-camera", "--yes", ok=True)


class WorkerSpy:
    """Records each worker write_vcards starts and what it gave back. A few dozen
    cards take this process a few milliseconds, less than a worker takes to start:
    so that both do some, this process (after its first chunk, the last one) waits
    until the worker has claimed the first one."""

    def __init__(self, monkeypatch):
        from zppcli import exportworker

        self.workers, self.results = [], []
        start, result, claim = exportworker.start, exportworker.Worker.result, exportworker.claim

        def spy_start(*args):
            worker = start(*args)
            self.workers.append(worker)
            return worker

        def spy_result(worker, progress, count):
            self.results.append(result(worker, progress, count))
            return self.results[-1]

        def waiting_claim(worker, number):
            first = Path(worker.folder, "chunk-0")
            if list(Path(worker.folder).glob("chunk-*")):  # not our first claim
                deadline = time.monotonic() + 30
                while not first.exists() and worker.proc.poll() is None:
                    assert time.monotonic() < deadline, "the worker claimed nothing in 30 s"
                    time.sleep(0.001)
            return claim(worker.folder, number)

        monkeypatch.setattr(exportworker, "start", spy_start)
        monkeypatch.setattr(exportworker.Worker, "result", spy_result)
        monkeypatch.setattr(exportworker.Worker, "claim", waiting_claim)


@pytest.mark.parametrize("version", ["3.0", "4.0"])
@pytest.mark.parametrize("mode", ["in-order", "file-order", "two-processes"], ids=str)
def test_vcard_writer_writes_what_card_writes_for_each_record(
    run, example_db, monkeypatch, version, mode
):
    """write_vcards builds cards from the rows, without the records; in file order it
    reads the members in db file order (several chunks) and puts the cards back in
    the order asked for; with two processes a worker composes the first chunks of the
    file order and this process the last ones. Always: vcard.card() of each record,
    in that order."""
    from zppcli import vcard

    _hard_members(run, example_db)
    spy = WorkerSpy(monkeypatch)
    conn = dbmod.connect(example_db)
    try:
        # every member, the removed one too (it gets no card), in an order that is neither
        # the directory's nor the file's
        ids = [r[0] for r in conn.execute("SELECT id FROM members ORDER BY handle DESC")]
        if mode != "in-order":
            monkeypatch.setattr(exporter, "FILE_ORDER_CHUNK", 7)  # the worker is told, too
            monkeypatch.setattr(exporter, "FILE_ORDER_FROM", 1)
        out, ticks = io.StringIO(), []
        processes = 2 if mode == "two-processes" else 1
        n = exporter.write_vcards(conn, ids, out, version, ticks.append, processes)
        expected = [vcard.card(rec, version) for rec in exporter.iter_records(conn, ids)]
        cache = conn.execute("PRAGMA cache_size").fetchone()[0]
    finally:
        conn.close()
    assert n == len(expected) == 51
    assert out.getvalue() == "".join(expected)
    assert "joran.burg@gmail.example" not in out.getvalue() and "+31612340000" not in out.getvalue()
    assert "Zo\u00eb\\; van der\\, Berg\\\\" in out.getvalue()
    assert sum(ticks) == len(ids)
    assert cache == -2000  # the file-order read leaves the connection's cache as it found it
    if mode == "two-processes":  # each did some of the 8 chunks of 7 (the last one has 3)
        (sizes,) = spy.results
        assert len(sizes) in range(7, 52, 7) and spy.workers[0].proc.returncode == 0
    else:
        assert spy.workers == []


def _two_processes_from_one(monkeypatch) -> None:
    """Exports from 1 member on in file order with a worker, 7 members a chunk."""
    from zppcli import exportworker

    monkeypatch.setattr(exporter, "FILE_ORDER_FROM", 1)
    monkeypatch.setattr(exporter, "TWO_PROCESSES_FROM", 1)
    monkeypatch.setattr(exporter, "FILE_ORDER_CHUNK", 7)
    monkeypatch.setattr(exportworker, "usable_cpus", lambda: 2)


def test_a_two_process_export_is_the_same_file_and_parses_in_vobject(
    run, example_db, monkeypatch, tmp_path
):
    _hard_members(run, example_db)
    run("export", "vcard", "--include-private", "-o", tmp_path / "one.vcf", ok=True)
    spy = WorkerSpy(monkeypatch)
    _two_processes_from_one(monkeypatch)
    r = run("export", "vcard", "--include-private", "-o", tmp_path / "two.vcf", ok=True)
    assert "exported 51 vCards" in r.stderr
    assert len(spy.workers) == 1 and len(spy.results[0]) in range(7, 52, 7)
    two = (tmp_path / "two.vcf").read_bytes()
    assert two == (tmp_path / "one.vcf").read_bytes()
    parsed = cards(two.decode("utf-8"))
    assert len(parsed) == 51 and len({c.uid.value for c in parsed}) == 51
    assert "kees-camera" not in two.decode("utf-8")


def test_small_exports_start_no_worker(run, example_db, monkeypatch):
    from zppcli import exportworker

    started = []
    monkeypatch.setattr(exportworker, "start", lambda *args: started.append(args))  # None: none
    monkeypatch.setattr(exportworker, "usable_cpus", lambda: 2)
    run("export", "vcard", "--include-private", ok=True)  # 51 members
    monkeypatch.setattr(exporter, "FILE_ORDER_FROM", 1)  # file order, still one process
    run("export", "vcard", "--include-private", ok=True)
    monkeypatch.setattr(exporter, "TWO_PROCESSES_FROM", 1)
    monkeypatch.setattr(exportworker, "usable_cpus", lambda: 1)  # one core: no worker
    run("export", "vcard", "--include-private", ok=True)
    assert started == []
    monkeypatch.setattr(exportworker, "usable_cpus", lambda: 2)
    run("export", "vcard", "--include-private", ok=True)
    assert len(started) == 1


# What the worker does instead of its work: not start, exit at once, claim the first
# chunk and report three cards of it and die, or exit 0 (as if it were done).
CLAIM_AND_REPORT_THREE = (
    "import os, sys; folder = sys.argv[4]; open(os.path.join(folder, 'chunk-0'), 'x');"
    " open(os.path.join(folder, 'sizes'), 'ab').write(bytes(24));"
)
BROKEN_WORKERS = {
    "cannot-start": None,
    "exits-at-once": "import sys; sys.exit(1)",
    "dies-midway": CLAIM_AND_REPORT_THREE + " sys.exit(1)",
    "stops-short": CLAIM_AND_REPORT_THREE + " sys.exit(0)",
}


@pytest.mark.parametrize("broken", BROKEN_WORKERS)
def test_a_failing_worker_leaves_its_part_to_this_process(
    run, example_db, monkeypatch, tmp_path, broken
):
    """Whatever becomes of the worker, the file is whole and the same, the progress
    counts every member once, and no spool file stays behind."""
    from zppcli import exportworker

    _hard_members(run, example_db)
    expected = run("export", "vcard", "--include-private", ok=True).stdout_bytes
    _two_processes_from_one(monkeypatch)
    spy = WorkerSpy(monkeypatch)
    if broken == "cannot-start":
        monkeypatch.setattr(sys, "executable", str(tmp_path / "no-such-python"))
    else:
        monkeypatch.setattr(exportworker, "BOOT", BROKEN_WORKERS[broken])
    monkeypatch.setattr(exporter.tempfile, "tempdir", str(tmp_path / "spool"))
    (tmp_path / "spool").mkdir()
    conn = dbmod.connect(example_db)
    try:
        ids = exporter.select(conn, None, True).ids
        out, ticks = io.StringIO(), []
        n = exporter.write_vcards(conn, ids, out, "3.0", ticks.append)
    finally:
        conn.close()
    assert n == 51 and out.getvalue().encode("utf-8") == expected
    assert sum(ticks) == len(ids)
    if broken == "cannot-start":
        assert spy.workers == [None]
    elif broken == "exits-at-once":  # this process took every chunk: no result to wait for
        assert spy.results in ([], [None])
    else:  # the worker had the first chunk
        assert spy.results == [None]
    assert list((tmp_path / "spool").iterdir()) == []


def test_an_interrupted_two_process_export_stops_its_worker(run, example_db, monkeypatch, tmp_path):
    _two_processes_from_one(monkeypatch)
    spy = WorkerSpy(monkeypatch)
    monkeypatch.setattr(exporter.tempfile, "tempdir", str(tmp_path / "spool"))
    (tmp_path / "spool").mkdir()

    def interrupt(n):
        raise KeyboardInterrupt

    conn = dbmod.connect(example_db)
    try:
        ids = exporter.select(conn, None, True).ids
        with pytest.raises(KeyboardInterrupt):
            exporter.write_vcards(conn, ids, io.StringIO(), "3.0", interrupt)
    finally:
        conn.close()
    (worker,) = spy.workers
    assert worker.proc.returncode is not None  # ended (killed, or done and reaped)
    assert list((tmp_path / "spool").iterdir()) == []
