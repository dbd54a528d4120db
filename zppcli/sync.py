"""Absorbing the conflict copies that sync tools leave beside a shared db.

Syncthing, Dropbox, Nextcloud/ownCloud, OneDrive and Google Drive keep one
file and rename the other when two devices edit at once. `sync` finds those
copies, confirms each is a zpp db (SQLite header and application id), merges
them field by field (merge.py) into a fresh copy of the db, and swaps that
copy in with one atomic rename, so the sync tool never sees a half-written
file and a crash leaves either the old or the new db. Merged copies move to
`.zpp-merged/`; nothing is deleted.

`--folder DIR` is the one-writer-per-file mode: every device publishes
`DIR/<device>.db` and merges everyone else's, so the sync tool never has two
writers for one file.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from zppcli import clock, location, merge
from zppcli import db as dbmod
from zppcli.errors import Conflict, SchemaTooNew, ZppError
from zppcli.files import fsync_dir, fsync_file

MERGED_DIR = ".zpp-merged"
DEVICE_FILE = re.compile(r"^[0-9a-z]{1,32}\.db$")


def _patterns(stem: str, ext: str) -> list[tuple[str, re.Pattern]]:
    s, e = re.escape(stem), re.escape(ext)
    return [
        ("Syncthing", re.compile(rf"^{s}\.sync-conflict-\d{{8}}-\d{{6}}(-[A-Z0-9]{{7}})?{e}$")),
        (
            "Dropbox",
            re.compile(
                rf"^{s} \([^()]*['’]s conflicted copy \d{{4}}-\d{{2}}-\d{{2}}( \(\d+\))?\){e}$"
            ),
        ),
        (
            "Nextcloud/ownCloud",
            re.compile(rf"^{s} \(conflicted copy ([^()]+ )?\d{{4}}-\d{{2}}-\d{{2}} \d{{6}}\){e}$"),
        ),
        ("Nextcloud/ownCloud (legacy)", re.compile(rf"^{s}_conflict-\d{{8}}-\d{{6}}{e}$")),
        ("Google Drive / copy", re.compile(rf"^{s} ?\(\d{{1,3}}\){e}$")),
        ("OneDrive", re.compile(rf"^{s}-[A-Za-z0-9][A-Za-z0-9_-]{{0,30}}{e}$")),
    ]


@dataclass
class Candidate:
    path: Path
    tool: str
    is_zpp: bool


@dataclass
class SyncReport:
    db: Path
    dry_run: bool = False
    merged: list[merge.Report] = field(default_factory=list)
    moved: list[tuple[Path, Path]] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    strays: list[Path] = field(default_factory=list)
    published: Path | None = None
    notes: list[str] = field(default_factory=list)


def conflict_copies(db_path: Path) -> list[Candidate]:
    """Files beside db_path named as a sync tool names a conflict copy of it."""
    folder = db_path.parent
    name = db_path.name
    stem, ext = (name[: -len(db_path.suffix)], db_path.suffix) if db_path.suffix else (name, "")
    patterns = _patterns(stem, ext)
    found = []
    try:
        entries = sorted(os.listdir(folder))
    except OSError:
        return []
    for entry in entries:
        if entry == name:
            continue
        for tool, pattern in patterns:
            if pattern.match(entry):
                path = folder / entry
                if path.is_file():
                    found.append(Candidate(path, tool, dbmod.is_zpp_file(path)))
                break
    return found


def stray_sidecars(db_path: Path) -> list[Path]:
    """-wal/-journal files beside the db, and sync tools' conflict copies of them."""
    found = list(location.stray_sidecars(db_path))
    stem = db_path.name[: -len(db_path.suffix)] if db_path.suffix else db_path.name
    try:
        for entry in sorted(os.listdir(db_path.parent)):
            if entry.startswith(stem) and re.search(r"\.db-(wal|journal)$|-(wal|journal)$", entry):
                path = db_path.parent / entry
                if path not in found and not entry.startswith(db_path.name + "-"):
                    found.append(path)
    except OSError:
        pass
    return found


# -- writing a file safely ---------------------------------------------------------------
def _temp_name(target: Path, tag: str) -> Path:
    return target.with_name(f".{target.name}.zpp-{tag}-{os.getpid()}.tmp")


def _clean_stale_temps(folder: Path) -> None:
    """Remove temp files of zpp processes that died (a killed sync leaves its copy)."""
    pattern = re.compile(r"^\..+\.zpp-(sync|publish)-(\d+)\.tmp(-journal|-wal|-shm)?$")
    try:
        entries = os.listdir(folder)
    except OSError:
        return
    for entry in entries:
        match = pattern.match(entry)
        if not match:
            continue
        pid = int(match.group(2))
        if pid != os.getpid() and _alive(pid):
            continue
        with contextlib.suppress(OSError):
            os.remove(folder / entry)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def copy_to(source: sqlite3.Connection, target: Path, tag: str) -> None:
    """A consistent copy of source's db at target: VACUUM INTO a temp file beside it, fsync, rename."""
    tmp = _temp_name(target, tag)
    tmp.unlink(missing_ok=True)
    source.execute("VACUUM INTO ?", (str(tmp),))
    fixed = dbmod.raw(tmp)  # copies in a sync folder never use WAL
    try:
        fixed.execute("PRAGMA journal_mode = DELETE")
    finally:
        fixed.close()
    fsync_file(tmp)
    os.replace(tmp, target)
    fsync_dir(target.parent)


def open_elsewhere(path: Path, proc: Path = Path("/proc")) -> list[int]:
    """Other local processes holding the file open (Linux /proc; other machines can't be seen)."""
    try:
        target = os.stat(path)
        pids = [int(p) for p in os.listdir(proc) if p.isdigit() and int(p) != os.getpid()]
    except OSError:
        return []
    found = []
    for pid in pids:
        fd_dir = proc / str(pid) / "fd"
        try:
            for fd in os.listdir(fd_dir):
                try:
                    st = os.stat(fd_dir / fd)
                except OSError:
                    continue
                if st.st_ino == target.st_ino and st.st_dev == target.st_dev:
                    found.append(pid)
                    break
        except OSError:  # not ours to look at, or gone
            continue
    return found


def _leave_wal(conn: sqlite3.Connection, path: Path) -> None:
    if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        return
    # Leaving WAL needs every other connection closed, which is also what makes the
    # rename below safe: nobody can be left writing to the replaced file.
    try:
        mode = conn.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
    except sqlite3.OperationalError:
        mode = "wal"
    if mode == "wal":
        raise Conflict(
            f"{path} is in use by another zpp process; close it and run `zpp sync` again"
        )


# -- the command ------------------------------------------------------------------------
def sync(db_path: Path, *, folder: Path | None = None, dry_run: bool = False) -> SyncReport:
    """Merge conflict copies (or, with folder, every device's file) into the db; see module doc."""
    db_path = Path(db_path)
    report = SyncReport(db=db_path, dry_run=dry_run)
    if folder is not None:
        sources, movable = _folder_sources(Path(folder), report)
    else:
        sources, movable = _conflict_sources(db_path, report)
        report.strays = stray_sidecars(db_path)
    _clean_stale_temps(db_path.parent)
    if dry_run and not db_path.exists():
        raise ZppError(
            f"no zpp db at {db_path} yet; run `zpp sync --folder` without --dry-run to create it"
        )
    if sources or not db_path.exists():
        _merge_and_replace(db_path, sources, report)
    if dry_run:
        return report
    merged = {Path(r.source) for r in report.merged}
    for source in movable:
        if source in merged:
            report.moved.append((source, _move_aside(source)))
    if folder is not None:
        report.published = _publish(db_path, Path(folder))
    return report


def _conflict_sources(db_path: Path, report: SyncReport) -> tuple[list[Path], list[Path]]:
    sources = []
    for candidate in conflict_copies(db_path):
        if candidate.is_zpp:
            sources.append(candidate.path)
        else:
            report.skipped.append(
                (candidate.path, f"named like a {candidate.tool} conflict copy, not a zpp db")
            )
    return sources, list(sources)


def _folder_sources(folder: Path, report: SyncReport) -> tuple[list[Path], list[Path]]:
    if not folder.is_dir():
        raise ZppError(f"--folder {str(folder)!r} is not a folder")
    own = f"{clock.device_id()}.db"
    sources, movable = [], []
    for entry in sorted(os.listdir(folder)):
        path = folder / entry
        if entry == own or not entry.endswith(".db") or entry.startswith(".") or not path.is_file():
            continue
        if not dbmod.is_zpp_file(path):
            report.skipped.append((path, "not a zpp db"))
            continue
        sources.append(path)
        if not DEVICE_FILE.match(entry):  # a conflict copy of someone's file: absorbed, moved aside
            movable.append(path)
    for stray in sorted(folder.iterdir()):
        if re.search(r"-(wal|journal)$", stray.name) and not stray.name.startswith("."):
            report.strays.append(stray)
    return sources, movable


def _merge_and_replace(db_path: Path, sources: list[Path], report: SyncReport) -> None:
    """Merge sources into a copy of the db, then swap it in atomically, holding the write lock."""
    lock = dbmod.connect(db_path, create=True)
    tmp = _temp_name(db_path, "sync")
    try:
        _leave_wal(lock, db_path)
        lock.execute("BEGIN IMMEDIATE")  # no other writer until the new file is in place
        tmp.unlink(missing_ok=True)
        reader = dbmod.raw(db_path)
        try:
            reader.execute("VACUUM INTO ?", (str(tmp),))
        finally:
            reader.close()
        work = dbmod.connect(tmp)
        try:
            for source in sources:
                try:
                    report.merged.append(merge.merge(work, source, dry_run=report.dry_run))
                except SchemaTooNew as e:  # left in place for a newer zpp; the others still merge
                    report.skipped.append((source, str(e)))
            work.execute("PRAGMA journal_mode = DELETE")
            check = work.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise ZppError(
                    f"the merged copy failed its check ({check}); {db_path} is unchanged"
                )
        finally:
            work.close()
        if report.dry_run:
            return
        busy = open_elsewhere(db_path)
        if busy:  # they would go on writing to the replaced file, and those edits would be lost
            raise Conflict(
                f"{db_path} is open in another process (pid {busy[0]}); close it and run `zpp sync` again"
            )
        os.chmod(tmp, db_path.stat().st_mode & 0o7777)  # keep who may read the directory
        fsync_file(tmp)
        os.replace(tmp, db_path)
        fsync_dir(db_path.parent)
    finally:
        if lock.in_transaction:
            lock.execute("ROLLBACK")
        lock.close()
        tmp.unlink(missing_ok=True)
        for side in ("-journal", "-wal", "-shm"):
            tmp.with_name(tmp.name + side).unlink(missing_ok=True)
    if location.journal_mode(db_path) == "wal":  # a local db goes back to WAL
        conn = dbmod.raw(db_path)
        try:
            conn.execute("PRAGMA busy_timeout = 2000")
            conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError:
            pass
        finally:
            conn.close()


def _move_aside(source: Path) -> Path:
    target_dir = source.parent / MERGED_DIR
    target_dir.mkdir(exist_ok=True)
    target = target_dir / source.name
    n = 1
    while target.exists():
        n += 1
        target = target_dir / f"{source.stem}.{n}{source.suffix}"
    os.replace(source, target)
    return target


def _publish(db_path: Path, folder: Path) -> Path:
    target = folder / f"{clock.device_id()}.db"
    conn = dbmod.connect(db_path)
    try:
        copy_to(conn, target, "publish")
    finally:
        conn.close()
    return target
