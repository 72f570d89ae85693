"""Equipment failure risk: will a transformer's hot spot pass 120 °C within the next day?

The simulator's IEC 60076-7 thermal model (``physics.thermal``) turns a transformer's loading and
the ambient temperature into hot-spot temperature and ageing rate V (V = 1 at 98 °C, 2^((θh − 98)/6):
at 120 °C the insulation ages 13 times faster); the label is the future: the hot spot above
IEC 60076-7's 120 °C limit for normal cyclic loading within the next 96 quarter-hours, from the year of power flows of simbench's stressed ``--2-sw`` grids.  Inputs known at
the step: the loading as a class 0.5 current transformer reports it (now, mean and max over the
last day, max over the same day a week ago), the top-oil temperature as a class 1 sensor reports it
(transformers carry one; the hot spot is not measured) and the time.
Baselines scored the same way (PR-AUC): the loading now ("loading > 100 %" as a score) and the
maximum loading over the last day.

Ambient: simbench has no weather, so the ambient the thermal model is driven by is a documented
stand-in, 10 °C ± 10 °C over the year (coldest mid-January) and ± 4 °C over the day (warmest at
15:00).  It is not an input: a function of the date alone, it let the classifier learn the
training blocks' dates (held-out PR-AUC 0.58 with it, 0.62 without on 1-LV-rural1--2-sw); the top
oil carries the ambient's effect as a sensor would.
"""

from __future__ import annotations

import numpy as np

from ml.data.load_series import FIRST_WEEKDAY
from ml.data.windows import window
from ml.data.splits import held_out_steps as held_out
from ml.maintenance.overload_risk import Samples
from physics.sensors import SensorLayer, SensorSpec
from physics.thermal import transformer_thermal

DAY = 96
WEEK = 7 * DAY
STEP_S = 900.0
STRIDE = 4
#: IEC 60076-7's hot-spot limit for normal cyclic loading of distribution transformers (°C).
HOT_SPOT_LIMIT_C = 120.0
FEATURES = ("loading_now", "mean_last_24h", "max_last_24h", "max_next_day_last_week", "top_oil_now_c",
            "top_oil_6h_ago_c", "slot_sin", "slot_cos", "weekday")
#: Shallower trees than the overload classifier's: one transformer's year is few independent days.
PARAMETERS = {"n_estimators": 200, "max_depth": 3, "min_child_weight": 20, "learning_rate": 0.05,
              "subsample": 0.8, "objective": "binary:logistic", "tree_method": "hist"}


def ambient_c(steps: int, first_position: int = 0) -> np.ndarray:
    """The stand-in ambient temperature per 15-minute step of the profile year (see the module doc)."""
    t = first_position + np.arange(steps)
    yearly = 10.0 - 10.0 * np.cos(2 * np.pi * (t / DAY - 15) / 366)
    daily = 4.0 * np.cos(2 * np.pi * (t % DAY - 60) / DAY)
    return yearly + daily


def thermal_year(loading: np.ndarray, ambient: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(steps, transformers)`` top oil and hot spot (°C) of each transformer over the year."""
    states = [transformer_thermal(np.nan_to_num(loading[:, k]), ambient, STEP_S) for k in range(loading.shape[1])]
    return np.column_stack([s.top_oil_c for s in states]), np.column_stack([s.hot_spot_c for s in states])


#: Steps of history the inputs read before the step they describe (a week and a day).
HISTORY_STEPS = WEEK + DAY


def inputs(measured: np.ndarray, oil: np.ndarray, rows: np.ndarray, first_position: int = 0) -> np.ndarray:
    """``(len(rows), transformers, FEATURES)`` from the measured loading and top oil.

    ``first_position``: the profile-year position of the first step (the time features). One function
    for training samples and for inference on a grid's recent history.
    """
    with np.errstate(invalid="ignore"):
        columns = [measured, window(measured, -DAY + 1, DAY, np.mean), window(measured, -DAY + 1, DAY),
                   window(measured, -WEEK + 1, DAY), oil, np.roll(oil, 24, axis=0)]
    index = first_position + np.asarray(rows)
    times = [np.sin(2 * np.pi * (index % DAY) / DAY), np.cos(2 * np.pi * (index % DAY) / DAY),
             ((index // DAY + FIRST_WEEKDAY) % 7).astype(float)]
    per_time = [np.repeat(values[:, None], measured.shape[1], axis=1) for values in times]
    return np.stack([c[rows] for c in columns] + per_time, axis=-1)


def samples(code: str, loading: np.ndarray, seed: int) -> Samples:
    """Samples of every transformer every :data:`STRIDE` steps with a week of history and a day ahead."""
    steps = len(loading)
    ambient = ambient_c(steps)
    top_oil, hot_spot = thermal_year(loading, ambient)
    layer = SensorLayer(seed)
    names = [(f"{code}/transformer/{k}", "loading") for k in range(loading.shape[1])]
    measured = layer.measure_many(names, loading, np.arange(steps) * STEP_S, stream=f"{code}/trafo-loading").values
    oil_names = [(f"{code}/transformer/{k}", "topOil") for k in range(loading.shape[1])]
    oil = layer.measure_many(oil_names, top_oil, np.arange(steps) * STEP_S, SensorSpec(accuracy_class=1.0),
                             stream=f"{code}/top-oil").values
    with np.errstate(invalid="ignore"):
        hottest_next_day = window(hot_spot, 1, DAY)
    rows = np.arange(HISTORY_STEPS, steps - DAY, STRIDE)
    x = inputs(measured, oil, rows).reshape(-1, len(FEATURES))
    future = hottest_next_day[rows].reshape(-1)
    keep = np.isfinite(x).all(axis=1) & np.isfinite(future)
    blocks = np.repeat(held_out(steps)[rows, None], loading.shape[1], axis=1).reshape(-1)
    baselines = {"loading now": x[:, 0], "max loading last 24 h": x[:, 2]}
    return Samples(x[keep], future[keep] > HOT_SPOT_LIMIT_C, blocks[keep], {k: v[keep] for k, v in baselines.items()})
