"""The models that read a point's own one-second stream: voltage anomaly and disturbance class now, frequency a minute ahead.

Both take their inputs from the shared feature path (:func:`ml.features.compute.point_features`,
computed once per batch): the live engine's ring buffers and a window read back from InfluxDB give
the same numbers.  The voltage anomaly model's peer features are medians over the points of the
same grid inferred together (a sag moves them all, an instrument's outlier one), so a batch is
grouped by grid before it is scored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ml.boosted import Boosted
from ml.features.compute import FEATURES, Windows, columns_of
from ml.features.peers import grouped_inputs
from ml.inference.outputs import OUTPUT_OF_MODEL, BatchPrediction
from ml.monitoring import frequency_forecast as ff
from ml.monitoring import power_quality_disturbance as pqd
from ml.monitoring import voltage_anomaly as va
from ml.registry import Registry, RegistryError
from ml.serving import ModelCache

ANOMALY = "monitoring.voltage_anomaly"
FREQUENCY = "monitoring.frequency_forecast"
DISTURBANCE = "monitoring.power_quality_disturbance"
MODEL_FILE = "model.ubj"
#: A point whose newest sample is older than this has no "now" to score: its fields are left out.
STALE_S = 10.0


class StaleModel(ValueError):
    """A stored model was trained on other features than this code computes."""


def loader(name: str, features: tuple[str, ...]) -> Callable[[Registry, int], Boosted]:
    """How the cache loads a boosted model, refusing one whose recorded features are not ``features``."""
    def load(registry: Registry, version: int) -> Boosted:
        artefact = registry.load(name, version)
        if tuple(artefact.metadata.get("features", ())) != features:
            raise StaleModel(f"{name} v{version} was trained on other features than this code computes: "
                             "train it again (gridtwin ml train)")
        return Boosted.from_bytes(artefact.read(MODEL_FILE), features)
    return load


def _models(features: np.ndarray, windows: Windows, grids: Sequence[str]):
    """(model name, its feature names, how it scores the batch) of every point model."""
    return (
        (ANOMALY, va.FEATURES,
         lambda m: m.predict(grouped_inputs(features, grids, va.OWN_FEATURES, va.PEERED))),
        (DISTURBANCE, pqd.FEATURES,  # the probability of the harmonics class: the MLEngine's harmonicAnalysis
         lambda m: m.predict(grouped_inputs(features, grids, pqd.OWN_FEATURES, pqd.PEERED))[
             :, pqd.CLASSES.index("harmonics")]),
        (FREQUENCY, ff.FEATURES,  # the forecast deviation in mHz, reported in Hz
         lambda m: windows.nominal_hz + m.predict(features[:, columns_of(ff.FEATURES)]) / 1000.0),
    )


def infer(cache: ModelCache, windows: Windows, features: np.ndarray, grids: Sequence[str],
          batch: BatchPrediction) -> None:
    """Fill the monitoring fields these models answer into ``batch`` (row i is point i)."""
    stale = ~(features[:, FEATURES.index("age_of_last_sample_s")] <= STALE_S)
    for name, features_of, score in _models(features, windows, grids):
        output = OUTPUT_OF_MODEL[name]
        if not batch.asked(output):
            continue
        try:
            model, version = cache.get(name, loader(name, features_of))
        except (RegistryError, StaleModel) as error:  # said per field; the other models still answer
            batch.missing(output, str(error))
            continue
        values = np.asarray(score(model), dtype=float)
        values[stale] = np.nan
        batch.put(output, slice(None), values, version)
        if stale.any():
            batch.missing(output, f"no sample of the point in the last {STALE_S:.0f} s", stale)
