"""Day-ahead load forecast: causal features, season-covering splits, and it beats its baselines on held-out days."""

from __future__ import annotations

import numpy as np
import pytest

from ml.data.load_series import SLOTS_PER_DAY, grid_series
from ml.energy_flow import load_forecast as lf
from ml.plan import SMALL
from ml.registry import Registry


def test_features_never_read_the_day_they_forecast() -> None:
    rng = np.random.default_rng(1)
    days = rng.uniform(1, 2, size=(40, SLOTS_PER_DAY))
    before = lf.features(days, np.array([30]), 1.5)
    changed = days.copy()
    changed[30:] += 100.0  # the target day and everything after it
    assert np.array_equal(before, lf.features(changed, np.array([30]), 1.5))
    changed[29] += 1.0  # yesterday is an input
    assert not np.array_equal(before, lf.features(changed, np.array([30]), 1.5))


def test_held_out_blocks_cover_every_season() -> None:
    train, test = lf.split_days(366)
    assert not set(train) & set(test)
    assert {int(d) // 91 for d in test} == {0, 1, 2, 3}
    assert min(train) == lf.HISTORY_DAYS


def test_baselines_are_what_they_say() -> None:
    days = np.arange(20 * SLOTS_PER_DAY, dtype=float).reshape(20, SLOTS_PER_DAY)
    naive = lf.baselines(days, np.array([15]))
    assert np.array_equal(naive["persistence"][0], days[14])
    assert np.array_equal(naive["seasonal_naive_7d"][0], days[8])
    assert np.allclose(naive["mean_7d_same_slot"][0], days[8:15].mean(axis=0))


@pytest.fixture(scope="module")
def trained(tmp_path_factory, settings):
    from ml.jobs import load_forecast as job

    registry = Registry(tmp_path_factory.mktemp("models"))
    job.train(registry, SMALL, settings.cache_dir / "ml")
    return registry, job


def test_trained_model_beats_every_baseline_on_held_out_days(trained, settings) -> None:
    registry, job = trained
    forecaster = job.load(registry)
    series = grid_series(SMALL.load_codes[0], cache_dir=settings.cache_dir / "ml").days
    scores = lf.evaluate(forecaster, series)[SMALL.load_codes[0]]
    assert scores["model"] < scores["mean_7d_same_slot"] < scores["persistence"], scores
    assert scores["model"] < scores["seasonal_naive_7d"], scores


def test_the_stored_model_forecasts_what_the_trained_one_did(trained, settings) -> None:
    registry, job = trained
    series = grid_series(SMALL.load_codes[0], cache_dir=settings.cache_dir / "ml").days[SMALL.load_codes[0]]
    first, second = job.load(registry), job.load(registry)
    scale = first.scales[SMALL.load_codes[0]]
    forecast = first.predict(series, [300, 301], scale)
    assert forecast.shape == (2, SLOTS_PER_DAY) and np.isfinite(forecast).all()
    assert np.array_equal(forecast, second.predict(series, [300, 301], scale))
    rows = job.evaluate(registry, SMALL, settings.cache_dir / "ml")
    assert rows[0].beats_baseline is True
