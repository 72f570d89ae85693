"""A missing build tool ends provisioning with one message naming what to install."""

from __future__ import annotations

import pytest

from servers import toolchain


def test_missing_tools_are_named_with_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(toolchain.shutil, "which", lambda command: None)
    monkeypatch.setattr(toolchain, "_can_apt", lambda: False)
    with pytest.raises(toolchain.ToolchainError) as error:
        toolchain.require(toolchain.GO, toolchain.CARGO, toolchain.MAVEN)
    message = str(error.value)
    assert "go: needed to build InfluxDB; install Go 1.23+" in message
    assert "cargo:" in message and "rustup" in message
    assert "mvn:" in message and "Maven" in message


def test_present_tools_pass() -> None:
    toolchain.require(toolchain.JAVA, toolchain.CC)
