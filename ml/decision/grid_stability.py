"""Grid stability score: how far the grid is from voltage collapse, learned from what the substation measures.

Label: the loading margin λ* of the simulator's power flow, a solver's result no meter shows: every
load of the grid (P and Q, the generators left as they are) scaled by λ until the first bus falls
below 0.9 pu (EN 50160's limit) or power-grid-model's Newton-Raphson finds no solution (the nose of
the PV curve), whichever comes first.  λ* is found per quarter-hour by doubling then bisection, each
step one PGM batch over all sampled quarter-hours (precision ``1 / 2**BISECTIONS`` of the bracket).
Thermal limits are the overload model's; in distribution grids they often bind first.

Inputs: the technical-loss estimator's (:mod:`ml.energy_flow.technical_losses`): the feeder head's
P and Q and the substation's voltage from class 0.5 instruments, and the time.  Baseline: a constant
headroom in MVA, λ = 1 + M / |S_head|, M fitted on the training quarter-hours (the classical
"MW margin").  Served as ``gridStability`` = 1 − 1/λ*: the share of the collapse load not in use.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from ml.data.grids import grid_network, profile_tables, substation_node
from ml.energy_flow.technical_losses import LossYear, features, measured_inputs
from physics.network import Network
from physics.timeseries import StepInputs, apply_profiles, run_time_series

BISECTIONS = 7
#: EN 50160's lower limit of the supply voltage: below it the load is not carried acceptably.
LOWEST_PU = 0.9
MAX_MARGIN = 100.0
PARAMETERS = {"n_estimators": 400, "max_depth": 5, "learning_rate": 0.05, "subsample": 0.8,
              "objective": "reg:absoluteerror", "tree_method": "hist"}


@dataclass(frozen=True)
class MarginSample:
    code: str
    steps: np.ndarray        # profile-year quarter-hours sampled
    margin: np.ndarray       # λ* per sampled step (below 1 where the grid is outside the limit now)
    head: LossYear           # the substation's exact P, Q and U at the sampled steps (what its instruments see)


def _demand_parts(network: Network) -> np.ndarray:
    """(sym_loads,) True for the PGM loads that are the grid's loads (storage units are PGM loads too)."""
    return np.array([network.keys[int(pgm_id)].startswith("load/") for pgm_id in network.input_data["sym_load"]["id"]])


def _scaled(inputs: StepInputs, factor: np.ndarray, demand: np.ndarray) -> StepInputs:
    """The steps with the ``demand`` loads' P and Q times ``factor`` (one per step); storage and generation as they are."""
    scaled = StepInputs(inputs.network, inputs.steps)
    scaled.columns = {component: dict(attributes) for component, attributes in inputs.columns.items()}
    multiplier = np.where(demand[None, :], factor[:, None], 1.0)
    for attribute in ("p_specified", "q_specified"):
        scaled.columns.setdefault("sym_load", {})[attribute] = inputs.values("sym_load", attribute) * multiplier
    return scaled


def _acceptable(inputs: StepInputs, factor: np.ndarray, demand: np.ndarray) -> np.ndarray:
    """Per step: a power-flow solution exists with the loads times ``factor`` and no bus below ``LOWEST_PU``."""
    result = run_time_series(_scaled(inputs, factor, demand), outputs={"node": ["u_pu"]})
    u = result.values("node", "u_pu")
    # a bus no source reaches reads 0: not a voltage problem; a failed step (NaN) is refused below
    acceptable = np.where(u > 0, u, np.inf).min(axis=1) >= LOWEST_PU
    acceptable[result.failed_steps] = False
    return acceptable


def loading_margins(inputs: StepInputs) -> np.ndarray:
    """λ* per step of ``inputs``: the largest load factor the grid carries within the voltage limit.

    Voltages fall as the loads grow (generation held), so the acceptable factors are one interval
    from 0: doubling brackets its end from 1 upwards, bisection narrows it; a step already outside
    the limit has its λ* below 1.
    """
    demand = _demand_parts(inputs.network)
    now = _acceptable(inputs, np.ones(inputs.steps), demand)
    low, high = np.where(now, 1.0, 0.0), np.where(now, 2.0, 1.0)
    growing = now.copy()
    while growing.any():
        acceptable = _acceptable(inputs, high, demand)
        low = np.where(growing & acceptable, high, low)
        growing &= acceptable & (high < MAX_MARGIN)
        high = np.where(growing, high * 2.0, high)
    for _ in range(BISECTIONS):
        middle = (low + high) / 2.0
        acceptable = _acceptable(inputs, middle, demand)
        low, high = np.where(acceptable, middle, low), np.where(acceptable, high, middle)
    return np.minimum(low, MAX_MARGIN)


@cache
def margin_sample(code: str, samples: int, seed: int = 0) -> MarginSample:
    """λ* of ``samples`` random quarter-hours of the grid's profile year."""
    network, profiles = grid_network(code)
    tables = profile_tables(profiles)
    year = min(len(table) for table in tables.values())
    steps = np.sort(np.random.default_rng([seed, sum(code.encode()), 4410]).choice(year, samples, replace=False))
    inputs = StepInputs(network, samples)
    apply_profiles(inputs, {key: table.iloc[steps].reset_index(drop=True) for key, table in tables.items()})
    now = run_time_series(inputs, outputs={"node": ["u_pu"], "source": ["p", "q"]})
    head = LossYear(code, now.output["source"]["p"].sum(axis=1), now.output["source"]["q"].sum(axis=1),
                    now.values("node", "u_pu")[:, substation_node(network)], np.full(samples, np.nan))
    return MarginSample(code, steps, loading_margins(inputs), head)


def measured_features(sample: MarginSample, seed: int) -> np.ndarray:
    """The loss estimator's features of the sampled steps, from instruments of sensor seed ``seed``."""
    return features(measured_inputs(sample.head, seed), steps=sample.steps)


def apparent_power_mva(x: np.ndarray) -> np.ndarray:
    """|S| at the feeder head from the loss estimator's features (P and Q in MW / Mvar first)."""
    return np.hypot(x[:, 0], x[:, 1])


def fit_headroom(x: np.ndarray, margin: np.ndarray) -> float:
    """M of λ = 1 + M / |S|: the median headroom in MVA over the training steps (the baseline)."""
    return float(np.median((margin - 1.0) * apparent_power_mva(x)))


def headroom_estimate(headroom_mva: float, x: np.ndarray) -> np.ndarray:
    return np.minimum(1.0 + headroom_mva / np.maximum(apparent_power_mva(x), 1e-3), MAX_MARGIN)


def stability_score(margin: np.ndarray) -> np.ndarray:
    """1 − 1/λ*: 0 at the nose, towards 1 far from it."""
    return 1.0 - 1.0 / np.maximum(margin, 1.0)
