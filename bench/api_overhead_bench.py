"""CPU time per ``twin(id)`` request of this tree against a baseline commit, side by side in one run.

Each version runs the in-process app (Starlette TestClient) against the test profile's servers in its own
subprocess, alternately, so both see the same machine load; the baseline is a git worktree of ``--baseline``
kept in ``~/.cache/gridtwin/worktrees``. CPU time (``process_time``) per request is less sensitive to a
shared machine than wall time. Prints each run and the ratio this tree / baseline.

    GRIDTWIN_PROFILE=test .venv/bin/gridtwin services up
    GRIDTWIN_PROFILE=test .venv/bin/python bench/api_overhead_bench.py --baseline e055c9e --rounds 2
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUERY = {"query": '{ twin(id: "bench-overhead-none") { id __typename } }'}


def _token(settings: object) -> str:
    """A token for the first admin, in the format of the code on sys.path (the baseline's carried a role)."""
    import api.auth as auth

    secret = (settings.state_path / "jwt-secret").read_text().strip()  # type: ignore[attr-defined]
    if list(inspect.signature(auth.issue_token).parameters)[0] == "principal":
        return auth.issue_token(auth.Principal("user:admin", "admin", auth.Role.admin), secret, 3600)  # type: ignore[call-arg,arg-type]
    from graph import db
    from graph.accounts import account_state

    driver = db.open_driver(settings)  # type: ignore[arg-type]
    state = account_state(driver, "user:admin")
    driver.close()
    return auth.issue_token("user:admin", "admin", state.session_epoch if state else 0, secret, 3600)


def measure(requests: int) -> dict[str, float]:
    """One version's cost: run in a subprocess whose sys.path starts with that version's tree."""
    from starlette.testclient import TestClient

    from api.app import create_app
    from gridtwin.config import Settings

    settings = Settings()
    headers = {"Authorization": f"Bearer {_token(settings)}"}
    with TestClient(create_app(settings)) as client:
        for _ in range(200):
            assert client.post("/graphql", json=QUERY, headers=headers).status_code == 200
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(requests):
            client.post("/graphql", json=QUERY, headers=headers)
        return {"cpu_us": (time.process_time() - cpu) / requests * 1e6,
                "wall_us": (time.perf_counter() - wall) / requests * 1e6}


def _worktree(revision: str) -> Path:
    folder = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "gridtwin" / "worktrees" / revision
    if not folder.exists():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(folder), revision], check=True,
                       capture_output=True)
    return folder


def _run(tree: Path, requests: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--measure", str(requests)], env=env,
                         cwd="/tmp", check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline", default="HEAD")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--requests", type=int, default=1500)
    parser.add_argument("--measure", type=int)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return
    trees = {"baseline": _worktree(args.baseline), "this tree": ROOT}
    cpu: dict[str, list[float]] = {name: [] for name in trees}
    for _ in range(args.rounds):
        for name, tree in trees.items():
            result = _run(tree, args.requests)
            cpu[name].append(result["cpu_us"])
            print(f"{name:<10} {result['cpu_us']:8.0f} µs CPU, {result['wall_us']:8.0f} µs wall per request")
    ratio = statistics.median(cpu["this tree"]) / statistics.median(cpu["baseline"])
    print(f"CPU per request, this tree / baseline {args.baseline}: {ratio:.2f}")


if __name__ == "__main__":
    main()
