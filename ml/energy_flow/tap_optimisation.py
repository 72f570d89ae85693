"""Power-flow optimisation: on-load tap positions per step that minimise losses within the voltage band.

A real optimiser, not a learned guess: for each step every candidate position of a transformer's
tap changer is solved by power-grid-model (one batch of steps × positions), holding the other
transformers at their best so far (coordinate descent, ``passes`` rounds over all transformers;
parallel units move together).  Candidates are ranked and checked as every operating-point
optimiser's are (``ml/optimisation.py``): fewest pu outside the band, then least loss; the chosen
taps solved again by Newton-Raphson, never worse than the current ones.

Capacitor banks: the grids here have none (simbench has no shunts), so no shunt steps are
searched; a grid with shunts gets taps only.
"""

from __future__ import annotations

import numpy as np

from ml.optimisation import Proposal, VoltageBand, best_candidate, checked, losses_and_outside, repeated
from physics.network import Network
from physics.timeseries import StepInputs


def _with_taps(base: StepInputs, taps: np.ndarray, repeat: int) -> StepInputs:
    """``base`` with each step repeated ``repeat`` times and the transformers at ``taps`` (steps·repeat, n)."""
    inputs = repeated(base, repeat)
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
    losses, outside = losses_and_outside(_with_taps(base, taps, len(candidates)), band, "iterative_current")
    chosen = best.copy()
    chosen[:, group] = candidates[best_candidate(losses, outside, base.steps)][:, None]
    return chosen


def optimise_taps(base: StepInputs, band: VoltageBand = VoltageBand(), passes: int = 2) -> Proposal:
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
    before = losses_and_outside(_with_taps(base, current, 1), band, "newton_raphson")
    after = losses_and_outside(_with_taps(base, best, 1), band, "newton_raphson")
    return checked(current, best, before, after)
