"""The sensor layer between physics and telemetry: what a real instrument makes of an exact value.

Per device and quantity, in this order:

1. **accuracy class** (IEC 61869-2 current / 61869-3 voltage transformers, class 0.2 / 0.5 / 1 /
   3: the ratio error limit in % at rated value): a fixed ratio error per device drawn once,
   uniform within +/- half the limit, plus gaussian noise of standard deviation limit / 6 of the
   value, so bias + 3 sigma stays within the class limit;
2. **outliers**: with a small probability a sample is off by up to +/- ``outlier_scale`` of its value;
3. **quantisation** to the instrument's resolution (round to the nearest multiple), outliers too;
4. **missing samples**: with a probability a sample is NaN (not sent);
5. **clock jitter**: each timestamp moves by gaussian noise of ``jitter_s``, kept in order.

Every random draw comes from a NumPy ``Generator`` seeded from (run seed, device, quantity)
through a ``SeedSequence``, with stable hashes (CRC-32) of the names, so a device's samples do
not depend on which other devices were measured or in which order: same seed, same telemetry,
bit for bit.  ``exact=True`` returns the values and times untouched (the physics check's mode).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from physics.network import PhysicsInputError

#: IEC 61869 accuracy classes: ratio error limit in % at rated value.
ACCURACY_CLASSES = (0.1, 0.2, 0.5, 1.0, 3.0)


@dataclass(frozen=True)
class SensorSpec:
    """One instrument's imperfections; the defaults are a class 0.5 meter with nothing else wrong."""

    accuracy_class: float = 0.5
    resolution: float = 0.0
    missing_probability: float = 0.0
    jitter_s: float = 0.0
    outlier_probability: float = 0.0
    outlier_scale: float = 0.2

    def __post_init__(self) -> None:
        if self.accuracy_class not in ACCURACY_CLASSES:
            raise PhysicsInputError("accuracy_class", f"{self.accuracy_class!r} is not one of "
                                                      f"{', '.join(map(str, ACCURACY_CLASSES))}")
        for name in ("resolution", "jitter_s", "outlier_scale"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not value >= 0:
                raise PhysicsInputError(name, f"{value!r}: give a number >= 0")
        for name in ("missing_probability", "outlier_probability"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 1:
                raise PhysicsInputError(name, f"{value!r}: give a probability from 0 to 1")

    @property
    def limit(self) -> float:
        """The ratio error limit as a fraction (class 0.5: 0.005)."""
        return self.accuracy_class / 100.0


@dataclass(frozen=True)
class Measured:
    """What the instrument reports: values (NaN where missing), timestamps, and which samples were outliers."""

    values: np.ndarray
    times_s: np.ndarray
    missing: np.ndarray
    outliers: np.ndarray


def _name_hash(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


def _imperfect(rng: np.random.Generator, measured: np.ndarray,
               spec: SensorSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Steps 2-4 of the module docstring on noisy values: outliers, quantisation, missing (NaN)."""
    outliers = rng.random(measured.shape) < spec.outlier_probability
    measured = np.where(outliers, measured * (1.0 + rng.uniform(-spec.outlier_scale, spec.outlier_scale,
                                                                measured.shape)), measured)
    if spec.resolution > 0:
        measured = np.round(measured / spec.resolution) * spec.resolution
    missing = rng.random(measured.shape) < spec.missing_probability
    return np.where(missing, np.nan, measured), outliers, missing


class SensorLayer:
    """Turns exact physics into measurements, reproducibly from one seed."""

    def __init__(self, seed: int, *, exact: bool = False) -> None:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise PhysicsInputError("seed", f"{seed!r}: give a whole number >= 0")
        self.seed = int(seed)
        self.exact = exact

    def generator(self, device: str, quantity: str) -> np.random.Generator:
        """The random stream of one device's quantity: independent of every other stream."""
        return np.random.default_rng(np.random.SeedSequence([self.seed, _name_hash(device), _name_hash(quantity)]))

    def measure(self, device: str, quantity: str, values: np.ndarray, times_s: np.ndarray,
                spec: SensorSpec | None = None) -> Measured:
        """The measurements of one device's quantity over a series of exact values and times."""
        exact = np.asarray(values, dtype=float)
        times = np.asarray(times_s, dtype=float)
        if exact.shape[:1] != times.shape or times.ndim != 1:
            raise PhysicsInputError("times_s", f"give one time per sample: {times.shape} times, {exact.shape} values")
        nothing = np.zeros(exact.shape, dtype=bool)
        if self.exact:
            return Measured(exact.copy(), times.copy(), nothing, nothing.copy())
        spec = spec or SensorSpec()
        rng = self.generator(device, quantity)
        bias = rng.uniform(-spec.limit / 2.0, spec.limit / 2.0, size=exact.shape[1:])
        noise = rng.normal(0.0, spec.limit / 6.0, size=exact.shape)
        measured, outliers, missing = _imperfect(rng, exact * (1.0 + bias + noise), spec)
        jittered = times + rng.normal(0.0, spec.jitter_s, size=times.shape) if spec.jitter_s > 0 else times.copy()
        return Measured(measured, np.maximum.accumulate(jittered), missing, outliers & ~missing)


    def fixed_ratio_error(self, device: str, quantity: str, spec: SensorSpec) -> float:
        """The device's own ratio error, uniform within +/- limit / 2, the same in every call of the run:
        from a stable hash of (seed, device, quantity), so no generator is built for it."""
        unit = zlib.crc32(f"{self.seed}/{device}/{quantity}".encode("utf-8")) / 2**32
        return (unit - 0.5) * spec.limit

    def measure_many(self, names: list[tuple[str, str]], values: np.ndarray, times_s: np.ndarray,
                     spec: SensorSpec | None = None, *, stream: str = "") -> Measured:
        """:meth:`measure` for many (device, quantity) columns of ``values`` ``(steps, len(names))`` at once.

        The fixed ratio error stays per device (:meth:`fixed_ratio_error`); noise, outliers, missing
        samples and jitter of all columns come from ONE generator of (seed, ``stream``), in column
        order: one draw per matrix instead of a generator per device, which is what lets a
        10,000-bus grid be measured every second.  Reproducible for the same seed, names and stream;
        unlike :meth:`measure`, a column's noise depends on its position among ``names``.
        """
        exact = np.asarray(values, dtype=float)
        times = np.asarray(times_s, dtype=float)
        if exact.ndim != 2 or exact.shape != (len(times), len(names)):
            raise PhysicsInputError("values", f"give (steps, columns) = ({len(times)}, {len(names)}), "
                                              f"got {exact.shape}")
        nothing = np.zeros(exact.shape, dtype=bool)
        if self.exact:
            return Measured(exact.copy(), np.repeat(times[:, None], len(names), axis=1), nothing, nothing.copy())
        spec = spec or SensorSpec()
        rng = self.generator(stream, "many")
        bias = np.array([self.fixed_ratio_error(device, quantity, spec) for device, quantity in names])
        measured, outliers, missing = _imperfect(
            rng, exact * (1.0 + bias + rng.normal(0.0, spec.limit / 6.0, size=exact.shape)), spec)
        jitter = rng.normal(0.0, spec.jitter_s, size=exact.shape) if spec.jitter_s > 0 else np.zeros(exact.shape)
        clocks = np.maximum.accumulate(times[:, None] + jitter, axis=0)
        return Measured(measured, clocks, missing, outliers & ~missing)


__all__ = ["ACCURACY_CLASSES", "Measured", "SensorLayer", "SensorSpec"]
