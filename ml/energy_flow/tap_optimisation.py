"""Power-flow optimisation: on-load tap positions per step that minimise losses within the voltage band.

A real optimiser, not a learned guess: for each step every candidate position of a transformer's
tap changer is solved by power-grid-model (one batch of steps × positions), holding the other
transformers at their best so far (coordinate descent, ``passes`` rounds over all transformers; parallel units move together).
A candidate is ranked first by how far its voltages leave the band (sum of pu outside it over all
nodes), then by losses, so a proposal never adds a violation the current taps do not have.  The
chosen taps are then solved once more by Newton-Raphson and only that result is reported.

Capacitor banks: the grids here have none (simbench has no shunts), so no shunt steps are
searched; a grid with shunts gets taps only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from physics.network import Network
from physics.timeseries import StepInputs, run_time_series

BRANCHES = ("line", "link", "transformer", "generic_branch")


@dataclass(frozen=True)
class VoltageBand:
    """Allowed node voltages in pu (distribution operators keep MV within about ±5 %)."""

    low: float = 0.95
    high: float = 1.05


@dataclass
class TapProposal:
    """Per step: the chosen taps and the checked power flow before and after."""

    taps: np.ndarray               # (steps, transformers)
    losses_before_w: np.ndarray    # (steps,)
    losses_after_w: np.ndarray
    outside_before_pu: np.ndarray  # (steps,) sum over nodes of pu outside the band
    outside_after_pu: np.ndarray

    def loss_reduction(self) -> float:
        """Energy saved over the period as a fraction of the losses with the taps unchanged."""
        return float(1 - self.losses_after_w.sum() / self.losses_before_w.sum())

    def steps_outside(self) -> tuple[int, int]:
        """(steps with a violation before, after)."""
        return int((self.outside_before_pu > 1e-9).sum()), int((self.outside_after_pu > 1e-9).sum())


def _losses_and_outside(inputs: StepInputs, band: VoltageBand, method: str) -> tuple[np.ndarray, np.ndarray]:
    wanted = {name: ["p_from", "p_to"] for name in BRANCHES} | {"node": ["u_pu"]}
    result = run_time_series(inputs, outputs=wanted, method=method)
    losses = np.zeros(inputs.steps)
    for name in BRANCHES:
        if name in result.output:
            losses += (result.output[name]["p_from"] + result.output[name]["p_to"]).sum(axis=1)
    u = result.values("node", "u_pu")
    outside = (np.clip(u - band.high, 0, None) + np.clip(band.low - u, 0, None)).sum(axis=1)
    failed = ~np.isfinite(losses) | ~np.isfinite(outside)
    return np.where(failed, np.inf, losses), np.where(failed, np.inf, outside)


def _with_taps(base: StepInputs, taps: np.ndarray, repeat: int) -> StepInputs:
    """``base`` with each step repeated ``repeat`` times and the transformers at ``taps`` (steps·repeat, n)."""
    inputs = StepInputs(base.network, base.steps * repeat)
    inputs.columns = {component: {name: np.repeat(values, repeat, axis=0) for name, values in attributes.items()}
                      for component, attributes in base.columns.items()}
    inputs.column("transformer", "tap_pos")[:] = taps
    return inputs


def parallel_groups(network: Network) -> list[list[int]]:
    """Transformers (row positions) with tap changers that connect the same two buses (closed links merge
    buses): moved together, since parallel units at different taps drive a circulating current."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    nodes = network.input_data["node"]["id"]
    link = network.input_data.get("link")
    rows = cols = np.empty(0, dtype=np.int64)
    if link is not None and len(link):
        closed = (link["from_status"] == 1) & (link["to_status"] == 1)
        rows = network.positions("node", link["from_node"][closed])
        cols = network.positions("node", link["to_node"][closed])
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(nodes), len(nodes)))
    _, bus = connected_components(graph, directed=False)
    array = network.input_data["transformer"]
    ends = bus[network.positions("node", array["from_node"])], bus[network.positions("node", array["to_node"])]
    groups: dict[tuple[int, int, int, int], list[int]] = {}
    for index in range(len(array)):
        if array["tap_min"][index] != array["tap_max"][index]:
            key = (int(ends[0][index]), int(ends[1][index]), int(array["tap_min"][index]), int(array["tap_max"][index]))
            groups.setdefault(key, []).append(index)
    return list(groups.values())


def _scan(base: StepInputs, best: np.ndarray, group: list[int], band: VoltageBand) -> np.ndarray:
    """Best position of one group of transformers per step, the others held at ``best``."""
    array = base.network.input_data["transformer"]
    low, high = sorted((int(array["tap_min"][group[0]]), int(array["tap_max"][group[0]])))
    candidates = np.arange(low, high + 1)
    taps = np.repeat(best, len(candidates), axis=0)
    taps[:, group] = np.tile(candidates, base.steps)[:, None]
    losses, outside = _losses_and_outside(_with_taps(base, taps, len(candidates)), band, "iterative_current")
    score = np.where(outside > 1e-9, 1e12 + outside * 1e9, losses).reshape(base.steps, len(candidates))
    chosen = best.copy()
    chosen[:, group] = candidates[np.argmin(score, axis=1)][:, None]
    return chosen


def optimise_taps(base: StepInputs, band: VoltageBand = VoltageBand(), passes: int = 2) -> TapProposal:
    """Tap positions per step of ``base`` (its loads and generation as given) and the checked result."""
    network = base.network
    transformers = network.input_data.get("transformer")
    if transformers is None or not len(transformers):
        raise ValueError("the grid has no two-winding transformer: no tap to optimise")
    current = np.array(base.values("transformer", "tap_pos"), dtype=np.int64)
    best = current.copy()
    groups = parallel_groups(network)
    for _ in range(passes if len(groups) > 1 else 1):
        for group in groups:
            best = _scan(base, best, group, band)
    before = _losses_and_outside(_with_taps(base, current, 1), band, "newton_raphson")
    after = _losses_and_outside(_with_taps(base, best, 1), band, "newton_raphson")
    # never propose worse than the current taps: more outside the band, or as much and more losses
    keep = (after[1] > before[1] + 1e-9) | ((after[1] >= before[1] - 1e-9) & (after[0] > before[0]))
    best[keep] = current[keep]
    losses_after = np.where(keep, before[0], after[0])
    outside_after = np.where(keep, before[1], after[1])
    return TapProposal(best, before[0], losses_after, before[1], outside_after)
