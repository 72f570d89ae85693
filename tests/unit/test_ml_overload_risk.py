"""Overload risk: windows look where they say, the label is the future, the model beats both naive scores."""

from __future__ import annotations

import numpy as np
import pytest

from ml.data.windows import window
from ml.jobs import risk
from ml.maintenance import overload_risk as ovl
from ml.plan import SMALL
from ml.registry import Registry


def test_window_max_matches_a_plain_loop() -> None:
    values = np.random.default_rng(0).random((3000, 2))
    got = window(values, 1, ovl.HORIZON_STEPS)
    for t in (0, 500, 2983):
        assert np.allclose(got[t], values[t + 1:t + 1 + ovl.HORIZON_STEPS].max(axis=0))
    assert np.isnan(got[-1]).all()  # the horizon runs past the year
    past = window(values, -ovl.DAY + 1, ovl.DAY)
    assert np.allclose(past[1000], values[1000 - ovl.DAY + 1:1001].max(axis=0))


def test_the_label_is_the_next_four_hours_and_never_the_inputs() -> None:
    steps = ovl.WEEK + ovl.DAY + 200
    loading = np.full((steps, 1), 0.5)
    loading[ovl.WEEK + ovl.DAY + 10, 0] = 1.2  # one overloaded step
    data = ovl.samples(loading, loading.copy())
    rows = np.arange(ovl.WEEK + ovl.DAY, steps - ovl.HORIZON_STEPS, ovl.STRIDE)
    expected = [(t < ovl.WEEK + ovl.DAY + 10 <= t + ovl.HORIZON_STEPS) for t in rows]
    assert data.y.tolist() == expected
    assert data.x[0, 0] == 0.5  # at the first sample the overload is still ahead: the inputs do not show it


def test_trained_classifier_beats_both_naive_scores(tmp_path) -> None:
    from ml.jobs import overload_risk as job

    registry = Registry(tmp_path)
    job.train(registry, SMALL)
    row = job.evaluate(registry, SMALL)[0]
    found = risk.scores(risk.load(job.TASK, registry), job.TASK.samples(SMALL.overload_codes[0], SMALL.test_seeds[0]))
    assert row.beats_baseline is True, row
    assert found["model"] > max(found["loading now"], found["same 4 h yesterday"]) + 0.05, found


def test_a_window_beyond_its_reach_is_refused() -> None:
    with pytest.raises(ValueError, match="reaches beyond"):
        window(np.zeros((10, 1)), -10_000, 5)
    with pytest.raises(ValueError, match="reaches beyond"):
        window(np.zeros((10, 1)), 1, 10_000)
