"""GraphQL API throughput and latency against the real Neo4j, one API process.

Run with the test profile's servers up:

    GRIDTWIN_PROFILE=test .venv/bin/gridtwin services up
    GRIDTWIN_PROFILE=test .venv/bin/python bench/api_bench.py

It starts ``gridtwin serve`` (uvicorn; ``--workers N`` processes) on a free port, seeds 100
substations each feeding a load, and drives the API with ``hey`` (installed
into ~/.cache/gridtwin/bin from the Go module proxy if missing):

(a) ``twin(id)`` with 5 properties: closed loop, 32 connections -> max requests/s;
    then an open loop at 500 requests/s -> p50/p95/p99 (hey, in bursts; and ``vegeta``, paced, over
    100 different twins);
(b) 100 twins with one relationship hop (``twins(first: 100) { feedsTo { id } }``);
(c) ``downstream`` from the root of a radial feeder of 10,000 twins.
Seeded data is deleted at the end.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path


from apiserver import login, start_api
from gridtwin.config import Settings
from servers.processes import stop
from graph import db as graph_db
from graph.bulk import RelationshipRow, TwinRow, bulk_create_relationships, bulk_create_twins, bulk_delete_twins
from graph.models_store import ensure_builtin_models

HEY_MODULE = "github.com/rakyll/hey@v0.1.5"
VEGETA_MODULE = "github.com/tsenart/vegeta/v12@v12.13.0"


def twin_by_id_query(tag: str, number: int) -> str:
    """``twin(id)`` of one of the seed's substations with 5 properties (every twin-by-id bench's query)."""
    return (f'{{ twin(id: "bench-{tag}-sub-{number}") {{ id ... on Substation {{ name status bayCount '
            'highestVoltage staffed } } }')


def hey_binary(settings: Settings) -> str:
    return go_tool(settings, "hey", HEY_MODULE)


def go_tool(settings: Settings, name: str, module: str) -> str:
    """A load generator on PATH, or installed once into ~/.cache/gridtwin/bin from the Go module proxy."""
    found = shutil.which(name) or str(settings.cache_dir / "bin" / name)
    if not Path(found).exists():
        subprocess.run(["go", "install", module], check=True,
                       env={**os.environ, "GOBIN": str(settings.cache_dir / "bin")})
    return found


def vegeta(binary: str, url: str, token: str, queries: list[str], seconds: int, *, connections: int = 0,
           rate: int = 0) -> dict[str, float]:
    """``vegeta attack`` cycling through ``queries`` (one request body each): at most ``connections`` in
    flight as fast as they answer (``rate`` 0), or an open loop of ``rate`` requests/s spread evenly
    (vegeta paces each request, where hey's workers tick together)."""
    headers = {"Content-Type": ["application/json"], "Authorization": [f"Bearer {token}"]}
    targets = "".join(json.dumps({"method": "POST", "url": url + "/graphql", "header": headers,
                                  "body": base64.b64encode(json.dumps({"query": q}).encode()).decode()}) + "\n"
                      for q in queries)
    pacing = ["-rate=0", f"-workers={connections}", f"-max-workers={connections}"] if rate == 0 \
        else [f"-rate={rate}/s", "-workers=32"]
    attack = subprocess.run([binary, "attack", "-format=json", f"-duration={seconds}s", "-keepalive=true", *pacing],
                            input=targets.encode(), check=True, capture_output=True).stdout
    report = json.loads(subprocess.run([binary, "report", "-type=json"], input=attack, check=True,
                                       capture_output=True).stdout)
    latencies = report["latencies"]
    return {"rps": round(report["throughput"], 1), "p50_ms": round(latencies["50th"] / 1e6, 2),
            "p95_ms": round(latencies["95th"] / 1e6, 2), "p99_ms": round(latencies["99th"] / 1e6, 2),
            "non_200": float(sum(n for code, n in report["status_codes"].items() if code != "200"))}


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def neo4j_pid(settings: Settings) -> int | None:
    """The profile's Neo4j JVM (its command line names the profile's state folder)."""
    marker = str(settings.state_path / "neo4j")
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                    return int(entry.name)
            except OSError:
                continue
    return None


#: Processes whose CPU each measurement reports (filled in by ``main``).
WATCHED: dict[str, int] = {}


def hey(binary: str, url: str, token: str, query: str, *args: str) -> dict[str, float]:
    before = {name: cpu_seconds(pid) for name, pid in WATCHED.items()}
    children = os.times()
    started = time.perf_counter()
    output = subprocess.run(
        [binary, *args, "-m", "POST", "-T", "application/json", "-H", f"Authorization: Bearer {token}",
         "-d", json.dumps({"query": query}), url + "/graphql"],
        check=True, capture_output=True, text=True).stdout
    wall = time.perf_counter() - started
    after = os.times()
    numbers = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))}  # type: ignore[union-attr]
    for percentile in ("50", "95", "99"):
        match = re.search(rf"{percentile}%% in ([\d.]+) secs", output)
        numbers[f"p{percentile}_ms"] = float(match.group(1)) * 1000 if match else float("nan")
    statuses = re.findall(r"\[(\d+)\]\s+(\d+) responses", output)
    numbers["non_200"] = float(sum(int(count) for status, count in statuses if status != "200"))
    # CPU use of each process over the run, in cores (2.0 = both cores of the bench machine)
    numbers["cpu_hey"] = round((after.children_user + after.children_system - children.children_user
                                - children.children_system) / wall, 2)
    for name, pid in WATCHED.items():
        numbers[f"cpu_{name}"] = round((cpu_seconds(pid) - before[name]) / wall, 2)
    return numbers


def seed(settings: Settings, tag: str) -> list[str]:
    with graph_db.open_driver(settings) as driver:
        models = ensure_builtin_models(driver)
        twins = [TwinRow(f"bench-{tag}-sub-{i}", "dtmi:gridtwin:Substation;1",
                         {"name": f"bench-{tag}-{i:03d}", "status": "inService", "bayCount": i,
                          "highestVoltage": 110.0, "staffed": False}) for i in range(100)]
        loads = [TwinRow(f"bench-{tag}-load-{i}", "dtmi:gridtwin:Load;1", {"name": f"load {i}"}) for i in range(100)]
        feeder = [TwinRow(f"bench-{tag}-feeder-{i}", "dtmi:gridtwin:Line;1", {"name": f"section {i}"})
                  for i in range(10_000)]
        links = [RelationshipRow(f"bench-{tag}-sub-{i}", "feedsTo", f"bench-{tag}-load-{i}") for i in range(100)]
        links.append(RelationshipRow(f"bench-{tag}-sub-0", "feedsTo", f"bench-{tag}-feeder-0"))
        links += [RelationshipRow(f"bench-{tag}-feeder-{(i - 1) // 3}", "feedsTo", f"bench-{tag}-feeder-{i}")
                  for i in range(1, 10_000)]
        bulk_create_twins(driver, models, twins + loads + feeder)
        bulk_create_relationships(driver, models, links)
    return [t.id for t in twins + loads + feeder]


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=1, help="gridtwin serve --workers N (live events over Redis)")
    parser.add_argument("--parts", default="abc", help="which parts to run: a (twin), b (page + hop), c (downstream)")
    args = parser.parse_args()
    settings = Settings()
    binary = hey_binary(settings)
    tag = uuid.uuid4().hex[:6]
    ids = seed(settings, tag)
    process, url = start_api(settings, ["-m", "cli", "serve", "--workers", str(args.workers)])
    WATCHED["api"] = process.pid
    found = neo4j_pid(settings)
    if found is not None:
        WATCHED["neo4j"] = found
    try:
        token = login(url)
        twin_query = twin_by_id_query(tag, 7)
        hey(binary, url, token, twin_query, "-n", "500", "-c", "8")  # warm-up
        results: dict[str, object] = {"workers": args.workers}
        if "a" in args.parts:
            results["a_twin_closed_loop_c32"] = hey(binary, url, token, twin_query, "-z", "15s", "-c", "32")
            # hey's workers tick together: 25 x 20/s arrives as bursts of 25 every 50 ms, 5 x 100/s as
            # bursts of 5 every 10 ms (nearer a steady 500/s); both are printed
            results["a_twin_open_loop_500rps"] = hey(binary, url, token, twin_query, "-z", "15s", "-c", "25", "-q", "20")
            results["a_twin_open_loop_500rps_bursts_of_5"] = hey(binary, url, token, twin_query, "-z", "15s",
                                                                 "-c", "5", "-q", "100")
            # vegeta paces each request (a steady 500/s), cycling through 100 different twins, after a
            # 2 s paced warm-up (every text's first request compiles its plan; vegeta opens its connections)
            many = [twin_by_id_query(tag, number) for number in range(100)]
            pacer = go_tool(settings, "vegeta", VEGETA_MODULE)
            vegeta(pacer, url, token, many, 2, rate=500)
            results["a_twin_open_loop_500rps_paced_100_ids"] = vegeta(pacer, url, token, many, 15, rate=500)
        if "b" in args.parts:
            results["b_100_twins_one_hop"] = hey(binary, url, token,
                                                 f'{{ twins(model: "Substation", first: 100, where: [{{property: '
                                                 f'"name", op: startsWith, value: "bench-{tag}-"}}]) {{ totalCount '
                                                 'edges { node { id ... on GridNode { feedsTo { id } } } } } }',
                                                 "-z", "15s", "-c", "8")
        if "c" in args.parts:
            results["c_downstream_10k"] = hey(binary, url, token,
                                              f'{{ downstream(id: "bench-{tag}-feeder-0", maxDepth: 100) '
                                              '{ depth twin { id } } }', "-n", "200", "-c", "1")
    finally:
        stop(process.pid, grace=10)
        with graph_db.open_driver(settings) as driver:
            bulk_delete_twins(driver, ids)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
