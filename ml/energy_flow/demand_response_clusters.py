"""Demand-response clusters: group loads by the shape of their measured consumption, without being told their type.

Which customers to approach for a demand-response programme depends on when they draw power (an
evening-peaking household, a daytime shop, a farm), not on how much.  Unsupervised: a load's sample
is its mean weekly shape (7 × 96 quarter-hours, divided by its own mean) over eight weeks of its
smart-meter series; the series is the load's simbench profile scaled to its size, with ±20 %
independent variation per quarter-hour (people are not profiles) and a class 1 meter.  PCA to
:data:`COMPONENTS` dimensions, then k-means with one cluster per profile the training loads carry.
Scored on loads of grids the clusters never saw by the adjusted Rand index against the load's
simbench profile name (H0-A, G1-B, L2-A ...: held out, never an input).  Baselines scored the same
way: one cluster for everyone (ARI 0 by definition) and k-means on two naive numbers per load (the
mean level and the peak-to-mean ratio).  Stored as plain arrays (``numpy.save`` without pickles).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache

import numpy as np

from ml.data.grids import grid_network
from physics.sensors import SensorLayer, SensorSpec

WEEKS = 8
DAY = 96
WEEK = 7 * DAY
COMPONENTS = 10
VARIATION = 0.2
METER = SensorSpec(accuracy_class=1.0)


@dataclass(frozen=True)
class LoadShapes:
    """One sample per load: its normalised mean week, its naive numbers, its (held-out) profile name."""

    code: str
    shapes: np.ndarray      # (loads, WEEK)
    naive: np.ndarray       # (loads, 2) mean kW, peak / mean
    profiles: np.ndarray    # (loads,) profile names


@cache
def _profile_names(code: str) -> dict[int, str]:
    """simbench's profile name of each load (the held-out label), by load index."""
    import simbench

    loads = simbench.get_simbench_net(code).load
    return {int(index): str(name) for index, name in zip(loads.index, loads["profile"])}


def load_shapes(code: str, seed: int) -> LoadShapes:
    """Eight weeks (a seeded start) of every load's metered series, folded into its mean week."""
    table = grid_network(code)[1][("load", "p_mw")]
    by_index = _profile_names(code)
    columns = [int(c) for c in table.columns]
    names = np.array([by_index[c] for c in columns])
    rng = np.random.default_rng([seed, sum(code.encode()), 4711])
    first = int(rng.integers(0, len(table) - WEEKS * WEEK)) // WEEK * WEEK
    exact = table.iloc[first:first + WEEKS * WEEK].to_numpy(dtype=float) * 1000.0  # kW
    varied = exact * rng.uniform(1 - VARIATION, 1 + VARIATION, exact.shape)
    metered = SensorLayer(seed).measure_many([(f"{code}/load/{i}", "p") for i in columns], varied,
                                             np.arange(len(varied)) * 900.0, METER, stream=f"{code}/dr").values
    weeks = np.nan_to_num(metered).reshape(WEEKS, WEEK, -1).mean(axis=0).T  # (loads, WEEK)
    mean = weeks.mean(axis=1, keepdims=True)
    keep = mean[:, 0] > 1e-6
    shapes = weeks[keep] / mean[keep]
    naive = np.column_stack([mean[keep, 0], weeks[keep].max(axis=1) / mean[keep, 0]])
    return LoadShapes(code, shapes, naive, names[keep])


@dataclass
class ShapeClusters:
    """The fitted PCA (mean, components) and k-means centroids in its space."""

    mean: np.ndarray
    components: np.ndarray
    centroids: np.ndarray

    @classmethod
    def fit(cls, shapes: np.ndarray, clusters: int, seed: int = 0) -> ShapeClusters:
        from sklearn.cluster import KMeans
        from sklearn.decomposition import PCA

        pca = PCA(n_components=min(COMPONENTS, len(shapes) - 1, shapes.shape[1]), random_state=seed).fit(shapes)
        kmeans = KMeans(n_clusters=clusters, n_init=10, random_state=seed).fit(pca.transform(shapes))
        return cls(pca.mean_, pca.components_, kmeans.cluster_centers_)

    def assign(self, shapes: np.ndarray) -> np.ndarray:
        """The nearest centroid of each shape."""
        projected = (shapes - self.mean) @ self.components.T
        distances = ((projected[:, None, :] - self.centroids[None, :, :]) ** 2).sum(axis=2)
        return distances.argmin(axis=1)

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez(buffer, mean=self.mean, components=self.components, centroids=self.centroids)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> ShapeClusters:
        arrays = np.load(io.BytesIO(data), allow_pickle=False)
        return cls(arrays["mean"], arrays["components"], arrays["centroids"])


def naive_clusters(naive: np.ndarray, clusters: int, seed: int = 0) -> np.ndarray:
    """The baseline: k-means on the standardised (log mean level, peak-to-mean ratio)."""
    from sklearn.cluster import KMeans

    x = np.column_stack([np.log(naive[:, 0]), naive[:, 1]])
    x = (x - x.mean(axis=0)) / np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
    return KMeans(n_clusters=min(clusters, len(x)), n_init=10, random_state=seed).fit_predict(x)
