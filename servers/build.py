"""Building the servers once per machine into the cache, keyed by version.

A build goes to a temporary folder beside its final place and is renamed into
place when complete, so an interrupted build is never taken for a finished one.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

#: Build inputs of the servers: a Maven project for Neo4j and its launcher, a Go module for InfluxDB.
SERVER_INPUTS = Path(__file__).resolve().parent / "inputs"


class BuildError(RuntimeError):
    """A server build step failed; the message carries the tool's output tail."""


def source_digest(*files: Path) -> str:
    """A short digest of the build inputs, so editing them triggers a rebuild."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def cached_build(target: Path, build: Callable[[Path], None]) -> Path:
    """Return ``target``, running ``build(tmp_dir)`` first if it is not in the cache yet."""
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=target.name + ".building-", dir=target.parent))
    try:
        build(work)
        work.rename(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def run(command: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None, what: str) -> None:
    """Run a build command, raising BuildError with the last lines of its output."""
    log.info("%s: %s", what, " ".join(command))
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-40:])
        raise BuildError(f"{what} failed (exit {result.returncode}):\n{tail}")
