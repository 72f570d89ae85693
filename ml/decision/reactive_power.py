"""Reactive-power compensation advice: the PV inverters' power factor per step, within the voltage band.

An optimiser over power flows, like the tap optimiser (``ml/optimisation.py``): for each step every
candidate power factor (the same for all PV inverters, as a grid code's fixed cos φ setting is) is
solved by power-grid-model in one batch; the best keeps the voltages within the band first and
the losses lowest second, and is solved again by Newton-Raphson.  Absorbing reactive power
(under-excited) pulls a PV-raised voltage down at the price of more current; the optimiser weighs
that per step.  Baseline: unity power factor, no compensation.
"""

from __future__ import annotations

import numpy as np

from ml.optimisation import Proposal, VoltageBand, best_candidate, checked, losses_and_outside, repeated
from physics.timeseries import StepInputs

#: Signed cos φ of the candidates: negative absorbs reactive power (under-excited), positive supplies it.
POWER_FACTORS = np.array([1.0, -0.98, -0.95, -0.9, 0.98, 0.95, 0.9])


def _q_of(p_w: np.ndarray, power_factor: np.ndarray) -> np.ndarray:
    """Generator reactive power (var, positive supplied) of active power ``p_w`` at signed power factors."""
    return np.sign(power_factor) * p_w * np.tan(np.arccos(np.abs(power_factor)))


def _with_factors(base: StepInputs, factors: np.ndarray, repeat: int) -> StepInputs:
    inputs = repeated(base, repeat)
    p = inputs.values("sym_gen", "p_specified")
    inputs.column("sym_gen", "q_specified")[:] = _q_of(p, factors[:, None])
    return inputs


def optimise_power_factor(base: StepInputs, band: VoltageBand = VoltageBand()) -> Proposal:
    """Per step of ``base``, the inverters' signed power factor and the checked power flows (settings: cos φ)."""
    if "sym_gen" not in base.network.input_data or not len(base.network.input_data["sym_gen"]):
        raise ValueError("the grid has no generators: no reactive power to set")
    count = len(POWER_FACTORS)
    candidates = np.tile(POWER_FACTORS, base.steps)
    losses, outside = losses_and_outside(_with_factors(base, candidates, count), band, "iterative_current")
    chosen = best_candidate(losses, outside, base.steps)
    unity = np.zeros(base.steps, dtype=np.int64)
    before = losses_and_outside(_with_factors(base, POWER_FACTORS[unity], 1), band, "newton_raphson")
    after = losses_and_outside(_with_factors(base, POWER_FACTORS[chosen], 1), band, "newton_raphson")
    proposal = checked(unity, chosen, before, after)
    proposal.settings = POWER_FACTORS[proposal.settings]
    return proposal
