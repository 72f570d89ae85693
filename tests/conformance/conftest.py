"""Prints the conformance table at the end of the pytest session (independent of -s)."""
from __future__ import annotations

from typing import Any

_TABLES: list[str] = []


def record_table(text: str) -> None:
    _TABLES.append(text)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for text in _TABLES:
        terminalreporter.write_sep("=", "DTDL conformance")
        terminalreporter.write_line(text)
