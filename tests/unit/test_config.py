"""Profiles keep their state apart; explicit settings beat what ``up`` recorded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gridtwin.config import Settings


def test_profiles_have_separate_state_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert Settings(profile="demo").state_path == tmp_path / "gridtwin" / "demo"
    assert Settings(profile="test").state_path == tmp_path / "gridtwin" / "test"
    assert Settings(profile="demo").default_port("neo4j_bolt") != Settings(profile="test").default_port("neo4j_bolt")


def test_recorded_runtime_is_used_unless_overridden(tmp_path: Path) -> None:
    (tmp_path / "runtime.json").write_text(json.dumps({
        "neo4j": {"uri": "bolt://127.0.0.1:1234", "password": "recorded"},
        "influxdb": {"url": "http://127.0.0.1:5678", "token": "recorded-token"},
    }))
    recorded = Settings(state_dir=tmp_path)
    assert recorded.resolved_neo4j() == ("bolt://127.0.0.1:1234", "neo4j", "recorded")
    assert recorded.resolved_influxdb() == ("http://127.0.0.1:5678", "recorded-token")
    explicit = Settings(state_dir=tmp_path, neo4j_uri="bolt://db:7687", influxdb_token="env-token")
    assert explicit.resolved_neo4j()[0] == "bolt://db:7687"
    assert explicit.resolved_influxdb()[1] == "env-token"


def test_environment_variables_are_prefixed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDTWIN_API_PORT", "8123")
    monkeypatch.setenv("API_PORT", "9999")
    assert Settings().api_port == 8123
