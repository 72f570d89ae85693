"""Equipment failure risk: labels from the IEC 60076-7 hot spot a day ahead; the model beats both naive scores."""

from __future__ import annotations

import numpy as np

from ml.jobs import failure_risk as job
from ml.jobs import risk
from ml.maintenance import failure_risk as fr
from ml.plan import SMALL
from ml.registry import Registry


def test_the_stand_in_ambient_is_cold_in_january_and_warm_in_july() -> None:
    ambient = fr.ambient_c(35_136)
    january, july = ambient[15 * 96:16 * 96], ambient[197 * 96:198 * 96]
    assert january.max() < 5 < july.min()
    assert 14 * 4 <= int(np.argmax(july)) <= 16 * 4  # warmest in the afternoon


def test_the_label_is_the_hot_spot_of_the_next_day() -> None:
    steps = 11 * 96
    loading = np.full((steps, 1), 0.5)
    loading[9 * 96 + 40:9 * 96 + 60] = 2.5  # one afternoon far above rating
    data = fr.samples("test", loading, seed=0)
    _, hot_spot = fr.thermal_year(loading, fr.ambient_c(steps))
    assert hot_spot.max() > fr.HOT_SPOT_LIMIT_C > hot_spot[: 9 * 96].max()
    rows = np.arange(fr.WEEK + fr.DAY, steps - fr.DAY, fr.STRIDE)
    expected = [hot_spot[t + 1:t + 1 + fr.DAY, 0].max() > fr.HOT_SPOT_LIMIT_C for t in rows]
    assert data.y.tolist() == expected and any(expected) and not all(expected)


def test_trained_classifier_beats_both_naive_scores(tmp_path) -> None:
    registry = Registry(tmp_path)
    job.train(registry, SMALL)
    found = risk.scores(risk.load(job.TASK, registry), job.TASK.samples(SMALL.failure_codes[0], SMALL.test_seeds[0]))
    assert found["model"] > max(found["loading now"], found["max loading last 24 h"]), found
