"""GNN fault location: cases record what sensors would, the classical rule is exact with a sensor on every bus,
and the trained GNN beats the rule on a grid it never saw."""

from __future__ import annotations

import numpy as np
import pytest

from ml.gnn.fault_cases import FaultSettings, build_fault_case, deepest_sag_rule, indicator_rule, node_features
from ml.plan import SMALL

GRID = SMALL.se_test_codes[0]


def test_with_a_sensor_on_every_bus_the_indicators_alone_find_the_fault() -> None:
    case = build_fault_case(GRID, FaultSettings(measured_fraction=1.0, samples=200, seed=4))
    assert (indicator_rule(case) == case.fault_node).mean() > 0.95


def test_the_faulted_bus_has_the_deepest_sag_when_it_is_measured() -> None:
    case = build_fault_case(GRID, FaultSettings(measured_fraction=1.0, samples=200, seed=5, voltage_noise=0.0))
    three_phase = case.kinds == 0
    # a bus behind the fault (no load flows in IEC 60909) sits at the fault's voltage: same depth, one of them wins
    depth = case.u_pu.min(axis=2)[three_phase]                               # (faults, measured = every bus)
    rows = np.arange(three_phase.sum())
    picked = np.searchsorted(case.measured, deepest_sag_rule(case)[three_phase])
    faulted = np.searchsorted(case.measured, case.fault_node[three_phase])
    same_depth = np.isclose(depth[rows, picked], depth[rows, faulted])
    assert same_depth.mean() > 0.95 and three_phase.sum() > 10


def test_features_hold_no_label_and_name_only_sensor_buses() -> None:
    case = build_fault_case(GRID, FaultSettings(samples=50, seed=6))
    x = node_features(case)
    unmeasured = np.setdiff1d(np.arange(case.tree.nodes), case.measured)
    assert np.all(x[unmeasured][:, :, :7] == 0.0)
    assert x.shape[:2] == (case.tree.nodes, 50)


def test_trained_locator_beats_the_rule_on_an_unseen_grid(tmp_path) -> None:
    pytest.importorskip("torch")
    from ml.jobs import fault_location as job
    from ml.registry import Registry

    registry = Registry(tmp_path)
    job.train(registry, SMALL)
    rows = job.evaluate(registry, SMALL)
    assert all(row.beats_baseline is True for row in rows), rows
