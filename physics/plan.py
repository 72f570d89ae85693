"""What a scenario produces: modifications of the step inputs, ground-truth events, and side inputs.

A scenario (``physics/scenarios.py``) is a frozen dataclass of parameters.  Composed on one run
(:func:`physics.scenarios.compose`), each scenario in turn reads the step inputs as the earlier
ones left them, adds its :class:`Modification` records (applied at once, so the next scenario
sees them) and its :class:`GroundTruthEvent` labels, and, where the steady-state power flow cannot
express it, side inputs: imbalance steps for the frequency model, harmonic injections for the
harmonic solver, faults for the short-circuit calculation.  Everything here is pure data.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from physics.network import Network, PhysicsInputError
from physics.timeseries import StepInputs

OPERATIONS = ("set", "scale")


@dataclass(frozen=True)
class GroundTruthEvent:
    """A label: what happened (``label``), where (element keys), steps ``start_step`` to ``end_step`` (exclusive)."""

    scenario: str
    label: str
    elements: tuple[str, ...]
    start_step: int
    end_step: int
    severity: float
    severity_unit: str
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Modification:
    """Set or scale one attribute of some components over steps ``start .. end - 1``.

    ``values`` is one number, or one per step of the window (``(end - start,)``), or one per step and
    component (``(end - start, len(ids))``); ``phase`` (0, 1, 2) aims at one phase of an asymmetric
    appliance, None at all of them.
    """

    component: str
    attribute: str
    ids: tuple[int, ...]
    start: int
    end: int
    operation: str
    values: Any
    phase: int | None = None

    def apply(self, inputs: StepInputs) -> None:
        """Write the modification into the step inputs."""
        if self.operation not in OPERATIONS:
            raise PhysicsInputError("operation", f"{self.operation!r} is not one of {', '.join(OPERATIONS)}")
        column = inputs.column(self.component, self.attribute)
        positions = inputs.network.positions(self.component, self.ids)
        values = np.asarray(self.values, dtype=float)
        if values.ndim == 1:
            values = values[:, None]
        window = (slice(self.start, self.end), positions) if self.phase is None else \
            (slice(self.start, self.end), positions, self.phase)
        if self.phase is None and column.ndim == 3 and values.ndim == 2:
            values = values[:, :, None]
        current = column[window]
        column[window] = values if self.operation == "set" else current * values


@dataclass(frozen=True)
class HarmonicInjection:
    """A non-linear share of a load over a window: its current spectrum in % of its fundamental current."""

    element: str
    bus: int
    start_step: int
    end_step: int
    nonlinear_share: float
    spectrum: Mapping[int, float]


@dataclass(frozen=True)
class Fault:
    """A short circuit at a pandapower bus at a step, cleared by opening ``tripped`` (element keys)."""

    bus: int
    fault: str
    step: int
    clearing_time_s: float
    tripped: tuple[str, ...]


@dataclass
class Plan:
    """Everything the composed scenarios decided for a run."""

    steps: int
    step_seconds: float
    seed: int
    modifications: list[Modification] = field(default_factory=list)
    events: list[GroundTruthEvent] = field(default_factory=list)
    imbalance_events: list[tuple[float, float]] = field(default_factory=list)
    harmonic_injections: list[HarmonicInjection] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)


@dataclass
class ScenarioContext:
    """What a scenario sees while it plans: the network, the step inputs so far, its own random stream."""

    network: Network
    inputs: StepInputs
    plan: Plan
    rng: np.random.Generator

    def modify(self, modification: Modification) -> None:
        """Record and apply a modification, so later scenarios build on it."""
        modification.apply(self.inputs)
        self.plan.modifications.append(modification)

    def scale(self, keys: Sequence[str], attributes: Sequence[str], start: int, end: int, values: Any,
              phase: int | None = None) -> None:
        """Scale attributes of whole elements (all PGM parts of each key), grouped by PGM component."""
        by_component: dict[str, list[int]] = {}
        for key in keys:
            for pgm_id in self.network.pgm_ids(key):
                by_component.setdefault(self.network.component_of(pgm_id), []).append(pgm_id)
        for component, ids in by_component.items():
            for attribute in attributes:
                self.modify(Modification(component, attribute, tuple(ids), start, end, "scale", values, phase))

    def in_service(self, key: str) -> bool:
        """Whether every PGM part of an element is in service (status, or both branch ends, closed) in the input."""
        for pgm_id in self.network.pgm_ids(key):
            component = self.network.component_of(pgm_id)
            array = self.network.input_data[component]
            row = array[self.network.positions(component, [pgm_id])[0]]
            if any(row[name] != 1 for name in ("status", "from_status", "to_status") if name in array.dtype.names):
                return False
        return True

    def choose(self, field_name: str, given: tuple[str, ...] | None, candidates: Sequence[str],
               count: int | None) -> tuple[str, ...]:
        """The given elements (checked to exist), else ``count`` (None: all) of the candidates, picked by the stream.

        ``field_name`` is the parameter an error names (``outage.element``).
        """
        if given is not None:
            for key in given:
                try:
                    self.network.pgm_ids(key)
                except PhysicsInputError as error:
                    raise PhysicsInputError(field_name, str(error).partition(": ")[2]) from None
            return given
        if not candidates:
            raise PhysicsInputError(field_name, "the grid has no element this scenario can act on")
        if count is None or count >= len(candidates):
            return tuple(candidates)
        picked = self.rng.choice(len(candidates), size=count, replace=False)
        return tuple(candidates[i] for i in sorted(picked))

    def loads_at(self, nodes: Sequence[int]) -> list[str]:
        """Keys of the loads and storages (a charging storage is a load) connected to the given PGM nodes."""
        wanted = set(int(n) for n in nodes)
        return [key for table in ("load", "storage") for key in self.network.element_keys(table)
                if self.network.node_of(key) in wanted]

    def bus_keys(self, nodes: Sequence[int]) -> tuple[str, ...]:
        """Keys of PGM nodes (``bus/<index>``), sorted by index."""
        keys = (self.network.keys[int(n)] for n in nodes)
        return tuple(sorted(keys, key=lambda k: (len(k), k)))

    def typed(self, tables: Sequence[str], marks: Sequence[str]) -> list[str]:
        """In-service elements of the tables whose source ``type`` contains one of ``marks`` (case-insensitive)."""
        return [key for table in tables for key in self.network.element_keys(table)
                if any(m in self.network.element_type(key).lower() for m in marks) and self.in_service(key)]

    def power_mw(self, keys: Sequence[str], step: int, attribute: str = "p_specified") -> float:
        """Power (MW; Mvar for ``q_specified``) the step inputs give the elements at a step, all parts and phases."""
        return element_power_mw(self.network, self.inputs, keys, step, attribute)


def element_power_mw(network: Network, inputs: StepInputs, keys: Sequence[str], step: int,
                     attribute: str = "p_specified") -> float:
    """Power (MW; Mvar for ``q_specified``) the step inputs give the elements at a step, all parts and phases."""
    total = 0.0
    for key in keys:
        for pgm_id in network.pgm_ids(key):
            component = network.component_of(pgm_id)
            column = inputs.values(component, attribute)
            position = network.positions(component, [pgm_id])[0]
            status = inputs.values(component, "status")[step, position]
            total += float(np.sum(column[step, position])) * float(status) / 1e6
    return total


def check_int(owner: str, name: str, value: Any, minimum: int) -> int:
    """A whole number >= minimum, or an error naming ``owner.name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise PhysicsInputError(f"{owner}.{name}", f"{value!r}: give a whole number >= {minimum}")
    return int(value)


def check_number(owner: str, name: str, value: Any, low: float, high: float) -> float:
    """A finite number within [low, high], or an error naming ``owner.name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not low <= float(value) <= high:
        raise PhysicsInputError(f"{owner}.{name}", f"{value!r}: give a number from {low} to {high}")
    return float(value)


def check_keys(owner: str, name: str, value: Any, tables: Sequence[str]) -> tuple[str, ...] | None:
    """None, or a non-empty tuple of element keys of the given tables (``"line/3"``)."""
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, (tuple, list)) or not value:
        raise PhysicsInputError(f"{owner}.{name}", f"{value!r}: give a non-empty list of element keys or None")
    for key in value:
        table, _, index = key.partition("/") if isinstance(key, str) else ("", "", "")
        if table not in tables or not index.isdigit():
            raise PhysicsInputError(f"{owner}.{name}", f"{key!r} is not a key of {' or '.join(tables)} ('table/index')")
    return tuple(value)


@dataclass(frozen=True)
class Scenario:
    """Base of every scenario: when it starts and how long it lasts (None: to the end of the run)."""

    kind: ClassVar[str] = "scenario"
    needs_asymmetric: ClassVar[bool] = False
    start_step: int = 0
    duration_steps: int | None = None

    def __post_init__(self) -> None:
        check_int(self.kind, "start_step", self.start_step, 0)
        if self.duration_steps is not None:
            check_int(self.kind, "duration_steps", self.duration_steps, 1)

    def window(self, steps: int) -> tuple[int, int]:
        """(start, end) within a run of ``steps`` steps; an error when the scenario starts after the run."""
        if self.start_step >= steps:
            raise PhysicsInputError(f"{self.kind}.start_step", f"{self.start_step} is past the run's {steps} steps")
        end = steps if self.duration_steps is None else min(steps, self.start_step + self.duration_steps)
        return self.start_step, end

    def build(self, context: ScenarioContext) -> None:  # pragma: no cover - every kind overrides it
        """Add the scenario's modifications, events and side inputs to the context's plan."""
        raise NotImplementedError


__all__ = ["Fault", "GroundTruthEvent", "HarmonicInjection", "Modification", "Plan", "Scenario", "ScenarioContext",
           "check_int", "check_keys", "check_number"]
