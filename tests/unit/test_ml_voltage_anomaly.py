"""Voltage anomaly detection: labels are the simulator's recorded events; the model beats the ±10 % rule on an unseen grid."""

from __future__ import annotations

import numpy as np

from ml.boosted import Boosted
from ml.features.signals import COLUMN
from ml.monitoring import voltage_anomaly as va
from ml.plan import SMALL
from ml.registry import Registry


def test_labels_come_from_recorded_events_not_from_the_voltages() -> None:
    run = va.simulate(SMALL.se_test_codes[0], seed=4)
    assert run.anomalous.any() and not run.anomalous.all()
    # sensor outliers are instrument faults: some seconds far from 1 pu carry no label, and shallow sags do
    average = run.rows[:, :, COLUMN["voltage.average"]].T
    assert (run.anomalous & (np.abs(average - 1.0) < va.THRESHOLD)).any()  # a shallow sag
    phases = np.stack([run.rows[:, :, COLUMN[f"voltage.{p}"]].T for p in ("phaseA", "phaseB", "phaseC")])
    assert ((np.abs(phases - 1.0) > 0.05).any(axis=0) & ~run.anomalous).any()  # an outlier of one phase


def test_the_same_seed_gives_the_same_run() -> None:
    first, second = va.simulate(SMALL.se_test_codes[0], seed=5), va.simulate(SMALL.se_test_codes[0], seed=5)
    assert np.array_equal(first.anomalous, second.anomalous)
    assert np.array_equal(first.rows, second.rows, equal_nan=True)


def test_trained_detector_beats_the_threshold_rule_on_an_unseen_grid(tmp_path) -> None:
    from ml.jobs import voltage_anomaly as job

    registry = Registry(tmp_path)
    job.train(registry, SMALL)
    row = job.evaluate(registry, SMALL)[0]
    assert row.beats_baseline is True, row
    model = Boosted.from_bytes(registry.load(job.NAME).read(job.MODEL_FILE), va.FEATURES)
    found = job.scores(model, *va.features(va.simulate(SMALL.se_test_codes[0], SMALL.test_seeds[0])))
    assert found["model_f1"] > found["rule_f1"] + 0.05, found
