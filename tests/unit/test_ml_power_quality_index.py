"""Power-quality index: band usage is |U - 1| / 5 %, the label is the next four hours, the model beats both naive scores."""

from __future__ import annotations

import numpy as np

from ml.jobs import risk
from ml.maintenance import overload_risk as ovl
from ml.maintenance import power_quality_index as pqi
from ml.plan import SMALL
from ml.registry import Registry


def test_band_usage_is_one_at_the_bands_edges() -> None:
    assert np.allclose(pqi.band_usage(np.array([0.95, 1.0, 1.05, 1.075])), [1.0, 0.0, 1.0, 1.5])


def test_the_label_is_a_future_excursion_and_never_the_inputs() -> None:
    steps = ovl.WEEK + ovl.DAY + 200
    u = np.full((steps, 1), 1.02)
    u[ovl.WEEK + ovl.DAY + 10, 0] = 1.06  # one quarter-hour above the band
    data = pqi.samples(u, "test", seed=0)
    rows = np.arange(ovl.WEEK + ovl.DAY, steps - ovl.HORIZON_STEPS, ovl.STRIDE)
    expected = [(t < ovl.WEEK + ovl.DAY + 10 <= t + ovl.HORIZON_STEPS) for t in rows]
    assert data.y.tolist() == expected
    assert abs(data.x[0, 0] - 0.4) < 0.05  # the first sample sees 2 % of 5 % (and the sensor's error), not the excursion


def test_trained_index_beats_both_naive_scores(tmp_path) -> None:
    from ml.jobs import power_quality_index as job

    registry = Registry(tmp_path)
    job.train(registry, SMALL)
    row = job.evaluate(registry, SMALL)[0]
    found = risk.scores(risk.load(job.TASK, registry), job.TASK.samples(SMALL.voltage_band_codes[0], SMALL.test_seeds[0]))
    assert row.beats_baseline is True, row
    assert found["model"] > max(found["usage now"], found["same 4 h yesterday"]) + 0.05, found
