"""Voltage anomaly detection per measurement point, on its live one-second stream: is the bus disturbed now?

Label: the simulator's recorded ground truth, not a threshold: a second is anomalous at a bus when
a recorded event concerns it (a sag of the upstream grid reaches every bus; an outage de-energises
the buses of its islands).  Runs: two hours at 1 s of a grid, each load and generator holding its
profile value per quarter-hour as the real-time simulator does, with a seeded sag (depth 5-30 %,
1-20 s) or N-1 outage (10-120 s) every few minutes, measured per phase by class 0.2 voltage
transformers at a share of the buses (noise, a missing sample in 100, an outlier of up to 15 % in
500: an instrument's fault, not an anomaly of the grid).

Inputs: the point's voltage features of the shared feature path (``ml.features``: the same numbers
the live stream computes), plus two of its peers (the median over the grid's measured points of
the one-second change and of the deviation from the last 8 s: a sag moves them all, an outlier
one).  Baseline: the threshold rule |U - 1| > 10 %, scored by F1 and, as a score |U - 1|, by PR-AUC.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ml.data.grids import grid_network, held_profile_inputs
from ml.features.compute import WINDOW_SAMPLES
from ml.features.peers import peer_names, run_inputs
from ml.features.signals import COLUMN, PHASES, SIGNALS
from ml.gnn.cases import choose_measured
from physics.scenarios import Outage, VoltageSag, compose
from physics.sensors import SensorLayer, SensorSpec
from physics.timeseries import run_time_series

RUN_S = 7200
QUARTER_S = 900
STRIDE_S = 3
OWN_FEATURES = ("voltage_average_now", "voltage_average_change_1s", "voltage_average_change_5s",
                "voltage_average_deviation_from_median_8s", "voltage_average_mean_60s", "voltage_average_std_60s",
                "voltage_average_min_60s", "voltage_average_max_60s", "voltage_seconds_outside_5pct",
                "voltage_seconds_outside_10pct", "voltage_unbalance", "missing_seconds_60s", "age_of_last_sample_s")
#: Own features whose median over the grid's points is a peer feature.
PEERED = ("voltage_average_change_1s", "voltage_average_deviation_from_median_8s")
FEATURES = OWN_FEATURES + peer_names(PEERED)
PARAMETERS = {"n_estimators": 300, "max_depth": 6, "learning_rate": 0.05, "subsample": 0.8,
              "objective": "binary:logistic", "tree_method": "hist"}
THRESHOLD = 0.1
SENSOR = SensorSpec(accuracy_class=0.2, missing_probability=0.01, outlier_probability=0.002, outlier_scale=0.15)


@dataclass(frozen=True)
class AnomalyRun:
    code: str
    measured: np.ndarray       # node positions of the measured buses
    rows: np.ndarray           # (points, RUN_S, SIGNALS) per-unit voltages as the points report them
    anomalous: np.ndarray      # (RUN_S, points) ground truth


def _scenarios(rng: np.random.Generator) -> list:
    found: list = []
    for start in np.sort(rng.choice(np.arange(WINDOW_SAMPLES, RUN_S - 130), size=RUN_S // 240, replace=False)):
        if rng.random() < 0.6:
            found.append(VoltageSag(start_step=int(start), duration_steps=int(rng.integers(1, 21)),
                                    depth=float(rng.uniform(0.05, 0.3))))
        else:
            found.append(Outage(start_step=int(start), duration_steps=int(rng.integers(10, 121))))
    return found


def _truth(network, plan, steps: int) -> np.ndarray:
    truth = np.zeros((steps, len(network.input_data["node"])), dtype=bool)
    node_of_key = {key: network.positions("node", [i])[0] for i, key in network.keys.items()
                   if network.component_of(i) == "node"}
    for event in plan.events:
        if event.label == "voltageSag":
            truth[event.start_step:event.end_step] = True
        elif event.label == "deenergised":
            nodes = [node_of_key[key] for key in event.elements if key in node_of_key]
            truth[event.start_step:event.end_step, nodes] = True
    return truth


def simulate(code: str, seed: int, measured_fraction: float = 0.3) -> AnomalyRun:
    """Two hours of the grid at 1 s with seeded sags and outages, its points' voltages and ground truth."""
    network, profiles = grid_network(code)
    rng = np.random.default_rng([seed, sum(code.encode()), 50160])
    inputs = held_profile_inputs(network, profiles, int(rng.integers(0, 366 * 96 - RUN_S // QUARTER_S)), RUN_S)
    plan = compose(network, inputs, _scenarios(rng), seed=seed)
    u = np.nan_to_num(run_time_series(inputs, outputs={"node": ["u_pu"]}).values("node", "u_pu"))
    measured = choose_measured(network, measured_fraction, rng)
    names = [(f"{code}/node/{n}", phase) for n in measured for phase in PHASES]
    per_phase = SensorLayer(seed).measure_many(names, np.repeat(u[:, measured], 3, axis=1), np.arange(RUN_S) * 1.0,
                                               SENSOR, stream=f"{code}/anomaly-1s").values
    rows = np.full((len(measured), RUN_S, len(SIGNALS)), np.nan)
    for point in range(len(measured)):
        phases = per_phase[:, 3 * point:3 * point + 3]
        for k, phase in enumerate(PHASES):
            rows[point, :, COLUMN[f"voltage.{phase}"]] = phases[:, k]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a second whose three samples were all lost
            rows[point, :, COLUMN["voltage.average"]] = np.nanmean(phases, axis=1)
    return AnomalyRun(code, measured, rows, _truth(network, plan, RUN_S)[:, measured])


def features(run: AnomalyRun) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of every measured point every :data:`STRIDE_S` seconds after the first minute."""
    ends = np.arange(WINDOW_SAMPLES, RUN_S, STRIDE_S)
    return run_inputs(run.rows, ends, OWN_FEATURES, PEERED), run.anomalous[ends].reshape(-1)


def threshold_score(x: np.ndarray) -> np.ndarray:
    """The baseline's score |U - 1| (it flags above :data:`THRESHOLD`)."""
    return np.abs(x[:, 0] - 1.0)
