"""Voltage unbalance of three phases: from magnitudes (what a meter's phase readings give) and from phasors.

IEC 61000-4-30 defines the unbalance as the negative- over the positive-sequence voltage, which needs
the phase angles; a meter reporting magnitudes only gives (max - min) / mean, which approximates it
for small unbalance.  Both live here, one formula each: the simulator's measurement points report the
first, the phase-balancing optimiser minimises the second.
"""

from __future__ import annotations

import numpy as np

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
