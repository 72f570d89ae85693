"""Power flow over time: every profile step of a period in ONE power-grid-model batch calculation.

Why power-grid-model and one batch: a year of 15-minute steps is 35,040 power flows; a Python
loop around a solver pays its set-up per step, while PGM's batch builds the topology once and
solves the steps in C++ on all cores (docs/simulation.md has the numbers against a pandapower
``runpp`` loop).  Symmetric (positive sequence) and asymmetric (three-phase) calculations take the
same :class:`StepInputs`; an asymmetric network (:meth:`Network.asymmetric`) has per-phase loads.

:class:`StepInputs` is the dense update of a period: for each PGM component and attribute that
changes, a ``(steps, n)`` array (``(steps, n, 3)`` per phase) over ALL components of that type in
input order, created from the input's own values the first time something touches it.  Profiles
(:func:`apply_profiles`) and scenarios write into it; :func:`run_time_series` hands it to PGM.
A step that does not converge is reported in :attr:`TimeSeriesResult.failed_steps` with PGM's
message, its outputs NaN, and the other steps are kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from physics.network import Network, PhysicsInputError

#: Outputs kept per component (what telemetry, the balance and the thermal models need).
_BRANCH_OUT = ["energized", "loading", "p_from", "q_from", "i_from", "p_to", "q_to", "i_to"]
OUTPUTS: dict[str, list[str]] = {
    "node": ["energized", "u_pu", "u_angle", "u"], "line": _BRANCH_OUT, "link": _BRANCH_OUT, "transformer": _BRANCH_OUT,
    "generic_branch": _BRANCH_OUT, "asym_line": _BRANCH_OUT,
    "three_winding_transformer": ["energized", "loading", "p_1", "q_1", "i_1", "p_2", "q_2", "i_2", "p_3", "q_3",
                                  "i_3"],
    "source": ["energized", "p", "q", "i"], "sym_load": ["energized", "p", "q", "i"],
    "asym_load": ["energized", "p", "q", "i"],
    "sym_gen": ["energized", "p", "q", "i"], "asym_gen": ["energized", "p", "q", "i"], "shunt": ["energized", "p", "q"]}
_PER_PHASE = {("asym_load", "p_specified"), ("asym_load", "q_specified"), ("asym_gen", "p_specified"),
              ("asym_gen", "q_specified")}
METHODS = ("newton_raphson", "iterative_current", "linear", "linear_current")
#: The largest batch accepted before anything is allocated (a year of 1-minute steps).
MAX_STEPS = 527_040


class StepInputs:
    """The per-step values a period applies, as dense columns over whole components (see module doc)."""

    def __init__(self, network: Network, steps: int) -> None:
        if not isinstance(steps, int) or isinstance(steps, bool) or not 1 <= steps <= MAX_STEPS:
            raise PhysicsInputError("steps", f"{steps!r}: give a whole number from 1 to {MAX_STEPS}")
        self.network = network
        self.steps = steps
        self.columns: dict[str, dict[str, np.ndarray]] = {}

    def column(self, component: str, attribute: str) -> np.ndarray:
        """The ``(steps, n[, 3])`` array of one attribute, created from the input's value on first use."""
        if component not in self.network.input_data:
            raise PhysicsInputError("component", f"the network has no {component!r}")
        per_component = self.columns.setdefault(component, {})
        if attribute not in per_component:
            base = self.network.input_data[component][attribute]
            per_component[attribute] = np.broadcast_to(base, (self.steps, *base.shape)).copy()
        return per_component[attribute]

    def values(self, component: str, attribute: str) -> np.ndarray:
        """Read-only ``(steps, n[, 3])`` view of an attribute: the column when touched, else the input's value."""
        if component not in self.network.input_data:
            raise PhysicsInputError("component", f"the network has no {component!r}")
        if attribute in self.columns.get(component, {}):
            return self.columns[component][attribute]
        base = self.network.input_data[component][attribute]
        return np.broadcast_to(base, (self.steps, *base.shape))

    def window(self, start: int, end: int) -> StepInputs:
        """Steps ``start .. end - 1`` as inputs of their own (a run computed chunk by chunk)."""
        if not 0 <= start < end <= self.steps:
            raise PhysicsInputError("steps", f"window {start}..{end} is outside 0..{self.steps}")
        part = StepInputs(self.network, end - start)
        part.columns = {component: {name: values[start:end] for name, values in attributes.items()}
                        for component, attributes in self.columns.items()}
        return part

    def update_data(self) -> dict[str, dict[str, np.ndarray]]:
        """The columnar PGM batch update of every touched attribute.

        Each column covers all components of its type in input order, which is what lets PGM
        take the update without ids (no id look-up per step); with nothing touched, the
        source's ``u_ref`` stands in so the batch still has its steps.
        """
        if not self.columns:
            self.column("source", "u_ref")
        return {component: dict(attributes) for component, attributes in self.columns.items()}


def _part_shares(net: Any, table: str, index: int) -> dict[str, tuple[float, float]]:
    """pandapower's split of an element's P and Q into constant power / impedance / current parts, with scaling.

    The grid converter gives loads and storage three PGM parts each; pandapower treats a storage
    unit as constant power, so its impedance and current parts carry nothing (before, each of the
    three got the whole profile value and storage counted three times).
    """
    if table != "load":
        scaling = _scaling(net, table, index)
        return {"const_power": (scaling, scaling), "const_impedance": (0.0, 0.0), "const_current": (0.0, 0.0)}
    row = net.load.loc[index] if net is not None and index in net.load.index else None
    scaling = float(row["scaling"]) if row is not None and "scaling" in row else 1.0

    def percent(name: str) -> float:
        return float(row[name]) / 100.0 if row is not None and name in row and row[name] == row[name] else 0.0

    z_p, i_p, z_q, i_q = (percent(n) for n in ("const_z_p_percent", "const_i_p_percent", "const_z_q_percent",
                                                 "const_i_q_percent"))
    return {"const_power": ((1 - z_p - i_p) * scaling, (1 - z_q - i_q) * scaling),
            "const_impedance": (z_p * scaling, z_q * scaling), "const_current": (i_p * scaling, i_q * scaling)}


def _scaling(net: Any, table: str, index: int) -> float:
    frame = net[table] if net is not None and table in net else None
    if frame is None or "scaling" not in frame or index not in frame.index:
        return 1.0
    return float(frame.at[index, "scaling"])


def _set_power(inputs: StepInputs, pgm_id: int, attribute: str, values_w: np.ndarray) -> None:
    component = inputs.network.component_of(pgm_id)
    column = inputs.column(component, attribute)
    position = inputs.network.positions(component, [pgm_id])[0]
    if (component, attribute) in _PER_PHASE:
        column[:, position, :] = (values_w / 3.0)[:, None]
    else:
        column[:, position] = values_w


def _profile_array(profile: Any, start: int, steps: int, where: str) -> tuple[list[int], np.ndarray]:
    """(element indices, values[steps, elements]) of a DataFrame or (indices, array) pair."""
    if hasattr(profile, "columns"):
        indices, values = [int(c) for c in profile.columns], profile.to_numpy(dtype="float64")
    else:
        indices, values = [int(i) for i in profile[0]], np.asarray(profile[1], dtype="float64")
    if values.ndim != 2 or values.shape[1] != len(indices):
        raise PhysicsInputError(where, f"needs one column per element, got shape {values.shape}")
    if not indices:
        return indices, values
    if start < 0 or start + steps > len(values):
        raise PhysicsInputError(where, f"has {len(values)} steps; steps {start}..{start + steps - 1} were asked for")
    if not np.isfinite(values[start:start + steps]).all():
        raise PhysicsInputError(where, "holds a value that is not a finite number")
    return indices, values[start:start + steps]


def apply_profiles(inputs: StepInputs, absolute: Mapping[tuple[str, str], Any], *, start: int = 0) -> None:
    """Write absolute profiles (MW / Mvar per step and element) into the step inputs.

    ``absolute`` maps ``(table, column)`` as ``simbench.get_absolute_values`` returns them
    (``("load", "p_mw")``, ``("load", "q_mvar")``, ``("sgen", "p_mw")``, ``("storage", "p_mw")``) to a
    DataFrame whose columns are element indices, or to an ``(indices, array)`` pair.  Steps
    ``start .. start + inputs.steps - 1`` are used.  Loads are split into their constant power,
    impedance and current parts as pandapower splits them; scaling is applied as pandapower does.
    """
    network, net = inputs.network, inputs.network.net
    for (table, column), profile in absolute.items():
        if column not in ("p_mw", "q_mvar"):
            raise PhysicsInputError(f"profiles[{table!r}, {column!r}]", "only p_mw and q_mvar profiles are applied")
        indices, values = _profile_array(profile, start, inputs.steps, f"profiles[{table!r}, {column!r}]")
        attribute, which = ("p_specified", 0) if column == "p_mw" else ("q_specified", 1)
        for k, index in enumerate(indices):
            key = f"{table}/{index}"
            for pgm_id in network.pgm_ids(key):
                part = network.parts.get(pgm_id)
                if part:
                    share = _part_shares(net, table, index)[part][which]
                else:
                    share = _scaling(net, table, index)
                _set_power(inputs, pgm_id, attribute, values[:, k] * (1e6 * share))


@dataclass
class EnergyBalance:
    """Per-step and total energy: injections (sources + generators) = consumption (loads + shunts) + losses."""

    injection_w: np.ndarray
    consumption_w: np.ndarray
    losses_w: np.ndarray
    step_seconds: float

    @property
    def mismatch_w(self) -> np.ndarray:
        """What the balance misses per step (W); PGM's solution makes it a rounding error."""
        return self.injection_w - self.consumption_w - self.losses_w

    def totals_wh(self) -> dict[str, float]:
        """Energy over the period (Wh) of each side of the balance, NaN steps left out."""
        hours = self.step_seconds / 3600.0
        return {name: float(np.nansum(values) * hours) for name, values in
                (("injection", self.injection_w), ("consumption", self.consumption_w), ("losses", self.losses_w))}

    def worst_relative_error(self) -> float:
        """max over steps of |mismatch| / (|injection| + |consumption|): the balance check's figure."""
        scale = np.abs(self.injection_w) + np.abs(self.consumption_w)
        ok = np.isfinite(self.mismatch_w) & (scale > 0)
        return float(np.max(np.abs(self.mismatch_w[ok]) / scale[ok])) if ok.any() else 0.0


@dataclass
class TimeSeriesResult:
    """PGM's columnar output per component and attribute, ``(steps, n[, 3])``, plus failed steps."""

    network: Network
    symmetric: bool
    output: dict[str, dict[str, np.ndarray]]
    failed_steps: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    errors: list[str] = field(default_factory=list)

    def ids(self, component: str) -> np.ndarray:
        """PGM ids of a component, in the order of its output columns."""
        return self.network.input_data[component]["id"]

    def values(self, component: str, attribute: str) -> np.ndarray:
        """One output array; an error naming what is missing."""
        if component not in self.output or attribute not in self.output[component]:
            raise PhysicsInputError("output", f"no {component}.{attribute} in this result")
        return self.output[component][attribute]

    def _total(self, components: tuple[str, ...], attributes: tuple[str, ...]) -> np.ndarray:
        steps = next(iter(self.output["node"].values())).shape[0]
        total = np.zeros(steps)
        for component in components:
            for attribute in attributes:
                if component in self.output and attribute in self.output[component]:
                    values = self.output[component][attribute]
                    total += values.reshape(steps, -1).sum(axis=1)
        return total

    def energy_balance(self, step_seconds: float = 900.0) -> EnergyBalance:
        """The balance of every step; branch losses are what flows in at both ends (p_from + p_to)."""
        injection = self._total(("source", "sym_gen", "asym_gen"), ("p",))
        consumption = self._total(("sym_load", "asym_load", "shunt"), ("p",))
        losses = self._total(("line", "link", "transformer", "generic_branch", "asym_line"), ("p_from", "p_to"))
        losses += self._total(("three_winding_transformer",), ("p_1", "p_2", "p_3"))
        return EnergyBalance(injection, consumption, losses, step_seconds)


def _output_filter(network: Network, symmetric: bool, wanted: Mapping[str, list[str]]) -> dict[str, list[str]]:
    from power_grid_model import DatasetType, power_grid_meta_data

    meta = power_grid_meta_data[DatasetType.sym_output if symmetric else DatasetType.asym_output]
    for component, attributes in wanted.items():
        if component not in meta or set(attributes) - set(meta[component].dtype.names):
            raise PhysicsInputError("outputs", f"{component}.{sorted(attributes)} is not a power-grid-model output")
    return {component: list(attributes) for component, attributes in wanted.items()
            if component in network.input_data and len(network.input_data[component])}


def run_time_series(inputs: StepInputs, *, symmetric: bool = True, error_tolerance: float = 1e-8,
                    max_iterations: int = 30, threading: int = -1, method: str = "newton_raphson",
                    outputs: Mapping[str, list[str]] | None = None) -> TimeSeriesResult:
    """All steps of ``inputs`` in one PGM batch; failed steps reported, not raised.

    ``method`` is PGM's calculation method: Newton-Raphson by default (the reference), or
    ``iterative_current`` (faster on radial distribution grids with fixed topology).  ``outputs``
    narrows what is kept (component -> attributes, default :data:`OUTPUTS`): less to copy per step.
    """
    if method not in METHODS:
        raise PhysicsInputError("method", f"{method!r} is not one of {', '.join(METHODS)}")
    from power_grid_model import PowerGridModel
    from power_grid_model.errors import PowerGridError

    network = inputs.network
    try:
        model = PowerGridModel(network.input_data)
    except PowerGridError as error:
        raise PhysicsInputError("input_data", f"power-grid-model refuses the network: {error}") from error
    update = inputs.update_data()
    output = model.calculate_power_flow(symmetric=symmetric, error_tolerance=error_tolerance,
                                        max_iterations=max_iterations, update_data=update, threading=threading,
                                        calculation_method=method,
                                        output_component_types=_output_filter(network, symmetric,
                                                                              OUTPUTS if outputs is None else outputs),
                                        continue_on_batch_error=True)
    result = TimeSeriesResult(network, symmetric, {str(getattr(c, "value", c)): dict(v) for c, v in output.items()})
    batch_error = model.batch_error
    if batch_error is not None:
        result.failed_steps = np.asarray(batch_error.failed_scenarios, dtype=np.int64)
        result.errors = list(batch_error.error_messages)
        for attributes in result.output.values():
            for name, values in attributes.items():
                if values.dtype.kind == "f":
                    values[result.failed_steps] = np.nan
    return result


__all__ = ["EnergyBalance", "MAX_STEPS", "METHODS", "OUTPUTS", "StepInputs", "TimeSeriesResult", "apply_profiles",
           "run_time_series"]
