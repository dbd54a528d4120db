"""The second process of a big vCard export (see exporter.write_vcards).

Composing cards is Python code, which a thread could not run beside this one
(the GIL): a big export hands half of its members to a second interpreter on
another core, which reads them from the same db file and composes their cards
into a spool file while this process does the other half.

The worker is a fresh interpreter (`python -c`), as multiprocessing's "spawn"
start method makes one (macOS and Windows cannot fork), but without
multiprocessing itself: on POSIX that also starts its resource tracker, a third
interpreter (~10 MB), and imports the parent's __main__ again. The worker gets
this process's sys.path, so it imports this same zppcli.

How they share the work: this process writes the member ids in file order to
`ids` in a folder it made (and removes), then closes the worker's stdin. The
worker takes chunks of them from the start, this process from the end; each
first claims its chunk by creating the file `chunk-<n>` (O_EXCL: only one can),
and stops at a chunk the other has: where they meet depends only on how fast
each went. The worker writes its cards to `cards` and, after each chunk, their
sizes (8 bytes each, 0 for a member no longer live) to `sizes`; the length of
`sizes` is its progress. Exit status 0 and a size for every id before this
process's first chunk: done. Anything else (it could not start, it crashed, it
was killed): the caller composes that part itself.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
import tempfile
from array import array
from collections.abc import Callable
from contextlib import suppress

BOOT = (
    "import sys; sys.path[:] = sys.argv[1].split('\\n'); "
    "from zppcli.exportworker import main; sys.exit(main(*sys.argv[2:]))"
)
WAIT = 0.05  # seconds between looks at the worker's progress once this process is done
Progress = Callable[[int], None] | None


def usable_cpus() -> int:
    """The cores this process may run on (a container or taskset may allow fewer)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on macOS and Windows
        return os.cpu_count() or 1


class Worker:
    """A running worker and its folder. Leaving the `with` block kills the worker if
    it still runs and removes the folder."""

    def __init__(self, db_path: str, version: str, chunk: int, cache_kb: int):
        self.folder = tempfile.mkdtemp(prefix="zpp-export-")
        self.seen = 0  # sizes seen: the worker's progress reported
        self.proc: subprocess.Popen | None = None
        try:
            cards, sizes = (os.path.join(self.folder, name) for name in ("cards", "sizes"))
            for path in (cards, sizes):
                open(path, "wb").close()
            # opened before the worker starts: it unlinks them (a killed export leaves
            # no spool behind on POSIX), and these handles still read them
            self.cards = open(cards, "rb", buffering=0)  # noqa: SIM115 (closed by close())
            self.sizes = open(sizes, "rb", buffering=0)  # noqa: SIM115
            debug = os.environ.get("ZPP_DEBUG") == "1"
            self.proc = subprocess.Popen(
                [
                    *(sys.executable, "-c", BOOT, "\n".join(map(str, sys.path))),
                    *(db_path, version, self.folder, str(chunk), str(cache_kb)),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=None if debug else subprocess.DEVNULL,
            )
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def send(self, ids: list[str]) -> None:
        """All the ids, in file order: the worker takes chunks of them from the start."""
        with open(os.path.join(self.folder, "ids"), "w", encoding="utf-8") as f:
            f.write("\n".join(ids))
            f.write("\n")
        with suppress(OSError):  # it has died: result() says so
            self.proc.stdin.write(b"go")
        with suppress(OSError):
            self.proc.stdin.close()

    def claim(self, number: int) -> bool:
        """Whether chunk `number` is ours (the worker has not claimed it)."""
        return claim(self.folder, number)

    def progress(self) -> int:
        """How many members the worker has done since last asked."""
        done = os.fstat(self.sizes.fileno()).st_size // 8
        new, self.seen = done - self.seen, done
        return new

    def result(self, progress: Progress, count: int) -> array | None:
        """Wait for the worker, telling progress; the sizes of the cards of the first
        `count` ids, or None when it failed."""
        while True:
            try:
                code = self.proc.wait(timeout=WAIT)
                break
            except subprocess.TimeoutExpired:
                if progress:
                    progress(self.progress())
        if progress:
            progress(self.progress())
        if code != 0:
            return None
        sizes = array("q")
        sizes.frombytes(self.sizes.readall())
        if len(sizes) != count or sum(sizes) != os.fstat(self.cards.fileno()).st_size:
            return None
        return sizes

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for name in ("cards", "sizes"):
            f = getattr(self, name, None)
            if f is not None:
                f.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def start(db_path: str, version: str, chunk: int, cache_kb: int) -> Worker | None:
    """A worker for the db at db_path, or None where none can start."""
    if not sys.executable or getattr(sys, "frozen", False):  # no `python -c` to run
        return None
    try:
        return Worker(db_path, version, chunk, cache_kb)
    except OSError:
        return None


def claim(folder: str, number: int) -> bool:
    """Claim chunk `number` for the process that calls; False if the other has it."""
    try:
        os.close(os.open(os.path.join(folder, f"chunk-{number}"), os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        return False
    return True


def main(db_path: str, version: str, folder: str, chunk: str, cache_kb: str) -> int:
    """The worker (see the module's docstring)."""
    try:
        from zppcli import db, exporter

        conn = db.connect(db_path, create=False, reading=True)
        conn.execute(f"PRAGMA cache_size = -{int(cache_kb)}")
        paths = [os.path.join(folder, name) for name in ("cards", "sizes", "ids")]
        with open(paths[0], "r+b") as cards, open(paths[1], "r+b", buffering=0) as sizes:
            for path in paths[:2]:
                with suppress(OSError):  # Windows: the caller has it open; it removes it
                    os.unlink(path)
            if sys.stdin.buffer.read() != b"go":
                return 1  # the caller stopped before it sent the ids
            spool, size = exporter.CardSpool(conn, version, cards), int(chunk)
            with open(paths[2], encoding="utf-8") as ids:
                with suppress(OSError):
                    os.unlink(paths[2])
                for number in itertools.count():
                    part = [line.rstrip("\n") for line in itertools.islice(ids, size)]
                    if not part or not claim(folder, number):
                        break
                    sizes.write(spool.add(part).tobytes())  # its progress, for the caller
        conn.close()
        return 0
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group: the caller reports it
        return 130
