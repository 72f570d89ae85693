"""Day-ahead load forecast: 96 quarter-hours of tomorrow, issued at midnight, from the days before.

The label is the future (tomorrow's measured demand), never a formula of the inputs.  One
gradient-boosted model (XGBoost, absolute-error objective, the metric it is judged on) is
trained on many series at once, each divided by its own training mean so that a 0.1 MW LV
profile and a 20 MW MV aggregate teach the same shape; forecasts below a twin are the sum of
the forecasts of the loads it feeds.

Baselines, in MW on the same held-out days: persistence (yesterday), seasonal naive (the
same day last week) and the 7-day same-slot mean, which the issue's target is set against.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from ml.boosted import Boosted
from ml.data.load_series import FIRST_WEEKDAY, SLOTS_PER_DAY
from ml.data.splits import is_test_day

#: Days of history the features look back.
HISTORY_DAYS = 14
FEATURES = ("lag1", "lag2", "lag3", "lag7", "lag14", "mean7", "std7", "same_weekday_mean", "lag1_before", "lag1_after",
            "previous_day_mean", "previous_day_last", "previous_week_mean", "slot", "weekday", "previous_weekday_gap",
            "day_of_year_sin", "day_of_year_cos")
PARAMETERS = {"n_estimators": 500, "max_depth": 7, "learning_rate": 0.05, "subsample": 0.8, "colsample_bytree": 0.9,
              "min_child_weight": 4.0, "objective": "reg:absoluteerror", "tree_method": "hist"}


def split_days(total_days: int) -> tuple[np.ndarray, np.ndarray]:
    """(training days, held-out days): whole 28-day blocks, every day with 14 days of history."""
    days = np.arange(HISTORY_DAYS, total_days)
    held_out = np.array([is_test_day(int(d)) for d in days], dtype=bool)
    return days[~held_out], days[held_out]


def features(history: np.ndarray, targets: np.ndarray, scale: float, first_day: int = 0) -> np.ndarray:
    """``(len(targets) * 96, len(FEATURES))``: for each target day, one row per slot.

    ``history`` is the series' ``(days, 96)`` matrix; only days before each target are read.
    ``first_day`` is the profile-year day of ``history[0]`` (weekday and season of a served forecast).
    """
    y = history / scale
    rows = []
    slots = np.arange(SLOTS_PER_DAY, dtype=np.float64)
    for day in targets:
        past = y[day - HISTORY_DAYS:day]  # past[-1] is yesterday
        week = past[-7:]
        weekday = (first_day + day + FIRST_WEEKDAY) % 7
        angle = 2 * np.pi * (first_day + day) / 366.0
        columns = [past[-1], past[-2], past[-3], past[-7], past[-14], week.mean(axis=0), week.std(axis=0),
                   (past[-7] + past[-14]) / 2, np.roll(past[-1], 1), np.roll(past[-1], -1),
                   np.full(SLOTS_PER_DAY, past[-1].mean()), np.full(SLOTS_PER_DAY, past[-1][-1]),
                   np.full(SLOTS_PER_DAY, week.mean()), slots, np.full(SLOTS_PER_DAY, weekday),
                   np.full(SLOTS_PER_DAY, 1.0 if weekday in (0, 5) else 0.0),
                   np.full(SLOTS_PER_DAY, np.sin(angle)), np.full(SLOTS_PER_DAY, np.cos(angle))]
        rows.append(np.column_stack(columns))
    return np.vstack(rows) if rows else np.empty((0, len(FEATURES)))


def baselines(history: np.ndarray, targets: np.ndarray) -> dict[str, np.ndarray]:
    """Each naive forecast of the target days, ``(len(targets), 96)`` in the series' unit."""
    return {"persistence": np.stack([history[d - 1] for d in targets]),
            "seasonal_naive_7d": np.stack([history[d - 7] for d in targets]),
            "mean_7d_same_slot": np.stack([history[d - 7:d].mean(axis=0) for d in targets])}


def nmae(forecast: np.ndarray, actual: np.ndarray) -> float:
    """Normalised mean absolute error: Σ|forecast − actual| / Σ|actual|."""
    return float(np.abs(forecast - actual).sum() / np.abs(actual).sum())


@dataclass
class LoadForecaster:
    """A trained day-ahead model and the per-series scales it was trained with."""

    model: Boosted
    scales: dict[str, float]

    @classmethod
    def train(cls, series: Mapping[str, np.ndarray], *, seed: int = 0, threads: int | None = None,
              estimators: int | None = None) -> LoadForecaster:
        """Fit one pooled model on the training days of every series."""
        matrices, labels, scales = [], [], {}
        for name, days in series.items():
            train_days, _ = split_days(len(days))
            scales[name] = float(days[train_days].mean()) or 1.0
            matrices.append(features(days, train_days, scales[name]))
            labels.append(days[train_days].reshape(-1) / scales[name])
        parameters = PARAMETERS | ({"n_estimators": estimators} if estimators else {})
        model = Boosted.fit(np.vstack(matrices), np.concatenate(labels), FEATURES, parameters, seed=seed, threads=threads)
        return cls(model, scales)

    def predict(self, days: np.ndarray, targets: Iterable[int], scale: float, first_day: int = 0) -> np.ndarray:
        """``(len(targets), 96)`` forecasts in the series' unit (``first_day``: see :func:`features`)."""
        targets = list(targets)
        x = features(days, np.asarray(targets), scale, first_day)
        return self.model.predict(x).reshape(len(targets), SLOTS_PER_DAY) * scale

    def to_bytes(self) -> bytes:
        return self.model.to_bytes()

    @classmethod
    def from_bytes(cls, data: bytes, scales: dict[str, float]) -> LoadForecaster:
        return cls(Boosted.from_bytes(data, FEATURES), scales)


def evaluate(forecaster: LoadForecaster, series: Mapping[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """Per series, NMAE of the model and of each baseline on the held-out days."""
    table = {}
    for name, days in series.items():
        train_days, test_days = split_days(len(days))
        actual = days[test_days]
        scale = forecaster.scales.get(name) or float(days[train_days].mean())
        row = {"model": nmae(forecaster.predict(days, test_days, scale), actual)}
        row |= {label: nmae(values, actual) for label, values in baselines(days, test_days).items()}
        table[name] = row
    return table
