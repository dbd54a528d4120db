"""Shared fixtures: every test gets its own db, home and device; nothing touches a real home."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from zppcli.cli import app

REPO = Path(__file__).resolve().parent.parent
TODAY = "2026-12-01"  # a Tuesday; the example directory's offsets are relative to it


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(var, str(home / var.lower()))
    monkeypatch.setenv("ZPP_DB", str(tmp_path / "zpp.db"))
    monkeypatch.setenv("ZPP_DEVICE_ID", "testdev")
    monkeypatch.setenv("ZPP_TODAY", TODAY)
    for var in ("ZPP_DEBUG", "ZPP_FORMAT", "NO_COLOR", "VISUAL", "EDITOR"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


@pytest.fixture
def db_path(isolated) -> Path:
    return Path(os.environ["ZPP_DB"])


class Run:
    """CliRunner around the real app; stdout and stderr kept apart."""

    def __init__(self):
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None, ok: bool | None = None):
        result = self.runner.invoke(
            app, [str(a) for a in args], input=input, catch_exceptions=False
        )
        if ok is True:
            assert result.exit_code == 0, (args, result.exit_code, result.stdout, result.stderr)
        return result


@pytest.fixture
def run() -> Run:
    return Run()


@pytest.fixture(scope="session")
def example_template(tmp_path_factory) -> Path:
    """The example directory loaded once (by the CLI, as a user would), copied per test."""
    path = tmp_path_factory.mktemp("example") / "zpp.db"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZPP_DB", str(path))
        mp.setenv("ZPP_DEVICE_ID", "testdev")
        mp.setenv("ZPP_TODAY", TODAY)
        mp.setenv("HOME", str(path.parent))
        mp.setenv("XDG_CONFIG_HOME", str(path.parent / "config"))
        Run()("db", "init", "--example", ok=True)
    return path


@pytest.fixture
def example_db(example_template, db_path) -> Path:
    shutil.copyfile(example_template, db_path)
    return db_path


@pytest.fixture
def conn(db_path):
    """A plain sqlite3 connection for assertions (opened after the CLI made the db)."""
    connections = []

    def open_():
        c = sqlite3.connect(db_path)
        c.row_factory = sqlite3.Row
        connections.append(c)
        return c

    yield open_
    for c in connections:
        c.close()


def zpp_subprocess(*args: str, env: dict | None = None, input: str | None = None, **kw):
    """Run `python -m zppcli` for real (start-up, exit codes, pipes)."""
    return subprocess.run(
        [sys.executable, "-m", "zppcli", *args],
        capture_output=True,
        text=True,
        input=input,
        env={**os.environ, **(env or {})},
        **kw,
    )


def snapshot(db_path: Path) -> bytes:
    """Everything the db holds, to prove a failed command changed nothing."""
    c = sqlite3.connect(db_path)
    try:
        return "\n".join(c.iterdump()).encode()
    finally:
        c.close()
