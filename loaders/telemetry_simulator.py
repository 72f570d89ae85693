"""Simulated 3-phase telemetry for measurement points: what keeps the demo grid live.

Values follow a daily load curve with per-phase noise, so voltages sag as the
load rises; frequency wanders around 50 Hz.  The simulator only produces
messages; the caller passes them through the normal ingest pipeline, so they
are validated, stored and published like any device's.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

log = logging.getLogger(__name__)

NOMINAL_VOLTAGE = 230.0
NOMINAL_FREQUENCY = 50.0


def _load_factor(epoch_s: float) -> float:
    """0.3 at night to 1.0 at the evening peak (about 19:00 UTC)."""
    hour = (epoch_s / 3600.0) % 24
    return 0.65 + 0.35 * math.sin((hour - 13.0) / 24.0 * 2 * math.pi)


def snapshot(epoch_s: float, rng: random.Random, rated_current: float = 250.0) -> dict[str, Any]:
    """One full measurement-point snapshot (22 values) at ``epoch_s``."""
    load = _load_factor(epoch_s)
    currents = [rated_current * load * rng.uniform(0.9, 1.1) for _ in range(3)]
    voltages = [NOMINAL_VOLTAGE * (1.02 - 0.05 * load) + rng.gauss(0, 0.6) for _ in range(3)]
    power_factor = 0.93 + rng.uniform(-0.02, 0.02)
    active = [v * i * power_factor for v, i in zip(voltages, currents)]
    reactive = [p * math.tan(math.acos(power_factor)) for p in active]
    frequency = NOMINAL_FREQUENCY + rng.gauss(0, 0.015)
    mean_current = sum(currents) / 3
    imbalance = max(abs(i - mean_current) for i in currents) / mean_current * 100
    thd = 2.0 + 3.0 * load + rng.uniform(-0.3, 0.3)
    return {
        "voltage": {"phaseA": voltages[0], "phaseB": voltages[1], "phaseC": voltages[2],
                    "average": sum(voltages) / 3},
        "current": {"phaseA": currents[0], "phaseB": currents[1], "phaseC": currents[2], "average": mean_current},
        "activePower": {"phaseA": active[0], "phaseB": active[1], "phaseC": active[2], "total": sum(active)},
        "reactivePower": {"phaseA": reactive[0], "phaseB": reactive[1], "phaseC": reactive[2],
                          "total": sum(reactive)},
        "frequency": {"value": frequency, "deviation": frequency - NOMINAL_FREQUENCY},
        "powerQuality": {"imbalance": imbalance, "thd": thd, "powerFactor": power_factor,
                         "qualityScore": max(0.0, 100.0 - 4 * imbalance - 5 * thd)},
    }


def messages(twin_ids: Sequence[str], epoch_s: float, rng: random.Random) -> list[dict[str, Any]]:
    return [{"twin": twin_id, "time": int(epoch_s * 1000), "values": snapshot(epoch_s, rng)} for twin_id in twin_ids]


async def run(twin_ids: Sequence[str], ingest: Callable[[list[dict[str, Any]]], Awaitable[Any]],
              period_s: float = 1.0, seed: int = 7) -> None:
    """Send one snapshot per twin every ``period_s`` until cancelled; errors are logged, not fatal."""
    rng = random.Random(seed)
    while True:
        try:
            await ingest(messages(twin_ids, time.time(), rng))
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a failed tick must not stop the demo
            log.exception("simulated telemetry was not ingested")
        await asyncio.sleep(period_s)
