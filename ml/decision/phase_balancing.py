"""Phase load balancing: which unbalanced loads to reconnect to which phases, every proposal solved again.

An LV feeder whose single- and two-phase connections pile up on one phase has a high voltage
unbalance at its far buses; the remedy a field crew can do is to move a connection to another phase
(rotate its phases).  A case is one quarter-hour of a grid's profile year in its asymmetric form
where a seeded 30 % of the loads are connected unevenly (all on one phase, or on two), the others
balanced.  The optimiser minimises the worst-bus voltage unbalance factor (VUF = |V2| / |V1|, from the
solved complex phase voltages): with up to :data:`EXHAUSTIVE_LOADS` such loads every combination of
rotations is solved in one power-grid-model asymmetric batch and the best kept (the optimum); with
more, greedy coordinate descent, largest load first, two passes, each load's three rotations solved
as one batch with every other load as decided so far.  Baseline: no move.  The answer is
the list of moves and the VUF before and after, both from the power flow, never a formula.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ml.data.grids import grid_network, profile_tables
from physics.network import Network
from physics.timeseries import StepInputs, apply_profiles, run_time_series
from physics.unbalance import connect_unevenly, load_positions, vuf_percent

UNBALANCED_SHARE = 0.3
PASSES = 2
#: Up to this many uneven loads (3^6 = 729 scenarios, one batch) every combination is solved.
EXHAUSTIVE_LOADS = 6


@dataclass(frozen=True)
class BalancingCase:
    network: Network
    inputs: StepInputs                 # one step, the uneven connections applied
    loads: tuple[str, ...]             # the unevenly connected loads
    shares: np.ndarray                 # (loads, 3) their per-phase shares


@dataclass(frozen=True)
class Balancing:
    rotations: np.ndarray              # (loads,) 0, 1 or 2 phases rotated
    vuf_before_pct: float
    vuf_after_pct: float
    power_flows: int

    @property
    def moves(self) -> int:
        return int(np.count_nonzero(self.rotations))


def worst_vuf_percent(u_pu: np.ndarray, u_angle: np.ndarray) -> np.ndarray:
    """Per scenario: the highest |V2| / |V1| over the buses, in % (``(scenarios, nodes, 3)`` inputs)."""
    return vuf_percent(u_pu, u_angle).max(axis=1)


def build_case(code: str, seed: int, slot: int) -> BalancingCase:
    """The grid at profile quarter-hour ``slot`` with a seeded share of its loads connected unevenly."""
    base, profiles = grid_network(code)
    network = base.asymmetric()
    rng = np.random.default_rng([seed, slot, sum(code.encode()), 3])
    inputs = StepInputs(network, 1)
    apply_profiles(inputs, profile_tables(profiles), start=slot)
    chosen, shares = connect_unevenly(inputs, network, rng, UNBALANCED_SHARE)
    return BalancingCase(network, inputs, chosen, shares)


def _solve(case: BalancingCase, rotations_per_scenario: np.ndarray) -> np.ndarray:
    """Worst-bus VUF (%) of each scenario row of ``(scenarios, loads)`` rotations, one asymmetric batch."""
    scenarios = len(rotations_per_scenario)
    batch = StepInputs(case.network, scenarios)
    batch.columns = {component: {name: np.repeat(values, scenarios, axis=0) for name, values in attributes.items()}
                     for component, attributes in case.inputs.columns.items()}
    for k, key in enumerate(case.loads):
        for row in range(scenarios):
            rotated = np.roll(case.shares[k], int(rotations_per_scenario[row, k]))
            for attribute in ("p_specified", "q_specified"):
                column = batch.column("asym_load", attribute)
                for position in load_positions(case.network, key):
                    total = column[row, position, :].sum()
                    column[row, position, :] = total * rotated / 3.0
    result = run_time_series(batch, symmetric=False, outputs={"node": ["u_pu", "u_angle"]})
    return worst_vuf_percent(result.values("node", "u_pu"), result.values("node", "u_angle"))


def balance(case: BalancingCase) -> Balancing:
    """The rotations with the least worst-bus VUF: every combination, or greedy for many loads."""
    rotations = np.zeros(len(case.loads), dtype=np.int64)
    before = float(_solve(case, rotations[None, :])[0])
    if len(case.loads) <= EXHAUSTIVE_LOADS:
        combinations = np.array(np.meshgrid(*[(0, 1, 2)] * len(case.loads), indexing="ij")).reshape(len(case.loads), -1).T
        vuf = _solve(case, combinations)
        best = int(vuf.argmin())
        chosen = combinations[best] if vuf[best] < before - 1e-9 else rotations
        return Balancing(chosen, before, float(min(vuf[best], before)), 1 + len(combinations))
    sizes = [float(np.abs(case.inputs.values("asym_load", "p_specified")[0, load_positions(case.network, k)]).sum())
             for k in case.loads]
    flows, best_vuf = 1, before
    for _ in range(PASSES):
        for k in np.argsort(sizes)[::-1]:
            candidates = np.repeat(rotations[None, :], 3, axis=0)
            candidates[:, k] = (0, 1, 2)
            vuf = _solve(case, candidates)
            flows += 3
            if vuf.min() < best_vuf - 1e-9:
                rotations[k], best_vuf = int(vuf.argmin()), float(vuf.min())
    return Balancing(rotations, before, best_vuf, flows)
