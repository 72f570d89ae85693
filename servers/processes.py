"""Starting, finding and stopping the server processes of a profile.

Each server runs in its own session (process group) so ``down`` can end it and
anything it spawned, and its PID is recorded in the profile's runtime.json.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


class ServiceError(RuntimeError):
    """A server did not start, did not become ready, or did not stop."""


def is_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except (FileNotFoundError, IndexError):
        return False


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def choose_port(preferred: int, configured: int | None) -> int:
    """The configured port as is; otherwise the profile's default, or any free one if busy."""
    if configured:
        return configured
    return preferred if port_is_free(preferred) else free_port()


def start(command: list[str], log_file: Path, env: dict[str, str] | None = None, cwd: Path | None = None) -> int:
    """Start a server detached from our terminal, its output appended to ``log_file``."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as output:
        process = subprocess.Popen(
            command,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            start_new_session=True,
        )
    return process.pid


def wait_until(ready: Callable[[], bool], pid: int, timeout: float, what: str, log_file: Path) -> None:
    """Poll ``ready`` until it holds; fail early if the process dies, late on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_alive(pid):
            raise ServiceError(f"{what} exited during start-up; see {log_file}:\n{_tail(log_file)}")
        if ready():
            return
        time.sleep(0.25)
    stop(pid, grace=10)
    raise ServiceError(f"{what} not ready within {timeout:.0f} s; see {log_file}:\n{_tail(log_file)}")


def stop(pid: int | None, grace: float = 30.0) -> None:
    """SIGTERM the server's process group, then SIGKILL what is left after ``grace`` seconds."""
    if not is_alive(pid):
        return
    assert pid is not None
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and is_alive(pid):
        _reap(pid)
        time.sleep(0.2)
    if is_alive(pid):
        _signal_group(pid, signal.SIGKILL)
        time.sleep(0.5)
        _reap(pid)
    if is_alive(pid):
        raise ServiceError(f"process {pid} did not stop")


def _signal_group(pid: int, signum: signal.Signals) -> None:
    try:
        os.killpg(os.getpgid(pid), signum)
    except ProcessLookupError:
        pass


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def _tail(log_file: Path, lines: int = 20) -> str:
    try:
        return "\n".join(log_file.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"
