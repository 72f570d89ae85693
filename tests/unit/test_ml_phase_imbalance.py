"""Phase-imbalance severity: the label is the grid's worst true VUF, the model beats the current-spread rule unseen."""

from __future__ import annotations

import numpy as np
import pytest

from ml.monitoring import phase_imbalance as pim
from ml.monitoring import power_quality_disturbance as pqd
from ml.plan import SMALL
from ml.registry import Registry


@pytest.fixture(scope="module")
def run() -> pqd.DisturbanceRun:
    return pqd.simulate(SMALL.se_test_codes[0], seed=3)


def test_the_label_is_the_worst_bus_and_unbalance_events_raise_it(run: pqd.DisturbanceRun) -> None:
    assert np.all(run.worst_vuf >= run.vuf.max(axis=0) - 1e-12)  # no metered bus exceeds the grid's worst
    events = np.isin(run.label, [pqd.EVENT_CLASS["unbalance"]])
    assert run.worst_vuf[events].mean() > 1.2 * run.worst_vuf[run.label == 0].mean()
    assert run.worst_vuf[run.label == 0].min() > 0.0  # the standing single-phase connections


def test_head_currents_are_the_substations_in_per_unit_and_sorted_features_hide_the_phase(run) -> None:
    assert run.head_current.shape == (pqd.RUN_S, 3)
    assert 0.0 < np.nanmedian(run.head_current) < 2.0
    x, vuf = pim.features(run)
    assert x.shape == (len(vuf), len(pim.FEATURES)) and np.isfinite(x).all()
    a, b, c = (x[:, pim.FEATURES.index(f"current_{p}_pu")] for p in "abc")
    assert np.all(a >= b) and np.all(b >= c)


def test_the_fitted_rule_minimises_the_absolute_error() -> None:
    rng = np.random.default_rng(0)
    spread = rng.uniform(1, 10, 500)
    x = np.zeros((500, len(pim.FEATURES)))
    x[:, pim.FEATURES.index("current_spread_now")] = spread
    vuf = 0.02 * spread + rng.normal(0, 0.01, 500)
    factor = pim.fit_rule(x, vuf)
    error = lambda c: np.abs(c * spread - vuf).sum()  # noqa: E731
    assert factor == pytest.approx(0.02, rel=0.05)
    assert error(factor) <= min(error(factor * 0.97), error(factor * 1.03))


def test_trained_model_beats_the_current_spread_rule_on_an_unseen_grid(tmp_path) -> None:
    from ml.jobs import phase_imbalance as job

    registry = Registry(tmp_path)
    job.train(registry, SMALL)
    row = job.evaluate(registry, SMALL)[0]
    assert row.beats_baseline is True and row.value < 0.7 * row.baseline_value, row
