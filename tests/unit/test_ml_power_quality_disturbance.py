"""Power-quality disturbance classes: labels are the recorded events, the classifier beats EN 50160's rules on an unseen grid."""

from __future__ import annotations

import numpy as np

from ml.features.signals import COLUMN
from ml.monitoring import power_quality_disturbance as pqd
from ml.plan import SMALL
from ml.registry import Registry


def test_labels_are_the_active_events_kind_and_the_points_see_their_signatures() -> None:
    run = pqd.simulate(SMALL.se_test_codes[0], seed=3)
    assert set(np.unique(run.label)) == {0, 1, 2, 3}
    thd = run.rows[:, :, COLUMN["powerQuality.thd"]]
    assert np.nanmax(thd[:, run.label == 0]) == 0.0 and np.nanmax(thd[:, run.label == 2]) > 0.0
    assert (np.diff(run.label) != 0).sum() >= 10  # events begin and end: never two at once, never all the run


def test_trained_classifier_beats_the_rules_on_an_unseen_grid(tmp_path) -> None:
    from ml.jobs import power_quality_disturbance as job

    registry = Registry(tmp_path)
    job.train(registry, SMALL)
    row = job.evaluate(registry, SMALL)[0]
    assert row.beats_baseline is True and row.value > row.baseline_value + 0.15, row
