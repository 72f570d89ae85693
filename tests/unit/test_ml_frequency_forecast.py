"""Frequency forecast: the label is the swing equation's frequency a minute later; the model beats persistence."""

from __future__ import annotations

import numpy as np

from ml.features.compute import FREQUENCY_LAGS_S
from ml.monitoring import frequency_forecast as ff
from ml.plan import SMALL
from ml.registry import Registry


def test_samples_read_the_past_and_label_the_future() -> None:
    run = ff.simulate_run(ff.area(ff.TEST_MIXES[0]), seed=3)
    x, y, persistence = ff.samples(run, stride=1)
    row = 100
    t = max(FREQUENCY_LAGS_S) + row
    assert np.isclose(y[row], (run.true_hz[t + ff.HORIZON_S] - 50.0) * 1000)
    assert np.isclose(persistence[row], (run.measured_hz[t] - 50.0) * 1000) and np.isclose(x[row, 0], persistence[row])
    assert not np.isclose(run.measured_hz, run.true_hz).all()  # the meter adds noise


def test_test_areas_are_not_training_areas() -> None:
    assert not [mix for mix in ff.TEST_MIXES if mix in ff.TRAINING_MIXES]


def test_trained_forecast_beats_persistence_on_unseen_areas(tmp_path) -> None:
    from ml.jobs import frequency_forecast as job

    registry = Registry(tmp_path)
    job.train(registry, SMALL)
    rows = job.evaluate(registry, SMALL)
    assert len(rows) == len(ff.TEST_MIXES)
    for row in rows:
        assert row.value < 0.97 * row.baseline_value, row
