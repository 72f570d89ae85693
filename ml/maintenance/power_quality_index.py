"""Power-quality index: will a bus's voltage leave the operator's band within the next four hours?

EN 50160 judges a supply by its 10-minute mean voltages against nominal ±10 %; distribution
operators plan and operate inside a tighter band (±5 %, ``ml.optimisation.VoltageBand``, the band
the reactive-power advisor keeps), and in simbench's stressed ``--2-sw`` grids PV pushes buses past
it at midday while ±10 % is almost never reached (0.05 % of bus-steps of one MV grid, none in the
LV grids).  So the index forecasts compliance with the ±5 % band, with 15-minute steps standing
in for the 10-minute means.

Label: the future of the grid's year of power flows: the bus voltage outside 0.95-1.05 pu at any
of the next 16 quarter-hours.  Inputs, all known at the step, are the overload model's on the bus's
"band usage" |U - 1| / 0.05 as a class 0.5 voltage transformer reports it (1.0 at the band's
edge): now, an hour ago, the last day's maximum, the same four hours yesterday and a week ago, the
margin, and the time (``overload_risk.inputs``).  Baselines scored the same way (PR-AUC): the usage
now and the same four hours yesterday.  Served as an index: 100 × (1 - probability).
"""

from __future__ import annotations

import numpy as np

from ml.maintenance import overload_risk as ovl
from ml.optimisation import VoltageBand
from physics.sensors import SensorLayer

BAND = VoltageBand()
HALF_WIDTH = (BAND.high - BAND.low) / 2.0
#: The overload model's inputs, named for a bus's band usage (same order, same builder).
FEATURES = ("usage_now", "usage_1h_ago", "max_usage_last_24h", "max_usage_window_yesterday",
            "max_usage_window_last_week", "band_margin_now", "slot_sin", "slot_cos", "weekday", "day_sin", "day_cos")
assert len(FEATURES) == len(ovl.FEATURES)


def band_usage(u_pu: np.ndarray) -> np.ndarray:
    """|U - 1| / half the band: 1.0 at the band's edge, above it outside."""
    return np.abs(u_pu - 1.0) / HALF_WIDTH


def measured_usage(u_pu: np.ndarray, code: str, seed: int) -> np.ndarray:
    """``(steps, buses)`` band usage as class 0.5 voltage transformers report the voltages."""
    names = [(f"{code}/node/{k}", "voltage") for k in range(u_pu.shape[1])]
    measured = SensorLayer(seed).measure_many(names, np.nan_to_num(u_pu, nan=1.0), np.arange(len(u_pu)) * 900.0,
                                              stream=f"{code}/band").values
    return band_usage(measured)


def samples(u_pu: np.ndarray, code: str, seed: int) -> ovl.Samples:
    """The overload model's samples on band usage: label = outside the band within 4 h."""
    found = ovl.samples(band_usage(u_pu), measured_usage(u_pu, code, seed))
    baselines = {"usage now": found.baselines["loading now"], "same 4 h yesterday": found.baselines["same 4 h yesterday"]}
    return ovl.Samples(found.x, found.y, found.held_out, baselines)
