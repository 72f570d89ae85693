"""From the engine's arrays to the twins' telemetry: which output becomes which telemetry, in which unit.

The engine (``physics``) answers in SI units per PGM component; the twins declare telemetry in
the units of docs/models.md (kV, kW, kvar, A, °C).  This module is the one place that says how one
becomes the other, so the physics check (``tests/integration/test_simulation_physics.py``) reads
the same mapping it checks.  Pure: arrays in, :class:`TwinSeries` and ingest messages out.

| PGM output | twin (model) | telemetry |
|---|---|---|
| node ``u`` / ``u_pu`` / ``u_angle`` / ``energized`` | Bus | ``voltage`` kV line-to-line, ``voltagePu``, ``voltageAngle`` °, ``energized`` |
| line ``i_from``/``i_to``, ``loading``, ``p_from``/``q_from`` | ACLineSegment | ``current`` A (larger end), ``loadingPercent``, ``activePowerFrom`` kW, ``reactivePowerFrom`` kvar, ``conductorTemperature`` °C |
| transformer ``p``/``q`` of both sides, ``loading`` | PowerTransformer | ``loading`` kVA (larger side), ``loadingPercent``, ``oilTemperature``, ``windingTemperature`` (hot spot), ``agingRate`` |
| sym/asym_load, sym/asym_gen, source ``p``/``q`` | EnergyConsumer, BatteryUnit, StaticGenerator, ExternalNetworkInjection | ``measuredActivePower`` kW, ``measuredReactivePower`` kvar (summed over the PGM parts of one element) |
| energy balance, frequency model | ElectricalGrid | ``losses`` kW, ``frequency`` Hz |
| the bus a point is ``connectedTo``, the appliances on it | GridMeasurementPoint | ``voltage.phaseA..C/average`` V phase-to-neutral (per phase from the asymmetric calculation), ``current.*`` A, ``activePower.*`` W and ``reactivePower.*`` var (net load of the bus: loads minus generation, a third per phase), ``frequency.value/deviation`` Hz, ``powerQuality.powerFactor``, ``powerQuality.imbalance`` (% voltage unbalance of the phases), ``powerQuality.thd`` (% voltage THD of harmonic injections, ``physics.harmonics``) |

Object telemetry is carried flattened (``voltage.phaseA``) and nested again by :func:`messages`.

Asymmetric results: voltages are the mean of the phases (line-to-line = √3 × phase), currents the
largest phase, powers the sum of the phases.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from physics.network import Network
from physics.sensors import SensorLayer, SensorSpec
from physics.thermal import conductor_temperature, transformer_thermal
from physics.unbalance import magnitude_unbalance_percent
from physics.timeseries import TimeSeriesResult

APPLIANCES = ("sym_load", "asym_load", "sym_gen", "asym_gen", "source")
#: Telemetry the sensor layer leaves alone (states, not analogue measurements).
STATES = frozenset({"energized"})
#: Instruments per telemetry where they are better than the default class 0.5 meter: frequency
#: relays and PMUs (class 0.1 of 50 Hz is still 50 mHz; real ones do 1-10 mHz, so no better is
#: claimed), voltage transformers of class 0.2.
#: Every instrument also loses one sample in 1,000, reports one outlier in 2,000 and its clock jitters 20 ms.
DEFAULT_SPEC = SensorSpec(accuracy_class=0.5, missing_probability=0.001, jitter_s=0.02, outlier_probability=0.0005)
SPEC_BY_TELEMETRY: Mapping[str, SensorSpec] = {"frequency": replace(DEFAULT_SPEC, accuracy_class=0.1),
                                               "voltage": replace(DEFAULT_SPEC, accuracy_class=0.2),
                                               "voltagePu": replace(DEFAULT_SPEC, accuracy_class=0.2)}


@dataclass
class TwinSeries:
    """One twin's telemetry over the run's steps: name -> ``(steps,)`` array (NaN: no value that step)."""

    twin_id: str
    values: dict[str, np.ndarray] = field(default_factory=dict)


def _per_step(values: np.ndarray, how: str) -> np.ndarray:
    """Fold the phase axis of an asymmetric output: ``mean``, ``max`` of magnitudes, or ``sum``."""
    if values.ndim < 3:
        return values
    if how == "mean":
        return values.mean(axis=2)
    if how == "max":
        return np.abs(values).max(axis=2)
    return values.sum(axis=2)


def _column(result: TimeSeriesResult, component: str, attribute: str, how: str = "sum") -> np.ndarray | None:
    output = result.output.get(component, {})
    return _per_step(output[attribute], how) if attribute in output else None


class _Collector:
    """Series keyed by twin id; elements without a twin (a net not built from the graph) are skipped."""

    def __init__(self, network: Network) -> None:
        self.network = network
        self.series: dict[str, TwinSeries] = {}

    def twin(self, pgm_id: int) -> str | None:
        return self.network.twin_ids.get(self.network.keys.get(int(pgm_id), ""))

    def put(self, twin_id: str, name: str, values: np.ndarray) -> None:
        self.series.setdefault(twin_id, TwinSeries(twin_id)).values[name] = values

    def add(self, twin_id: str, name: str, values: np.ndarray) -> None:
        """Sum into a series (one element, several PGM parts)."""
        found = self.series.setdefault(twin_id, TwinSeries(twin_id)).values
        found[name] = found[name] + values if name in found else values.copy()


def _nodes(collect: _Collector, result: TimeSeriesResult) -> None:
    u, u_pu = _column(result, "node", "u", "mean"), _column(result, "node", "u_pu", "mean")
    angle, energized = _column(result, "node", "u_angle", "mean"), _column(result, "node", "energized", "max")
    line_to_line = 1.0 if result.symmetric else math.sqrt(3.0)
    for position, pgm_id in enumerate(result.ids("node")):
        twin = collect.twin(pgm_id)
        if twin is None:
            continue
        if u is not None:
            collect.put(twin, "voltage", u[:, position] * line_to_line / 1e3)
        if u_pu is not None:
            collect.put(twin, "voltagePu", u_pu[:, position])
        if angle is not None:
            collect.put(twin, "voltageAngle", np.degrees(angle[:, position]))
        if energized is not None:
            collect.put(twin, "energized", energized[:, position].astype(float))


def _lines(collect: _Collector, result: TimeSeriesResult, step_s: float, ambient_c: float) -> None:
    i_from, i_to = _column(result, "line", "i_from", "max"), _column(result, "line", "i_to", "max")
    loading = _column(result, "line", "loading", "max")
    p_from, q_from = _column(result, "line", "p_from"), _column(result, "line", "q_from")
    if i_from is None or i_to is None or loading is None:
        return
    current = np.fmax(i_from, i_to)
    temperature = conductor_temperature(np.nan_to_num(loading), ambient_c, step_s)
    for position, pgm_id in enumerate(result.ids("line")):
        twin = collect.twin(pgm_id)
        if twin is None:
            continue
        collect.put(twin, "current", current[:, position])
        collect.put(twin, "loadingPercent", loading[:, position] * 100.0)
        collect.put(twin, "conductorTemperature", np.where(np.isfinite(loading[:, position]),
                                                           temperature[:, position], np.nan))
        if p_from is not None and q_from is not None:
            collect.put(twin, "activePowerFrom", p_from[:, position] / 1e3)
            collect.put(twin, "reactivePowerFrom", q_from[:, position] / 1e3)


def _transformers(collect: _Collector, result: TimeSeriesResult, step_s: float, ambient_c: float) -> None:
    ends = [_column(result, "transformer", name) for name in ("p_from", "q_from", "p_to", "q_to")]
    loading = _column(result, "transformer", "loading", "max")
    if loading is None or any(end is None for end in ends):
        return
    p_from, q_from, p_to, q_to = ends
    apparent = np.fmax(np.hypot(p_from, q_from), np.hypot(p_to, q_to)) / 1e3
    for position, pgm_id in enumerate(result.ids("transformer")):
        twin = collect.twin(pgm_id)
        if twin is None:
            continue
        ratio = loading[:, position]
        collect.put(twin, "loading", apparent[:, position])
        collect.put(twin, "loadingPercent", ratio * 100.0)
        state = transformer_thermal(np.nan_to_num(ratio), ambient_c, step_s)
        known = np.isfinite(ratio)
        collect.put(twin, "oilTemperature", np.where(known, state.top_oil_c, np.nan))
        collect.put(twin, "windingTemperature", np.where(known, state.hot_spot_c, np.nan))
        collect.put(twin, "agingRate", np.where(known, state.ageing_rate, np.nan))


def _appliances(collect: _Collector, result: TimeSeriesResult) -> None:
    for component in APPLIANCES:
        p, q = _column(result, component, "p"), _column(result, component, "q")
        if p is None or q is None:
            continue
        for position, pgm_id in enumerate(result.ids(component)):
            twin = collect.twin(pgm_id)
            if twin is not None:
                collect.add(twin, "measuredActivePower", p[:, position] / 1e3)
                collect.add(twin, "measuredReactivePower", q[:, position] / 1e3)


def _net_load_at(result: TimeSeriesResult, network: Network, node: int) -> tuple[np.ndarray, np.ndarray]:
    """P and Q (W, var) drawn at one node by its appliances: loads positive, generators and sources negative."""
    steps = next(iter(result.output["node"].values())).shape[0]
    p, q = np.zeros(steps), np.zeros(steps)
    for component in APPLIANCES:
        inputs = network.input_data.get(component)
        p_out, q_out = _column(result, component, "p"), _column(result, component, "q")
        if inputs is None or p_out is None or q_out is None:
            continue
        sign = 1.0 if component.endswith("load") else -1.0
        for position in np.flatnonzero(inputs["node"] == node):
            p += sign * p_out[:, position]
            q += sign * q_out[:, position]
    return p, q


def _phase_voltages(result: TimeSeriesResult, position: int) -> np.ndarray:
    """``(steps, 3)`` phase-to-neutral voltage magnitudes (V) at a node: the asymmetric calculation's own, or the
    symmetric one's line-to-line value / √3 on every phase."""
    u = result.output["node"]["u"]
    if u.ndim == 3:
        return np.abs(u[:, position, :])
    return np.repeat((u[:, position] / math.sqrt(3.0))[:, None], 3, axis=1)


def _measurement_points(collect: _Collector, result: TimeSeriesResult, points: Mapping[str, str],
                        frequency_hz: np.ndarray | None, nominal_hz: float,
                        thd_percent: Mapping[int, np.ndarray] | None = None) -> None:
    """GridMeasurementPoint telemetry at the bus each point is connected to (``points``: point -> bus key).

    Voltages per phase are the calculation's (equal phases in a symmetric run); ``thd_percent`` is the
    voltage THD per node position where a harmonic injection is active (0 elsewhere)."""
    network = collect.network
    if "u" not in result.output.get("node", {}):
        return
    rows = {int(pgm_id): position for position, pgm_id in enumerate(result.ids("node"))}
    for point, bus_key in points.items():
        node = network.pgm_ids(bus_key)[0]
        phases = _phase_voltages(result, rows[node])
        p, q = _net_load_at(result, network, node)
        apparent = np.hypot(p, q)
        average_v = phases.mean(axis=1)
        current = np.divide(apparent, 3.0 * average_v, out=np.zeros_like(apparent), where=average_v > 0)
        for k, phase in enumerate(("phaseA", "phaseB", "phaseC")):
            collect.put(point, f"voltage.{phase}", phases[:, k])
            collect.put(point, f"current.{phase}", current)
            collect.put(point, f"activePower.{phase}", p / 3.0)
            collect.put(point, f"reactivePower.{phase}", q / 3.0)
        collect.put(point, "voltage.average", average_v)
        collect.put(point, "current.average", current)
        collect.put(point, "activePower.total", p)
        collect.put(point, "reactivePower.total", q)
        frequency = np.full(len(p), nominal_hz) if frequency_hz is None else np.asarray(frequency_hz, dtype=float)
        collect.put(point, "frequency.value", frequency)
        collect.put(point, "frequency.deviation", frequency - nominal_hz)
        collect.put(point, "powerQuality.powerFactor",
                    np.divide(np.abs(p), apparent, out=np.ones_like(apparent), where=apparent > 0))
        collect.put(point, "powerQuality.imbalance", magnitude_unbalance_percent(phases))
        thd = (thd_percent or {}).get(rows[node])
        collect.put(point, "powerQuality.thd", np.zeros(len(p)) if thd is None else np.asarray(thd, dtype=float))


def twin_series(network: Network, result: TimeSeriesResult, *, step_seconds: float, grid_twin: str | None = None,
                frequency_hz: np.ndarray | None = None, ambient_c: float = 20.0,
                points: Mapping[str, str] | None = None,
                thd_percent: Mapping[int, np.ndarray] | None = None) -> dict[str, TwinSeries]:
    """Every twin's telemetry over the run, keyed by twin id (see the table in the module docstring).

    ``points`` maps measurement points outside the grid's own twins to the bus key they measure at;
    ``thd_percent`` (node position -> per-step voltage THD in %) is what harmonic injections cause.
    """
    collect = _Collector(network)
    if points:
        _measurement_points(collect, result, points, frequency_hz, network.f_hz, thd_percent)
    _nodes(collect, result)
    _lines(collect, result, step_seconds, ambient_c)
    _transformers(collect, result, step_seconds, ambient_c)
    _appliances(collect, result)
    if grid_twin is not None:
        balance = result.energy_balance(step_seconds)
        collect.put(grid_twin, "losses", balance.losses_w / 1e3)
        if frequency_hz is not None:
            collect.put(grid_twin, "frequency", np.asarray(frequency_hz, dtype=float))
    return collect.series


def keep_declared(series: Mapping[str, TwinSeries], declared: Mapping[str, frozenset[str]]) -> dict[str, TwinSeries]:
    """Only the telemetry each twin's model declares (``declared``: twin id -> telemetry names)."""
    kept: dict[str, TwinSeries] = {}
    for twin_id, one in series.items():
        names = declared.get(twin_id, frozenset())
        values = {name: array for name, array in one.values.items() if name.partition(".")[0] in names}
        if values:
            kept[twin_id] = TwinSeries(twin_id, values)
    return kept


def measured(series: Mapping[str, TwinSeries], sensors: SensorLayer,
             times_s: np.ndarray) -> tuple[dict[str, TwinSeries], dict[str, np.ndarray]]:
    """What the instruments report, and each twin's clock.

    Each telemetry kind (``voltage``, ``current`` ...) is one matrix for all twins, measured at once
    with its instrument class (:meth:`SensorLayer.measure_many`; each device keeps its own fixed
    ratio error). The twin is the device: its clock jitter is one column of the ``clock`` draw,
    shared by its telemetry, so one message per twin and step still carries all of its values.
    """
    columns: dict[str, list[tuple[str, str]]] = {}
    for twin_id, one in series.items():
        for name in one.values:
            if name not in STATES:
                columns.setdefault(name.partition(".")[0], []).append((twin_id, name))
    reported = {twin_id: TwinSeries(twin_id, dict(one.values)) for twin_id, one in series.items()}
    for head, names in sorted(columns.items()):
        matrix = np.column_stack([series[twin].values[name] for twin, name in names])
        result = sensors.measure_many(names, matrix, times_s, SPEC_BY_TELEMETRY.get(head, DEFAULT_SPEC), stream=head)
        for position, (twin, name) in enumerate(names):
            reported[twin].values[name] = result.values[:, position]
    for twin_id, one in reported.items():
        if "frequency.value" in one.values and "frequency.deviation" in one.values:  # one instrument
            nominal = series[twin_id].values["frequency.value"] - series[twin_id].values["frequency.deviation"]
            one.values["frequency.deviation"] = one.values["frequency.value"] - nominal
    twins = sorted(series)
    clock = sensors.measure_many([(twin, "clock") for twin in twins], np.zeros((len(times_s), len(twins))), times_s,
                                 DEFAULT_SPEC, stream="clock").times_s
    return reported, {twin: clock[:, position] for position, twin in enumerate(twins)}


def _value(name: str, number: float) -> Any:
    return bool(number) if name in STATES else float(number)


def messages(series: Mapping[str, TwinSeries], steps: Sequence[int] | range, times_ns: np.ndarray,
             clocks_ns: Mapping[str, np.ndarray] | None = None) -> Iterator[dict[str, Any]]:
    """Ingest messages ``{"twin", "time", "values"}`` for the given steps, one per twin and step.

    A value that is NaN (a failed step, a missing sample) is left out; a message left empty is not sent.
    """
    for step in steps:
        for twin_id, one in series.items():
            values: dict[str, Any] = {}
            for name, array in one.values.items():
                if np.isfinite(array[step]):
                    head, _, field_name = name.partition(".")
                    if field_name:
                        values.setdefault(head, {})[field_name] = float(array[step])
                    else:
                        values[name] = _value(name, array[step])
            if values:
                clock = clocks_ns.get(twin_id) if clocks_ns else None
                time_ns = int(clock[step]) if clock is not None else int(times_ns[step])
                yield {"twin": twin_id, "time": time_ns, "values": values}


__all__ = ["TwinSeries", "keep_declared", "measured", "messages", "twin_series"]
