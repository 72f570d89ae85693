"""Every import of every module follows the room table of docs/ARCHITECTURE.md.

The table is the one statement of which room may import which; this test reads it and the
imports (``ast``, every ``import`` and ``from ... import`` at any depth, lazy ones included) and
fails on each import that runs against the documented direction.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARCHITECTURE = ROOT / "docs" / "ARCHITECTURE.md"
_ROW = re.compile(r"^\| `(?P<room>[a-z_]+)/` \| .* \| (?P<allowed>[^|]*) \|$")


def documented_rooms() -> dict[str, set[str] | None]:
    """Room -> the rooms it may import (None: any), from the table's rows."""
    rooms: dict[str, set[str] | None] = {}
    for line in ARCHITECTURE.read_text(encoding="utf-8").splitlines():
        match = _ROW.match(line.strip())
        if match:
            allowed = match["allowed"].strip()
            rooms[match["room"]] = None if allowed == "any" else set(re.findall(r"`([a-z_]+)`", allowed))
    return rooms


def imported_rooms(path: Path, rooms: set[str]) -> set[tuple[str, int]]:
    """(room, line) of every import in ``path`` that names one of our rooms."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        found |= {(name.split(".")[0], node.lineno) for name in names if name.split(".")[0] in rooms}
    return found


def test_the_table_names_every_python_room() -> None:
    rooms = documented_rooms()
    packages = {path.parent.name for path in ROOT.glob("*/__init__.py")}
    assert packages - {"tests"} <= set(rooms), sorted(packages - set(rooms))
    assert rooms["dtdl"] == set() and rooms["gridtwin"] == set()  # the ground imports nothing of ours


def test_every_import_follows_the_documented_direction() -> None:
    rooms = documented_rooms()
    wrong = []
    for room, allowed in rooms.items():
        if allowed is None or not (ROOT / room).is_dir():
            continue
        for path in sorted((ROOT / room).rglob("*.py")):
            for target, line in sorted(imported_rooms(path, set(rooms))):
                if target != room and target not in allowed:
                    wrong.append(f"{path.relative_to(ROOT)}:{line} imports {target} (the {room} room may import "
                                 f"{', '.join(sorted(allowed)) or 'nothing of ours'})")
    assert not wrong, "\n".join(wrong)
