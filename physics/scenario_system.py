"""Scenario kinds whose effect the steady-state power flow alone cannot show.

Harmonic distortion (a side input to :mod:`physics.harmonics`), phase loss / unbalance (the
asymmetric calculation's per-phase loads) and the loss of a generator (the power flow's slack
takes the lost power; the frequency excursion comes from :mod:`physics.frequency`).  They are
re-exported by :mod:`physics.scenarios` with the other kinds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from physics.frequency import FrequencyParameters, simulate
from physics.harmonics import SIX_PULSE_SPECTRUM, HarmonicResult, HarmonicSource, harmonic_voltages
from physics.network import Network, PhysicsInputError
from physics.plan import (GroundTruthEvent, HarmonicInjection, Modification, Scenario, ScenarioContext, check_int,
                          check_keys, check_number, element_power_mw)
from physics.timeseries import StepInputs


def _bus_of(ctx: ScenarioContext, key: str) -> int:
    """The pandapower bus index of an appliance (its PGM node's key is ``bus/<index>``)."""
    return int(ctx.network.keys[ctx.network.node_of(key)].partition("/")[2])


def injection_harmonics(network: Network, inputs: StepInputs, injections: Sequence[HarmonicInjection],
                        step: int) -> HarmonicResult | None:
    """The harmonic voltages the injections cause with their loads' power at ``step`` (None without a pandapower net)."""
    if network.net is None or not injections:
        return None
    sources = []
    for injection in injections:
        p_mw = element_power_mw(network, inputs, [injection.element], step)
        q_mvar = element_power_mw(network, inputs, [injection.element], step, "q_specified")
        sources.append(HarmonicSource(injection.bus, float(np.hypot(p_mw, q_mvar)) * injection.nonlinear_share,
                                      dict(injection.spectrum)))
    return harmonic_voltages(network.net, sources)


def thd_by_node(network: Network, inputs: StepInputs, injections: Sequence[HarmonicInjection], start: int, end: int,
                solved: dict[tuple[int, int], HarmonicResult | None] | None = None) -> dict[int, np.ndarray]:
    """Voltage THD (%) per node position over steps ``start .. end - 1`` where injections are active.

    Injections that share a window are solved together once, with their loads' power at the window's
    first step (``solved`` keeps those results between the chunks of a run); a node no injection
    reaches is absent.  Overlapping windows are combined as the root sum of squares of their THDs.
    """
    solved = {} if solved is None else solved
    windows: dict[tuple[int, int], list[HarmonicInjection]] = {}
    for injection in injections:
        if injection.start_step < end and injection.end_step > start:
            windows.setdefault((injection.start_step, injection.end_step), []).append(injection)
    squares: dict[int, np.ndarray] = {}
    for (first, last), members in windows.items():
        if (first, last) not in solved:
            solved[(first, last)] = injection_harmonics(network, inputs, members, first)
        result = solved[(first, last)]
        if result is None:
            continue
        steps = slice(max(first, start) - start, min(last, end) - start)
        for bus, thd in zip(result.buses.tolist(), result.thd_percent.tolist()):
            try:
                position = int(network.positions("node", network.pgm_ids(f"bus/{int(bus)}")[:1])[0])
            except PhysicsInputError:  # a pandapower bus the PGM network folded away (behind a closed switch)
                continue
            squares.setdefault(position, np.zeros(end - start))[steps] += thd * thd
    return {position: np.sqrt(values) for position, values in squares.items()}


@dataclass(frozen=True)
class HarmonicDistortion(Scenario):
    """``nonlinear_share`` of some loads becomes converter load injecting ``spectrum`` (% of fundamental current)."""

    kind: ClassVar[str] = "harmonicDistortion"
    elements: tuple[str, ...] | None = None
    count: int = 1
    nonlinear_share: float = 0.3
    spectrum: Mapping[int, float] = field(default_factory=lambda: dict(SIX_PULSE_SPECTRUM))

    def __post_init__(self) -> None:
        super().__post_init__()
        check_keys(self.kind, "elements", self.elements, ("load",))
        check_int(self.kind, "count", self.count, 1)
        check_number(self.kind, "nonlinear_share", self.nonlinear_share, 0.0, 1.0)
        try:
            HarmonicSource(0, 0.0, dict(self.spectrum))
        except PhysicsInputError as error:
            raise PhysicsInputError(f"{self.kind}.spectrum", str(error).partition(": ")[2]) from None

    def _thd(self, ctx: ScenarioContext, loads: tuple[str, ...], step: int) -> float:
        """The worst bus THD (%) with the loads' power at the first step (NaN without a pandapower net)."""
        injections = [HarmonicInjection(key, _bus_of(ctx, key), step, step + 1, self.nonlinear_share,
                                        dict(self.spectrum)) for key in loads]
        result = injection_harmonics(ctx.network, ctx.inputs, injections, step)
        return float("nan") if result is None else float(np.max(result.thd_percent))

    def build(self, ctx: ScenarioContext) -> None:
        start, end = self.window(ctx.inputs.steps)
        loads = ctx.choose(f"{self.kind}.elements", self.elements, ctx.network.element_keys("load"), self.count)
        for key in loads:
            ctx.plan.harmonic_injections.append(HarmonicInjection(key, _bus_of(ctx, key), start, end,
                                                                  self.nonlinear_share, dict(self.spectrum)))
        ctx.plan.events.append(GroundTruthEvent(self.kind, "harmonicDistortion", loads, start, end,
                                                self._thd(ctx, loads, start), "% THD",
                                                {"nonlinear_share": self.nonlinear_share}))


@dataclass(frozen=True)
class PhaseUnbalance(Scenario):
    """Per-phase shares of some loads' power: ``(1, 1, 0)`` is the loss of phase c, ``(1.3, 0.9, 0.8)`` an unbalance.

    Needs the asymmetric network (:meth:`physics.network.Network.asymmetric`) and calculation.
    """

    kind: ClassVar[str] = "phaseUnbalance"
    needs_asymmetric: ClassVar[bool] = True
    elements: tuple[str, ...] | None = None
    count: int = 1
    phase_shares: tuple[float, float, float] = (1.0, 1.0, 0.0)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_keys(self.kind, "elements", self.elements, ("load",))
        check_int(self.kind, "count", self.count, 1)
        if not isinstance(self.phase_shares, (tuple, list)) or len(self.phase_shares) != 3:
            raise PhysicsInputError(f"{self.kind}.phase_shares", "give three shares, one per phase (a, b, c)")
        for share in self.phase_shares:
            check_number(self.kind, "phase_shares", share, 0.0, 3.0)
        if not any(self.phase_shares):
            raise PhysicsInputError(f"{self.kind}.phase_shares", "at least one phase must keep some load")

    @property
    def label(self) -> str:
        """``phaseLoss`` when a phase carries nothing, else ``unbalance``."""
        return "phaseLoss" if min(self.phase_shares) == 0 else "unbalance"

    def build(self, ctx: ScenarioContext) -> None:
        start, end = self.window(ctx.inputs.steps)
        loads = ctx.choose(f"{self.kind}.elements", self.elements, ctx.network.element_keys("load"), self.count)
        for key in loads:
            if any(ctx.network.component_of(i) != "asym_load" for i in ctx.network.pgm_ids(key)):
                raise PhysicsInputError(f"{self.kind}.elements", f"{key!r} is a symmetric load: build the step "
                                                                 "inputs on network.asymmetric() for this scenario")
        for phase, share in enumerate(self.phase_shares):
            ctx.scale(loads, ("p_specified", "q_specified"), start, end, float(share), phase=phase)
        shares = np.array(self.phase_shares, dtype=float)
        severity = float(np.max(np.abs(shares - shares.mean())) / shares.mean())
        ctx.plan.events.append(GroundTruthEvent(self.kind, self.label, loads, start, end, severity,
                                                "max deviation from mean phase load",
                                                {"phase_shares": tuple(self.phase_shares)}))


@dataclass(frozen=True)
class GeneratorLoss(Scenario):
    """A generator trips: its power is gone (the slack takes it); the area's frequency dips by the swing equation.

    ``area`` is the synchronous area the grid is part of; ``imbalance_mw`` (None: the generator's
    power at the trip) is the imbalance it sees, e.g. a large unit of the area lost together.
    """

    kind: ClassVar[str] = "generatorLoss"
    element: str | None = None
    area: FrequencyParameters = field(default_factory=FrequencyParameters)
    imbalance_mw: float | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        check_keys(self.kind, "element", None if self.element is None else [self.element], ("sgen", "gen"))
        if not isinstance(self.area, FrequencyParameters):
            raise PhysicsInputError(f"{self.kind}.area", "give FrequencyParameters")
        if self.imbalance_mw is not None:
            check_number(self.kind, "imbalance_mw", self.imbalance_mw, 0.0, 1e6)

    def _pick(self, ctx: ScenarioContext, step: int) -> str:
        if self.element is not None:
            return ctx.choose(f"{self.kind}.element", (self.element,), (), 1)[0]
        candidates = [k for t in ("sgen", "gen") for k in ctx.network.element_keys(t) if ctx.in_service(k)]
        if not candidates:
            raise PhysicsInputError(f"{self.kind}.element", "the grid has no generator in service")
        return max(candidates, key=lambda key: (ctx.power_mw([key], step), key))

    def build(self, ctx: ScenarioContext) -> None:
        start, end = self.window(ctx.inputs.steps)
        element = self._pick(ctx, start)
        lost_mw = ctx.power_mw([element], start)
        for pgm_id in ctx.network.pgm_ids(element):
            ctx.modify(Modification(ctx.network.component_of(pgm_id), "status", (pgm_id,), start, end, "set", 0.0))
        imbalance = lost_mw if self.imbalance_mw is None else self.imbalance_mw
        step_s = ctx.plan.step_seconds
        ctx.plan.imbalance_events.append((start * step_s, imbalance))
        if end < ctx.inputs.steps:
            ctx.plan.imbalance_events.append((end * step_s, -imbalance))
        trace = simulate(self.area, [1.0], [imbalance], duration_s=60.0, dt_s=0.01)
        deviation = self.area.f0_hz - trace.nadir_hz
        ctx.plan.events.append(GroundTruthEvent(self.kind, "generatorLoss", (element,), start, end, lost_mw, "MW"))
        ctx.plan.events.append(GroundTruthEvent(
            self.kind, "frequencyExcursion", (element,), start, start + 1, deviation, "Hz below f0",
            {"nadir_hz": trace.nadir_hz, "nadir_after_s": trace.nadir_time_s - 1.0,
             "rocof_hz_s": float(-imbalance / self.area.s_base_mw * self.area.f0_hz / (2 * self.area.h_s)),
             "settled_hz": self.area.f0_hz * (1 + self.area.steady_state_pu(imbalance / self.area.s_base_mw))}))


__all__ = ["GeneratorLoss", "HarmonicDistortion", "PhaseUnbalance"]
