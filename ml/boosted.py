"""The one wrapper of XGBoost the models share: fit, predict, and the safe file format (UBJSON).

Gradient-boosted trees serve the load forecast, the loss estimator and the risk classifiers; they
differ in features, objective and labels, not in how a booster is fitted, asked or stored.
xgboost is imported only here and only when a model is fitted or read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Boosted:
    """A fitted booster and the names of the features it reads, in order."""

    booster: Any
    features: tuple[str, ...]

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, features: Sequence[str], parameters: Mapping[str, Any], *,
            seed: int = 0, threads: int | None = None) -> Boosted:
        """Regression or, with a ``binary:`` / ``multi:`` objective, classification (the prediction is the
        probability; per class, ``(n, classes)``, for ``multi:softprob``)."""
        import xgboost

        if x.shape[1] != len(features):
            raise ValueError(f"{x.shape[1]} feature columns for {len(features)} feature names")
        classifies = str(parameters.get("objective", "")).startswith(("binary:", "multi:"))
        kind = xgboost.XGBClassifier if classifies else xgboost.XGBRegressor
        model = kind(**parameters, random_state=seed, n_jobs=threads)
        model.fit(x, y.astype(int) if kind is xgboost.XGBClassifier else y)
        return cls(model.get_booster(), tuple(features))

    def predict(self, x: np.ndarray) -> np.ndarray:
        import xgboost

        return self.booster.predict(xgboost.DMatrix(x, feature_names=list(self.features)))

    def to_bytes(self) -> bytes:
        return bytes(self.booster.save_raw(raw_format="ubj"))

    @classmethod
    def from_bytes(cls, data: bytes, features: Sequence[str]) -> Boosted:
        import xgboost

        booster = xgboost.Booster()
        booster.load_model(bytearray(data))
        return cls(booster, tuple(features))
