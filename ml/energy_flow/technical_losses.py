"""Technical loss estimation: a grid's losses, which no meter measures, from what the substation measures.

Label: the losses of the simulator's power flow (Σ over branches of P_from + P_to), a hidden
quantity.  Inputs: the feeder head's P and Q and the substation's voltage as a class 0.5
instrument reports them (the simulator's sensor layer), and the time (slot of the day, day of
the year).  Baseline: the classical split into no-load and load losses, losses = c U² + k (P² + Q²) / U²
(iron and copper), c and k fitted by least squares on the training steps.  Split by time: the load forecast's 28-day blocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from ml.data.grids import YEAR_BRANCHES, grid_network, substation_node, year_flow
from physics.sensors import SensorLayer

FEATURES = ("p_head_mw", "q_head_mvar", "u_substation_pu", "s_squared_over_u_squared", "slot_sin", "slot_cos",
            "day_sin", "day_cos")
PARAMETERS = {"n_estimators": 400, "max_depth": 6, "learning_rate": 0.05, "subsample": 0.8,
              "objective": "reg:absoluteerror", "tree_method": "hist"}


@dataclass(frozen=True)
class LossYear:
    """A grid's year: exact head P/Q and substation voltage, and the losses, per 15-minute step."""

    code: str
    p_head_w: np.ndarray
    q_head_var: np.ndarray
    u_substation_pu: np.ndarray
    losses_w: np.ndarray


@cache
def loss_year(code: str) -> LossYear:
    """The year's head P/Q, substation voltage and losses from the grid's year of power flows."""
    network, _ = grid_network(code)
    result = year_flow(code)
    losses = sum((result.output[name]["p_from"] + result.output[name]["p_to"]).sum(axis=1)
                 for name in YEAR_BRANCHES if name in result.output)
    source = result.output["source"]
    return LossYear(code, source["p"].sum(axis=1), source["q"].sum(axis=1),
                    result.values("node", "u_pu")[:, substation_node(network)], np.asarray(losses))


def measured_inputs(year: LossYear, seed: int) -> np.ndarray:
    """``(steps, 3)`` head P, Q and substation voltage as class 0.5 instruments report them."""
    exact = np.column_stack([year.p_head_w, year.q_head_var, year.u_substation_pu])
    names = [(f"{year.code}/head", "p"), (f"{year.code}/head", "q"), (f"{year.code}/substation", "u")]
    values = SensorLayer(seed).measure_many(names, exact, np.arange(len(exact)) * 900.0, stream=year.code).values
    return values


def features(measured: np.ndarray, first_position: int = 0, steps: np.ndarray | None = None) -> np.ndarray:
    """Model inputs per step of ``(steps, 3)`` head P (W), Q (var) and substation U (pu); ``first_position`` is the
    profile-year quarter-hour of the first step (the time features of a served estimate), or ``steps`` the
    quarter-hour of each row."""
    steps = first_position + np.arange(len(measured)) if steps is None else steps
    slot = 2 * np.pi * (steps % 96) / 96
    day = 2 * np.pi * (steps // 96) / 366
    p, q, u = measured[:, 0] / 1e6, measured[:, 1] / 1e6, measured[:, 2]
    return np.column_stack([p, q, u, (p ** 2 + q ** 2) / u ** 2, np.sin(slot), np.cos(slot), np.sin(day), np.cos(day)])


def _baseline_columns(x: np.ndarray) -> np.ndarray:
    return np.column_stack([x[:, 2] ** 2, x[:, 3]])


def fit_loss_factor(x: np.ndarray, losses_w: np.ndarray) -> list[float]:
    """(c, k) of losses = c U² + k (P² + Q²)/U² by least squares: the baseline."""
    coefficients, *_ = np.linalg.lstsq(_baseline_columns(x), losses_w, rcond=None)
    return [float(c) for c in coefficients]


def loss_factor_estimate(coefficients: list[float], x: np.ndarray) -> np.ndarray:
    return _baseline_columns(x) @ np.asarray(coefficients)
