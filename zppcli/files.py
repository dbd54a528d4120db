"""Writing files safely: a temp file in the same folder, fsync, rename.

An interrupted export, announcement or sync never leaves a half-written file in
place: the old file stays until the new one is complete on disk.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO


def file_mode(path: Path) -> int:
    """The mode a replaced file had, else what the umask gives a new file."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(folder: Path) -> None:
    """Make a rename in folder durable (a no-op where folders cannot be fsynced)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_write(path: Path | str, binary: bool = False, sync_dir: bool = True) -> Iterator[IO]:
    """Write to a temp file beside `path`, fsync, then rename it over `path`.

    sync_dir=False leaves the folder's fsync to the caller (one for a whole vdir).
    """
    path = Path(path).expanduser()
    if not path.parent.is_dir():
        from zppcli.errors import InvalidInput

        raise InvalidInput("output", str(path), "its folder does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, file_mode(path))  # mkstemp makes 0600; an export is an ordinary file
        with os.fdopen(
            fd, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8", "newline": ""})
        ) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise
    if sync_dir:
        fsync_dir(path.parent)


def write_atomic(path: Path | str, data: str | bytes) -> None:
    with atomic_write(path, binary=isinstance(data, bytes)) as f:
        f.write(data)


@contextmanager
def output_stream(path: str | None) -> Iterator[IO]:
    """An atomic file for -o PATH, else stdout as UTF-8 with line ends kept as written."""
    if path and path != "-":
        with atomic_write(Path(path)) as f:
            yield f
        return
    sys.stdout.flush()
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:
        yield sys.stdout
        return
    stream = io.TextIOWrapper(buffer, encoding="utf-8", newline="")
    try:
        yield stream
        stream.flush()
    finally:
        stream.detach()
