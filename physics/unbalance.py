"""Voltage unbalance of three phases: from magnitudes (what a meter's phase readings give) and from phasors.

IEC 61000-4-30 defines the unbalance as the negative- over the positive-sequence voltage, which needs
the phase angles; a meter reporting magnitudes only gives (max - min) / mean, which approximates it
for small unbalance.  Both live here, one formula each: the simulator's measurement points report the
first, the phase-balancing optimiser minimises the second.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from physics.network import Network
    from physics.timeseries import StepInputs

_A = np.exp(2j * np.pi / 3)


def magnitude_unbalance_percent(phases: np.ndarray) -> np.ndarray:
    """(max - min) / mean of the three phase magnitudes (last axis), in %."""
    mean = phases.mean(axis=-1)
    spread = phases.max(axis=-1) - phases.min(axis=-1)
    return np.divide(100.0 * spread, mean, out=np.zeros_like(mean), where=mean > 0)


def vuf_percent(u_pu: np.ndarray, u_angle: np.ndarray) -> np.ndarray:
    """|V2| / |V1| in % from per-phase magnitudes and angles (last axis the phases a, b, c)."""
    v = u_pu * np.exp(1j * u_angle)
    positive = (v[..., 0] + _A * v[..., 1] + _A ** 2 * v[..., 2]) / 3.0
    negative = (v[..., 0] + _A ** 2 * v[..., 1] + _A * v[..., 2]) / 3.0
    return 100.0 * np.divide(np.abs(negative), np.abs(positive), out=np.zeros(positive.shape),
                             where=np.abs(positive) > 1e-6)


#: Uneven connections of an LV load (per-phase shares of its power, summing to 3): all on one phase,
#: or on two.  Households are single- or two-phase; simbench gives each load as balanced three-phase.
UNEVEN_CONNECTIONS = ((3.0, 0.0, 0.0), (1.5, 1.5, 0.0), (2.0, 1.0, 0.0))


def load_positions(network: Network, key: str) -> list[int]:
    """Columns of a load's asymmetric PGM parts in the step inputs."""
    return [int(network.positions("asym_load", [pgm_id])[0]) for pgm_id in network.pgm_ids(key)
            if network.component_of(pgm_id) == "asym_load"]


def connect(inputs: StepInputs, network: Network, key: str, shares: np.ndarray) -> None:
    """Spread the load's power over its phases by ``shares`` (its total per part unchanged), every step."""
    for attribute in ("p_specified", "q_specified"):
        column = inputs.column("asym_load", attribute)
        for position in load_positions(network, key):
            total = column[..., position, :].sum(axis=-1, keepdims=True)
            column[..., position, :] = total * shares / 3.0


def connect_unevenly(inputs: StepInputs, network: Network, rng: np.random.Generator,
                     share: float) -> tuple[tuple[str, ...], np.ndarray]:
    """Connect a seeded ``share`` of the loads unevenly (an :data:`UNEVEN_CONNECTIONS` entry, phases
    permuted); the loads and their ``(loads, 3)`` shares."""
    keys = network.element_keys("load")
    chosen = tuple(sorted(rng.choice(keys, size=max(1, int(round(share * len(keys)))), replace=False)))
    shares = np.array([rng.permutation(UNEVEN_CONNECTIONS[int(rng.integers(len(UNEVEN_CONNECTIONS)))])
                       for _ in chosen])
    for key, one in zip(chosen, shares):
        connect(inputs, network, key, one)
    return chosen, shares
