"""Finding the build tools the servers need, and installing them where Debian can.

A missing tool ends provisioning with one message that names what to install,
rather than a build failing half-way with a compiler's error.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from dataclasses import dataclass

log = logging.getLogger(__name__)


class ToolchainError(RuntimeError):
    """A build tool is missing and could not be installed automatically."""


@dataclass(frozen=True)
class Tool:
    command: str
    purpose: str
    debian_package: str | None
    manual_hint: str


JAVA = Tool("java", "run Neo4j", "openjdk-17-jre-headless", "install a Java 17+ runtime")
JAVAC = Tool("javac", "compile the Neo4j launcher", "openjdk-17-jdk-headless", "install a Java 17+ JDK")
MAVEN = Tool("mvn", "fetch Neo4j from Maven Central", "maven", "install Apache Maven 3.8+")
GO = Tool("go", "build InfluxDB", None, "install Go 1.23+ (https://go.dev/doc/install); Debian's golang is too old")
CARGO = Tool("cargo", "build Flux's Rust library for InfluxDB", None, "install Rust with rustup (stable toolchain)")
CC = Tool("cc", "build InfluxDB's C parts (cgo)", "build-essential", "install a C compiler (gcc)")
PKG_CONFIG = Tool("pkg-config", "locate Flux's library when building InfluxDB", "pkg-config", "install pkg-config")
NPM = Tool("npm", "install GraphiQL's browser files", "npm", "install Node.js 18+ with npm")
REDIS = Tool("redis-server", "fan live events out between API replicas", "redis-server", "install Redis 7 (Debian: redis-server)")
CHROMIUM = Tool("chromium", "run the browser tests headless", "chromium", "install Chromium (Debian: chromium)")


def require(*tools: Tool) -> None:
    """Make sure every tool is on PATH, installing Debian packages when we are root."""
    missing = [tool for tool in tools if shutil.which(tool.command) is None]
    installable = [tool for tool in missing if tool.debian_package and _can_apt()]
    if installable:
        _apt_install(sorted({tool.debian_package for tool in installable if tool.debian_package}))
        missing = [tool for tool in missing if shutil.which(tool.command) is None]
    if missing:
        lines = [f"  - {tool.command}: needed to {tool.purpose}; {tool.manual_hint}" for tool in missing]
        raise ToolchainError("missing build tools:\n" + "\n".join(lines))


def _can_apt() -> bool:
    return shutil.which("apt-get") is not None and os.geteuid() == 0


def _apt_install(packages: list[str]) -> None:
    log.info("installing Debian packages: %s", " ".join(packages))
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=False, env=env, capture_output=True)
    subprocess.run(["apt-get", "install", "-y", "-q", *packages], check=True, env=env, capture_output=True)
