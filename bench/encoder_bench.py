"""Line protocol encoding of measurement point snapshots: the snapshot fast path against the value-by-value
encoder, side by side in one run (no servers).

    .venv/bin/python bench/encoder_bench.py [--messages 20000] [--rounds 5]

Both encode the same messages of the shipped GridMeasurementPoint (22 values each), in alternating
rounds; printed are the median microseconds per message of each and their ratio, for full-precision
doubles (what a simulator or a float32-to-double conversion sends) and for values rounded to 0.01
(what many meters report; ``repr`` is cheaper for short digits).
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
from timeseries.lineprotocol import InterfaceEncoder  # noqa: E402
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    encoder = InterfaceEncoder(_shipped_models().interfaces[MODEL])
    result = {"messages": args.messages, "rounds": args.rounds,
              "full_precision": compare(encoder, snapshots(args.messages, None), args.rounds),
              "rounded_to_0.01": compare(encoder, snapshots(args.messages, 2), args.rounds)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
