"""Models in a running API: loaded once from the registry, swapped by a reload, asked for a stored grid.

The day-ahead load forecast of a stored grid reads the grid's demand history the way the
simulator drives its telemetry: the twin graph's loads (in service, with their ratings) and the
grid's profile archive, for the 14 days before the day asked (``loaders.simulation.run.prepare``
of normal operation, no power flow).  Telemetry history from InfluxDB is not used yet: the demo and
the tests have minutes of it, not two weeks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import numpy as np

from ml.data.load_series import SLOTS_PER_DAY
from ml.registry import Registry

T = TypeVar("T")
HISTORY_DAYS = 14


class ModelCache:
    """Loaded models by registry name, each with the version it came from; :meth:`reload` drops them all."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._loaded: dict[str, tuple[Any, int]] = {}
        self._lock = threading.Lock()

    def get(self, name: str, loader: Callable[[Registry, int], T], key: str | None = None) -> tuple[T, int]:
        """The model and its version, loading the newest version on first use (a RegistryError when none).

        ``key`` tells apart what one registry entry loads several ways (a per-grid estimator).
        """
        key = key or name
        with self._lock:
            if key not in self._loaded:
                version = self.registry.load(name).version
                self._loaded[key] = (loader(self.registry, version), version)
            return self._loaded[key]

    @property
    def loaded(self) -> int:
        """How many models are loaded now (the MLEngine's ``activeModels``)."""
        return len(self._loaded)

    def reload(self) -> dict[str, int]:
        """Forget every loaded model; the next call reads the newest versions. Returns them by name."""
        with self._lock:
            self._loaded.clear()
        return {name: self.registry.versions(name)[-1] for name in self.registry.names()}


class NoDemandHistory(ValueError):
    """The grid has no loads with profiles to forecast from."""


@dataclass(frozen=True)
class GridForecast:
    grid_id: str
    day: date
    values_mw: list[float]
    model_version: int
    history_mean_mw: float


def demand_history(driver: Any, models: Any, settings: Any, grid_id: str, day: date) -> np.ndarray:
    """``(14, 96)`` MW: the grid's total load demand in the 14 days before ``day``, from its profiles."""
    from loaders.simulation.run import SimulationRequest, prepare

    start = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(days=HISTORY_DAYS)
    request = SimulationRequest(grid_id, start=start, steps=HISTORY_DAYS * SLOTS_PER_DAY, exact=True)  # normal operation
    prepared = prepare(driver, models, settings, request)
    network = prepared.network
    component = "sym_load" if "sym_load" in network.input_data else "asym_load"
    if "p_specified" not in prepared.inputs.columns.get(component, {}):
        raise NoDemandHistory(f"{grid_id!r} has no load profiles: nothing to forecast from")
    loads = [position for position, pgm_id in enumerate(network.input_data[component]["id"])
             if network.keys.get(int(pgm_id), "").startswith("load/")]
    watts = prepared.inputs.columns[component]["p_specified"][:, loads]
    total = watts.reshape(len(watts), -1).sum(axis=1) / 1e6
    return total.reshape(HISTORY_DAYS, SLOTS_PER_DAY)


def forecast_grid_day(cache: ModelCache, driver: Any, models: Any, settings: Any, grid_id: str,
                      day: date) -> GridForecast:
    """The 96 quarter-hours of ``day`` for a stored grid, from the newest load forecast model."""
    from ml.jobs import load_forecast as job

    forecaster, version = cache.get(job.NAME, job.load)
    history = demand_history(driver, models, settings, grid_id, day)
    days = np.vstack([history, np.zeros((1, SLOTS_PER_DAY))])  # the target row is never read (causal features)
    scale = float(history.mean())
    first_day = day.timetuple().tm_yday - 1 - HISTORY_DAYS  # the profile-year day the history starts on
    values = forecaster.predict(days, [HISTORY_DAYS], scale, first_day)[0]
    return GridForecast(grid_id, day, [float(v) for v in values], version, scale)
