"""A measurement point reports what the physics says about power quality: per-phase voltages and their
unbalance in asymmetric runs, the voltage THD of harmonic injections at its bus (pure, no servers)."""

from __future__ import annotations

import numpy as np

from loaders.simulation.telemetry import twin_series
from physics.unbalance import magnitude_unbalance_percent
from ml.data.grids import grid_network, profile_tables
from physics.scenario_system import injection_harmonics, thd_by_node
from physics.scenarios import HarmonicDistortion, PhaseUnbalance, compose
from physics.timeseries import StepInputs, apply_profiles, run_time_series

CODE = "1-LV-rural1--0-sw"


def _inputs(network, steps: int) -> StepInputs:
    _, profiles = grid_network(CODE)
    inputs = StepInputs(network, steps)
    apply_profiles(inputs, profile_tables(profiles), start=48 * 96)
    return inputs


def _bus_of_load(network, key: str) -> str:
    return network.keys[network.node_of(key)]


def test_unbalance_is_zero_for_equal_phases_and_the_spread_over_the_mean() -> None:
    phases = np.array([[230.0, 230.0, 230.0], [220.0, 230.0, 240.0]])
    assert np.allclose(magnitude_unbalance_percent(phases), [0.0, 100 * 20 / 230])


def test_a_lost_phase_shows_in_the_points_phase_voltages_and_unbalance() -> None:
    network = grid_network(CODE)[0].asymmetric()
    inputs = _inputs(network, 8)
    load = network.element_keys("load")[0]
    compose(network, inputs, [PhaseUnbalance(start_step=4, duration_steps=4, elements=(load,),
                                             phase_shares=(1.6, 1.4, 0.0))], seed=1)
    result = run_time_series(inputs, symmetric=False)
    series = twin_series(network, result, step_seconds=900.0, points={"mp": _bus_of_load(network, load)})["mp"].values
    unbalance = series["powerQuality.imbalance"]
    assert unbalance[:4].max() < 0.05 < unbalance[4:].min()  # balanced before, the lost phase after
    phases = np.column_stack([series[f"voltage.{p}"] for p in ("phaseA", "phaseB", "phaseC")])
    assert np.allclose(series["voltage.average"], phases.mean(axis=1))
    assert np.allclose(unbalance, magnitude_unbalance_percent(phases))


def test_a_harmonic_injection_shows_as_thd_at_its_bus_while_it_lasts() -> None:
    network, _ = grid_network(CODE)
    inputs = _inputs(network, 8)
    load = network.element_keys("load")[0]
    plan = compose(network, inputs, [HarmonicDistortion(start_step=2, duration_steps=3, elements=(load,),
                                                        nonlinear_share=0.8)], seed=2)
    thd = thd_by_node(network, inputs, plan.harmonic_injections, 0, 8)
    bus = _bus_of_load(network, load)
    position = int(network.positions("node", network.pgm_ids(bus))[0])
    at_bus = thd[position]
    assert at_bus[[0, 1, 5, 6, 7]].max() == 0.0 and at_bus[2:5].min() > 0.0
    event = next(e for e in plan.events if e.label == "harmonicDistortion")
    worst = injection_harmonics(network, inputs, plan.harmonic_injections, 2)
    assert abs(event.severity - float(np.max(worst.thd_percent))) < 1e-9  # the event's severity is the same study
    result = run_time_series(inputs)
    series = twin_series(network, result, step_seconds=900.0, points={"mp": bus}, thd_percent=thd)["mp"].values
    assert np.allclose(series["powerQuality.thd"], at_bus)
    second = thd_by_node(network, inputs, plan.harmonic_injections, 3, 8, {})  # a later chunk of the same run
    assert np.allclose(second[position], at_bus[3:])
