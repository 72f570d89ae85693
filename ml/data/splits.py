"""The one time split every model on the profile year uses: whole 28-day blocks, the 4th of every 4 held out.

Blocks rather than random steps, so a held-out quarter-hour's neighbours are held out too
(no leakage through autocorrelation), and every season has held-out blocks.
"""

from __future__ import annotations

import numpy as np

BLOCK_DAYS = 28
SLOTS_PER_DAY = 96


def is_test_day(day: int) -> bool:
    return (day // BLOCK_DAYS) % 4 == 3


def held_out_steps(steps: int) -> np.ndarray:
    """Boolean mask of held-out 15-minute steps."""
    return (np.arange(steps) // SLOTS_PER_DAY // BLOCK_DAYS) % 4 == 3
