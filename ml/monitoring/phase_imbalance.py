"""Phase-imbalance severity of a grid: the worst bus's true voltage unbalance, which no meter reports.

Label: the highest negative- over positive-sequence voltage (IEC 61000-4-30's unbalance, %) over all
buses of the grid, from the simulator's asymmetric power flow: a hidden state, since the worst bus is
rarely metered and the points report phase magnitudes only, whose spread mixes in the zero sequence
and the instrument's noise (class 0.2: a spread of ~0.3 % from noise alone, against a true unbalance
of 0.02-0.5 % on simbench's grids).  Runs: the power-quality disturbance classifier's two hours at
1 s (:mod:`ml.monitoring.power_quality_disturbance`): a standing unbalance of single-phase
connections, and unbalance events of a quarter to all of the loads.

Inputs per second: the substation transformers' LV phase currents as class 0.5 current transformers
read them (per unit of rating, their spread, now and over the last minute) and the metered points'
magnitude unbalance (median, 90th percentile and maximum over the points of its one-minute mean:
averaging is what lifts a 0.05 % unbalance out of the noise).  Baseline, the rule a utility applies:
the substation's current spread (max − min)/mean now, times the one factor that fits it best to the
label on the training runs.  Served as ``phaseImbalance`` = VUF / 2 % (EN 50160's limit), capped at 1.
"""

from __future__ import annotations

import numpy as np

from ml.data.windows import window
from ml.features.compute import WINDOW_SAMPLES
from ml.features.signals import COLUMN
from ml.monitoring.power_quality_disturbance import RUN_S, STRIDE_S, DisturbanceRun
from physics.unbalance import magnitude_unbalance_percent

FEATURES = ("current_a_pu", "current_b_pu", "current_c_pu", "current_mean_pu", "current_spread_now",
            "current_spread_mean_60s", "points_unbalance_median_60s", "points_unbalance_p90_60s",
            "points_unbalance_max_60s", "points_unbalance_median_now")
PARAMETERS = {"n_estimators": 300, "max_depth": 5, "learning_rate": 0.05, "subsample": 0.8,
              "objective": "reg:absoluteerror", "tree_method": "hist"}
LIMIT_PERCENT = 2.0


def _sorted_phases(current: np.ndarray) -> np.ndarray:
    """Phase currents highest first: which phase is loaded is chance, how unevenly is the signal."""
    return -np.sort(-current, axis=-1)


def features(run: DisturbanceRun) -> tuple[np.ndarray, np.ndarray]:
    """(x, worst-bus VUF %) of the grid every :data:`STRIDE_S` seconds after the first minute."""
    ends = np.arange(WINDOW_SAMPLES, RUN_S, STRIDE_S)
    current = np.nan_to_num(run.head_current, nan=np.nanmean(run.head_current))
    spread = magnitude_unbalance_percent(current)
    with np.errstate(invalid="ignore"):
        spread_mean = window(spread[:, None], -WINDOW_SAMPLES + 1, WINDOW_SAMPLES, np.mean)[:, 0]
        points = run.rows[:, :, COLUMN["powerQuality.imbalance"]].T  # (seconds, points)
        points_mean = window(points, -WINDOW_SAMPLES + 1, WINDOW_SAMPLES, np.nanmean)
    phases = _sorted_phases(current)
    columns = [phases[:, 0], phases[:, 1], phases[:, 2], current.mean(axis=1), spread, spread_mean,
               np.nanmedian(points_mean, axis=1), np.nanpercentile(points_mean, 90, axis=1),
               np.nanmax(points_mean, axis=1), np.nanmedian(points, axis=1)]
    return np.column_stack([c[ends] for c in columns]), run.worst_vuf[ends]


def current_spread(x: np.ndarray) -> np.ndarray:
    return x[:, FEATURES.index("current_spread_now")]


def fit_rule(x: np.ndarray, vuf: np.ndarray) -> float:
    """The factor c of VUF ≈ c · current spread with the least absolute error on the training rows
    (the weighted median of VUF / spread, weights the spread)."""
    spread = current_spread(x)
    usable = spread > 1e-6
    ratio, weight = vuf[usable] / spread[usable], spread[usable]
    order = np.argsort(ratio)
    cumulative = np.cumsum(weight[order])
    return float(ratio[order][np.searchsorted(cumulative, cumulative[-1] / 2)])


def severity(vuf_percent: np.ndarray) -> np.ndarray:
    return np.clip(vuf_percent / LIMIT_PERCENT, 0.0, 1.0)
