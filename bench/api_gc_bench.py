"""The API's garbage-collector tuning, side by side: Python's default threshold against others.

Run with the test profile's servers up:

    GRIDTWIN_PROFILE=test .venv/bin/gridtwin services up
    GRIDTWIN_PROFILE=test .venv/bin/python bench/api_gc_bench.py

One ``gridtwin serve`` process per young-generation threshold (``--thresholds``, default
``0,<the setting>,50000``; 0 is Python's collector as it comes, else ``api.app.tune_garbage_collector``)
on the same Neo4j and data (bench/api_bench.py's seed).  ``twin(id)`` with 5 properties, three
interleaved rounds of 10 s each: a closed loop at 32 connections (requests/s, ``hey``) and an open
loop at 500 requests/s paced by ``vegeta`` over 100 different twins (p50, p99, achieved rate),
after a 2 s paced warm-up of the same texts and connections.  Prints each round, the medians and
their ratios to Python's default.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import uuid

from api_bench import VEGETA_MODULE, go_tool, hey, hey_binary, seed, twin_by_id_query, vegeta
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
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--thresholds", default=f"0,{settings.api_gc_threshold},50000")
    thresholds = list(dict.fromkeys(parser.parse_args().thresholds.split(",")))
    binary, pacer = hey_binary(settings), go_tool(settings, "vegeta", VEGETA_MODULE)
    tag = uuid.uuid4().hex[:6]
    ids = seed(settings, tag)
    servers = {threshold: start(settings, threshold) for threshold in thresholds}
    query, many = twin_by_id_query(tag, 7), [twin_by_id_query(tag, number) for number in range(100)]
    rounds: dict[str, list[dict[str, float]]] = {name: [] for name in servers}
    try:
        tokens = {name: login(url) for name, (_, url) in servers.items()}
        for name, (_, url) in servers.items():
            hey(binary, url, tokens[name], query, "-n", "500", "-c", "8")  # warm-up
        for _ in range(ROUNDS):
            for name, (_, url) in servers.items():
                closed = hey(binary, url, tokens[name], query, "-z", "10s", "-c", "32")
                vegeta(pacer, url, tokens[name], many, 2, rate=500)  # warm-up: every text, vegeta's connections
                opened = vegeta(pacer, url, tokens[name], many, 10, rate=500)
                rounds[name].append({"closed_rps": closed["rps"], "open_rps": opened["rps"],
                                     "open_p50_ms": opened["p50_ms"], "open_p99_ms": opened["p99_ms"]})
    finally:
        for process, _ in servers.values():
            stop(process.pid, grace=10)
        with graph_db.open_driver(settings) as driver:
            bulk_delete_twins(driver, ids)
    medians = {name: {key: statistics.median(r[key] for r in runs) for key in runs[0]} for name, runs in rounds.items()}
    base = medians.get("0")
    ratios = {name: {"closed_rps": m["closed_rps"] / base["closed_rps"], "open_p99": m["open_p99_ms"] / base["open_p99_ms"]}
              for name, m in medians.items()} if base else {}
    print(json.dumps({"rounds": rounds, "medians": medians, "ratio_to_python_default": ratios}, indent=1))


if __name__ == "__main__":
    main()
