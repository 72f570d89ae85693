"""Twin-graph benchmark against the test profile's Neo4j.

Builds a synthetic radial feeder of 10,000 twins (substation -> transformer ->
busbar -> 10 feeder breakers -> 99 main line sections each, every section with a
lateral line supplying 8 loads), bulk-loads it, then times the downstream trace
from the root.  Prints the rates and p50/p95/p99, and deletes its data.

    GRIDTWIN_PROFILE=test .venv/bin/gridtwin services up
    GRIDTWIN_PROFILE=test .venv/bin/python bench/graph_bench.py [--runs 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("GRIDTWIN_PROFILE", "test")

from gridtwin.config import Settings  # noqa: E402
from graph import topology  # noqa: E402
from graph.bulk import RelationshipRow, TwinRow, bulk_create_relationships, bulk_create_twins, bulk_delete_twins  # noqa: E402
from graph.cypher import apply_schema  # noqa: E402
from graph.db import open_driver  # noqa: E402
from graph.models_store import builtin_documents, parse_models  # noqa: E402

G = "dtmi:gridtwin:"
TOTAL = 10_000


def radial_feeder(prefix: str, total: int = TOTAL) -> tuple[list[TwinRow], list[RelationshipRow]]:
    """Twins and FEEDS_TO rows of one radial feeder with exactly ``total`` twins."""
    twins: list[TwinRow] = []
    feeds: list[RelationshipRow] = []

    def add(kind: str, name: str, parent: str | None, **props: object) -> str:
        twin_id = f"{prefix}{name}"
        twins.append(TwinRow(twin_id, G + kind + ";1", {"name": name, "status": "inService", **props}))
        if parent is not None:
            feeds.append(RelationshipRow(parent, "feedsTo", twin_id))
        return twin_id

    root = add("Substation", "S", None, substationType="distribution", bayCount=12)
    transformer = add("PowerTransformer", "T", root)
    busbar = add("Busbar", "BB", transformer)
    feeders, sections, loads = 10, 99, 8
    for f in range(feeders):
        upstream = add("Breaker", f"F{f}-CB", busbar, normalState="closed", switchState="closed")
        for s in range(sections):
            upstream = add("Line", f"F{f}-L{s}", upstream, lineType="overhead", length=0.4)
            lateral = add("Line", f"F{f}-L{s}-lat", upstream, lineType="cable", length=0.1)
            for n in range(loads):
                add("Load", f"F{f}-L{s}-D{n}", lateral, loadClass="residential", contractedPower=12.0)
    pad = 0
    while len(twins) < total:
        add("Load", f"pad{pad}", busbar, loadClass="commercial")
        pad += 1
    return twins, feeds


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--no-warmup", action="store_true", help="measure a cold server (JIT, caches)")
    args = parser.parse_args()

    models = parse_models(builtin_documents())
    driver = open_driver(Settings())
    prefix = f"bench-{uuid.uuid4().hex[:8]}-"
    twins, feeds = radial_feeder(prefix)
    try:
        apply_schema(driver, models)
        if not args.no_warmup:  # one unmeasured load so the JVM has compiled the write path
            warm_twins, warm_feeds = radial_feeder(prefix + "warm-")
            try:
                bulk_create_twins(driver, models, warm_twins, batch_size=args.batch)
                bulk_create_relationships(driver, models, warm_feeds, batch_size=args.batch)
            finally:
                bulk_delete_twins(driver, [t.id for t in warm_twins])
        loaded = bulk_create_twins(driver, models, twins, batch_size=args.batch)
        related = bulk_create_relationships(driver, models, feeds, batch_size=args.batch)
        print(f"bulk twins:          {loaded.written:>6} in {loaded.seconds:6.3f} s = {loaded.per_second:>9,.0f} twins/s")
        print(f"bulk relationships:  {related.written:>6} in {related.seconds:6.3f} s = {related.per_second:>9,.0f} relationships/s")

        root = f"{prefix}S"
        for _ in range(10):  # warm the plan cache and page cache
            trace = topology.downstream(driver, models, root, max_depth=200)
        assert len(trace.nodes) == TOTAL - 1, len(trace.nodes)
        samples = []
        for _ in range(args.runs):
            start = time.perf_counter()
            trace = topology.downstream(driver, models, root, max_depth=200)
            samples.append((time.perf_counter() - start) * 1000)
        print(
            f"downstream trace ({len(trace.nodes)} twins, depth {max(n.depth for n in trace.nodes)}, {args.runs} runs): "
            f"p50 {percentile(samples, 50):.1f} ms, p95 {percentile(samples, 95):.1f} ms, "
            f"p99 {percentile(samples, 99):.1f} ms, mean {statistics.mean(samples):.1f} ms"
        )
        leaf = f"{prefix}F9-L98-D7"
        start = time.perf_counter()
        up = topology.upstream(driver, models, leaf, max_depth=200)
        print(f"upstream trace from a leaf ({len(up.nodes)} twins): {(time.perf_counter() - start) * 1000:.1f} ms")
        start = time.perf_counter()
        impact = topology.outage_impact(driver, models, f"{prefix}F0-CB", max_depth=200)
        print(f"outage impact of one feeder breaker ({len(impact.de_energised)} twins): "
              f"{(time.perf_counter() - start) * 1000:.1f} ms")
    finally:
        start = time.perf_counter()
        deleted = bulk_delete_twins(driver, [t.id for t in twins])
        print(f"clean-up: {deleted} twins deleted in {time.perf_counter() - start:.2f} s")
        driver.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
