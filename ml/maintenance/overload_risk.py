"""Overload risk: will this line or transformer be loaded above 100 % within the next four hours?

Label: the future, from the grid's year of power flows (max loading over steps t+1 .. t+16 above
1.0).  Inputs, all known at step t: the element's loading as its current transformer reports it
(the sensor layer, class 0.5) now, an hour ago, over the last day (max) and in the same four
hours yesterday and a week ago, and the time (slot, weekday, day of year).  Baselines, scored
the same way (PR-AUC, rare positives): the loading now, and the loading of the same four hours
yesterday, each used directly as the risk score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ml.data.load_series import FIRST_WEEKDAY
from ml.data.windows import window
from ml.data.splits import held_out_steps as held_out
from physics.sensors import SensorLayer

HORIZON_STEPS = 16
DAY = 96
WEEK = 7 * DAY
FEATURES = ("loading_now", "loading_1h_ago", "max_last_24h", "max_window_yesterday", "max_window_last_week",
            "rating_margin_now", "slot_sin", "slot_cos", "weekday", "day_sin", "day_cos")
PARAMETERS = {"n_estimators": 300, "max_depth": 6, "learning_rate": 0.05, "subsample": 0.8,
              "objective": "binary:logistic", "tree_method": "hist"}
#: Every this many steps a sample is taken (neighbouring quarter-hours are nearly the same sample).
STRIDE = 4


def measured_loading(loading: np.ndarray, code: str, seed: int) -> np.ndarray:
    """``(steps, elements)`` loading as class 0.5 current transformers report it."""
    names = [(f"{code}/branch/{k}", "loading") for k in range(loading.shape[1])]
    return SensorLayer(seed).measure_many(names, loading, np.arange(len(loading)) * 900.0, stream=f"{code}/loading").values


@dataclass(frozen=True)
class Samples:
    x: np.ndarray
    y: np.ndarray
    held_out: np.ndarray
    baselines: dict[str, np.ndarray]


def inputs(measured: np.ndarray, rows: np.ndarray, first_position: int = 0) -> np.ndarray:
    """``(len(rows), elements, FEATURES)`` at the given steps of a loading history.

    ``first_position`` is the profile-year position (quarter-hour of the year) of the history's first
    step, so the time features of a history served live are those training saw for the same slot.
    One function for training samples and for inference on a grid's recent history.
    """
    with np.errstate(invalid="ignore"):
        columns = {"loading_now": measured, "loading_1h_ago": np.roll(measured, 4, axis=0),
                   "max_last_24h": window(measured, -DAY + 1, DAY),
                   "max_window_yesterday": window(measured, -DAY + 1, HORIZON_STEPS),
                   "max_window_last_week": window(measured, -WEEK + 1, HORIZON_STEPS)}
    columns["rating_margin_now"] = 1.0 - measured
    index = first_position + np.asarray(rows)
    elements = measured.shape[1]
    time_columns = {"slot_sin": np.sin(2 * np.pi * (index % DAY) / DAY), "slot_cos": np.cos(2 * np.pi * (index % DAY) / DAY),
                    "weekday": ((index // DAY + FIRST_WEEKDAY) % 7).astype(float),
                    "day_sin": np.sin(2 * np.pi * index / DAY / 366), "day_cos": np.cos(2 * np.pi * index / DAY / 366)}
    per_element = [columns[name][rows] for name in FEATURES[:6]]
    per_time = [np.repeat(time_columns[name][:, None], elements, axis=1) for name in FEATURES[6:]]
    return np.stack(per_element + per_time, axis=-1)


#: Steps of history the inputs read before the step they describe (a week and a day).
HISTORY_STEPS = WEEK + DAY


def samples(loading: np.ndarray, measured: np.ndarray) -> Samples:
    """Samples of every element every :data:`STRIDE` steps with a week of history and a full horizon."""
    steps = len(loading)
    with np.errstate(invalid="ignore"):
        future = window(loading, 1, HORIZON_STEPS)
    rows = np.arange(HISTORY_STEPS, steps - HORIZON_STEPS, STRIDE)
    elements = loading.shape[1]
    x = inputs(measured, rows).reshape(-1, len(FEATURES))
    y = (future[rows] > 1.0).reshape(-1)
    keep = np.isfinite(x).all(axis=1) & np.isfinite(future[rows].reshape(-1))
    blocks = np.repeat(held_out(steps)[rows, None], elements, axis=1).reshape(-1)
    baselines = {"loading now": x[:, 0], "same 4 h yesterday": x[:, 3]}
    return Samples(x[keep], y[keep], blocks[keep], {k: v[keep] for k, v in baselines.items()})
