"""Hybrid logical clocks and this device's id.

A clock is a fixed-width string "WWWWWWWWWWWWW-CCCCC-DEVICE" (wall time in ms,
counter, device id), so comparing two clocks is comparing two strings: the
larger one is the later write, ties broken by the device id.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

CLOCK_RE = re.compile(r"^(\d{13})-(\d{5})-([0-9a-z]{1,32})$")
MAX_COUNTER = 99_999


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


def format_clock(wall: int, counter: int, device: str) -> str:
    return f"{wall:013d}-{counter:05d}-{device}"


def parse_clock(clock: str) -> tuple[int, int, str]:
    match = CLOCK_RE.match(clock)
    if not match:
        raise ValueError(f"not a clock: {clock!r}")
    return int(match.group(1)), int(match.group(2)), match.group(3)


def tick(last: str | None, device: str, now_ms: int | None = None) -> str:
    """The next clock after `last` on this device; never goes backwards."""
    now_ms = wall_ms() if now_ms is None else now_ms
    if not last:
        return format_clock(now_ms, 0, device)
    last_wall, last_counter, _ = parse_clock(last)
    if now_ms > last_wall:
        return format_clock(now_ms, 0, device)
    if last_counter >= MAX_COUNTER:  # a burst of writes in one ms: borrow the next ms
        return format_clock(last_wall + 1, 0, device)
    return format_clock(last_wall, last_counter + 1, device)


def device_id_path() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("zpp", appauthor=False)) / "device-id"


def device_id() -> str:
    """This device's id: $ZPP_DEVICE_ID, else generated once and kept in the config dir."""
    env = os.environ.get("ZPP_DEVICE_ID", "").strip().lower()
    if env:
        if not re.fullmatch(r"[0-9a-z]{1,32}", env):
            from zppcli.errors import InvalidInput

            raise InvalidInput("ZPP_DEVICE_ID", env, "use 1-32 lower-case letters and digits")
        return env
    path = device_id_path()
    try:
        value = path.read_text(encoding="ascii").strip()
        if re.fullmatch(r"[0-9a-z]{1,32}", value):
            return value
    except OSError:
        pass
    import secrets

    value = secrets.token_hex(6)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(value + "\n", encoding="ascii")
    os.replace(tmp, path)
    return value


def device_name() -> str:
    import socket

    return os.environ.get("ZPP_DEVICE_NAME") or socket.gethostname()
