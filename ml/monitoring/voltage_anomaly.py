"""Voltage anomaly detection per measurement point: is this bus's voltage disturbed right now?

Label: the simulator's recorded ground truth, not a threshold: a step is anomalous at a bus when
a recorded event concerns it (a voltage sag of the upstream grid reaches every bus; an outage
de-energises the buses of its islands).  Runs: four weeks of 15-minute steps of a grid's profile
year with a seeded mix of sags (depth 5-30 %, 1-4 steps) and N-1 outages (2-8 steps), measured by
class 0.5 voltage sensors at the substation and a share of the buses, with occasional missing
samples and outliers (an outlier is an instrument's fault, not an anomaly of the grid).

Inputs at a bus and step, all from measurements up to that step: the voltage, its change since the
last step, its deviation from the bus's median of the last 8 steps and from the same slot
yesterday, and the same deviations of the median over all measured buses (a sag moves them all).
Baseline: the threshold rule |U - 1| > 10 %, scored by F1 and, as a score |U - 1|, by PR-AUC.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ml.data.grids import grid_network, profile_tables
from ml.data.windows import window
from ml.gnn.cases import choose_measured
from physics.scenarios import Outage, VoltageSag, compose
from physics.sensors import SensorLayer, SensorSpec
from physics.timeseries import StepInputs, apply_profiles, run_time_series

DAY = 96
RUN_DAYS = 28
FEATURES = ("u_pu", "change_pu", "deviation_from_median_8", "deviation_from_yesterday", "missing",
            "all_buses_median_pu", "all_buses_deviation_from_median_8", "all_buses_change_pu")
PARAMETERS = {"n_estimators": 300, "max_depth": 6, "learning_rate": 0.05, "subsample": 0.8,
              "objective": "binary:logistic", "tree_method": "hist"}
THRESHOLD = 0.1
SENSOR = SensorSpec(accuracy_class=0.5, missing_probability=0.01, outlier_probability=0.002, outlier_scale=0.15)


@dataclass(frozen=True)
class AnomalyRun:
    code: str
    measured: np.ndarray       # node positions
    u_measured: np.ndarray     # (steps, measured) NaN where missing
    anomalous: np.ndarray      # (steps, measured) ground truth


def _scenarios(rng: np.random.Generator, steps: int) -> list:
    found: list = []
    for start in np.sort(rng.choice(np.arange(DAY, steps - 8), size=steps // 60, replace=False)):
        if rng.random() < 0.6:
            found.append(VoltageSag(start_step=int(start), duration_steps=int(rng.integers(1, 5)),
                                    depth=float(rng.uniform(0.05, 0.3))))
        else:
            found.append(Outage(start_step=int(start), duration_steps=int(rng.integers(2, 9))))
    return found


def simulate(code: str, seed: int, measured_fraction: float = 0.3) -> AnomalyRun:
    """Four weeks of the grid with seeded sags and outages, its measurements and ground truth."""
    network, profiles = grid_network(code)
    rng = np.random.default_rng([seed, sum(code.encode()), 50160])
    steps = RUN_DAYS * DAY
    start_day = int(rng.integers(0, 366 - RUN_DAYS))
    inputs = StepInputs(network, steps)
    apply_profiles(inputs, profile_tables(profiles), start=start_day * DAY)
    plan = compose(network, inputs, _scenarios(rng, steps), seed=seed)
    u = run_time_series(inputs, outputs={"node": ["u_pu"]}).values("node", "u_pu")
    measured = choose_measured(network, measured_fraction, rng)
    truth = np.zeros((steps, len(network.input_data["node"])), dtype=bool)
    node_of_key = {key: network.positions("node", [i])[0] for i, key in network.keys.items()
                   if network.component_of(i) == "node"}
    for event in plan.events:
        if event.label == "voltageSag":
            truth[event.start_step:event.end_step] = True
        elif event.label == "deenergised":
            nodes = [node_of_key[key] for key in event.elements if key in node_of_key]
            truth[event.start_step:event.end_step, nodes] = True
    names = [(f"{code}/node/{n}", "voltage") for n in measured]
    values = SensorLayer(seed).measure_many(names, np.nan_to_num(u[:, measured]), np.arange(steps) * 900.0, SENSOR,
                                            stream=f"{code}/anomaly").values
    return AnomalyRun(code, measured, values, truth[:, measured])


def features(run: AnomalyRun) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of every measured bus and step after the first day."""
    u = run.u_measured
    filled = _last_known(u)
    system = np.nanmedian(u, axis=1, keepdims=True)
    with np.errstate(invalid="ignore"):
        median_8 = window(filled, -8, 8, np.median)
        system_median_8 = window(_last_known(system), -8, 8, np.median)
    previous = np.roll(filled, 1, axis=0)
    columns = [filled, filled - previous, filled - median_8, filled - np.roll(filled, DAY, axis=0),
               np.isnan(u).astype(float), np.repeat(system, u.shape[1], axis=1),
               np.repeat(system - system_median_8, u.shape[1], axis=1),
               np.repeat(system - np.roll(system, 1, axis=0), u.shape[1], axis=1)]
    x = np.stack([c[DAY:] for c in columns], axis=-1).reshape(-1, len(FEATURES))
    y = run.anomalous[DAY:].reshape(-1)
    keep = np.isfinite(x).all(axis=1)
    return x[keep], y[keep]


def _last_known(values: np.ndarray) -> np.ndarray:
    """Missing samples (NaN) replaced by the bus's last reported value (what a historian shows)."""
    filled = values.copy()
    for row in range(1, len(filled)):
        gaps = np.isnan(filled[row])
        filled[row, gaps] = filled[row - 1, gaps]
    return filled


def threshold_score(x: np.ndarray) -> np.ndarray:
    """The baseline's score |U - 1| (it flags above :data:`THRESHOLD`)."""
    return np.abs(x[:, 0] - 1.0)
