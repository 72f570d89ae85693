"""Grid stability: the label is the load factor pandapower also finds at the voltage limit; the model beats the rule."""

from __future__ import annotations

import copy
import warnings

import numpy as np

from ml.decision import grid_stability as gs
from ml.plan import SMALL
from ml.registry import Registry

GRID = SMALL.stability_codes[0]


def _lowest_pu_in_pandapower(step: int, factor: float) -> float:
    import pandapower as pp

    from ml.data.grids import grid_network

    network, profiles = grid_network(GRID)
    net = copy.deepcopy(network.net)
    for (table, column), values in profiles.items():
        if table in ("load", "sgen", "storage") and len(values.columns):
            net[table].loc[values.columns, column] = values.iloc[step].to_numpy()
    net.load["scaling"] = net.load["scaling"] * factor
    # simbench leaves the tap changer's type empty and pandapower then ignores tap_pos; power-grid-model applies it
    net.trafo["tap_changer_type"] = "Ratio"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pp.runpp(net)
    except pp.LoadflowNotConverged:
        return 0.0
    return float(net.res_bus.vm_pu[net.bus.in_service & (net.res_bus.vm_pu > 0)].min())


def _storage_idle_rows(sample: gs.MarginSample) -> np.ndarray:
    """Sampled rows where no storage unit charges or discharges.

    The simulator still gives a storage unit's profile to each of the three PGM parts the converter
    makes of it (docs/ml.md, "Storage"); where storage is idle that error is zero, and the margin's
    own computation is what this test checks.
    """
    from ml.data.grids import grid_network

    _, profiles = grid_network(GRID)
    storage = profiles[("storage", "p_mw")].iloc[sample.steps]
    return np.flatnonzero(storage.abs().sum(axis=1).to_numpy() == 0)


def test_the_margin_is_where_pandapower_also_reaches_the_voltage_limit() -> None:
    sample = gs.margin_sample(GRID, SMALL.stability_samples)
    assert np.all(sample.margin > 0) and np.isfinite(sample.margin).all()
    idle = _storage_idle_rows(sample)
    for row in (idle[0], idle[len(idle) // 2]):
        step, margin = int(sample.steps[row]), float(sample.margin[row])
        assert _lowest_pu_in_pandapower(step, margin * 0.97) >= gs.LOWEST_PU, (step, margin)
        assert _lowest_pu_in_pandapower(step, margin * 1.03) < gs.LOWEST_PU, (step, margin)


def test_the_score_is_the_unused_share_of_the_limit_load() -> None:
    assert gs.stability_score(np.array([1.0, 2.0, 4.0, 0.5])).tolist() == [0.0, 0.5, 0.75, 0.0]


def test_trained_estimator_beats_the_headroom_rule_on_held_out_blocks(tmp_path) -> None:
    from ml.jobs import grid_stability as job

    registry = Registry(tmp_path)
    job.train(registry, SMALL)
    row = job.evaluate(registry, SMALL)[0]
    assert row.beats_baseline is True, row
    assert row.value < 0.7 * row.baseline_value, row
