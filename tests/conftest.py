"""Shared fixtures. Integration tests run against the *test* profile's real servers
(``GRIDTWIN_PROFILE=test gridtwin services up``, done by ``make test``)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("GRIDTWIN_PROFILE", "test")

from gridtwin.config import Settings  # noqa: E402  (the profile must be set first)

#: Where a run leaves what a reader of its output should see (the browser tests' screenshots): the
#: clone's test-artifacts/ (ignored by git) unless GRIDTWIN_TEST_ARTIFACTS names another folder.
ARTIFACTS = Path(os.environ.get("GRIDTWIN_TEST_ARTIFACTS") or Path(__file__).resolve().parents[1] / "test-artifacts")
SCREENSHOTS = ARTIFACTS / "screenshots"
_TAKEN: list[Path] = []


def pytest_sessionstart(session: pytest.Session) -> None:
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)  # only this run's screenshots are attached to its output


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The screenshots this run took, listed at the end of its output (CI keeps test-artifacts/)."""
    if not _TAKEN:
        return
    terminalreporter.section("screenshots")
    for path in _TAKEN:
        terminalreporter.write_line(f"{path} ({path.stat().st_size // 1024} KiB)")


def save_screenshot(page: object, test_name: str, name: str) -> Path:
    """A full-page PNG of ``page`` as ``<test>-<name>.png`` in the run's screenshots folder; the image must
    show something (more than a handful of colours: a blank or single-colour page is a failed render)."""
    from PIL import Image

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{test_name}-{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    with Image.open(path) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
    assert colours is None or len(colours) > 8, f"{path} is blank: {len(colours)} colours"
    _TAKEN.append(path)
    return path


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()
