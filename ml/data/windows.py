"""Trailing and leading windows over step series, for features (the past) and labels (the future).

``window(values, start, length, reduce)[t]`` reduces ``values[t + start .. t + start + length - 1]``
along the steps; steps before the series or after it are NaN, so a window that leaves the
series gives NaN and the sample is dropped rather than padded with made-up values.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

#: The furthest a window may reach, in steps before and after the series (a week and a day of quarter-hours).
REACH_BEFORE = 8 * 96
REACH_AFTER = 2 * 96


def window(values: np.ndarray, start: int, length: int,
           reduce: Callable[..., np.ndarray] = np.max) -> np.ndarray:
    if not (-REACH_BEFORE <= start and start + length <= REACH_AFTER):
        raise ValueError(f"window {start}..{start + length - 1} reaches beyond {-REACH_BEFORE}..{REACH_AFTER}")
    steps = len(values)
    padded = np.concatenate([np.full((REACH_BEFORE,) + values.shape[1:], np.nan), values,
                             np.full((REACH_AFTER,) + values.shape[1:], np.nan)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, length, axis=0)  # a view: no copy per window
    first = REACH_BEFORE + start
    return reduce(windows[first:first + steps], axis=-1)
