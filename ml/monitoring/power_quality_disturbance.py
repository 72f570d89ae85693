"""Power-quality disturbance classification per measurement point: which disturbance is the grid in now?

Label: the simulator's recorded ground truth, the kind of the scenario event active in the grid at
that second (``none``, ``sag``, ``harmonics``, ``unbalance``): the event is the grid's, so a point
far from a distorting load still has to recognise it from its faint signature.  Runs: two hours at
1 s of a grid in its asymmetric form, loads at their quarter-hour profile values (as the real-time
simulator holds them), one event every four minutes or so, never two at once: voltage sags of the
upstream grid (5-30 %, 2-20 s), harmonic injections of 1-3 loads (a non-linear share of 5-50 %,
six-pulse spectrum, 30-120 s; voltage THD from ``physics.harmonics``) and unbalance of a quarter to
all of the loads (one phase lost, or shares of 0.4-1.6 per phase, 30-120 s), over the standing
unbalance of 30 % of the loads connected to one or two phases only (``physics.unbalance``'s uneven
connections, all run long, no event: what an LV grid always has).  30 % of the buses carry a point whose
phase voltages report as class 0.2 transformers (noise, 1 % missing, 0.2 % outliers); the meter
computes the unbalance from its phase magnitudes and measures THD with 5 % relative noise (class 3).

Inputs: the point's voltage and power-quality features of the shared feature path and three peer
medians (THD, unbalance, the 1-s voltage change over the grid's points inferred together).
Baseline: EN 50160's limits as rules (|U − 1| > 10 %: sag; THD > 8 %: harmonics; unbalance > 2 %:
unbalance; else none), scored like the model by macro-F1 and MCC over the four classes.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from ml.data.grids import grid_network, held_profile_inputs
from ml.features.compute import WINDOW_SAMPLES
from ml.features.peers import peer_names, run_inputs
from ml.features.signals import COLUMN, PHASES, SIGNALS
from ml.gnn.cases import choose_measured
from physics.unbalance import connect_unevenly, magnitude_unbalance_percent, vuf_percent
from physics.network import Network
from physics.scenario_system import thd_by_node
from physics.scenarios import HarmonicDistortion, PhaseUnbalance, VoltageSag, compose
from physics.sensors import SensorLayer, SensorSpec
from physics.timeseries import run_time_series

CLASSES = ("none", "sag", "harmonics", "unbalance")
EVENT_CLASS = {"voltageSag": 1, "harmonicDistortion": 2, "unbalance": 3, "phaseLoss": 3}
RUN_S = 7200
QUARTER_S = 900
STRIDE_S = 3
#: Loads connected to one or two phases for the whole run.
UNEVEN_SHARE = 0.3
OWN_FEATURES = ("voltage_average_now", "voltage_average_change_1s", "voltage_average_deviation_from_median_8s",
                "voltage_average_min_60s", "voltage_unbalance", "powerQuality_imbalance_now",
                "powerQuality_imbalance_mean_60s", "powerQuality_imbalance_max_60s", "powerQuality_thd_now",
                "powerQuality_thd_mean_60s", "powerQuality_thd_max_60s", "missing_seconds_60s")
PEERED = ("powerQuality_thd_now", "powerQuality_imbalance_now", "voltage_average_change_1s")
FEATURES = OWN_FEATURES + peer_names(PEERED)
PARAMETERS = {"n_estimators": 300, "max_depth": 6, "learning_rate": 0.05, "subsample": 0.8,
              "objective": "multi:softprob", "tree_method": "hist"}
VOLTAGE = SensorSpec(accuracy_class=0.2, missing_probability=0.01, outlier_probability=0.002, outlier_scale=0.15)
THD_METER = SensorSpec(accuracy_class=3.0)
#: EN 50160's limits the baseline applies: supply voltage ±10 %, THD 8 %, negative-sequence unbalance 2 %.
SAG_LIMIT, THD_LIMIT, UNBALANCE_LIMIT = 0.1, 8.0, 2.0


@dataclass(frozen=True)
class DisturbanceRun:
    code: str
    rows: np.ndarray        # (points, RUN_S, SIGNALS) per-unit voltages, unbalance %, THD %
    label: np.ndarray       # (RUN_S,) class index of the grid's active event
    vuf: np.ndarray         # (points, RUN_S) true negative/positive-sequence unbalance at each point's bus, %
    worst_vuf: np.ndarray   # (RUN_S,) the highest true unbalance over all buses of the grid, %
    head_current: np.ndarray  # (RUN_S, 3) substation transformers' LV phase currents as class 0.5 CTs read them, p.u. of rating


def _scenarios(rng: np.random.Generator, loads: list[str]) -> list:
    found, at = [], int(rng.integers(WINDOW_SAMPLES, 240))
    while at < RUN_S - 130:
        kind = rng.integers(0, 3)
        chosen = tuple(rng.choice(loads, size=int(rng.integers(1, 4)), replace=False).tolist())
        if kind == 0:
            duration = int(rng.integers(2, 21))
            found.append(VoltageSag(start_step=at, duration_steps=duration, depth=float(rng.uniform(0.05, 0.3))))
        elif kind == 1:
            duration = int(rng.integers(30, 121))
            found.append(HarmonicDistortion(start_step=at, duration_steps=duration, elements=chosen,
                                            nonlinear_share=float(rng.uniform(0.05, 0.5))))
        else:
            duration = int(rng.integers(30, 121))
            shares = (1.0, 1.0, 0.0) if rng.random() < 0.4 else tuple(float(v) for v in rng.uniform(0.4, 1.6, 3))
            # a quarter to all of the grid's loads: one to three loads of a simbench grid unbalance
            # its voltages by < 0.05 %, which no meter and no model can tell from noise
            feeder = tuple(rng.choice(loads, size=int(rng.integers(max(1, len(loads) // 4), len(loads) + 1)),
                                      replace=False).tolist())
            found.append(PhaseUnbalance(start_step=at, duration_steps=duration, elements=feeder,
                                        phase_shares=tuple(rng.permutation(shares).tolist())))
        at += duration + int(rng.integers(60, 300))
    return found


def simulate(code: str, seed: int, measured_fraction: float = 0.3) -> DisturbanceRun:
    """Two hours of the asymmetric grid at 1 s with seeded disturbances, its points' readings and ground truth."""
    base, profiles = grid_network(code)
    network = base.asymmetric()
    rng = np.random.default_rng([seed, sum(code.encode()), 61000])
    inputs = held_profile_inputs(network, profiles, int(rng.integers(0, 366 * 96 - RUN_S // QUARTER_S)), RUN_S)
    connect_unevenly(inputs, network, rng, UNEVEN_SHARE)  # the standing unbalance of single-phase connections
    plan = compose(network, inputs, _scenarios(rng, network.element_keys("load")), seed=seed)
    flow = run_time_series(inputs, symmetric=False, outputs={"node": ["u_pu", "u_angle"], "transformer": ["i_to"]})
    u = np.abs(np.nan_to_num(flow.values("node", "u_pu")))
    angle = np.nan_to_num(flow.values("node", "u_angle"))
    thd = thd_by_node(network, inputs, plan.harmonic_injections, 0, RUN_S)
    measured = choose_measured(network, measured_fraction, rng)
    layer = SensorLayer(seed)
    names = [(f"{code}/node/{n}", phase) for n in measured for phase in PHASES]
    exact = u[:, measured, :].reshape(RUN_S, -1)
    phases = layer.measure_many(names, exact, np.arange(RUN_S) * 1.0, VOLTAGE, stream=f"{code}/pq-v").values
    true_thd = np.column_stack([thd.get(int(n), np.zeros(RUN_S)) for n in measured])
    thd_read = layer.measure_many([(f"{code}/node/{n}", "thd") for n in measured], true_thd, np.arange(RUN_S) * 1.0,
                                  THD_METER, stream=f"{code}/pq-thd").values
    rows = np.full((len(measured), RUN_S, len(SIGNALS)), np.nan)
    for point in range(len(measured)):
        three = phases[:, 3 * point:3 * point + 3]
        for k, phase in enumerate(PHASES):
            rows[point, :, COLUMN[f"voltage.{phase}"]] = three[:, k]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a second whose three samples were all lost
            rows[point, :, COLUMN["voltage.average"]] = np.nanmean(three, axis=1)
        rows[point, :, COLUMN["powerQuality.imbalance"]] = magnitude_unbalance_percent(np.nan_to_num(three, nan=1.0))
        rows[point, :, COLUMN["powerQuality.thd"]] = thd_read[:, point]
    label = np.zeros(RUN_S, dtype=np.int64)
    for event in plan.events:
        if event.label in EVENT_CLASS:
            label[event.start_step:event.end_step] = EVENT_CLASS[event.label]
    vuf = vuf_percent(u, angle)
    head = layer.measure_many([(f"{code}/substation", phase) for phase in PHASES], _head_current(network, flow),
                              np.arange(RUN_S) * 1.0, stream=f"{code}/pq-head-current").values
    return DisturbanceRun(code, rows, label, vuf[:, measured].T, vuf.max(axis=1), head)


def _head_current(network: Network, flow: Any) -> np.ndarray:
    """``(steps, 3)`` LV phase currents of the substation's transformers (those of the highest primary
    voltage, in parallel) in per unit of their summed rated current."""
    transformers = network.input_data["transformer"]
    top = transformers["u1"] == transformers["u1"].max()
    rated_a = float((transformers["sn"][top] / (np.sqrt(3) * transformers["u2"][top])).sum())
    return np.nan_to_num(flow.values("transformer", "i_to"))[:, top, :].sum(axis=1) / rated_a


def features(run: DisturbanceRun) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of every point every :data:`STRIDE_S` seconds after the first minute."""
    ends = np.arange(WINDOW_SAMPLES, RUN_S, STRIDE_S)
    return run_inputs(run.rows, ends, OWN_FEATURES, PEERED), np.repeat(run.label[ends], len(run.rows))


def rule(x: np.ndarray) -> np.ndarray:
    """The baseline: EN 50160's limits on the point's own readings now."""
    u = x[:, OWN_FEATURES.index("voltage_average_now")]
    thd = x[:, OWN_FEATURES.index("powerQuality_thd_now")]
    unbalance = x[:, OWN_FEATURES.index("powerQuality_imbalance_now")]
    found = np.zeros(len(x), dtype=np.int64)
    found[unbalance > UNBALANCE_LIMIT] = 3
    found[thd > THD_LIMIT] = 2
    found[np.abs(u - 1.0) > SAG_LIMIT] = 1
    return found
