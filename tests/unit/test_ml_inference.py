"""Inference for measurement points: the engine answers what the trained models answer, and says why not."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from ml.boosted import Boosted
from ml.data.grids import grid_network, profile_tables
from ml.energy_flow import technical_losses as tl
from ml.features.compute import WINDOW_SAMPLES, Windows, columns_of, point_features
from ml.features.signals import COLUMN, SIGNALS
from ml.features.windows import windows_from_history
from ml.inference.engine import InferenceEngine, PointInput
from ml.inference.grid import grid_answers
from ml.inference.history import history_of_run
from ml.maintenance import overload_risk as ovl
from ml.maintenance import power_quality_index as pqi
from ml.monitoring import frequency_forecast as ff
from ml.monitoring import voltage_anomaly as va
from ml.plan import SMALL
from ml.registry import Registry
from ml.serving import ModelCache
from physics.timeseries import StepInputs, apply_profiles

STRESSED = SMALL.overload_codes[0]  # an LV grid whose lines and transformer do overload in its year
POINT_MODELS = ("monitoring.voltage_anomaly", "monitoring.frequency_forecast", "monitoring.power_quality_disturbance")
GRID_MODELS = ("maintenance.overload_risk", "maintenance.equipment_failure_risk", "maintenance.power_quality_index",
               "energy_flow.technical_losses", "energy_flow.load_forecast", "decision.grid_stability")


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    from ml import jobs

    found = Registry(tmp_path_factory.mktemp("models"))
    # technical losses and loading margins are estimated per grid: train this one's
    plan = replace(SMALL, load_codes=(STRESSED,), stability_codes=(STRESSED,))
    for name in POINT_MODELS + GRID_MODELS:
        jobs.train(name, found, plan, None)
    return found


def _history(days: int, first_day: int, points: dict[str, str]):
    network, profiles = grid_network(STRESSED)
    inputs = StepInputs(network, days * 96)
    apply_profiles(inputs, profile_tables(profiles), start=first_day * 96)
    return history_of_run(STRESSED, network, inputs, points, first_day * 96)


def _buses(count: int) -> list[str]:
    network, _ = grid_network(STRESSED)
    return [key for key in network.keys.values() if key.startswith("bus/")][-count:]


def test_a_sag_seen_by_the_points_is_an_anomaly_and_normal_seconds_are_not(registry: Registry) -> None:
    run = va.simulate(SMALL.se_test_codes[0], seed=21)
    seconds = np.arange(va.RUN_S)
    anomalous = np.flatnonzero(run.anomalous.all(axis=1))  # a sag: every point sees it
    normal = np.flatnonzero(~run.anomalous.any(axis=1))
    sag_end, normal_end = int(anomalous[len(anomalous) // 2]), int(normal[len(normal) // 2])
    engine = InferenceEngine(ModelCache(registry), lambda grid, now: pytest.fail("no grid model asked"))
    points = [PointInput(f"p{k}", "g", nominal_v=1.0) for k in range(len(run.measured))]
    for end, expected in ((sag_end, True), (normal_end, False)):
        samples = np.stack([windows_from_history(seconds, run.rows[k], [end])[0] for k in range(len(points))])
        found = engine.infer(points, samples, end, ("monitoring",)).points()
        scores = [p.modules["monitoring"].values["voltageAnomaly"] for p in found]
        assert all((s > 0.5) == expected for s in scores), (end, scores)


def test_a_harmonic_disturbance_seen_by_the_points_is_named_and_quiet_seconds_are_not(registry: Registry) -> None:
    from ml.monitoring import power_quality_disturbance as pqd

    run = pqd.simulate(SMALL.se_test_codes[0], seed=22)
    seconds = np.arange(pqd.RUN_S)
    harmonic = np.flatnonzero(run.label == pqd.CLASSES.index("harmonics"))
    quiet = np.flatnonzero(run.label == 0)
    engine = InferenceEngine(ModelCache(registry), lambda grid, now: pytest.fail("no grid model asked"))
    points = [PointInput(f"p{k}", "g", nominal_v=1.0) for k in range(len(run.rows))]
    found = {}
    for name, end in (("harmonic", int(harmonic[len(harmonic) // 2])), ("quiet", int(quiet[len(quiet) // 2]))):
        samples = np.stack([windows_from_history(seconds, run.rows[k], [end])[0] for k in range(len(points))])
        batch = engine.infer(points, samples, end, ("monitoring",))
        found[name] = batch.values["monitoring.power_quality_disturbance"]
    assert np.median(found["harmonic"]) > 0.5 > np.median(found["quiet"]), found


def test_the_frequency_forecast_is_the_models_on_the_same_features_in_hertz(registry: Registry) -> None:
    run = ff.simulate_run(ff.area(ff.TEST_MIXES[0]), seed=4)
    x, _, _ = ff.samples(run, stride=1)
    model = Boosted.from_bytes(registry.load("monitoring.frequency_forecast").read("model.ubj"), ff.FEATURES)
    seconds = np.arange(len(run.measured_hz))
    rows = np.full((len(seconds), len(SIGNALS)), np.nan)
    rows[:, COLUMN["frequency.value"]] = run.measured_hz
    rows[:, COLUMN["voltage.average"]] = 230.0  # a live point reports its voltage too: it is fresh
    end = 500
    engine = InferenceEngine(ModelCache(registry), lambda grid, now: pytest.fail("no grid model asked"))
    found = engine.infer([PointInput("p", None)], windows_from_history(seconds, rows, [end]), end,
                         ("monitoring",)).point(0)
    expected = 50.0 + model.predict(x[end - 60:end - 59])[0] / 1000.0  # ff.samples starts at the 60th second
    assert found.modules["monitoring"].values["frequencyForecast"] == pytest.approx(expected)
    assert found.modules["monitoring"].versions["monitoring.frequency_forecast"] == 1
    assert "gridtwin ml evaluate" in found.modules["monitoring"].unavailable["monitoring.phase_imbalance"]


def test_a_point_without_samples_gets_reasons_and_no_numbers(registry: Registry) -> None:
    engine = InferenceEngine(ModelCache(registry), lambda grid, now: pytest.fail("not attached"))
    samples = np.full((1, WINDOW_SAMPLES, len(SIGNALS)), np.nan)
    batch = engine.infer([PointInput("silent", None)], samples, 1_767_225_600, ("monitoring", "maintenance"))
    found = batch.point(0)
    assert found.modules["monitoring"].values == {} and batch.messages() == []
    assert "no sample" in found.modules["monitoring"].unavailable["monitoring.voltage_anomaly"]
    assert "not connectedTo" in found.modules["maintenance"].unavailable["maintenance.overload_risk"]


def test_grid_answers_are_the_models_on_the_grids_history(registry: Registry) -> None:
    far, near = _buses(2)
    history = _history(15, 200, {"mp-far": far, "mp-near": near})
    answers = grid_answers(ModelCache(registry), history)
    overload = Boosted.from_bytes(registry.load("maintenance.overload_risk").read("model.ubj"), ovl.FEATURES)
    quality = Boosted.from_bytes(registry.load("maintenance.power_quality_index").read("model.ubj"), pqi.FEATURES)
    risk = overload.predict(ovl.inputs(history.loading, np.array([history.last_row]), history.first_position)[0])
    for point in ("mp-far", "mp-near"):
        path = history.point_paths[point]
        assert path and history.point_transformer[point] == path[0]  # the LV grid's transformer comes first
        assert answers.values["maintenance.overload_risk"][point] == pytest.approx(max(risk[list(path)]))
        assert 0.0 <= answers.values["maintenance.equipment_failure_risk"][point] <= 1.0
        usage = pqi.band_usage(history.u_pu)
        x = ovl.inputs(usage, np.array([history.last_row]), history.first_position)[0][history.point_node[point]]
        expected = 100.0 * (1.0 - quality.predict(x[None, :])[0])
        assert answers.values["maintenance.power_quality_index"][point] == pytest.approx(expected, rel=1e-5)
        losses = answers.values["energy_flow.technical_losses"][point]
        assert 0.0 < losses < 0.2 * abs(history.head[-1, 0]) / 1e3 + 1.0  # kW: a share of what the feeder carries
    losses = answers.values["energy_flow.technical_losses"]
    assert losses["mp-far"] == losses["mp-near"] and not answers.reasons
    margin = Boosted.from_bytes(registry.load("decision.grid_stability").read_grid(STRESSED), tl.FEATURES).predict(
        tl.features(history.head[-1:], history.first_position + history.last_row))[0]
    assert margin > 1.0  # the grid carries today's load
    stability = answers.values["decision.grid_stability"]
    assert stability["mp-far"] == stability["mp-near"] == pytest.approx(1.0 - 1.0 / margin)


def test_the_next_quarter_hours_load_forecast_tracks_the_buses_demand(registry: Registry) -> None:
    buses = _buses(6)
    history = _history(15, 120, {f"mp{k}": bus for k, bus in enumerate(buses)})
    forecasts = grid_answers(ModelCache(registry), history).values["energy_flow.load_forecast"]
    with_load = [p for p in history.point_demand_w if history.point_demand_w[p][:1440].mean() > 0]
    assert with_load, "some of these buses have loads"
    for point in with_load:
        forecast_kw = forecasts[point]
        typical_kw = history.point_demand_w[point][-7 * 96:].mean() / 1e3
        assert 0.2 * typical_kw < forecast_kw < 5 * typical_kw, (point, forecast_kw, typical_kw)
    without = [p for p in history.point_paths if p not in history.point_demand_w]
    for point in without:
        assert point not in forecasts


def test_the_feature_path_feeds_every_point_model_from_one_computation() -> None:
    samples = np.random.default_rng(0).normal(230, 1, (3, WINDOW_SAMPLES, len(SIGNALS)))
    windows = Windows(samples, np.full(3, 230.0), np.full(3, 50.0), np.full(3, 1_767_225_600))
    features = point_features(windows)
    assert features[:, columns_of(va.OWN_FEATURES)].shape == (3, len(va.OWN_FEATURES))
    assert features[:, columns_of(ff.FEATURES)].shape == (3, len(ff.FEATURES))


def test_modules_are_checked_by_name() -> None:
    from ml.inference.outputs import OUTPUTS, checked_modules

    assert checked_modules(["decision", "monitoring"]) == ("monitoring", "decision")
    with pytest.raises(ValueError, match="unknown module 'energy_flow'"):
        checked_modules(["energy_flow"])
    from ml.catalogue import MODELS

    assert sorted(o.model for o in OUTPUTS) == sorted(m.name for m in MODELS if m.module != "gnn")


def test_a_batch_says_once_what_holds_for_all_and_per_point_what_holds_for_one() -> None:
    from ml.inference.outputs import OUTPUT_OF_MODEL, BatchPrediction

    anomaly = OUTPUT_OF_MODEL["monitoring.voltage_anomaly"]
    batch = BatchPrediction(["a", "b"], 7, ("monitoring",))
    batch.put(anomaly, slice(None), np.array([0.25, np.nan]), 4)
    batch.missing(anomaly, "no sample of the point in the last 10 s", np.array([False, True]))
    batch.missing(OUTPUT_OF_MODEL["monitoring.phase_imbalance"], "not built yet (docs/ml.md)")
    a, b = batch.points()
    assert a.modules["monitoring"].values == {"voltageAnomaly": 0.25}
    assert a.modules["monitoring"].versions == {"monitoring.voltage_anomaly": 4}
    assert b.modules["monitoring"].unavailable["monitoring.voltage_anomaly"].startswith("no sample")
    assert b.modules["monitoring"].unavailable["monitoring.phase_imbalance"] == "not built yet (docs/ml.md)"
    assert batch.messages() == [{"twin": "a", "component": "mlEngine", "time": 7,
                                 "values": {"monitoringPredictions": {"voltageAnomaly": 0.25}}}]
