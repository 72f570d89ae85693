"""``gridtwin services status`` sees the profile's running servers."""

from __future__ import annotations

from typer.testing import CliRunner

from cli.main import app


def test_status_lists_versions_ports_and_pids() -> None:
    result = CliRunner().invoke(app, ["services", "status"])
    assert result.exit_code == 0, result.output
    assert "5.26." in result.output and "2.7.12" in result.output and "Redis 7." in result.output
    assert "bolt://127.0.0.1:" in result.output
