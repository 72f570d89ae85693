"""The API's telemetry write mode is a setting that reaches the writer (no servers: nothing is written)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pydantic import ValidationError

from gridtwin.config import Settings
from timeseries.ingest import TelemetryIngest


class NoTwins:
    async def describe(self, twin_ids: object) -> dict[str, object]:
        return {}


@pytest.mark.parametrize("mode", ["direct", "spool_first"])
def test_the_setting_chooses_the_writers_mode(tmp_path: Path, mode: str) -> None:
    settings = Settings(state_dir=tmp_path, telemetry_write_mode=mode)
    ingest = TelemetryIngest.from_settings(settings, NoTwins(), downsample=False)
    try:
        assert ingest.writer.mode == mode
    finally:
        asyncio.run(ingest.writer.close())


def test_the_environment_sets_it_and_a_typo_is_refused_by_name(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDTWIN_TELEMETRY_WRITE_MODE", "spool_first")
    assert Settings(state_dir=tmp_path).telemetry_write_mode == "spool_first"
    monkeypatch.setenv("GRIDTWIN_TELEMETRY_WRITE_MODE", "spool-first")
    with pytest.raises(ValidationError, match="telemetry_write_mode"):
        Settings(state_dir=tmp_path)


def test_an_explicit_writer_option_wins_over_the_setting(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, telemetry_write_mode="spool_first")
    ingest = TelemetryIngest.from_settings(settings, NoTwins(), downsample=False, mode="direct")
    try:
        assert ingest.writer.mode == "direct"
    finally:
        asyncio.run(ingest.writer.close())
