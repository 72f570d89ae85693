"""Load series for forecasting: a simbench grid's year of 15-minute active power, per load and summed.

The values are what the grid's profiles say each load draws (``simbench.get_absolute_values``,
the same tables the simulator applies), so a forecast trained on them is a forecast of the
simulated grid's demand.  Series are cut into whole days (96 slots) because the day-ahead
forecast is issued per day.  simbench's year is 2016: day 0 is Friday 1 January.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

SLOTS_PER_DAY = 96
#: Weekday (Monday = 0) of day 0 of simbench's profile year, 2016-01-01.
FIRST_WEEKDAY = 4


@dataclass(frozen=True)
class LoadSeries:
    """Daily matrices ``(days, 96)`` in MW, keyed by a name (``<grid>`` or ``<grid>/load/<index>``)."""

    days: dict[str, np.ndarray]

    def names(self) -> list[str]:
        return sorted(self.days)


def _daily(values: np.ndarray) -> np.ndarray:
    whole = len(values) // SLOTS_PER_DAY * SLOTS_PER_DAY
    return np.asarray(values[:whole], dtype=np.float64).reshape(-1, SLOTS_PER_DAY)


def simbench_load_mw(code: str, cache_dir: Path | None = None) -> np.ndarray:
    """``(steps, loads)`` active power of every load of a simbench grid, cached as ``.npy``.

    ``get_absolute_values`` takes ~15 s per grid; the cache (outside the repository) makes
    repeated training runs start in milliseconds.  Values are the package's own, so the cache
    holds nothing that cannot be rebuilt.
    """
    cached = cache_dir / f"{code}.load_p_mw.npy" if cache_dir else None
    if cached is not None and cached.is_file():
        return np.load(cached, allow_pickle=False)
    import simbench

    net = simbench.get_simbench_net(code)
    values = simbench.get_absolute_values(net, True)[("load", "p_mw")].to_numpy(dtype=np.float64)
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        np.save(cached, values, allow_pickle=False)
    return values


def grid_series(code: str, *, per_load: bool = False, cache_dir: Path | None = None) -> LoadSeries:
    """The grid's aggregate demand and, with ``per_load``, each load's own series."""
    load_mw = simbench_load_mw(code, cache_dir)
    days = {code: _daily(load_mw.sum(axis=1))}
    if per_load:
        for column in range(load_mw.shape[1]):
            days[f"{code}/load/{column}"] = _daily(load_mw[:, column])
    return LoadSeries(days)
