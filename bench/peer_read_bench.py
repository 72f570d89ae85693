"""GridTwin's read path against the Neo4j GraphQL Library, side by side on the same Neo4j and data (issue 15).

Run with the test profile's servers up:

    GRIDTWIN_PROFILE=test .venv/bin/gridtwin services up
    GRIDTWIN_PROFILE=test .venv/bin/python bench/peer_read_bench.py

The peer, ``bench/peer/server.mjs`` (@neo4j/graphql 7 under Apollo Server 4, no authentication), is
installed from npm into ``~/.cache/gridtwin/peer`` on first use.  Data: bench/api_bench.py's seed
(100 substations each feeding a load; a ternary feeder of 10,000 lines).  Six shapes, each the
same answer on both sides, driven by ``hey`` at 32 connections (8 for the others), 8 s per
run, the two servers interleaved (who goes first alternates), five rounds (``--rounds``,
``--seconds``, ``--shapes``); printed: requests/s and p50 per run, the medians, their ratio
GridTwin / peer and the median of the rounds' own ratios (the issue's goals: at least 1.5, 1.5 and 1.0).

- ``twin_by_id``: one substation by id with 5 properties (GridTwin checks a JWT; the peer checks none);
- ``twin_by_id_100_ids``: the same for 100 substations in turn (``vegeta``, which sends a different body
  per request, at 32 in flight): concurrent reads of different twins, not one twin read again;
- ``page_with_hop``: 100 substations with their ``feedsTo`` ids;
- ``lines_with_hop``: 100 feeder lines, ordered by name, with their ``feedsTo`` ids (300: the issue's
  wider list view with a related column);
- ``lines_with_two_hops``: the same lines with their ``feedsTo`` and those lines' ``feedsTo`` (300 + 900 ids:
  the issue's measurement had 896 ids one hop away on a wider feeder);
- ``downstream_5``: the lines up to 5 hops below the feeder's root (364 twins): GridTwin's
  ``downstream``, the peer's ``@cypher`` field (its faster variant in the issue's measurement).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import uuid
from pathlib import Path

import httpx

from api_bench import VEGETA_MODULE, go_tool, hey, hey_binary, seed, twin_by_id_query, vegeta
from apiserver import login, start_api, wait_until_ready
from gridtwin.config import Settings
from graph import db as graph_db
from graph.bulk import bulk_delete_twins
from servers.processes import free_port, stop

PEER_PACKAGES = ("@neo4j/graphql@7.6.3", "@apollo/server@4.13.0", "graphql@16", "neo4j-driver@5")
ROUNDS, SECONDS = 5, 8


def peer_folder(settings: Settings) -> Path:
    """The peer's npm packages in the cache (installed once) and its server script beside them."""
    folder = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "gridtwin" / "peer"
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "node_modules" / "@neo4j" / "graphql").is_dir():
        if not (folder / "package.json").exists():
            (folder / "package.json").write_text('{"name": "gridtwin-peer", "private": true, "type": "module"}\n')
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", *PEER_PACKAGES], cwd=folder, check=True)
    shutil.copy(Path(__file__).parent / "peer" / "server.mjs", folder / "server.mjs")
    return folder


def start_peer(settings: Settings) -> tuple[subprocess.Popen[bytes], str]:
    folder = peer_folder(settings)
    uri, user, password = settings.resolved_neo4j()
    port = free_port()
    env = {**os.environ, "NEO4J_URI": uri, "NEO4J_USER": user, "NEO4J_PASSWORD": password, "PORT": str(port)}
    log = open(settings.state_path / f"bench-peer-{port}.log", "wb")  # noqa: SIM115 - the child keeps it
    process = subprocess.Popen(["node", "server.mjs"], cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    wait_until_ready(process, lambda: httpx.post(url + "/graphql", json={"query": "{ __typename }"}, timeout=1),
                     "the peer", log.name)
    return process, url


def _twin_by_id(tag: str, number: int) -> tuple[str, str]:
    return (twin_by_id_query(tag, number),
            f'{{ substations(where: {{id: {{eq: "bench-{tag}-sub-{number}"}}}}) {{ id name status bayCount '
            'highestVoltage staffed } }')


def varied_shapes(tag: str) -> dict[str, tuple[list[str], list[str], int]]:
    """Shapes whose requests differ (driven by vegeta, cycling through them): GridTwin's queries, the peer's, connections."""
    ours, peers = zip(*(_twin_by_id(tag, number) for number in range(100)))
    return {"twin_by_id_100_ids": (list(ours), list(peers), 32)}


def shapes(tag: str) -> dict[str, tuple[str, str, str]]:
    """Per shape: GridTwin's query, the peer's query, hey's connections."""
    return {
        "twin_by_id": (*_twin_by_id(tag, 7), "32"),
        "page_with_hop": (
            f'{{ twins(model: "Substation", first: 100, where: [{{property: "name", op: startsWith, '
            f'value: "bench-{tag}-"}}]) {{ edges {{ node {{ id ... on GridNode {{ feedsTo {{ id }} }} }} }} }} }}',
            f'{{ substations(where: {{name: {{startsWith: "bench-{tag}-"}}}}, limit: 100, sort: [{{id: ASC}}]) '
            '{ id feedsTo { id } } }',
            "8"),
        "lines_with_hop": (
            '{ twins(model: "Line", first: 100, where: [{property: "name", op: startsWith, value: "section 1"}], '
            'orderBy: [{property: "name"}]) { edges { node { id ... on GridNode { feedsTo { id } } } } } }',
            '{ lines(where: {name: {startsWith: "section 1"}}, limit: 100, sort: [{name: ASC}]) { id feedsTo { id } } }',
            "8"),
        "lines_with_two_hops": (
            '{ twins(model: "Line", first: 100, where: [{property: "name", op: startsWith, value: "section 1"}], '
            'orderBy: [{property: "name"}]) { edges { node { id ... on GridNode { feedsTo { id ... on GridNode '
            '{ feedsTo { id } } } } } } } }',
            '{ lines(where: {name: {startsWith: "section 1"}}, limit: 100, sort: [{name: ASC}]) '
            '{ id feedsTo { id feedsTo { id } } } }',
            "8"),
        "downstream_5": (
            f'{{ downstream(id: "bench-{tag}-feeder-0", maxDepth: 5) {{ twin {{ id }} }} }}',
            f'{{ lines(where: {{id: {{eq: "bench-{tag}-feeder-0"}}}}) {{ downstream {{ id }} }} }}',
            "8"),
    }


def same_answers(ours: dict, peer: dict, shape: str) -> None:
    """Both sides must return the same twins, or the comparison means nothing."""
    if shape.startswith("twin_by_id"):
        a, b = ours["twin"], peer["substations"][0]
        assert {k: a[k] for k in b} == b, (a, b)
    elif shape == "page_with_hop":
        a = {e["node"]["id"]: sorted(t["id"] for t in e["node"]["feedsTo"] if "-load-" in t["id"])
             for e in ours["twins"]["edges"]}
        b = {s["id"]: sorted(t["id"] for t in s["feedsTo"]) for s in peer["substations"]}
        assert a == b and len(a) == 100, (len(a), len(b))
    elif shape == "lines_with_hop":
        a = {e["node"]["id"]: sorted(t["id"] for t in e["node"]["feedsTo"]) for e in ours["twins"]["edges"]}
        b = {line["id"]: sorted(t["id"] for t in line["feedsTo"]) for line in peer["lines"]}
        assert a == b and len(a) == 100 and sum(map(len, a.values())) == 300, (len(a), len(b))
    elif shape == "lines_with_two_hops":
        a = {e["node"]["id"]: sorted((t["id"], sorted(u["id"] for u in t["feedsTo"])) for t in e["node"]["feedsTo"])
             for e in ours["twins"]["edges"]}
        b = {line["id"]: sorted((t["id"], sorted(u["id"] for u in t["feedsTo"])) for t in line["feedsTo"])
             for line in peer["lines"]}
        assert a == b and len(a) == 100 and sum(len(u) for v in a.values() for _, u in v) == 900, (len(a), len(b))
    else:
        a = sorted(step["twin"]["id"] for step in ours["downstream"])
        b = sorted(t["id"] for t in peer["lines"][0]["downstream"])
        assert a == b and len(a) == 363, (len(a), len(b))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--seconds", type=int, default=SECONDS)
    parser.add_argument("--shapes", default="", help="comma-separated shape names (default: all)")
    arguments = parser.parse_args()
    run(arguments.rounds, arguments.seconds, [s for s in arguments.shapes.split(",") if s])


def run(rounds: int, seconds: int, only: list[str]) -> None:
    settings = Settings()
    binary = hey_binary(settings)
    vegeta_binary = go_tool(settings, "vegeta", VEGETA_MODULE)
    tag = uuid.uuid4().hex[:6]
    ids = seed(settings, tag)
    ours, ours_url = start_api(settings)
    peer, peer_url = start_peer(settings)
    results: dict[str, dict[str, list[dict[str, float]]]] = {}
    try:
        token = login(ours_url)
        every = {shape: ([ours_q], [peer_q], int(c)) for shape, (ours_q, peer_q, c) in shapes(tag).items()}
        for shape, (our_queries, peer_queries, connections) in (every | varied_shapes(tag)).items():
            if only and shape not in only:
                continue
            answers = [httpx.post(url + "/graphql", json={"query": q}, headers=h, timeout=60).json()["data"]
                       for url, q, h in ((ours_url, our_queries[0], {"Authorization": f"Bearer {token}"}),
                                         (peer_url, peer_queries[0], {}))]
            same_answers(*answers, shape)
            runs = results[shape] = {"gridtwin": [], "peer": []}
            sides = [(ours_url, our_queries, "gridtwin"), (peer_url, peer_queries, "peer")]
            for url, queries, _ in sides:
                hey(binary, url, token, queries[0], "-n", "200", "-c", "8")  # warm-up
            for round_number in range(rounds):
                for url, queries, side in sides if round_number % 2 == 0 else sides[::-1]:  # who goes first alternates
                    found = (hey(binary, url, token, queries[0], "-z", f"{seconds}s", "-c", str(connections))
                             if len(queries) == 1 else
                             vegeta(vegeta_binary, url, token, queries, seconds, connections=connections))
                    runs[side].append({"rps": round(found["rps"], 1), "p50_ms": found["p50_ms"],
                                       "non_200": found["non_200"]})
    finally:
        stop(ours.pid, grace=10)
        stop(peer.pid, grace=10)
        with graph_db.open_driver(settings) as driver:
            bulk_delete_twins(driver, ids)
    summary = {shape: {side: statistics.median(r["rps"] for r in runs[side]) for side in runs}
               for shape, runs in results.items()}
    for shape, medians in summary.items():
        medians["ratio"] = round(medians["gridtwin"] / medians["peer"], 3)
        # each round's two runs are neighbours in time: their ratio is less exposed to the box's drift
        medians["median_round_ratio"] = round(statistics.median(
            ours["rps"] / peer["rps"] for ours, peer in zip(results[shape]["gridtwin"], results[shape]["peer"])), 3)
    print(json.dumps({"runs": results, "median_rps": summary}, indent=1))


if __name__ == "__main__":
    main()
