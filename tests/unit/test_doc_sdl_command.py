"""The SDL command docs/api.md shows runs verbatim and prints the schema (no servers needed)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_documented_sdl_command_prints_the_schema() -> None:
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    match = re.search(r"The full SDL of the shipped models is printed by\n\n```sh\n(.+?)\n```", text)
    assert match is not None, "docs/api.md lost the SDL command"
    command = shlex.split(match.group(1))
    assert command[0] == ".venv/bin/python"
    result = subprocess.run([sys.executable, *command[1:]], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "type Query {" in result.stdout and "interface ACLineSegment implements" in result.stdout
    assert "  phaseResistancePerKm: " in result.stdout  # the OpenDSS additions are in the schema
