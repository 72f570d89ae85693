"""One simulation run over a stored grid: the network from the twin graph, profiles, scenarios, chunked power flows.

:func:`prepare` is the only part that reads a server (the grid from Neo4j, its profile archive
from the state folder); everything after it is pure, so the CLI, the API and the tests drive the
same code.  A run is computed chunk by chunk (:meth:`PreparedRun.chunk`): a batch run in large
chunks, as fast as the engine and the sink go; a real-time run one step at a time, so an edit of
the grid committed while it runs (a breaker opened, a load changed) is in the next step after the
caller calls :func:`prepare` again with ``resume_from`` (see ``api/simulations.py``).

Determinism: scenarios draw from (seed, position, kind) streams (``physics.scenarios.compose``),
each instrument's fixed ratio error from (seed, twin, telemetry), and the sensor noise of a chunk
from (seed, first step of the chunk): the same request in the same mode gives the same telemetry
bit for bit (a batch run and a real-time run chunk differently, so their noise differs).
"""

from __future__ import annotations

import warnings
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

import numpy as np

from dtdl.model import ModelSet
from loaders.grids.document import GRID_MODEL, GridDocument
from loaders.grids.profiles import GridProfiles
from loaders.simulation.telemetry import TwinSeries, keep_declared, measured, twin_series
from physics.frequency import FrequencyParameters, frequency_at
from physics.network import Network, PhysicsInputError
from physics.plan import GroundTruthEvent, Plan
from physics.scenarios import compose, scenario_from
from physics.scenario_system import GeneratorLoss, thd_by_node
from physics.sensors import SensorLayer
from physics.timeseries import MAX_STEPS, StepInputs, apply_profiles, run_time_series

#: Length of one profile step (simbench: 15 minutes); a run's step reads the profile step it falls in.
PROFILE_STEP_S = 900.0
#: The model whose telemetry schema ``loaders.simulation.telemetry`` writes for attached points.
MEASUREMENT_POINT_MODEL = "dtmi:gridtwin:GridMeasurementPoint;1"
#: The profile tables simbench's get_absolute_values reads.
SIMBENCH_PROFILE_TABLES = ("load", "renewables", "powerplants", "storage")
#: Parameters that name grid elements: twin ids of the grid are accepted there and turned into keys.
ELEMENT_PARAMETERS = ("branch", "element", "bus", "elements")


class SimulationRequestError(ValueError):
    """A request the simulator cannot run; ``field`` names the request field (``scenarios[1].depth``)."""

    def __init__(self, field_name: str, message: str) -> None:
        self.field_name = field_name
        super().__init__(f"{field_name}: {message}")

    def pointer(self, base: str = "") -> str:
        """The field as a JSON pointer below ``base``: ``scenarios[1].depth`` -> ``/scenarios/1/depth``."""
        head = self.field_name.split(" ", 1)[0]
        return base + "/" + head.replace("[", "/").replace("]", "").replace(".", "/")


@dataclass(frozen=True)
class ScenarioRequest:
    """One scenario of a request: its kind and its parameters as JSON gives them."""

    kind: str
    parameters: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SimulationRequest:
    """What to simulate: a grid, scenarios on it, a period and a seed."""

    grid_id: str
    scenarios: tuple[ScenarioRequest, ...] = (ScenarioRequest("normal"),)
    start: datetime = datetime(2026, 1, 1, tzinfo=timezone.utc)
    steps: int = 96
    step_seconds: float = PROFILE_STEP_S
    seed: int = 0
    exact: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or not 1 <= self.steps <= MAX_STEPS:
            raise SimulationRequestError("steps", f"{self.steps!r}: give a whole number from 1 to {MAX_STEPS}")
        if not isinstance(self.step_seconds, (int, float)) or not 0.1 <= self.step_seconds <= 86_400:
            raise SimulationRequestError("stepSeconds", f"{self.step_seconds!r}: give 0.1 to 86400 seconds")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**63:
            raise SimulationRequestError("seed", f"{self.seed!r}: give a whole number >= 0")
        if self.start.tzinfo is None:
            raise SimulationRequestError("start", "give a time with a time zone (e.g. 2026-01-01T00:00:00Z)")
        if not self.scenarios:
            raise SimulationRequestError("scenarios", "give at least one scenario (e.g. normal)")

    def times_ns(self, steps: range) -> np.ndarray:
        """The wall-clock time of each step (epoch nanoseconds)."""
        start_ns = int(self.start.timestamp() * 1e9)
        return start_ns + (np.asarray(steps, dtype=np.int64) * int(round(self.step_seconds * 1e9)))


@dataclass
class PreparedRun:
    """A run ready to compute: network, step inputs with profiles and scenarios applied, the plan."""

    request: SimulationRequest
    network: Network
    inputs: StepInputs
    plan: Plan
    declared: dict[str, frozenset[str]]
    grid_twin: str
    frequency: np.ndarray
    asymmetric: bool
    #: Measurement points outside the grid's twins that measure at one of its buses: point -> bus key.
    points: dict[str, str] = field(default_factory=dict)
    #: Harmonic injections' solutions by window, kept across the run's chunks (one harmonic study per window).
    harmonics_solved: dict[tuple[int, int], Any] = field(default_factory=dict)

    def events(self) -> list[GroundTruthEvent]:
        return list(self.plan.events)

    def twins_of(self, keys: Sequence[str]) -> list[str]:
        """Twin ids of element keys (a key without a twin stays a key).

        Switches are not PGM components (the converter folds them into links and branch
        status), so their twins are read from the pandapower net's ``twin_id`` column."""
        return [self.network.twin_ids.get(key) or _twin_in_net(self.network.net, key) or key for key in keys]

    def switchings(self, step: int) -> list[tuple[str, str]]:
        """(switch twin, new switchState) that protection trips of the plan cause at ``step``: open at the
        trip, closed again when the event's window ends (the breaker recloses)."""
        changes = []
        for event in self.plan.events:
            if event.label != "protectionTrip" or step not in (event.start_step, event.end_step):
                continue
            state = "open" if step == event.start_step else "closed"
            changes += [(twin, state) for key, twin in zip(event.elements, self.twins_of(event.elements))
                        if key.startswith("switch/") and twin != key]
        return changes

    def chunk(self, start: int, end: int) -> tuple[dict[str, TwinSeries], dict[str, np.ndarray], list[str]]:
        """Telemetry of steps ``start .. end - 1``: series (indexed from 0), each twin's clock (ns), errors."""
        window = self.inputs.window(start, end)
        result = run_time_series(window, symmetric=not self.asymmetric)
        step_s = self.request.step_seconds
        thd = thd_by_node(self.network, self.inputs, self.plan.harmonic_injections, start, end,
                          self.harmonics_solved) if self.points and self.plan.harmonic_injections else None
        exact = twin_series(self.network, result, step_seconds=step_s, grid_twin=self.grid_twin,
                            frequency_hz=self.frequency[start:end], points=self.points, thd_percent=thd)
        series = keep_declared(exact, self.declared)
        times_ns = self.request.times_ns(range(start, end))
        errors = [f"step {start + int(s)}: {message}" for s, message in zip(result.failed_steps, result.errors)]
        if self.request.exact:
            return series, {twin: times_ns for twin in series}, errors
        sensors = SensorLayer(zlib.crc32(f"{self.request.seed}/{start}".encode()))
        reported, clocks_s = measured(series, sensors, (times_ns - times_ns[0]) / 1e9)
        return reported, {twin: times_ns[0] + (clock * 1e9).astype(np.int64) for twin, clock in clocks_s.items()}, errors


def _twin_in_net(net: Any, key: str) -> str | None:
    table, _, index = key.partition("/")
    frame = getattr(net, table, None) if net is not None and index.isdigit() else None
    if frame is None or "twin_id" not in frame or int(index) not in frame.index:
        return None
    value = frame.at[int(index), "twin_id"]
    return value if isinstance(value, str) else None


def telemetry_names(models: ModelSet, model_id: str) -> frozenset[str]:
    """The telemetry a model declares (inherited included)."""
    interface = models.interfaces.get(model_id)
    if interface is None:
        return frozenset()
    return frozenset(name for name, content in interface.contents.items() if content.kind == "Telemetry")


def _profile_positions(request: SimulationRequest, profile_steps: int) -> np.ndarray:
    """For each run step, the profile row it reads: the 15-minute step of the year it falls in."""
    year_start = request.start.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    offset_s = (request.start - year_start).total_seconds()
    seconds = offset_s + np.arange(request.steps) * request.step_seconds
    return (np.floor(seconds / PROFILE_STEP_S).astype(np.int64)) % max(profile_steps, 1)


def _absolute_profiles(net: Any, profiles: GridProfiles | None, request: SimulationRequest) -> dict[Any, Any]:
    """simbench's absolute MW / Mvar per element and run step, or {} when the grid has no profiles."""
    if profiles is None or not profiles.tables:
        return {}
    import pandas as pd
    import simbench

    import logging

    logging.getLogger("simbench").setLevel(logging.ERROR)  # "profile column missing, scaling 1" per empty table
    tables = dict(profiles.tables)
    rows = next(iter(tables.values())).index
    for name in SIMBENCH_PROFILE_TABLES:  # simbench reads each table; the importer kept only non-empty ones
        tables.setdefault(name, pd.DataFrame(index=rows))
    net.profiles = tables
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        absolute = simbench.get_absolute_values(net, profiles_instead_of_study_cases=True)
    positions = _profile_positions(request, profiles.steps)
    return {key: frame.iloc[positions % len(frame)].reset_index(drop=True)
            for key, frame in absolute.items() if len(frame.columns) and key[1] in ("p_mw", "q_mvar")}


def _as_keys(value: Any, keys_by_twin: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return keys_by_twin.get(value, value)
    if isinstance(value, (list, tuple)):
        return [keys_by_twin.get(v, v) if isinstance(v, str) else v for v in value]
    return value


def _scenarios(request: SimulationRequest, network: Network) -> list[Any]:
    keys_by_twin = {twin: key for key, twin in network.twin_ids.items()}
    built = []
    for position, scenario in enumerate(request.scenarios):
        parameters = {name: _as_keys(value, keys_by_twin) if name in ELEMENT_PARAMETERS else value
                      for name, value in dict(scenario.parameters).items()}
        if scenario.kind == GeneratorLoss.kind and isinstance(parameters.get("area"), Mapping):
            try:
                parameters["area"] = FrequencyParameters(**parameters["area"])
            except (TypeError, PhysicsInputError) as error:
                raise SimulationRequestError(f"scenarios[{position}].area", str(error)) from error
        try:
            built.append(scenario_from(scenario.kind, parameters))
        except PhysicsInputError as error:
            raise SimulationRequestError(f"scenarios[{position}].{error.field_name}", str(error)) from error
        except TypeError as error:
            raise SimulationRequestError(f"scenarios[{position}]", str(error)) from error
    return built


#: Values one run may hold per step-input column (steps x elements of a component): 400 MB of float64.
MAX_STEP_VALUES = 50_000_000


def _check_size(request: SimulationRequest, network: Network) -> None:
    """Refuse a run whose step inputs would not fit, before any of them is allocated."""
    largest = max(len(array) for array in network.input_data.values())
    if request.steps * largest > MAX_STEP_VALUES:
        raise SimulationRequestError("steps", f"{request.steps} steps x {largest} elements is more than "
                                              f"{MAX_STEP_VALUES:,} values per column; use fewer steps")


def _frequency(request: SimulationRequest, plan: Plan, scenarios: Sequence[Any]) -> np.ndarray:
    area = next((s.area for s in scenarios if isinstance(s, GeneratorLoss)), FrequencyParameters())
    times = np.arange(request.steps) * request.step_seconds
    if not plan.imbalance_events:
        return np.full(request.steps, area.f0_hz)
    at, mw = zip(*plan.imbalance_events)
    return frequency_at(area, list(at), list(mw), times)


@dataclass(frozen=True)
class PointAttachment:
    """A measurement point that is not a twin of the grid but ``connectedTo`` one of its buses."""

    point_id: str
    model: str
    bus_id: str


def prepare_from(document: GridDocument, profiles: GridProfiles | None, models: ModelSet,
                 request: SimulationRequest, points: Sequence[PointAttachment] = ()) -> PreparedRun:
    """The run of ``request`` on a grid document (pure: the caller read the graph and the profiles)."""
    from loaders.grids.pgm import to_power_grid_model

    try:
        pgm = to_power_grid_model(document)  # builds the pandapower net once; the profiles read the same net
        network = Network.from_pgm(pgm.data, pgm.extra_info, pgm.net)
    except PhysicsInputError as error:
        raise SimulationRequestError(f"gridId ({error.field_name})", str(error)) from error
    _check_size(request, network)
    absolute = _absolute_profiles(pgm.net, profiles, request)
    scenarios = _scenarios(request, network)
    asymmetric = any(getattr(s, "kind", "") == "phaseUnbalance" for s in scenarios)
    if asymmetric:
        network = network.asymmetric()
    inputs = StepInputs(network, request.steps)
    apply_profiles(inputs, absolute)
    try:
        plan = compose(network, inputs, scenarios, seed=request.seed, step_seconds=request.step_seconds)
    except PhysicsInputError as error:
        raise SimulationRequestError(f"scenarios ({error.field_name})", str(error)) from error
    declared = {twin.id: telemetry_names(models, twin.model) for twin in document.twins}
    keys_by_twin = {twin: key for key, twin in network.twin_ids.items()}
    attached = {p.point_id: keys_by_twin[p.bus_id] for p in points
                if p.bus_id in keys_by_twin and models.is_a(p.model, MEASUREMENT_POINT_MODEL)}
    declared.update({p.point_id: telemetry_names(models, p.model) for p in points if p.point_id in attached})
    return PreparedRun(request, network, inputs, plan, declared, document.grid_id,
                       _frequency(request, plan, scenarios), asymmetric, attached)


#: Twins outside the grid connected to one of its buses (the grid measurement points among them are kept).
ATTACHED_POINTS = ("MATCH (p:Twin)-[:CONNECTED_TO]->(b:Twin {gridId: $grid}) "
                   "WHERE p.gridId IS NULL OR p.gridId <> $grid RETURN p.id AS point, p.model AS model, b.id AS bus")


def attached_points(driver: Any, grid_id: str) -> list[PointAttachment]:
    records, _, _ = driver.execute_query(ATTACHED_POINTS, grid=grid_id)
    return [PointAttachment(r["point"], r["model"], r["bus"]) for r in records]


def _with_overrides(document: GridDocument, overrides: Mapping[str, Mapping[str, Any]]) -> GridDocument:
    if not overrides:
        return document
    twins = [replace(t, properties={**t.properties, **overrides[t.id]}) if t.id in overrides else t
             for t in document.twins]
    return replace(document, twins=twins)


def prepare(driver: Any, models: ModelSet, settings: Any, request: SimulationRequest,
            overrides: Mapping[str, Mapping[str, Any]] | None = None) -> PreparedRun:
    """The run of ``request`` on the grid as the twin graph holds it now (reads Neo4j and the profile archive).

    ``overrides`` (twin id -> properties) undo what the run itself wrote to the graph (a breaker its
    protection trip opened): the plan applies those changes, so the network it plans on must not
    hold them twice."""
    from loaders.grids.profiles import load_profiles
    from loaders.grids.reader import read_grid

    document = _with_overrides(read_grid(driver, models, request.grid_id), overrides or {})
    if not any(t.model == GRID_MODEL for t in document.twins):
        raise SimulationRequestError("gridId", f"{request.grid_id!r} has no ElectricalGrid twin: not an imported grid")
    return prepare_from(document, load_profiles(settings, request.grid_id), models, request,
                        attached_points(driver, request.grid_id))


__all__ = ["PreparedRun", "ScenarioRequest", "SimulationRequest", "SimulationRequestError", "prepare", "prepare_from",
           "telemetry_names"]
