"""The sensor layer: seeded bit for bit, exact when switched off, errors within the accuracy class."""
from __future__ import annotations

import numpy as np
import pytest

from physics.network import PhysicsInputError
from physics.sensors import SensorLayer, SensorSpec

TIMES = np.arange(20_000, dtype=float)
VALUES = 230.0 + 5.0 * np.sin(TIMES / 500.0)
MESSY = SensorSpec(accuracy_class=0.5, resolution=0.01, missing_probability=0.01, jitter_s=0.02,
                   outlier_probability=0.001)


def test_same_seed_same_measurements_bit_for_bit() -> None:
    first = SensorLayer(42).measure("mp-1", "voltage", VALUES, TIMES, MESSY)
    again = SensorLayer(42).measure("mp-1", "voltage", VALUES, TIMES, MESSY)
    assert first.values.tobytes() == again.values.tobytes() and first.times_s.tobytes() == again.times_s.tobytes()
    assert (first.missing == again.missing).all() and (first.outliers == again.outliers).all()


def test_a_device_does_not_depend_on_what_else_was_measured() -> None:
    alone = SensorLayer(42).measure("mp-1", "voltage", VALUES, TIMES, MESSY)
    layer = SensorLayer(42)
    layer.measure("mp-2", "current", VALUES, TIMES, MESSY)
    after_another = layer.measure("mp-1", "voltage", VALUES, TIMES, MESSY)
    assert alone.values.tobytes() == after_another.values.tobytes()


def test_different_seed_or_device_different_noise() -> None:
    base = SensorLayer(42).measure("mp-1", "voltage", VALUES, TIMES)
    assert not np.array_equal(base.values, SensorLayer(43).measure("mp-1", "voltage", VALUES, TIMES).values)
    assert not np.array_equal(base.values, SensorLayer(42).measure("mp-2", "voltage", VALUES, TIMES).values)


def test_exact_is_the_identity() -> None:
    measured = SensorLayer(42, exact=True).measure("mp-1", "voltage", VALUES, TIMES, MESSY)
    assert measured.values.tobytes() == VALUES.tobytes() and measured.times_s.tobytes() == TIMES.tobytes()
    assert not measured.missing.any() and not measured.outliers.any()


@pytest.mark.parametrize("accuracy_class", [0.2, 0.5, 1.0])
def test_errors_stay_within_the_accuracy_class(accuracy_class: float) -> None:
    spec = SensorSpec(accuracy_class=accuracy_class)
    for device in ("a", "b", "c", "d"):
        measured = SensorLayer(7).measure(device, "current", VALUES, TIMES, spec)
        ratio_error = measured.values / VALUES - 1.0
        limit = accuracy_class / 100.0
        assert ratio_error.std() == pytest.approx(limit / 6.0, rel=0.05)  # the noise is what the class allows
        assert np.mean(np.abs(ratio_error) <= limit) > 0.998  # bias + 3 sigma within the limit


def test_quantisation_missing_outliers_and_jitter_do_what_they_say() -> None:
    measured = SensorLayer(3).measure("mp-1", "voltage", VALUES, TIMES, MESSY)
    present = measured.values[~measured.missing]
    np.testing.assert_allclose(present, np.round(present / 0.01) * 0.01, atol=1e-9)
    assert 0.005 < measured.missing.mean() < 0.015 and np.isnan(measured.values[measured.missing]).all()
    assert 5 <= measured.outliers.sum() <= 40
    assert np.all(np.diff(measured.times_s) >= 0) and 0.01 < np.std(measured.times_s - TIMES) < 0.03


@pytest.mark.parametrize(("make", "field"), [
    (lambda: SensorSpec(accuracy_class=0.3), "accuracy_class"), (lambda: SensorSpec(missing_probability=1.5),
                                                                  "missing_probability"),
    (lambda: SensorSpec(resolution=-1.0), "resolution"), (lambda: SensorLayer(-1), "seed"),
    (lambda: SensorLayer(1).measure("d", "q", VALUES, TIMES[:5]), "times_s")])
def test_bad_settings_name_the_field(make: object, field: str) -> None:
    with pytest.raises(PhysicsInputError, match=f"^{field}:"):
        make()  # type: ignore[operator]


def test_measure_many_is_reproducible_keeps_each_device_error_and_stays_in_class() -> None:
    import numpy as np

    names = [(f"dev-{i}", "voltage") for i in range(200)]
    values, times = np.full((500, 200), 100.0), np.arange(500.0)
    spec = SensorSpec(accuracy_class=0.5)
    first = SensorLayer(3).measure_many(names, values, times, spec, stream="a")
    again = SensorLayer(3).measure_many(names, values, times, spec, stream="a")
    later = SensorLayer(3).measure_many(names, values, times, spec, stream="b")
    other = SensorLayer(4).measure_many(names, values, times, spec, stream="a")
    assert np.array_equal(first.values, again.values) and not np.array_equal(first.values, other.values)
    errors_a, errors_b = first.values.mean(axis=0) - 100.0, later.values.mean(axis=0) - 100.0
    assert np.allclose(errors_a, errors_b, atol=0.02)  # the fixed ratio error is the device's, not the stream's
    within = np.mean(np.abs(first.values - 100.0) <= 0.5)  # class 0.5: bias + 3 sigma within 0.5 % of 100
    assert within >= 0.997, within
    exact = SensorLayer(3, exact=True).measure_many(names, values, times, spec)
    assert np.array_equal(exact.values, values)
