"""What the whole-process benchmarks share: zpp as installed, timing a child, a cached db."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def compile_bytecode() -> None:
    """pip compiles a package to bytecode when it installs it; an editable install
    run under PYTHONDONTWRITEBYTECODE (as on our CI machines) has none and would
    recompile zppcli on every call. Compile it, so zpp is timed as installed."""
    import compileall

    import zppcli

    compileall.compile_dir(os.path.dirname(zppcli.__file__), quiet=1)


def zpp_command() -> list[str]:
    """The installed `zpp` script beside this Python, else `python -m zppcli`."""
    zpp = shutil.which("zpp", path=str(Path(sys.executable).parent)) or shutil.which("zpp")
    return [zpp] if zpp else [sys.executable, "-m", "zppcli"]


def measure(cmd: list[str], env: dict, runs: int) -> tuple[float, float, float]:
    """Median wall ms, median CPU ms (user + sys) and max peak RSS (MB) of a whole process.

    CPU time is shown beside wall time because a busy machine stretches the wall
    clock of every run; the targets are on wall time.
    """
    walls, cpus, rss = [], [], 0.0
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        walls.append((time.perf_counter() - start) * 1000)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"failed: {' '.join(cmd)}")
        cpus.append((usage.ru_utime + usage.ru_stime) * 1000)
        rss = max(rss, usage.ru_maxrss / 1024)
    return statistics.median(walls), statistics.median(cpus), rss


def ensure_built(script: str, path: Path, members: int) -> None:
    """Build the cached db by running `script --build-only` in a child process: a fork
    of a big parent would inflate the measured children's RSS."""
    if path.exists():
        return
    start = time.perf_counter()
    subprocess.run([sys.executable, script, "--members", str(members), "--build-only"], check=True)
    print(
        f"built {members} members in {time.perf_counter() - start:.1f} s -> {path}", file=sys.stderr
    )
