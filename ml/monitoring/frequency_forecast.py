"""Frequency forecast: the system frequency one minute ahead, from the last minute of measurements.

Label: the future frequency of the simulator's swing-equation model (``physics.frequency``: one
equivalent machine with inertia, governor droop and secondary control, from a generation mix).
Runs: two hours at 1 s of an area whose imbalance wanders (an Ornstein-Uhlenbeck load noise, a
step every 5 s) and, a few times per run, loses a generator of 1-4 % of its size and gets it back
minutes later.  The frequency meter reports with 1 mHz noise.  Inputs: the measured deviation
from 50 Hz now and 1, 2, 5, 10, 20, 30, 60 s before, the rate of change over 1 s and 5 s and the
mean of the last minute, as the shared feature path (``ml.features``) computes them from a
point's ``frequency.value``.  Baseline: persistence (the frequency now).  Areas differ by mix
(inertia, droop); the test areas' mixes are not among the training ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ml.features.compute import FREQUENCY_LAGS_S, Windows, columns_of, point_features
from ml.features.signals import COLUMN, SIGNALS
from ml.features.windows import windows_from_history
from physics.frequency import FrequencyParameters, from_generation_mix, simulate

HORIZON_S = 60
#: The point's frequency features of the shared feature path (what the live stream computes too).
FEATURES = tuple(f"frequency_deviation_mhz_{lag}s_ago" for lag in FREQUENCY_LAGS_S) + (
    "frequency_rocof_1s_mhz_s", "frequency_rocof_5s_mhz_s", "frequency_mean_60s_mhz")
PARAMETERS = {"n_estimators": 300, "max_depth": 6, "learning_rate": 0.05, "subsample": 0.8,
              "objective": "reg:absoluteerror", "tree_method": "hist"}
DURATION_S = 7200
METER_NOISE_HZ = 0.001
#: Generation mixes (GW online per technology) of the training areas and of the areas held out.
TRAINING_MIXES = ({"thermal": 6.0, "gas": 2.0, "wind": 2.0}, {"hydro": 3.0, "gas": 3.0, "wind": 3.0, "pv": 1.0},
                  {"nuclear": 4.0, "thermal": 3.0, "wind": 1.0})
TEST_MIXES = ({"gas": 4.0, "thermal": 2.0, "wind": 3.0, "pv": 1.0}, {"hydro": 5.0, "nuclear": 2.0, "wind": 1.0})


@dataclass(frozen=True)
class FrequencyRun:
    measured_hz: np.ndarray   # (seconds,)
    true_hz: np.ndarray


def area(mix: dict[str, float]) -> FrequencyParameters:
    """The equivalent machine of a mix (GW), with secondary control bringing the frequency back."""
    return from_generation_mix({kind: gw * 1000.0 for kind, gw in mix.items()}, k_agc=0.05)


def simulate_run(parameters: FrequencyParameters, seed: int) -> FrequencyRun:
    rng = np.random.default_rng([seed, int(parameters.h_s * 1000), 4755])
    times, steps = [], []
    level = 0.0
    for at in np.arange(5.0, DURATION_S, 5.0):  # OU imbalance: mean-reverting over ~5 min, 0.3 % of the area
        new = level * (1 - 5.0 / 300.0) + rng.normal(0, 0.003 * parameters.s_base_mw * np.sqrt(2 * 5.0 / 300.0))
        times.append(float(at))
        steps.append(new - level)
        level = new
    for _ in range(int(rng.integers(2, 6))):  # generator trips and returns
        at = float(rng.uniform(60, DURATION_S - 900))
        lost = float(rng.uniform(0.01, 0.04) * parameters.s_base_mw)
        times += [at, at + float(rng.uniform(300, 900))]
        steps += [lost, -lost]
    order = np.argsort(times)
    trace = simulate(parameters, list(np.asarray(times)[order]), list(np.asarray(steps)[order]),
                     duration_s=DURATION_S, dt_s=0.1)
    seconds = np.arange(DURATION_S + 1, dtype=float)
    true = trace.at(seconds)
    return FrequencyRun(true + rng.normal(0, METER_NOISE_HZ, size=true.shape), true)


def samples(run: FrequencyRun, f0_hz: float = 50.0, stride: int = 5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, y, persistence) in mHz of deviation from ``f0_hz``; y is the true deviation 60 s ahead.

    x comes from the feature path: the measured frequency as a point's ``frequency.value``.
    """
    seconds = np.arange(len(run.measured_hz), dtype=np.int64)
    rows = np.full((len(seconds), len(SIGNALS)), np.nan)
    rows[:, COLUMN["frequency.value"]] = run.measured_hz
    ends = np.arange(max(FREQUENCY_LAGS_S), len(seconds) - HORIZON_S, stride)
    windows = Windows(windows_from_history(seconds, rows, ends), np.full(len(ends), 230.0),
                      np.full(len(ends), f0_hz), ends)
    x = point_features(windows)[:, columns_of(FEATURES)]
    truth = (run.true_hz - f0_hz) * 1000.0
    return x, truth[ends + HORIZON_S], x[:, 0]
