"""The classical estimators a state-estimation case is compared with, all in power-grid-model batches.

- :func:`wls_estimate`: power-grid-model's weighted-least-squares state estimation with the
  case's voltage sensors (σ = noise × U) and a power sensor on every load and generator at
  its pseudo value (σ = spread/√3 × |S|, the standard deviation of the uniform error, with a
  1 kVA floor).  The reference the GNN is held to.
- :func:`pseudo_load_flow`: a power flow on the pseudo-measurements alone (PGM's one-shot
  ``linear_current`` method, constant-current loads, one factorisation for the whole batch):
  what the grid would look like if every load drew its profile value.  The GNN starts from it.
  :class:`LinearPrior` gives the same voltages by superposition (the method is linear in the
  injections), probed once per grid with a PGM batch of unit injections, so a batch of
  samples costs one matrix product instead of a power flow each.
- :func:`substation_everywhere`: the naive baseline, the substation's measured voltage at every bus;
  :func:`nominal_everywhere`: 1 pu at every bus.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ml.gnn.cases import SeCase

#: Floor of a pseudo-measurement's standard deviation (VA): a load whose profile says 0 may still draw a little.
POWER_SIGMA_FLOOR_VA = 1e3


def _model(input_data: dict[str, np.ndarray]) -> Any:
    from power_grid_model import PowerGridModel

    return PowerGridModel(input_data)


def _pseudo_update(case: SeCase) -> dict[str, dict[str, np.ndarray]]:
    return {appliance: {"p_specified": p, "q_specified": q} for appliance, (p, q) in case.pseudo.items()}


def pseudo_load_flow(case: SeCase, *, threading: int = -1) -> np.ndarray:
    """``(samples, nodes)`` voltages in pu of a power flow on the pseudo-measurements."""
    model = _model(case.network.input_data)
    output = model.calculate_power_flow(update_data=_pseudo_update(case), calculation_method="linear_current",
                                        output_component_types={"node": ["u_pu"]}, threading=threading)
    return output["node"]["u_pu"]


def node_demand(case: SeCase) -> tuple[np.ndarray, np.ndarray]:
    """``(samples, nodes)`` pseudo demand per node in W and var: loads minus generators.

    One sparse incidence product per appliance type (appliance -> node, +1 for loads, -1 for
    generators): a batch of 1,000 samples costs well under a millisecond.
    """
    from scipy.sparse import csr_matrix

    p_node = np.zeros((case.samples, case.nodes))
    q_node = np.zeros_like(p_node)
    for appliance, (p, q) in case.pseudo.items():
        positions = case.network.positions("node", case.network.input_data[appliance]["node"])
        sign = 1.0 if appliance == "sym_load" else -1.0
        incidence = csr_matrix((np.full(len(positions), sign), (positions, np.arange(len(positions)))),
                               shape=(case.nodes, len(positions)))
        p_node += (incidence @ p.T).T
        q_node += (incidence @ q.T).T
    return p_node, q_node


class LinearPrior:
    """``linear_current`` voltages of a grid as U = U0 + Kp·P + Kq·Q (complex), P/Q the node demands.

    Probed with 2·nodes + 1 scenarios of a 1 MW / 1 Mvar probe load per node (every other
    appliance at zero); exact for the method, which treats loads as currents at rated voltage.
    """

    PROBE_W = 1e6

    def __init__(self, case: SeCase, *, threading: int = -1) -> None:
        from power_grid_model import initialize_array

        data = case.network.input_data
        nodes = data["node"]
        count = len(nodes)
        probe = initialize_array("input", "sym_load", count)
        probe["id"] = np.arange(count) + max(int(a["id"].max()) for a in data.values() if len(a)) + 1
        probe["node"], probe["status"], probe["type"] = nodes["id"], 1, 0
        probe["p_specified"], probe["q_specified"] = 0.0, 0.0
        scenarios = 2 * count + 1
        p_probe, q_probe = np.zeros((scenarios, count)), np.zeros((scenarios, count))
        p_probe[np.arange(count) + 1, np.arange(count)] = self.PROBE_W
        q_probe[np.arange(count) + 1 + count, np.arange(count)] = self.PROBE_W
        existing = data.get("sym_load")
        combined = probe if existing is None or not len(existing) else np.concatenate([existing, probe])
        zeros = len(combined) - count
        update = {"sym_load": {"p_specified": np.hstack([np.zeros((scenarios, zeros)), p_probe]),
                               "q_specified": np.hstack([np.zeros((scenarios, zeros)), q_probe])}}
        if "sym_gen" in data and len(data["sym_gen"]):
            update["sym_gen"] = {"p_specified": np.zeros((scenarios, len(data["sym_gen"]))),
                                 "q_specified": np.zeros((scenarios, len(data["sym_gen"])))}
        output = _model({**data, "sym_load": combined}).calculate_power_flow(
            update_data=update, calculation_method="linear_current", threading=threading,
            output_component_types={"node": ["u_pu", "u_angle"]})["node"]
        voltage = output["u_pu"] * np.exp(1j * output["u_angle"])
        self.u0 = voltage[0]
        # (node probed, node seen) for P then Q, per MW / Mvar, single precision: pu values near 1 keep
        # seven digits, far below any estimator's error, at half the cost of a double product
        self.k = (np.vstack([voltage[1:count + 1], voltage[count + 1:]]) - self.u0).astype(np.complex64)

    def voltages(self, p_node: np.ndarray, q_node: np.ndarray) -> np.ndarray:
        """``(samples, nodes)`` voltage magnitudes in pu for node demands in W / var."""
        demand_mw = (np.hstack([p_node, q_node]) / self.PROBE_W).astype(np.float32)
        return np.abs(self.u0 + (demand_mw @ self.k)).astype(np.float64)


def _sensors(case: SeCase) -> tuple[dict[str, np.ndarray], dict[str, dict[str, np.ndarray]]]:
    """Sensor input arrays and their batch update (measured values and sigmas per sample)."""
    from power_grid_model import MeasuredTerminalType, initialize_array

    nodes = case.network.input_data["node"]
    next_id = max(int(array["id"].max()) for array in case.network.input_data.values() if len(array)) + 1
    voltage = initialize_array("input", "sym_voltage_sensor", len(case.measured))
    voltage["id"] = np.arange(next_id, next_id + len(case.measured))
    voltage["measured_object"] = nodes["id"][case.measured]
    voltage["u_sigma"] = case.settings.noise * nodes["u_rated"][case.measured]
    voltage["u_measured"] = nodes["u_rated"][case.measured]
    next_id += len(case.measured)
    kinds = {"sym_load": MeasuredTerminalType.load, "sym_gen": MeasuredTerminalType.generator}
    objects, terminals, p_values, q_values = [], [], [], []
    for appliance, (p, q) in case.pseudo.items():
        objects.append(case.network.input_data[appliance]["id"])
        terminals.append(np.full(p.shape[1], kinds[appliance]))
        p_values.append(p)
        q_values.append(q)
    power = initialize_array("input", "sym_power_sensor", sum(len(o) for o in objects))
    power["id"] = np.arange(next_id, next_id + len(power))
    power["measured_object"] = np.concatenate(objects)
    power["measured_terminal_type"] = np.concatenate(terminals)
    p_all, q_all = np.hstack(p_values), np.hstack(q_values)
    sigma = np.maximum(case.settings.pseudo_spread / np.sqrt(3) * np.hypot(p_all, q_all), POWER_SIGMA_FLOOR_VA)
    power["power_sigma"] = POWER_SIGMA_FLOOR_VA
    power["p_measured"], power["q_measured"] = p_all[0], q_all[0]
    update = {"sym_voltage_sensor": {"u_measured": case.u_measured_pu * nodes["u_rated"][case.measured]},
              "sym_power_sensor": {"p_measured": p_all, "q_measured": q_all, "power_sigma": sigma}}
    return {"sym_voltage_sensor": voltage, "sym_power_sensor": power}, update


def wls_estimate(case: SeCase, *, threading: int = -1, method: str = "iterative_linear") -> np.ndarray:
    """``(samples, nodes)`` voltages in pu estimated by power-grid-model's WLS state estimation."""
    sensors, update = _sensors(case)
    model = _model({**case.network.input_data, **sensors})
    output = model.calculate_state_estimation(update_data=update, calculation_method=method, threading=threading,
                                              output_component_types={"node": ["u_pu"]}, max_iterations=50)
    return output["node"]["u_pu"]


def substation_everywhere(case: SeCase) -> np.ndarray:
    """The naive estimate: the substation's measured voltage at every node."""
    return np.repeat(case.u_measured_pu[:, :1], case.nodes, axis=1)


def nominal_everywhere(case: SeCase) -> np.ndarray:
    """The crudest estimate: 1 pu (the rated voltage) at every node."""
    return np.ones_like(case.true_u_pu)


def mean_absolute_error_percent(estimate: np.ndarray, case: SeCase) -> float:
    """Mean |estimate − truth| over all samples and nodes, in percent of nominal voltage."""
    return float(np.nanmean(np.abs(estimate - case.true_u_pu)) * 100.0)
