"""A relationship field's read, side by side: whole relationships decoded vs the other ends' ids and models.

Run with the test profile's servers up:

    GRIDTWIN_PROFILE=test .venv/bin/gridtwin services up
    GRIDTWIN_PROFILE=test .venv/bin/python bench/relationship_hop_bench.py

The shape of a list view with a related column (issue 15): 100 lines, each feeding 9 loads (900
``feedsTo`` relationships).  ``relationships``: the batched read the API's ``feedsTo`` field used
until 2026-12-02 (every relationship's properties, ETag and timestamps, decoded into objects);
``neighbours``: the read it uses now (per twin, the other ends' ids and models in one list).  Both
run on the async driver on one event loop, interleaved, three rounds; printed per read: wall time
and this process's CPU time per call (the API's share of the cost), and the ratios.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid

from gridtwin.config import Settings
from graph import db as graph_db
from graph.bulk import RelationshipRow, TwinRow, bulk_create_relationships, bulk_create_twins, bulk_delete_twins
from graph.models_store import ensure_builtin_models
from graph.relationships import list_relationships_many_async, neighbours_many_async

LINES, LOADS_PER_LINE, CALLS, ROUNDS = 100, 9, 40, 3


def seed(settings: Settings, tag: str) -> tuple[list[str], list[str]]:
    with graph_db.open_driver(settings) as driver:
        models = ensure_builtin_models(driver)
        lines = [TwinRow(f"hop-{tag}-line-{i}", "dtmi:gridtwin:Line;1", {"name": f"line {i}"}) for i in range(LINES)]
        loads = [TwinRow(f"hop-{tag}-load-{i}-{k}", "dtmi:gridtwin:Load;1", {"name": f"load {i}.{k}"})
                 for i in range(LINES) for k in range(LOADS_PER_LINE)]
        links = [RelationshipRow(f"hop-{tag}-line-{i}", "feedsTo", f"hop-{tag}-load-{i}-{k}")
                 for i in range(LINES) for k in range(LOADS_PER_LINE)]
        bulk_create_twins(driver, models, lines + loads)
        bulk_create_relationships(driver, models, links)
    return [t.id for t in lines], [t.id for t in lines + loads]


async def measure(settings: Settings, line_ids: list[str]) -> dict[str, dict[str, float]]:
    from graph.models_store import load_model_set

    with graph_db.open_driver(settings) as sync_driver:
        models = load_model_set(sync_driver)
    driver = graph_db.open_async_driver(settings)
    reads = {"relationships": list_relationships_many_async, "neighbours": neighbours_many_async}
    totals = {name: {"wall_s": 0.0, "cpu_s": 0.0, "calls": 0} for name in reads}
    try:
        for name, read in reads.items():  # warm-up, and both must find the same 900 ends
            found = await read(driver, models, line_ids, name="feedsTo", direction="outgoing")
            assert sum(len(v) for v in found.values()) == LINES * LOADS_PER_LINE, name
        for _ in range(ROUNDS):
            for name, read in reads.items():
                wall, cpu = time.perf_counter(), time.process_time()
                for _ in range(CALLS):
                    await read(driver, models, line_ids, name="feedsTo", direction="outgoing")
                totals[name]["wall_s"] += time.perf_counter() - wall
                totals[name]["cpu_s"] += time.process_time() - cpu
                totals[name]["calls"] += CALLS
    finally:
        await driver.close()
    return {name: {"wall_ms_per_call": round(1000 * t["wall_s"] / t["calls"], 2),
                   "cpu_ms_per_call": round(1000 * t["cpu_s"] / t["calls"], 2)} for name, t in totals.items()}


def main() -> None:
    settings = Settings()
    tag = uuid.uuid4().hex[:6]
    line_ids, all_ids = seed(settings, tag)
    try:
        numbers = asyncio.run(measure(settings, line_ids))
    finally:
        with graph_db.open_driver(settings) as driver:
            bulk_delete_twins(driver, all_ids)
    old, new = numbers["relationships"], numbers["neighbours"]
    numbers["ratio"] = {"wall": round(old["wall_ms_per_call"] / new["wall_ms_per_call"], 2),
                        "cpu": round(old["cpu_ms_per_call"] / new["cpu_ms_per_call"], 2)}
    print(json.dumps(numbers, indent=2))


if __name__ == "__main__":
    main()
