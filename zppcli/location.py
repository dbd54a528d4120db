"""Where a db lives decides its journal mode: WAL locally, the rollback journal when shared.

SQLite's WAL needs shared memory between all writers, so it "does not work
over a network filesystem", and a sync tool that copies the db apart from its
-wal file loses transactions. A db on a network mount (NFS, SMB/CIFS, FUSE,
9p) or inside a sync folder (Syncthing, Nextcloud, ownCloud, Dropbox,
Resilio) therefore uses the rollback journal, and the user is told once.
Light on purpose: db.connect calls this for every command that writes.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

NETWORK_FS = {"nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "afs", "ceph", "glusterfs", "davfs"}
# A file or folder that a sync tool keeps at the root of what it syncs.
MARKERS = {
    ".stfolder": "Syncthing",
    ".sync": "Resilio Sync",
    ".dropbox": "Dropbox",
    ".dropbox.cache": "Dropbox",
    ".nextcloudsync.log": "Nextcloud",
    ".owncloudsync.log": "ownCloud",
    ".csync_journal.db": "ownCloud",
}
JOURNAL_PREFIXES = {".sync_": "Nextcloud", "._sync_": "ownCloud"}  # .sync_0a1b2c.db
MAX_LEVELS = 12
WARNED_KEY = "shared_location_warned"


def _unescape(field: str) -> str:
    return (
        field.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
    )


def mount_fstype(path: Path, mountinfo: str = "/proc/self/mountinfo") -> str | None:
    """The file system type of the mount holding path (Linux), or None if unknown."""
    try:
        with open(mountinfo, encoding="utf-8", errors="replace") as f:
            lines = f.readlines()
    except OSError:
        return None
    target = str(path.resolve())
    best, fstype = -1, None
    for line in lines:
        fields = line.split()
        if "-" not in fields:
            continue
        mount_point = _unescape(fields[4])
        sep = fields.index("-")
        inside = target == mount_point or target.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) > best:
            best, fstype = len(mount_point), fields[sep + 1]
    return fstype


def sync_marker(folder: Path) -> str | None:
    """The sync tool whose marker sits in folder or a parent, e.g. 'Syncthing (/home/a/Sync)'."""
    here = folder.resolve()
    for _ in range(MAX_LEVELS):
        for name, tool in MARKERS.items():
            if os.path.lexists(here / name):
                return f"{tool} ({here})"
        try:
            with os.scandir(here) as entries:
                for entry in entries:
                    for prefix, tool in JOURNAL_PREFIXES.items():
                        if entry.name.startswith(prefix) and entry.name.endswith(".db"):
                            return f"{tool} ({here})"
        except OSError:
            pass
        if here.parent == here:
            break
        here = here.parent
    return None


def shared_reason(path: str | os.PathLike) -> str | None:
    """Why the db at path counts as shared, or None for a plain local disk."""
    path = Path(path)
    folder = path.parent if path.parent.exists() else Path.cwd()
    fstype = mount_fstype(folder)
    if fstype and (fstype in NETWORK_FS or fstype.startswith("fuse")):
        return f"a {fstype} network mount"
    marker = sync_marker(folder)
    return f"a sync folder of {marker}" if marker else None


def journal_mode(path: str | os.PathLike) -> str:
    """The journal mode for a db at path: 'delete' (rollback journal) when shared, else 'wal'."""
    return "delete" if shared_reason(path) else "wal"


def advice(reason: str) -> str:
    return (
        f"zpp: this db lives in {reason}; zpp uses the rollback journal there (never WAL) "
        "and keeps transactions short. Run `zpp sync` after the sync tool has run to absorb "
        "conflict copies, or give each device its own file with `zpp sync --folder DIR`."
    )


def check(conn: sqlite3.Connection, path: str | os.PathLike) -> list[str]:
    """On opening a db for writing: leave WAL if the db is shared; warn once. Returns the notes."""
    reason = shared_reason(path)
    if reason is None:
        return []
    notes = []
    if conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
        try:
            conn.execute("PRAGMA journal_mode = DELETE")
        except sqlite3.OperationalError:  # another process has it open: try next time
            notes.append(
                f"zpp: could not leave WAL mode on {path} (in use); close other zpp processes"
            )
    try:
        warned = conn.execute("SELECT value FROM meta WHERE key = ?", (WARNED_KEY,)).fetchone()
        if warned is None:
            notes.append(advice(reason))
            # meta is this file's local state, not a synced table
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (WARNED_KEY, reason)
            )
    except sqlite3.Error:
        pass
    return notes


def stray_sidecars(path: Path) -> list[Path]:
    """-wal / -journal files beside a shared db: possibly copied in from another device."""
    found = []
    for suffix in ("-wal", "-journal"):
        side = path.with_name(path.name + suffix)
        try:
            if side.stat().st_size > 0:
                found.append(side)
        except OSError:
            pass
    return found


def stray_note(side: Path) -> str:
    return (
        f"zpp: found {side.name} beside a shared db. If zpp runs on no other device right now, "
        f"this file may be a copy the sync tool brought from another device: do not delete it; "
        f"move it out of the folder (keep it), then run `zpp db check`. If zpp crashed here, "
        f"leave it: SQLite rolls it back on the next open."
    )


def guard(path: str | os.PathLike) -> None:
    """Refuse to open a shared rollback-journal db with a -wal file beside it.

    SQLite opens any -wal file it finds beside a db, whatever the db's mode. In
    a sync folder such a file may be another device's, copied apart from its
    db: applying it would corrupt this one. One stat when there is none.
    """
    path = Path(path)
    side = path.with_name(path.name + "-wal")
    try:
        if side.stat().st_size == 0:
            return
        with open(path, "rb") as f:
            header = f.read(20)
    except OSError:
        return
    if len(header) == 20 and header[18] == 1 and shared_reason(path):
        from zppcli.errors import ZppError

        raise ZppError(stray_note(side) + f" zpp did not open {path.name}, so nothing was applied.")
