"""What the whole-process benchmarks share: zpp as installed, timing a child (and the
processes it starts), a cached db."""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
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


def cached_db(name: str, members: int) -> Path:
    """Where a benchmark keeps its built db: benchmarks/.cache, one file per schema
    version (an older one would be migrated, with a backup copy, inside a timed run)."""
    schema = (Path(__file__).resolve().parent.parent / "schema.sql").read_text(encoding="utf-8")
    version = re.search(r"PRAGMA\s+user_version\s*=\s*(\d+)", schema, re.IGNORECASE).group(1)
    cache = Path(__file__).resolve().parent / ".cache"
    cache.mkdir(exist_ok=True)
    return cache / f"{name}-{members}-v{version}.db"


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


@dataclass
class TreeUsage:
    seconds: float  # wall
    cpu: float  # user + sys of the child and every descendant it waited for
    rss_sum: float  # MB: the peak RSS of each process of the tree, summed
    rss_max: float  # MB: the largest single peak (what ru_maxrss of wait4 says)
    processes: int  # how many processes the tree had (seen)


class _TreeSampler(threading.Thread):
    """Keeps the last VmHWM (a process's own peak RSS) seen of a process and of every
    descendant. The sum of those peaks bounds the peak of the sum from above (the
    processes need not peak at once, and shared pages count in each).

    Linux only (/proc). Every READ seconds it looks for descendants, through each
    known process's /proc/PID/task/TID/children, and reads their peaks (a process's
    last growth before it exits is otherwise lost). Without those files it scans
    all of /proc, every SCAN seconds. Its time is taken from the cores being
    measured: 0.8 s of CPU in a 13 s import when it read every 5 ms and scanned
    /proc every 50 ms, and slowed the import by as much again; now ~0.05 s. A
    process that lives less than READ (or SCAN) may be missed."""

    SCAN, READ = 0.1, 0.1

    def __init__(self, root: int):
        super().__init__(daemon=True)
        self.root, self.peaks, self.done = root, {root: 0}, threading.Event()

    def run(self) -> None:
        next_scan = 0.0
        while not self.done.is_set():
            if not self._children() and time.monotonic() >= next_scan:
                self._scan()
                next_scan = time.monotonic() + self.SCAN
            for pid in list(self.peaks):
                self.peaks[pid] = max(self.peaks[pid], _vm_hwm_kb(pid))
            self.done.wait(self.READ)

    def _children(self) -> bool:
        """Add the children of every known process; False if /proc has no children files."""
        try:
            tasks = os.listdir(f"/proc/{self.root}/task")
            if not os.path.exists(f"/proc/{self.root}/task/{tasks[0]}/children"):
                return False
        except (OSError, IndexError):
            return True  # the root is gone: nothing more to find
        for pid in list(self.peaks):
            try:
                for tid in os.listdir(f"/proc/{pid}/task"):
                    with open(f"/proc/{pid}/task/{tid}/children", "rb") as f:
                        for child in f.read().split():
                            self.peaks.setdefault(int(child), 0)
            except OSError:
                continue  # gone
        return True

    def _scan(self) -> None:
        parents = {}
        for name in os.listdir("/proc"):
            if name.isdigit():
                try:
                    with open(f"/proc/{name}/stat", "rb") as f:
                        stat = f.read()
                except OSError:
                    continue
                # pid (comm) state ppid ...; comm may hold spaces and parentheses
                parents[int(name)] = int(stat[stat.rindex(b")") + 2 :].split()[1])
        tree, grown = {self.root}, True
        while grown:
            more = {pid for pid, ppid in parents.items() if ppid in tree} - tree
            tree |= more
            grown = bool(more)
        for pid in tree:
            self.peaks.setdefault(pid, 0)


def _vm_hwm_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0  # gone (or a zombie: its memory is released)


def run_tree(cmd: list[str], env: dict, stdout=subprocess.DEVNULL) -> TreeUsage:
    """Run cmd to its end; wall and CPU seconds and peak RSS over it and the processes
    it starts (a worker process counts: a budget is for the whole command).

    Exits this script with the child's stderr when it fails."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=stdout, stderr=subprocess.PIPE)
    sampler = None
    if os.path.isdir("/proc"):
        sampler = _TreeSampler(proc.pid)
        sampler.start()
    with proc.stderr:
        stderr = proc.stderr.read()  # to its end, so the child never waits on a full pipe
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(cmd)} failed: {stderr.decode(errors='replace')}")
    rss_max = usage.ru_maxrss / 1024
    if not sampler:
        return TreeUsage(seconds, usage.ru_utime + usage.ru_stime, rss_max, rss_max, 1)
    sampler.done.set()
    sampler.join()
    peaks = [kb / 1024 for kb in sampler.peaks.values() if kb]
    # wait4's ru_maxrss is the largest peak of any of them, read after the end: if it
    # exceeds every sampled peak, one grew after its last sample; count the excess
    late = max(0.0, rss_max - max(peaks, default=0.0))
    return TreeUsage(
        seconds, usage.ru_utime + usage.ru_stime, sum(peaks) + late, rss_max, len(peaks)
    )
