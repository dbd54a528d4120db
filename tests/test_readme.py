"""The README tells the truth: its `zpp --help` block is what zpp prints."""

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def help_text(run, monkeypatch) -> str:
    monkeypatch.setenv("COLUMNS", "100")
    result = run("--help", ok=True)
    return result.stdout.replace("Usage: root", "Usage: zpp").rstrip()


def test_readme_help_block_matches_the_program(run, monkeypatch):
    block = re.search(r"```console\n\$ zpp --help\n(.*?)\n```", README.read_text(), re.S)
    assert block, "the README shows `zpp --help`"
    assert block.group(1).rstrip() == help_text(run, monkeypatch), (
        "README's `zpp --help` block drifted; paste the new output in"
    )


def test_readme_starts_with_the_two_commands_ci_runs():
    text = README.read_text()
    first, second = re.findall(r"```sh\n(.*?)\n```", text, re.S)[:2]
    assert text.index(first) < text.index("## Commands")
    assert first.startswith("python3 -m venv .venv && . .venv/bin/activate && pip install . &&")
    assert "zpp db init --example && zpp search" in first
    assert second == "pip install -e '.[test]' && python -m pytest"
    ci = (README.parent / ".ci" / "run").read_text()
    assert "readme_command 0" in ci and "readme_command 1" in ci  # CI runs them as written
