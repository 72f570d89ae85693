"""Demand-response clusters: shapes are normalised weeks, the profile stays held out, unseen grids cluster by type."""

from __future__ import annotations

import numpy as np

from ml.energy_flow import demand_response_clusters as drc
from ml.plan import SMALL
from ml.registry import Registry


def test_a_loads_sample_is_its_mean_week_divided_by_its_mean() -> None:
    found = drc.load_shapes(SMALL.cluster_training_codes[0], seed=1)
    assert found.shapes.shape[1] == drc.WEEK and np.allclose(found.shapes.mean(axis=1), 1.0)
    assert len(found.profiles) == len(found.shapes) and len(set(found.profiles)) > 3
    assert np.allclose(found.naive[:, 1], found.shapes.max(axis=1))  # peak over mean of the same week


def test_the_clusters_round_trip_without_pickles(tmp_path) -> None:
    rng = np.random.default_rng(0)
    shapes = np.vstack([rng.normal(1, 0.1, (20, 30)), rng.normal(3, 0.1, (20, 30))])
    fitted = drc.ShapeClusters.fit(shapes, 2)
    again = drc.ShapeClusters.from_bytes(fitted.to_bytes())
    assert np.array_equal(again.assign(shapes), fitted.assign(shapes))
    assert len(set(fitted.assign(shapes[:20]))) == 1 and set(fitted.assign(shapes[:20])) != set(fitted.assign(shapes[20:]))


def test_clusters_fitted_on_one_grid_find_the_profiles_of_another_better_than_level_and_peakiness(tmp_path) -> None:
    from ml.jobs import demand_response_clusters as job

    registry = Registry(tmp_path)
    job.train(registry, SMALL)
    row = job.evaluate(registry, SMALL)[0]
    assert row.beats_baseline is True and row.value > row.baseline_value + 0.2, row
