"""Two CPU steps of the ingest, each against what it replaced, side by side in one run (no servers).

    .venv/bin/python bench/ingest_steps_bench.py [--messages 20000] [--rounds 5]

1. Line protocol encoding: the snapshot fast path (timeseries/snapshot_lines.py) against the
   value-by-value encoder, for full-precision doubles (what a simulator or a float32-to-double
   conversion sends) and for values rounded to 0.01 (what many meters report; ``repr`` is cheaper
   for short digits).
2. The one-minute downsampler: adding the messages (1,000 twins, one minute) and reading every
   series' statistics, with snapshots kept as rows and settled at the read, against folding each
   message value by value (the same plans with their flat shapes switched off).

The messages are snapshots of the shipped GridMeasurementPoint (22 values each); rounds alternate;
printed are the median microseconds per message of each and their ratio.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.app import _shipped_models  # noqa: E402
from timeseries.aggregate_plans import TelemetryPlan  # noqa: E402
from timeseries.directory import TwinInfo  # noqa: E402
from timeseries.lineprotocol import InterfaceEncoder  # noqa: E402
from timeseries.minutes import MinuteAggregator  # noqa: E402
from timeseries.validation import validate_batch  # noqa: E402
from timeseries.samples import grid_measurement_point_snapshot  # noqa: E402

MODEL = "dtmi:gridtwin:GridMeasurementPoint;1"


def snapshots(count: int, digits: int | None) -> list[dict[str, Any]]:
    rng = random.Random(7)
    messages = [grid_measurement_point_snapshot(rng) for _ in range(count)]
    if digits is not None:
        messages = json.loads(json.dumps(messages), parse_float=lambda text: round(float(text), digits))
    return messages


def us_per_message(encode: Callable[[Any], str], messages: list[dict[str, Any]]) -> float:
    started = time.perf_counter()
    for values in messages:
        encode(values)
    return (time.perf_counter() - started) / len(messages) * 1e6


def compare(encoder: InterfaceEncoder, messages: list[dict[str, Any]], rounds: int) -> dict[str, float]:
    fast, each = [], []
    for _ in range(rounds):
        fast.append(us_per_message(encoder.encode_values, messages))
        each.append(us_per_message(encoder.encode_each, messages))
    return {"fast_path_us_per_msg": round(statistics.median(fast), 2),
            "value_by_value_us_per_msg": round(statistics.median(each), 2),
            "ratio_fast_to_value_by_value": round(statistics.median(fast) / statistics.median(each), 3)}


def downsampling_us(directory: dict[str, TwinInfo], messages: list[dict[str, Any]], one_by_one: bool) -> float:
    """Microseconds per message to add ``messages`` to a fresh aggregator and read all its statistics."""
    checked = validate_batch(messages, directory)
    flat_slots = TelemetryPlan.flat_slots
    if one_by_one:
        TelemetryPlan.flat_slots = lambda self, values: None  # type: ignore[method-assign]
    try:
        aggregator = MinuteAggregator("bench")
        started = time.perf_counter()
        aggregator.add(checked.samples, checked.lines, directory)
        for bucket in aggregator.open.values():
            for series in bucket.series.values():
                series.stats()
        return (time.perf_counter() - started) / len(messages) * 1e6
    finally:
        TelemetryPlan.flat_slots = flat_slots  # type: ignore[method-assign]


def compare_downsampling(interface: Any, count: int, rounds: int) -> dict[str, float]:
    directory = {f"mp-{i}": TwinInfo(f"mp-{i}", MODEL, interface) for i in range(1000)}
    base_ns = 1_800_000_000 * 1_000_000_000  # a whole minute
    messages = [{"twin": f"mp-{i % 1000}", "time": base_ns + i * 1000, "values": values}
                for i, values in enumerate(snapshots(min(count, 60_000), None))]  # at most 60 per twin: one minute
    settled, each = [], []
    for _ in range(rounds):
        settled.append(downsampling_us(directory, messages, one_by_one=False))
        each.append(downsampling_us(directory, messages, one_by_one=True))
    return {"settled_us_per_msg": round(statistics.median(settled), 2),
            "one_by_one_us_per_msg": round(statistics.median(each), 2),
            "ratio_settled_to_one_by_one": round(statistics.median(settled) / statistics.median(each), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    interface = _shipped_models().interfaces[MODEL]
    encoder = InterfaceEncoder(interface)
    result = {"messages": args.messages, "rounds": args.rounds,
              "encoding_full_precision": compare(encoder, snapshots(args.messages, None), args.rounds),
              "encoding_rounded_to_0.01": compare(encoder, snapshots(args.messages, 2), args.rounds),
              "downsampling": compare_downsampling(interface, args.messages, args.rounds)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
