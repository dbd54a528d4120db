"""sync.py, location.py and the CLI around them: conflict copies absorbed, shared folders, faults.

The oracles are real: SQLite's integrity_check, real subprocesses killed with
SIGKILL, a real git running `zpp db merge-driver`.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import zpp_subprocess
from zppcli import db as dbmod
from zppcli import location
from zppcli import sync as syncing

NAMES = {
    "zpp.sync-conflict-20261126-101500-ABCDEFG.db": "Syncthing",
    "zpp (Jan's conflicted copy 2026-11-26).db": "Dropbox",
    "zpp (conflicted copy 2026-11-26 101500).db": "Nextcloud/ownCloud",
    "zpp_conflict-20261126-101500.db": "Nextcloud/ownCloud (legacy)",
    "zpp-LAPTOP-JAN.db": "OneDrive",
    "zpp (1).db": "Google Drive / copy",
}
NOT_COPIES = [
    "zpp.db.bak",
    "other.db",
    "zpp.db-wal",
    "zpp.db.v1-20261126T101500Z.bak",
    "zppx.db",
    "zpp.db.txt",
]


def city(path: Path, handle: str) -> str | None:
    c = sqlite3.connect(path)
    try:
        row = c.execute(
            "SELECT city FROM members WHERE handle = ? AND deleted = 0", (handle,)
        ).fetchone()
        return row[0] if row else None
    finally:
        c.close()


def pragma(path: Path, name: str) -> str:
    """Read and close at once: an open WAL connection would keep zpp from leaving WAL."""
    c = sqlite3.connect(path)
    try:
        return c.execute(f"PRAGMA {name}").fetchone()[0]
    finally:
        c.close()


def integrity(path: Path) -> str:
    return pragma(path, "integrity_check")


# -- finding conflict copies ------------------------------------------------------------------
def test_conflict_copies_are_found_by_each_tools_name(example_db, tmp_path):
    folder = example_db.parent
    for name in [*NAMES, *NOT_COPIES]:
        shutil.copyfile(example_db, folder / name)
    found = {c.path.name: c.tool for c in syncing.conflict_copies(example_db)}
    assert found == NAMES
    assert all(c.is_zpp for c in syncing.conflict_copies(example_db))


def test_a_file_named_like_a_copy_but_not_a_zpp_db_is_left_alone(run, example_db):
    fake = example_db.parent / "zpp (1).db"
    fake.write_text("not a database")
    result = run("sync", ok=True)
    assert "not a zpp db" in result.stderr
    assert fake.read_text() == "not a database"


# -- end to end ---------------------------------------------------------------------------------
def test_two_copies_edited_by_the_cli_and_a_syncthing_conflict_copy_lose_nothing(run, example_db):
    other = example_db.parent / "laptop.db"
    shutil.copyfile(example_db, other)
    run("member", "edit", "mikkel-baek", "--city", "Utrecht", ok=True)
    run("member", "add", "Nina Nieuw", "--email", "nina@x.example", ok=True)
    run("member", "edit", "mikkel-baek", "--rate", "650", "--db", other, ok=True)
    run("member", "rm", "renee-bakker", "--yes", "--db", other, ok=True)
    run("member", "add", "Otto Ander", "--db", other, ok=True)
    copy = other.rename(example_db.parent / "zpp.sync-conflict-20261126-101500-ABCDEFG.db")
    result = run("sync", "--format", "json", ok=True)
    rows = json.loads(result.stdout)
    assert {(r["change"], r["what"]) for r in rows} >= {
        ("updated", "mikkel-baek"),
        ("deleted", "renee-bakker"),
        ("added", "otto-ander"),
    }
    shown = json.loads(run("show", "mikkel-baek", "--format", "json", ok=True).stdout)
    shown = shown[0] if isinstance(shown, list) else shown
    assert shown["city"] == "Utrecht" and shown["day_rate"] == 650
    assert run("show", "renee-bakker").exit_code == 3
    assert run("show", "nina-nieuw").exit_code == 0 and run("show", "otto-ander").exit_code == 0
    assert not copy.exists() and (example_db.parent / ".zpp-merged" / copy.name).exists()
    assert integrity(example_db) == "ok"
    again = run("sync", ok=True)
    assert "no conflict copies" in again.stderr


def test_copies_from_several_tools_at_once(run, example_db):
    edits = {
        "zpp (Jan's conflicted copy 2026-11-26).db": ("kees-camera", "Baarn"),
        "zpp (conflicted copy 2026-11-26 101500).db": ("fleur-vbeek", "Laren"),
        "zpp (1).db": ("noor-jansen", "Naarden"),
    }
    for name, (handle, town) in edits.items():
        path = example_db.parent / name
        shutil.copyfile(example_db, path)
        run("member", "edit", handle, "--city", town, "--db", path, ok=True)
    dry = run("sync", "--dry-run", ok=True)
    assert (
        all((example_db.parent / n).exists() for n in edits)
        and city(example_db, "kees-camera") != "Baarn"
    )
    assert dry.stderr.count("would merge") == 3
    run("sync", ok=True)
    for handle, town in edits.values():
        assert city(example_db, handle) == town
    assert sorted(p.name for p in (example_db.parent / ".zpp-merged").iterdir()) == sorted(edits)


def test_folder_mode_one_file_per_device(run, example_db, tmp_path, monkeypatch):
    shared = tmp_path / "Shared"
    shared.mkdir()
    laptop = tmp_path / "laptop.db"
    shutil.copyfile(example_db, laptop)
    run("member", "edit", "mikkel-baek", "--city", "Utrecht", ok=True)
    run("sync", "--folder", shared, ok=True)
    assert (shared / "testdev.db").exists() and dbmod.is_zpp_file(shared / "testdev.db")
    monkeypatch.setenv("ZPP_DEVICE_ID", "laptop")
    run("member", "edit", "kees-camera", "--city", "Baarn", "--db", laptop, ok=True)
    run("sync", "--folder", shared, "--db", laptop, ok=True)
    assert city(laptop, "mikkel-baek") == "Utrecht" and (shared / "laptop.db").exists()
    monkeypatch.setenv("ZPP_DEVICE_ID", "testdev")
    run("sync", "--folder", shared, ok=True)
    assert city(example_db, "kees-camera") == "Baarn"
    c = sqlite3.connect(shared / "testdev.db")
    assert (
        c.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    )  # published files never use WAL
    c.close()
    assert sorted(p.name for p in shared.iterdir()) == ["laptop.db", "testdev.db"]


def test_git_merge_driver(run, example_db, tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1"}

    def git(*args):
        return subprocess.run(
            ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True
        )

    git("init", "-q", "-b", "main")
    git("config", "user.email", "t@x.example")
    git("config", "user.name", "T")
    git("config", "merge.zpp.driver", f"{sys.executable} -m zppcli db merge-driver %O %A %B")
    (repo / ".gitattributes").write_text("*.db merge=zpp -diff\n")
    db = repo / "zpp.db"
    shutil.copyfile(example_db, db)
    git("add", ".")
    git("commit", "-qm", "directory")
    git("checkout", "-qb", "jan")
    run("member", "edit", "mikkel-baek", "--city", "Utrecht", "--db", db, ok=True)
    git("commit", "-qam", "jan: mikkel moved")
    git("checkout", "-q", "main")
    run("member", "edit", "mikkel-baek", "--rate", "650", "--db", db, ok=True)
    run("member", "add", "Nina Nieuw", "--db", db, ok=True)
    git("commit", "-qam", "main: rate")
    merged = subprocess.run(
        ["git", "merge", "-q", "--no-edit", "jan"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
    )
    assert merged.returncode == 0, merged.stderr
    c = sqlite3.connect(db)
    row = c.execute("SELECT city, day_rate FROM members WHERE handle = 'mikkel-baek'").fetchone()
    nina = c.execute("SELECT count(*) FROM members WHERE handle = 'nina-nieuw'").fetchone()[0]
    c.close()
    assert tuple(row) == ("Utrecht", 650) and nina == 1
    assert integrity(db) == "ok"
    assert git("status", "--porcelain").stdout == ""  # no -wal/-shm left in the work tree


def test_log_shows_which_device_changed_what(run, example_db, monkeypatch):
    other = example_db.parent / "laptop.db"
    shutil.copyfile(example_db, other)
    monkeypatch.setenv("ZPP_DEVICE_ID", "laptop")
    monkeypatch.setenv("ZPP_DEVICE_NAME", "Jans laptop")
    run("member", "edit", "mikkel-baek", "--city", "Utrecht", "--db", other, ok=True)
    monkeypatch.setenv("ZPP_DEVICE_ID", "testdev")
    monkeypatch.delenv("ZPP_DEVICE_NAME")
    run("member", "edit", "kees-camera", "--city", "Baarn", ok=True)
    run("db", "merge", other, ok=True)
    rows = json.loads(run("log", "mikkel-baek", "--format", "json", ok=True).stdout)
    assert (
        rows[0]["device"] == "Jans laptop"
        and rows[0]["op"] == "update"
        and rows[0]["fields"] == ["city"]
    )
    assert all("mikkel-baek" in r["what"] for r in rows)
    everyone = json.loads(run("log", "--format", "json", "--limit", "2", ok=True).stdout)
    assert len(everyone) == 2
    assert json.loads(run("log", "--since", "2099-01-01", "--format", "json", ok=True).stdout) == []


# -- shared locations ------------------------------------------------------------------------------
def test_mount_types_come_from_mountinfo(tmp_path):
    info = tmp_path / "mountinfo"
    info.write_text(
        "22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n"
        "40 22 0:50 / /mnt/nas rw - nfs4 nas:/export rw\n"
        "41 22 0:51 / /home/jan/My\\040Drive rw - fuse.rclone gdrive: rw\n"
    )
    assert location.mount_fstype(Path("/mnt/nas/team/zpp.db"), str(info)) == "nfs4"
    assert location.mount_fstype(Path("/home/jan/My Drive/zpp.db"), str(info)) == "fuse.rclone"
    assert location.mount_fstype(Path("/mnt/nasty/zpp.db"), str(info)) == "ext4"


def test_a_db_in_a_sync_folder_uses_the_rollback_journal_and_warns_once(
    run, tmp_path, example_template
):
    folder = tmp_path / "Sync" / "team"
    folder.mkdir(parents=True)
    (tmp_path / "Sync" / ".stfolder").mkdir()
    fresh = folder / "new.db"
    first = run("member", "add", "Nina Nieuw", "--db", fresh, ok=True)
    assert "Syncthing" in first.stderr
    assert pragma(fresh, "journal_mode") == "delete"
    assert "Syncthing" not in run("member", "list", "--db", fresh, ok=True).stderr  # once
    moved = folder / "moved.db"  # a local WAL db moved into the folder leaves WAL on first use
    shutil.copyfile(example_template, moved)
    assert pragma(moved, "journal_mode") == "wal"
    run("member", "list", "--db", moved, ok=True)
    assert pragma(moved, "journal_mode") == "delete"
    assert location.journal_mode(tmp_path / "elsewhere.db") == "wal"


def test_a_stray_wal_file_is_reported_not_deleted(run, tmp_path, example_template):
    folder = tmp_path / "Dropbox"
    folder.mkdir()
    (folder / ".dropbox").write_text("")
    db = folder / "zpp.db"
    shutil.copyfile(example_template, db)
    run("member", "list", "--db", db, ok=True)
    stray = folder / "zpp.db-wal"
    stray.write_bytes(b"\x37\x7f\x06\x82" + bytes(60))
    result = run("sync", "--db", db, ok=True)
    assert "zpp.db-wal" in result.stderr and "do not delete it" in result.stderr
    assert stray.exists()


# -- faults ------------------------------------------------------------------------------------------
def _zpp(*args, env):
    return subprocess.Popen(
        [sys.executable, "-m", "zppcli", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_a_sync_killed_at_random_points_leaves_old_or_new_and_a_rerun_completes(
    run, example_db, tmp_path
):
    env = {**os.environ}
    pristine = tmp_path / "pristine.db"
    copy_pristine = tmp_path / "copy.db"
    shutil.copyfile(example_db, pristine)
    shutil.copyfile(example_db, copy_pristine)
    run("member", "edit", "mikkel-baek", "--city", "Utrecht", "--db", pristine, ok=True)
    run("member", "edit", "kees-camera", "--city", "Baarn", "--db", copy_pristine, ok=True)
    for _ in range(10):  # let the copy carry more to merge, so a kill lands inside the work
        run("member", "add", f"Extra Lid{_}", "--db", copy_pristine, ok=True)
    start = time.monotonic()
    full = _zpp("sync", "--db", str(tmp_path / "timing.db"), env=env)  # start-up cost only, no db
    full.wait()
    startup = time.monotonic() - start
    rng = random.Random(6)
    conflict = example_db.parent / "zpp.sync-conflict-20261126-101500-ABCDEFG.db"
    outcomes = set()
    for _ in range(8):
        shutil.copyfile(pristine, example_db)
        shutil.copyfile(copy_pristine, conflict)
        shutil.rmtree(example_db.parent / ".zpp-merged", ignore_errors=True)
        proc = _zpp("sync", "--db", str(example_db), env=env)
        time.sleep(rng.uniform(0.5, 2.5) * startup)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert integrity(example_db) == "ok"
        state = city(example_db, "kees-camera")
        assert state in ("Baarn", city(pristine, "kees-camera"))
        assert city(example_db, "mikkel-baek") == "Utrecht"
        moved = (example_db.parent / ".zpp-merged" / conflict.name).exists()
        assert moved or conflict.exists()  # the copy is never lost
        assert not moved or state == "Baarn"  # moved aside only once merged
        outcomes.add(state == "Baarn")
        rerun = _zpp("sync", "--db", str(example_db), env=env)
        _, err = rerun.communicate()
        assert rerun.returncode == 0, err
        assert city(example_db, "kees-camera") == "Baarn" and integrity(example_db) == "ok"
        assert not [p for p in example_db.parent.iterdir() if p.name.endswith(".tmp")]
    print("kill outcomes (merged or not):", outcomes)


WRITER = """
import sys
from pathlib import Path
from zppcli import db, members
from zppcli.store import Tx
path, who = Path(sys.argv[1]), sys.argv[2]
for i in range(int(sys.argv[3])):
    conn = db.connect(path)
    try:
        with Tx(conn) as tx:
            members.add(tx, f"Lid {who} {i}", members.MemberInput(values={"handle": f"{who}-{i}"}))
    finally:
        conn.close()
"""


def test_four_processes_writing_at_once_lose_nothing(tmp_path):
    path = tmp_path / "busy.db"
    dbmod.connect(path).close()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), f"w{n}", "250"],
            env={**os.environ, "ZPP_DEVICE_ID": f"w{n}"},
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    errors = [p.communicate()[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], errors
    assert not any("locked" in e for e in errors)
    c = sqlite3.connect(path)
    assert c.execute("SELECT count(*) FROM members WHERE deleted = 0").fetchone()[0] == 1000
    assert c.execute("SELECT count(DISTINCT handle) FROM members").fetchone()[0] == 1000
    assert c.execute("SELECT count(*) FROM changes WHERE tbl = 'members'").fetchone()[0] == 1000
    assert c.execute("SELECT count(*) FROM members_fts").fetchone()[0] == 1000
    c.close()
    assert integrity(path) == "ok"


@pytest.mark.parametrize("name", list(NAMES))
def test_every_named_copy_merges_through_the_cli(run, example_db, name):
    copy = example_db.parent / name
    shutil.copyfile(example_db, copy)
    run("member", "edit", "kees-camera", "--city", "Baarn", "--db", copy, ok=True)
    run("sync", ok=True)
    assert city(example_db, "kees-camera") == "Baarn" and not copy.exists()


def test_a_copy_from_a_newer_zpp_is_left_in_place_and_the_others_merge(run, example_db):
    newer = example_db.parent / "zpp (1).db"
    shutil.copyfile(example_db, newer)
    c = sqlite3.connect(newer)
    c.execute(f"PRAGMA user_version = {dbmod.schema_version() + 1}")
    c.commit()
    c.close()
    good = example_db.parent / "zpp.sync-conflict-20261126-101500-ABCDEFG.db"
    shutil.copyfile(example_db, good)
    run("member", "edit", "kees-camera", "--city", "Baarn", "--db", good, ok=True)
    result = run("sync", ok=True)
    assert "newer than this zpp" in result.stderr and newer.exists() and not good.exists()
    assert city(example_db, "kees-camera") == "Baarn"


def test_sync_keeps_the_file_mode_of_the_db(run, example_db):
    os.chmod(example_db, 0o600)
    copy = example_db.parent / "zpp (1).db"
    shutil.copyfile(example_db, copy)
    run("member", "edit", "kees-camera", "--city", "Baarn", "--db", copy, ok=True)
    run("sync", ok=True)
    assert city(example_db, "kees-camera") == "Baarn"
    assert example_db.stat().st_mode & 0o777 == 0o600


def test_sync_of_a_wal_db_another_process_has_open_exits_4_and_keeps_everything(run, example_db):
    copy = example_db.parent / "zpp (1).db"
    shutil.copyfile(example_db, copy)
    other = sqlite3.connect(example_db)  # an idle reader elsewhere
    try:
        other.execute("SELECT count(*) FROM members").fetchone()
        result = run("sync")
    finally:
        other.close()
    assert result.exit_code == 4 and "in use" in result.stderr
    assert copy.exists() and integrity(example_db) == "ok"
    assert run("sync").exit_code == 0 and not copy.exists()


def test_sync_will_not_replace_a_shared_db_another_process_has_open(
    run, tmp_path, example_template
):
    folder = tmp_path / "Sync"
    folder.mkdir()
    (folder / ".stfolder").mkdir()
    db = folder / "zpp.db"
    shutil.copyfile(example_template, db)
    run("member", "list", "--db", db, ok=True)  # leaves WAL: a shared db
    copy = folder / "zpp (1).db"
    shutil.copyfile(db, copy)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1]);"
            " c.execute('SELECT 1 FROM members').fetchone(); print('open', flush=True); time.sleep(30)",
            str(db),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        assert syncing.open_elsewhere(db) == [holder.pid]
        result = run("sync", "--db", db)
        assert result.exit_code == 4 and f"pid {holder.pid}" in result.stderr
        assert copy.exists()
    finally:
        holder.kill()
        holder.wait()
    assert run("sync", "--db", db).exit_code == 0 and not copy.exists()


def test_log_of_a_removed_member_still_shows_its_history(run, example_db):
    run("member", "rm", "renee-bakker", "--yes", ok=True)
    rows = json.loads(run("log", "renee-bakker", "--format", "json", ok=True).stdout)
    assert rows[0]["op"] == "delete" and rows[0]["what"] == "renee-bakker"
    assert run("log", "nobody-at-all").exit_code == 3


@pytest.mark.parametrize("stem", ["zpp", "team directory", "zpp.v2"])
def test_conflict_names_around_other_db_names(tmp_path, example_template, stem):
    db = tmp_path / f"{stem}.db"
    shutil.copyfile(example_template, db)
    names = [n.replace("zpp", stem, 1) for n in NAMES]
    for name in [*names, f"{stem}x.db", f"x{stem}.db", f"{stem}.db-journal"]:
        shutil.copyfile(example_template, tmp_path / name)
    assert sorted(c.path.name for c in syncing.conflict_copies(db)) == sorted(names)


def test_a_stray_wal_beside_a_shared_db_stops_zpp_before_sqlite_applies_it(
    run, tmp_path, example_template
):
    folder = tmp_path / "Sync"
    folder.mkdir()
    (folder / ".stfolder").mkdir()
    db = folder / "zpp.db"
    shutil.copyfile(example_template, db)
    run("member", "list", "--db", db, ok=True)  # now in rollback-journal mode
    # another device's db and -wal, copied apart by the sync tool
    theirs = tmp_path / "theirs.db"
    shutil.copyfile(example_template, theirs)
    c = sqlite3.connect(theirs)
    c.execute("PRAGMA wal_autocheckpoint = 0")
    c.execute("UPDATE members SET city = 'Elders'")
    c.commit()
    shutil.copyfile(tmp_path / "theirs.db-wal", folder / "zpp.db-wal")
    c.close()
    before = db.read_bytes()
    result = run("member", "list", "--db", db)
    assert (
        result.exit_code == 1
        and "zpp.db-wal" in result.stderr
        and "do not delete it" in result.stderr
    )
    assert db.read_bytes() == before and (folder / "zpp.db-wal").exists()
    search = zpp_subprocess("search", "--db", str(db))  # the fast read path guards too
    assert search.returncode == 1 and "do not delete it" in search.stderr
    assert db.read_bytes() == before and (folder / "zpp.db-wal").exists()
    (folder / "zpp.db-wal").rename(tmp_path / "kept.db-wal")
    assert "Elders" not in run("member", "list", "--db", db, ok=True).stdout
    assert integrity(db) == "ok"
