"""Peer features: a point's own features beside their medians over the points of its grid inferred together.

Models that tell a grid-wide disturbance (a sag moves every point) from one instrument's fault (an
outlier moves one) read both.  One implementation for training on simulated runs
(:func:`run_inputs`) and for serving a batch grouped by grid (:func:`grouped_inputs`), so both build
a model's inputs the same way.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from ml.features.compute import Windows, columns_of, point_features
from ml.features.windows import windows_from_history


def peer_names(peered: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f"peers_median_{name}" for name in peered)


def with_peers(own: np.ndarray, own_names: tuple[str, ...], peered: tuple[str, ...]) -> np.ndarray:
    """``(points, own + peers)``: each point's own features and the medians of ``peered`` over all of them."""
    positions = [own_names.index(name) for name in peered]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # no point reported the feature
        peers = np.nanmedian(own[:, positions], axis=0)
    return np.hstack([own, np.repeat(peers[None, :], len(own), axis=0)])


def grouped_inputs(features: np.ndarray, grids: Sequence[str], own_names: tuple[str, ...],
                   peered: tuple[str, ...]) -> np.ndarray:
    """A batch's inputs (rows of :data:`ml.features.compute.FEATURES`), the peers taken within each grid."""
    own = features[:, columns_of(own_names)]
    inputs = np.empty((len(own), len(own_names) + len(peered)))
    labels = np.asarray(grids, dtype=object)
    for grid in set(labels.tolist()):
        members = np.flatnonzero(labels == grid)
        inputs[members] = with_peers(own[members], own_names, peered)
    return inputs


def run_inputs(rows: np.ndarray, ends: np.ndarray, own_names: tuple[str, ...], peered: tuple[str, ...]) -> np.ndarray:
    """Training inputs of a simulated run: ``rows`` ``(points, seconds, signals)`` in per unit, one row per end
    second and point (end-major), every point of the run a peer of the others."""
    seconds = np.arange(rows.shape[1])
    own = np.stack([point_features(Windows(windows_from_history(seconds, rows[p], ends), np.ones(len(ends)),
                                           np.full(len(ends), 50.0), ends))[:, columns_of(own_names)]
                    for p in range(len(rows))], axis=1)  # (ends, points, own)
    return np.concatenate([with_peers(own[i], own_names, peered) for i in range(len(ends))])
