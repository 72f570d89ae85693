"""The measurement point's feature path: live ring buffers and stored histories give the same features."""

from __future__ import annotations

import numpy as np
import pytest

from ml.features.compute import FEATURE_GROUPS, FEATURES, WINDOW_SAMPLES, Windows, columns_of, point_features
from ml.features.signals import SIGNALS
from ml.features.windows import LiveWindows, history_rows, windows_from_history

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z, a Thursday


def _message(rng: np.random.Generator, second: int) -> dict:
    v = 230.0 * (1 + 0.01 * np.sin(second / 30.0)) + rng.normal(0, 0.5, 3)
    p = 3000.0 + 200 * np.sin(second / 50.0) + rng.normal(0, 20, 3)
    q = 900.0 + rng.normal(0, 10, 3)
    f = 50.0 + 0.02 * np.sin(second / 40.0) + rng.normal(0, 0.001)
    return {"voltage": {"phaseA": v[0], "phaseB": v[1], "phaseC": v[2], "average": float(v.mean())},
            "current": {"phaseA": p[0] / v[0], "phaseB": p[1] / v[1], "phaseC": p[2] / v[2],
                        "average": float((p / v).mean())},
            "activePower": {"phaseA": p[0], "phaseB": p[1], "phaseC": p[2], "total": float(p.sum())},
            "reactivePower": {"phaseA": q[0], "phaseB": q[1], "phaseC": q[2], "total": float(q.sum())},
            "frequency": {"value": f, "deviation": f - 50.0},
            "powerQuality": {"imbalance": 0.4, "thd": 2.1, "powerFactor": 0.96, "qualityScore": 97.0}}


def _stream(seed: int, seconds: int, drop: float = 0.05) -> tuple[list[int], list[dict]]:
    """A 1 Hz stream with jittered clocks, lost samples and one late (out-of-order) sample."""
    rng = np.random.default_rng(seed)
    times, messages = [], []
    for second in range(seconds):
        if rng.random() < drop:
            continue
        times.append((T0 + second) * 1_000_000_000 + int(rng.uniform(0, 0.9e9)))
        messages.append(_message(rng, second))
    times[40], times[41] = times[41], times[40]  # arrives late
    messages[40], messages[41] = messages[41], messages[40]
    return times, messages


def _windows(samples: np.ndarray, ends: list[int]) -> Windows:
    n = len(samples)
    return Windows(samples, np.full(n, 230.0), np.full(n, 50.0), np.asarray(ends))


def test_the_catalogue_holds_the_original_designs_groups_and_about_80_features() -> None:
    assert 75 <= len(FEATURES) <= 90
    assert sum(FEATURE_GROUPS.values()) == len(FEATURES)
    assert {"voltage", "current", "power", "frequency", "powerQuality", "time"} <= set(FEATURE_GROUPS)
    with pytest.raises(KeyError):
        columns_of(("voltage_average_now", "no such feature"))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_live_windows_give_exactly_the_features_of_the_stored_history(seed: int) -> None:
    times, messages = _stream(seed, 300)
    live = LiveWindows()
    checked = 0
    ends = []
    live_windows = []
    for time_ns, message in zip(times, messages):
        live.push("mp", time_ns, message)
        second = time_ns // 1_000_000_000
        if second % 17 == 0:
            ends.append(second)
            live_windows.append(live.windows(["mp"], second)[0])
    ends.append(T0 + 320)  # 20 s after the stream stopped: the window has gone partly empty
    live_windows.append(live.windows(["mp"], T0 + 320)[0])
    grid, rows = history_rows(times, messages)
    stored = windows_from_history(grid, rows, ends)
    np.testing.assert_array_equal(np.stack(live_windows), stored)
    live_features = point_features(_windows(np.stack(live_windows), ends))
    batch_features = point_features(_windows(stored, ends))
    np.testing.assert_array_equal(live_features, batch_features)
    checked = np.isfinite(batch_features).sum()
    assert checked > 0.9 * batch_features.size


def test_features_are_the_physical_quantities_they_name() -> None:
    samples = np.full((1, WINDOW_SAMPLES, len(SIGNALS)), np.nan)
    column = {name: i for i, name in enumerate(SIGNALS)}
    for phase, volts in (("phaseA", 230.0), ("phaseB", 220.0), ("phaseC", 240.0)):
        samples[0, :, column[f"voltage.{phase}"]] = volts
    samples[0, :, column["voltage.average"]] = 230.0
    samples[0, -1, column["voltage.average"]] = 207.0  # a 10 % dip in the newest second
    samples[0, :, column["activePower.total"]] = 3000.0
    samples[0, :, column["reactivePower.total"]] = 4000.0
    samples[0, :, column["frequency.value"]] = 49.9
    samples[0, :30, column["frequency.value"]] = np.nan  # the first half-minute never arrived
    features = dict(zip(FEATURES, point_features(_windows(samples, [T0 + 12 * 3600]))[0]))
    assert features["voltage_average_now"] == pytest.approx(0.9)
    assert features["voltage_average_change_1s"] == pytest.approx(-0.1)
    assert features["voltage_average_deviation_from_median_8s"] == pytest.approx(-0.1)
    assert features["voltage_unbalance"] == pytest.approx(20 / 230)
    assert features["voltage_seconds_outside_5pct"] == 1.0
    assert features["activePower_total_now"] == pytest.approx(3.0)  # kW
    assert features["apparentPower_now"] == pytest.approx(5.0)     # kVA
    assert features["powerFactor_now"] == pytest.approx(0.6)
    assert features["frequency_deviation_mhz_0s_ago"] == pytest.approx(-100.0)
    assert features["frequency_mean_60s_mhz"] == pytest.approx(-100.0)
    assert np.isnan(features["frequency_deviation_mhz_60s_ago"])  # not carried backwards
    assert np.isnan(features["current_average_now"])               # never reported
    assert features["time_of_day_cos"] == pytest.approx(-1.0)     # noon
    assert features["weekday"] == 3.0                              # Thursday
    assert features["missing_seconds_60s"] == 0.0


def test_a_point_beyond_the_limit_is_not_kept_and_forgotten_points_go() -> None:
    live = LiveWindows(max_points=2)
    for twin in ("a", "b", "c"):
        live.push(twin, T0 * 1_000_000_000, {"voltage": {"average": 230.0}})
    assert ("a" in live, "b" in live, "c" in live) == (True, True, False)
    live.forget(["a"])
    assert len(live) == 1 and np.isnan(live.windows(["a"], T0)).all()
