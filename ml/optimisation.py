"""What the operating-point optimisers share: candidates solved per step by power flow, ranked the same way.

An optimiser (tap positions, inverter power factors) proposes settings per step; each candidate is
solved by power-grid-model in one batch of steps × candidates, ranked first by how far its voltages
leave the band (sum of pu outside it over all nodes), then by losses; the chosen settings are solved
again by Newton-Raphson, and a step where they are worse than leaving things as they are keeps the
current settings.  Only those checked power flows are reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from physics.timeseries import StepInputs, run_time_series

BRANCHES = ("line", "link", "transformer", "generic_branch")
#: Above this a step counts as outside the band (pu summed over nodes; below it is solver noise).
OUTSIDE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class VoltageBand:
    """Allowed node voltages in pu (distribution operators keep MV within about ±5 %)."""

    low: float = 0.95
    high: float = 1.05


@dataclass
class Proposal:
    """Per step: the chosen settings and the checked power flow before and after."""

    settings: np.ndarray           # (steps, ...) what the optimiser chose
    losses_before_w: np.ndarray    # (steps,)
    losses_after_w: np.ndarray
    outside_before_pu: np.ndarray  # (steps,) sum over nodes of pu outside the band
    outside_after_pu: np.ndarray

    def loss_reduction(self) -> float:
        """Energy saved over the period as a fraction of the losses with the settings unchanged."""
        return float(1 - self.losses_after_w.sum() / self.losses_before_w.sum())

    def steps_outside(self) -> tuple[int, int]:
        """(steps with a violation before, after)."""
        return (int((self.outside_before_pu > OUTSIDE_TOLERANCE).sum()),
                int((self.outside_after_pu > OUTSIDE_TOLERANCE).sum()))


def losses_and_outside(inputs: StepInputs, band: VoltageBand, method: str) -> tuple[np.ndarray, np.ndarray]:
    """Per step of ``inputs``: losses (W) and pu outside the band; inf where the power flow failed."""
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


def repeated(base: StepInputs, repeat: int) -> StepInputs:
    """``base`` with each step repeated ``repeat`` times in a row (one row per step and candidate)."""
    inputs = StepInputs(base.network, base.steps * repeat)
    inputs.columns = {component: {name: np.repeat(values, repeat, axis=0) for name, values in attributes.items()}
                      for component, attributes in base.columns.items()}
    return inputs


def best_candidate(losses: np.ndarray, outside: np.ndarray, steps: int) -> np.ndarray:
    """Per step, the index of the best of the candidates solved in a row (fewest pu outside, then least loss)."""
    score = np.where(outside > OUTSIDE_TOLERANCE, 1e12 + outside * 1e9, losses)
    return np.argmin(score.reshape(steps, -1), axis=1)


def checked(current: np.ndarray, chosen: np.ndarray, before: tuple[np.ndarray, np.ndarray],
            after: tuple[np.ndarray, np.ndarray]) -> Proposal:
    """The proposal, each step kept at ``current`` where ``chosen`` is worse in the checked power flow."""
    keep = (after[1] > before[1] + OUTSIDE_TOLERANCE) | ((after[1] >= before[1] - OUTSIDE_TOLERANCE)
                                                         & (after[0] > before[0]))
    settings = chosen.copy()
    settings[keep] = current[keep]
    return Proposal(settings, before[0], np.where(keep, before[0], after[0]), before[1],
                    np.where(keep, before[1], after[1]))
