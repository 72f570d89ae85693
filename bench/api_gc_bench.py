"""The API's garbage-collector tuning, side by side: Python's default threshold against ours.

Run with the test profile's servers up:

    GRIDTWIN_PROFILE=test .venv/bin/gridtwin services up
    GRIDTWIN_PROFILE=test .venv/bin/python bench/api_gc_bench.py

Two ``gridtwin serve`` processes on the same Neo4j and data (bench/api_bench.py's seed), one with
``GRIDTWIN_API_GC_THRESHOLD=0`` (Python's collector as it comes), one with the default setting
(``api.app.tune_garbage_collector``).  ``twin(id)`` with 5 properties, driven by ``hey``, three
interleaved rounds of 10 s each: a closed loop at 32 connections (requests/s) and an open loop at
500 requests/s (p50, p99, achieved rate).  Prints each round and the medians' ratios.
"""

from __future__ import annotations

import json
import os
import statistics
import uuid

from api_bench import hey, hey_binary, seed
from apiserver import login, start_api
from gridtwin.config import Settings
from graph import db as graph_db
from graph.bulk import bulk_delete_twins
from servers.processes import stop

ROUNDS = 3


def start(settings: Settings, threshold: str):
    os.environ["GRIDTWIN_API_GC_THRESHOLD"] = threshold
    try:
        return start_api(settings)
    finally:
        os.environ.pop("GRIDTWIN_API_GC_THRESHOLD", None)


def main() -> None:
    settings = Settings()
    binary = hey_binary(settings)
    tag = uuid.uuid4().hex[:6]
    ids = seed(settings, tag)
    servers = {"python_default": start(settings, "0"), "tuned": start(settings, str(settings.api_gc_threshold))}
    query = (f'{{ twin(id: "bench-{tag}-sub-7") {{ id ... on Substation {{ name status bayCount highestVoltage '
             'staffed } } }')
    rounds: dict[str, list[dict[str, float]]] = {name: [] for name in servers}
    try:
        tokens = {name: login(url) for name, (_, url) in servers.items()}
        for name, (_, url) in servers.items():
            hey(binary, url, tokens[name], query, "-n", "500", "-c", "8")  # warm-up
        for _ in range(ROUNDS):
            for name, (_, url) in servers.items():
                closed = hey(binary, url, tokens[name], query, "-z", "10s", "-c", "32")
                opened = hey(binary, url, tokens[name], query, "-z", "10s", "-c", "25", "-q", "20")
                rounds[name].append({"closed_rps": closed["rps"], "open_rps": opened["rps"],
                                     "open_p50_ms": opened["p50_ms"], "open_p99_ms": opened["p99_ms"]})
    finally:
        for process, _ in servers.values():
            stop(process.pid, grace=10)
        with graph_db.open_driver(settings) as driver:
            bulk_delete_twins(driver, ids)
    medians = {name: {key: statistics.median(r[key] for r in runs) for key in runs[0]} for name, runs in rounds.items()}
    ratio = {"closed_rps": medians["tuned"]["closed_rps"] / medians["python_default"]["closed_rps"],
             "open_p99": medians["tuned"]["open_p99_ms"] / medians["python_default"]["open_p99_ms"]}
    print(json.dumps({"rounds": rounds, "medians": medians, "ratio_tuned_over_default": ratio}, indent=1))


if __name__ == "__main__":
    main()
