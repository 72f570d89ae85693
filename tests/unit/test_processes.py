"""Server processes: port choice and a ``stop`` that leaves no process behind."""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path

from servers import processes


def test_busy_default_port_is_replaced_by_a_free_one() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        busy = holder.getsockname()[1]
        chosen = processes.choose_port(busy, configured=None)
        assert chosen != busy and processes.port_is_free(chosen)
        assert processes.choose_port(busy, configured=4242) == 4242


def test_stop_ends_the_whole_process_group(tmp_path: Path) -> None:
    child_pid_file = tmp_path / "child.pid"
    script = (
        "import subprocess, sys, time;"
        f"child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']);"
        f"open({str(child_pid_file)!r}, 'w').write(str(child.pid));"
        "time.sleep(60)"
    )
    pid = processes.start([sys.executable, "-c", script], tmp_path / "log")
    deadline = time.monotonic() + 10
    while not child_pid_file.exists() or not child_pid_file.read_text():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    child_pid = int(child_pid_file.read_text())
    processes.stop(pid, grace=5)
    time.sleep(0.3)
    assert not processes.is_alive(pid)
    assert not processes.is_alive(child_pid)
