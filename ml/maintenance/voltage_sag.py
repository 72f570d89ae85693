"""Voltage-sag prediction per bus: how many days with a sag below 0.9 pu will the bus see next year?

Physics, the fault-position method (IEC/TR 61000-2-8's way to predict sags), is the predictor:
every line of the grid faults at a rate per km and year by its type (:data:`FAULTS_PER_KM_YEAR`),
half of them at each end; a fault is three-, two- or single-phase (:data:`KIND_SHARES`) through 0
or 5 Ω.  One power-grid-model IEC 60909 batch (``physics.faults.fault_study``) gives the retained
phase voltages of every bus for every such fault, so which faults sag which bus is known exactly,
and the bus's expected sag days follow from the rates (overhead lines' storm season included).

Why no learnt model: the ground truth draws each line's true rate around its type's (a seeded
lognormal factor per line, mean 1, σ = 0.8 in log space: age, trees, soil, digging) and Poisson
faults per day from it.  On simbench's MV grids a bus sees 0.3-2 sag days a year, one fault sags a
third of the grid's buses at once, and the count is Poisson noise: even the true rates' expectation
(the ceiling, which no one has) is within a few % of the generic method's error, and an XGBoost
regressor on the bus's history, the grid's history and the physics tied the generic method
(docs/ml.md).  Baselines the method is scored against on grids it never saw: the same number for
every bus (the mean sag days per bus-year of the training grids' simulated years) and the bus's own
history (last year's sag days).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from ml.data.grids import grid_network
from physics.faults import FAULT_KINDS, fault_study
from physics.network import Network

#: Faults per km and year by simbench line type: overhead lines and cables of German MV grids
#: (orders of magnitude of the FNN disturbance statistics).
FAULTS_PER_KM_YEAR = {"ol": 0.1, "cs": 0.03}
KIND_SHARES = {"3ph": 0.15, "2ph": 0.25, "1ph": 0.6}
FAULT_RESISTANCES_OHM = (0.0, 5.0)
SAG_PU = 0.9
LINE_FACTOR_SIGMA = 0.8
SEASON_AMPLITUDE = 0.7
STORM_PEAK_DAY = 196
DAYS = 366
HISTORY_DAYS = 365
#: The interval predicted: sag days in the next year, from a sample every quarter.
HORIZON_DAYS = 365
STRIDE_DAYS = 91


@dataclass(frozen=True)
class SagExposure:
    """The fault-position study of one grid: which fault scenario sags which bus, at which generic rate."""

    buses: np.ndarray            # (buses,) node positions studied (every node but the source's)
    node: np.ndarray             # (scenarios,) node position of the scenario's fault
    kind: np.ndarray             # (scenarios,) index into FAULT_KINDS
    r_f_ohm: np.ndarray          # (scenarios,) fault resistance
    sagged: np.ndarray           # (scenarios, buses) a fault of the scenario leaves the bus below SAG_PU
    line: np.ndarray             # (scenarios,) the line (pandapower row order) the scenario's faults are on
    generic_per_year: np.ndarray  # (scenarios,) faults per year at the generic rate of the line's type
    overhead: np.ndarray         # (scenarios,) the line is an overhead line

    def season(self, days: np.ndarray) -> np.ndarray:
        """``(days, scenarios)`` rate multiplier: overhead lines' storm season, cables flat."""
        storms = 1.0 + SEASON_AMPLITUDE * np.cos(2 * np.pi * ((days % DAYS) - STORM_PEAK_DAY) / DAYS)
        return np.where(self.overhead[None, :], storms[:, None], 1.0)


def _line_ends(network: Network) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per in-service line: from and to node positions, length (km) and whether it is overhead."""
    frame = network.net.line
    frame = frame[frame.in_service]
    lines = network.input_data["line"]
    rows = network.positions("line", [network.pgm_ids(f"line/{index}")[0] for index in frame.index])
    node_ids = network.input_data["node"]["id"]
    position = {int(node_id): k for k, node_id in enumerate(node_ids)}
    ends_from = np.array([position[int(n)] for n in lines["from_node"][rows]])
    ends_to = np.array([position[int(n)] for n in lines["to_node"][rows]])
    return ends_from, ends_to, frame.length_km.to_numpy(float), (frame.type == "ol").to_numpy()


def study(network: Network) -> SagExposure:
    """Every line end × kind × resistance as one fault batch; the sag matrix and generic rates."""
    ends_from, ends_to, length_km, overhead = _line_ends(network)
    fault_nodes = np.unique(np.concatenate([ends_from, ends_to]))
    combos = [(k, r) for k in range(len(FAULT_KINDS)) for r in range(len(FAULT_RESISTANCES_OHM))]
    nodes = np.repeat(fault_nodes, len(combos))
    kinds = np.tile([k for k, _ in combos], len(fault_nodes))
    resistances = np.tile([FAULT_RESISTANCES_OHM[r] for _, r in combos], len(fault_nodes))
    solved = fault_study(network, nodes, kinds, resistances)
    source = int(np.flatnonzero(network.input_data["node"]["id"] == network.input_data["source"]["node"][0])[0])
    buses = np.array([n for n in range(len(network.input_data["node"])) if n != source])
    sagged_rows = solved.u_pu[:, buses, :].min(axis=2) < SAG_PU        # (study rows, buses)
    row_of = {node: k * len(combos) for k, node in enumerate(fault_nodes)}
    per_line = np.array([FAULTS_PER_KM_YEAR.get("ol" if o else "cs") * km for o, km in zip(overhead, length_km)])
    share = np.array([KIND_SHARES[FAULT_KINDS[k]] / len(FAULT_RESISTANCES_OHM) for k, _ in combos])
    scenario_rows, line, rate = [], [], []
    for index, (a, b) in enumerate(zip(ends_from, ends_to)):
        for end in (a, b):
            scenario_rows.extend(row_of[int(end)] + np.arange(len(combos)))
            line.extend([index] * len(combos))
            rate.extend(per_line[index] / 2 * share)
    line_array, rows = np.array(line), np.array(scenario_rows)
    return SagExposure(buses, nodes[rows], kinds[rows], resistances[rows], sagged_rows[rows], line_array,
                       np.array(rate), overhead[line_array])


@cache
def grid_study(code: str) -> SagExposure:
    return study(grid_network(code)[0])


@dataclass(frozen=True)
class SagYears:
    """Simulated years of one grid: recorded sag days per bus, and what each rate predicted."""

    code: str
    sag: np.ndarray               # (days, buses) bool: the bus's meter recorded a sag that day
    generic_expected: np.ndarray  # (days, buses) expected sags from the generic rates (the utility's physics)
    true_expected: np.ndarray     # (days, buses) expected sags from the true rates (the ceiling)


def simulate(code: str, seed: int, years: int) -> SagYears:
    """``years`` of daily Poisson faults at the grid's seeded true line rates."""
    exposure = grid_study(code)
    rng = np.random.default_rng([seed, sum(code.encode()), 61000, 2])
    lines = int(exposure.line.max()) + 1
    factor = rng.lognormal(-LINE_FACTOR_SIGMA ** 2 / 2, LINE_FACTOR_SIGMA, lines)
    days = np.arange(years * DAYS)
    season = exposure.season(days)
    generic = season * exposure.generic_per_year / DAYS            # (days, scenarios) expected faults
    true = generic * factor[exposure.line]
    sagged = exposure.sagged.astype(float)
    faults = rng.poisson(true)
    return SagYears(code, (faults @ sagged) > 0, generic @ sagged, true @ sagged)


@dataclass(frozen=True)
class SagOutlook:
    """Per bus and sampled day: the sag days of the next :data:`HORIZON_DAYS`, and what each predictor said."""

    actual: np.ndarray           # (samples,) sag days that came
    predicted: np.ndarray        # (samples,) the fault-position method with the generic rates
    history: np.ndarray          # (samples,) the bus's sag days of the last year
    ceiling: np.ndarray          # (samples,) the fault-position method with the true rates


def _window_sum(values: np.ndarray, start: int, days: int) -> np.ndarray:
    """Per day t: the sum of ``values[t + start : t + start + days]`` (NaN where it leaves the run)."""
    cumulative = np.vstack([np.zeros((1, values.shape[1])), np.cumsum(values, axis=0)])
    first = np.arange(len(values)) + start
    inside = (first >= 0) & (first + days <= len(values))
    found = np.full(values.shape, np.nan)
    found[inside] = cumulative[first[inside] + days] - cumulative[first[inside]]
    return found


def outlook(run: SagYears) -> SagOutlook:
    """One sample per bus every :data:`STRIDE_DAYS` after the first year (which only feeds the history)."""
    sag = run.sag.astype(float)
    days = np.arange(HISTORY_DAYS, len(sag) - HORIZON_DAYS + 1, STRIDE_DAYS)

    def at_days(values: np.ndarray) -> np.ndarray:
        return values[days].reshape(-1)

    return SagOutlook(at_days(_window_sum(sag, 0, HORIZON_DAYS)),
                      at_days(_window_sum(run.generic_expected, 0, HORIZON_DAYS)),
                      at_days(_window_sum(sag, -HISTORY_DAYS, HISTORY_DAYS)) * HORIZON_DAYS / HISTORY_DAYS,
                      at_days(_window_sum(run.true_expected, 0, HORIZON_DAYS)))
