"""The scenario kinds: parameters, validation, what each changes in the step inputs and what it labels.

Each kind is a frozen dataclass; a bad parameter raises :class:`~physics.network.PhysicsInputError`
naming ``<kind>.<field>``.  :func:`compose` runs them in the given order on one run: each gets its
own random stream from (run seed, position, kind), so a run is reproducible from its seed and
adding a scenario at the end changes nothing before it.  Where a scenario picks its elements
(``None``), it picks with that stream.  docs/simulation.md lists every kind with its parameters
and labels.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from physics.network import Network, PhysicsInputError
from physics.plan import (Fault, GroundTruthEvent, Modification, Plan, Scenario, ScenarioContext, check_int, check_keys,
                          check_number)
from physics.scenario_system import GeneratorLoss, HarmonicDistortion, PhaseUnbalance
from physics.timeseries import StepInputs
from physics.topology import feeding_branch, islands


def _nodes_behind(ctx: ScenarioContext, branch: str) -> list[int]:
    return [int(n) for island in islands(ctx.network, ctx.network.pgm_ids(branch)) for n in island]


def _dark(ctx: ScenarioContext, owner: str, branches: Sequence[str], start: int, end: int) -> None:
    """Label what opening ``branches`` de-energises (one event per island)."""
    ids = [i for key in branches for i in ctx.network.pgm_ids(key)]
    for island in islands(ctx.network, ids):
        loads = ctx.loads_at(island)
        ctx.plan.events.append(GroundTruthEvent(owner, "deenergised", ctx.bus_keys(island), start, end,
                                                ctx.power_mw(loads, start), "MW", {"loads": tuple(loads)}))


def _open(ctx: ScenarioContext, keys: Sequence[str], start: int, end: int) -> None:
    for key in keys:
        for pgm_id in ctx.network.pgm_ids(key):
            component = ctx.network.component_of(pgm_id)
            present = ctx.network.input_data[component].dtype.names
            for name in [n for n in ("from_status", "to_status", "status") if n in present]:
                ctx.modify(_set(component, name, pgm_id, start, end, 0.0))


def _set(component: str, attribute: str, pgm_id: int, start: int, end: int, value: float) -> Modification:
    return Modification(component, attribute, (pgm_id,), start, end, "set", value)


@dataclass(frozen=True)
class NormalOperation(Scenario):
    """The grid's own profiles, nothing changed: labels the window as normal."""

    kind: ClassVar[str] = "normal"

    def build(self, ctx: ScenarioContext) -> None:
        start, end = self.window(ctx.inputs.steps)
        ctx.plan.events.append(GroundTruthEvent(self.kind, "normal", (), start, end, 0.0, ""))


@dataclass(frozen=True)
class Overload(Scenario):
    """Loads behind a line or transformer grow by ``load_scale`` (the branch then carries more than it should)."""

    kind: ClassVar[str] = "overload"
    branch: str | None = None
    load_scale: float = 1.6

    def __post_init__(self) -> None:
        super().__post_init__()
        check_keys(self.kind, "branch", None if self.branch is None else [self.branch], ("line", "trafo"))
        check_number(self.kind, "load_scale", self.load_scale, 1.01, 10.0)

    def build(self, ctx: ScenarioContext) -> None:
        start, end = self.window(ctx.inputs.steps)
        candidates = [k for t in ("line", "trafo") for k in ctx.network.element_keys(t) if ctx.in_service(k)]
        branch = ctx.choose(f"{self.kind}.branch", None if self.branch is None else (self.branch,), candidates, 1)[0]
        loads = ctx.loads_at(_nodes_behind(ctx, branch)) or ctx.network.element_keys("load")
        ctx.scale(loads, ("p_specified", "q_specified"), start, end, self.load_scale)
        ctx.plan.events.append(GroundTruthEvent(self.kind, "overload", (branch,), start, end, self.load_scale,
                                                "x load", {"loads": tuple(loads)}))


@dataclass(frozen=True)
class Outage(Scenario):
    """N-1: one line or transformer out of service; labels the outage and every island it leaves."""

    kind: ClassVar[str] = "outage"
    element: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        check_keys(self.kind, "element", None if self.element is None else [self.element], ("line", "trafo"))

    def build(self, ctx: ScenarioContext) -> None:
        start, end = self.window(ctx.inputs.steps)
        candidates = [k for t in ("line", "trafo") for k in ctx.network.element_keys(t) if ctx.in_service(k)]
        given = None if self.element is None else (self.element,)
        element = ctx.choose(f"{self.kind}.element", given, candidates, 1)[0]
        _dark(ctx, self.kind, [element], start, end)
        _open(ctx, [element], start, end)
        ctx.plan.events.append(GroundTruthEvent(self.kind, "outage", (element,), start, end, 1.0, "elements"))


def _breakers_of(network: Network, branch: str) -> tuple[str, ...]:
    """Switch keys of the circuit breakers on a line (pandapower ``et == 'l'``), so the breaker's twin is labelled."""
    table, _, index = branch.partition("/")
    net = network.net
    if net is None or table != "line" or "switch" not in net or not len(net.switch):
        return ()
    switches = net.switch[(net.switch.et == "l") & (net.switch.element == int(index))]
    breakers = switches[switches.type == "CB"] if "type" in switches and (switches.type == "CB").any() else switches
    return tuple(f"switch/{i}" for i in breakers.index)


@dataclass(frozen=True)
class ShortCircuitFault(Scenario):
    """A short circuit at a bus; protection opens the branch feeding it, and what lies behind goes dark."""

    kind: ClassVar[str] = "shortCircuit"
    bus: str | None = None
    fault: str = "3ph"
    clearing_time_s: float = 0.1
    branch: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        check_keys(self.kind, "bus", None if self.bus is None else [self.bus], ("bus",))
        check_keys(self.kind, "branch", None if self.branch is None else [self.branch], ("line", "trafo"))
        if self.fault not in ("3ph", "2ph", "1ph"):
            raise PhysicsInputError(f"{self.kind}.fault", f"{self.fault!r} is not one of 3ph, 2ph, 1ph")
        check_number(self.kind, "clearing_time_s", self.clearing_time_s, 0.01, 10.0)

    def _pick_bus(self, ctx: ScenarioContext) -> str:
        sources = set(int(n) for n in ctx.network.input_data["source"]["node"])
        candidates = [k for k in ctx.network.element_keys("bus")
                      if ctx.network.pgm_ids(k)[0] not in sources and _behind_something(ctx, k)]
        return ctx.choose(f"{self.kind}.bus", None if self.bus is None else (self.bus,), candidates, 1)[0]

    def build(self, ctx: ScenarioContext) -> None:
        from physics.shortcircuit import short_circuit

        start, end = self.window(ctx.inputs.steps)
        bus = self._pick_bus(ctx)
        branch = self.branch or ctx.network.keys[feeding_branch(ctx.network, ctx.network.pgm_ids(bus)[0])]
        tripped = (branch, *_breakers_of(ctx.network, branch))
        index = int(bus.partition("/")[2])
        ikss = short_circuit(ctx.network.net, index, fault=self.fault, branch_results=False).ikss_ka \
            if ctx.network.net is not None else float("nan")
        ctx.plan.events.append(GroundTruthEvent(self.kind, "shortCircuit", (bus,), start, start + 1, ikss, "kA",
                                                {"fault": self.fault, "clearing_time_s": self.clearing_time_s}))
        ctx.plan.events.append(GroundTruthEvent(self.kind, "protectionTrip", tripped, start, end, 1.0, "elements"))
        _dark(ctx, self.kind, [branch], start, end)
        _open(ctx, [branch], start, end)
        ctx.plan.faults.append(Fault(index, self.fault, start, self.clearing_time_s, tripped))


def _behind_something(ctx: ScenarioContext, bus: str) -> bool:
    try:
        feeding_branch(ctx.network, ctx.network.pgm_ids(bus)[0])
    except PhysicsInputError:
        return False
    return True


@dataclass(frozen=True)
class PvCloud(Scenario):
    """Clouds pass over PV systems: each dips by up to ``depth`` of its output, ramping over ``ramp_steps``."""

    kind: ClassVar[str] = "pvCloud"
    elements: tuple[str, ...] | None = None
    depth: float = 0.6
    ramp_steps: int = 1

    def __post_init__(self) -> None:
        super().__post_init__()
        check_keys(self.kind, "elements", self.elements, ("sgen",))
        check_number(self.kind, "depth", self.depth, 0.0, 1.0)
        check_int(self.kind, "ramp_steps", self.ramp_steps, 0)

    def build(self, ctx: ScenarioContext) -> None:
        start, end = self.window(ctx.inputs.steps)
        systems = ctx.choose(f"{self.kind}.elements", self.elements, ctx.typed(("sgen",), ("pv",)), None)
        length = end - start
        for key in systems:
            depth = self.depth * ctx.rng.uniform(0.7, 1.0)
            ramp = min(self.ramp_steps, length // 2)
            shape = np.ones(length)
            if ramp:
                shape[:ramp] = np.arange(1, ramp + 1) / (ramp + 1)
                shape[length - ramp:] = np.arange(ramp, 0, -1) / (ramp + 1)
            ctx.scale([key], ("p_specified", "q_specified"), start, end, 1.0 - depth * shape)
        ctx.plan.events.append(GroundTruthEvent(self.kind, "pvCloud", systems, start, end, self.depth,
                                                "fraction of output"))


@dataclass(frozen=True)
class WindRamp(Scenario):
    """Wind output ramps linearly to ``target_factor`` of its profile over ``ramp_steps`` and holds there."""

    kind: ClassVar[str] = "windRamp"
    elements: tuple[str, ...] | None = None
    target_factor: float = 0.2
    ramp_steps: int = 4

    def __post_init__(self) -> None:
        super().__post_init__()
        check_keys(self.kind, "elements", self.elements, ("sgen",))
        check_number(self.kind, "target_factor", self.target_factor, 0.0, 5.0)
        check_int(self.kind, "ramp_steps", self.ramp_steps, 1)

    def build(self, ctx: ScenarioContext) -> None:
        start, end = self.window(ctx.inputs.steps)
        turbines = ctx.choose(f"{self.kind}.elements", self.elements, ctx.typed(("sgen",), ("wind", "wp")), None)
        progress = np.minimum(np.arange(1, end - start + 1) / self.ramp_steps, 1.0)
        ctx.scale(turbines, ("p_specified", "q_specified"), start, end, 1.0 + (self.target_factor - 1.0) * progress)
        ctx.plan.events.append(GroundTruthEvent(self.kind, "windRamp", turbines, start, end,
                                                abs(1.0 - self.target_factor), "fraction of output",
                                                {"target_factor": self.target_factor, "ramp_steps": self.ramp_steps}))


@dataclass(frozen=True)
class DemandResponse(Scenario):
    """Loads cut ``reduction`` of their demand for the window, then rebound by ``rebound`` for ``rebound_steps``."""

    kind: ClassVar[str] = "demandResponse"
    elements: tuple[str, ...] | None = None
    reduction: float = 0.2
    rebound: float = 0.1
    rebound_steps: int = 2

    def __post_init__(self) -> None:
        super().__post_init__()
        check_keys(self.kind, "elements", self.elements, ("load",))
        check_number(self.kind, "reduction", self.reduction, 0.0, 1.0)
        check_number(self.kind, "rebound", self.rebound, 0.0, 1.0)
        check_int(self.kind, "rebound_steps", self.rebound_steps, 0)

    def build(self, ctx: ScenarioContext) -> None:
        start, end = self.window(ctx.inputs.steps)
        loads = ctx.choose(f"{self.kind}.elements", self.elements, ctx.network.element_keys("load"), None)
        reduced = ctx.power_mw(loads, start) * self.reduction
        ctx.scale(loads, ("p_specified", "q_specified"), start, end, 1.0 - self.reduction)
        rebound_end = min(ctx.inputs.steps, end + self.rebound_steps)
        if rebound_end > end and self.rebound > 0:
            ctx.scale(loads, ("p_specified", "q_specified"), end, rebound_end, 1.0 + self.rebound)
        ctx.plan.events.append(GroundTruthEvent(self.kind, "demandResponse", loads, start, end, self.reduction,
                                                "fraction of demand", {"reduced_mw": reduced}))
        if rebound_end > end and self.rebound > 0:
            ctx.plan.events.append(GroundTruthEvent(self.kind, "rebound", loads, end, rebound_end, self.rebound,
                                                    "fraction of demand"))


@dataclass(frozen=True)
class VoltageSag(Scenario):
    """The upstream grid's voltage drops by ``depth`` (pu) for the window (a remote fault, seen at the source)."""

    kind: ClassVar[str] = "voltageSag"
    depth: float = 0.3

    def __post_init__(self) -> None:
        super().__post_init__()
        check_number(self.kind, "depth", self.depth, 0.05, 0.9)

    def build(self, ctx: ScenarioContext) -> None:
        start, end = self.window(ctx.inputs.steps)
        sources = tuple(ctx.network.keys[int(i)] for i in ctx.network.input_data["source"]["id"])
        ctx.scale(sources, ("u_ref",), start, end, 1.0 - self.depth)
        ctx.plan.events.append(GroundTruthEvent(self.kind, "voltageSag", sources, start, end, self.depth, "pu"))


#: Every scenario kind by name (what a request names).
KINDS: dict[str, type[Scenario]] = {cls.kind: cls for cls in (
    NormalOperation, Overload, Outage, ShortCircuitFault, PvCloud, WindRamp, DemandResponse, VoltageSag,
    HarmonicDistortion, PhaseUnbalance, GeneratorLoss)}


def scenario_from(kind: str, parameters: Mapping[str, Any] | None = None) -> Scenario:
    """A scenario from its kind's name and a parameter mapping (a request's JSON), errors naming the field."""
    if kind not in KINDS:
        raise PhysicsInputError("scenario.kind", f"{kind!r} is not one of {', '.join(sorted(KINDS))}")
    cls = KINDS[kind]
    known = {f for f in cls.__dataclass_fields__ if f != "kind"}
    unknown = sorted(set(parameters or {}) - known)
    if unknown:
        raise PhysicsInputError(f"{kind}.{unknown[0]}", f"not a parameter of {kind}; known: {', '.join(sorted(known))}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in (parameters or {}).items()}
    return cls(**values)


def compose(network: Network, inputs: StepInputs, scenarios: Sequence[Scenario], *, seed: int,
            step_seconds: float = 900.0) -> Plan:
    """Apply the scenarios in order to ``inputs`` (in place) and return the run's plan and labels."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise PhysicsInputError("seed", f"{seed!r}: give a whole number >= 0")
    if not step_seconds > 0:
        raise PhysicsInputError("step_seconds", f"{step_seconds!r}: give a step length > 0 s")
    plan = Plan(inputs.steps, float(step_seconds), seed)
    for position, scenario in enumerate(scenarios):
        if not isinstance(scenario, Scenario):
            raise PhysicsInputError(f"scenarios[{position}]", f"{type(scenario).__name__} is not a scenario")
        stream = np.random.default_rng(np.random.SeedSequence([seed, position, zlib.crc32(scenario.kind.encode())]))
        scenario.build(ScenarioContext(network, inputs, plan, stream))
    return plan


__all__ = ["KINDS", "DemandResponse", "GeneratorLoss", "HarmonicDistortion", "NormalOperation", "Outage", "Overload",
           "PhaseUnbalance", "PvCloud", "ShortCircuitFault", "VoltageSag", "WindRamp", "compose", "scenario_from"]
