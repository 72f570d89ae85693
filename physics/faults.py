"""Short circuits at many positions at once: retained voltages and fault currents of every bus and branch.

Why power-grid-model here and pandapower in :mod:`physics.shortcircuit`: that module answers one
fault with IEC 60909's peak and thermal currents; this one answers *where a fault leaves which
voltages*, for thousands of fault positions, types and resistances, as one power-grid-model
batch (``calculate_short_circuit`` with the fault's ``fault_object`` changed per scenario).  It
is the IEC 60909 equivalent-voltage-source method: the pre-fault voltage is c·U_n at every bus
(c = 1.1, ``maximum`` scaling), loads and generators do not feed the fault, so the sources'
currents reach the fault over the network impedance alone.  The fault-position studies of the
voltage-sag prediction and the fault signatures the GNN locates faults from both come from here.

Limits: no pre-fault load flow, no fault-current contribution of converters or machines; single
and two-phase-to-earth faults need the zero-sequence data the grid converter supplies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from physics.network import Network, PhysicsInputError

#: Fault kinds by our name and power-grid-model's ``FaultType`` value.
FAULT_KINDS = ("3ph", "2ph", "1ph")
_PGM_FAULT_TYPE = {"3ph": 0, "1ph": 1, "2ph": 2}
#: power-grid-model's ``FaultPhase.default_value``: abc for 3ph, a for 1ph, bc for 2ph.
_DEFAULT_PHASE = -1


@dataclass(frozen=True)
class FaultStudy:
    """One row per studied fault: where, which kind, through which resistance, and what every bus and branch saw."""

    nodes: np.ndarray                  # (faults,) node positions (PGM input order) of the faulted bus
    kinds: np.ndarray                  # (faults,) index into FAULT_KINDS
    r_f_ohm: np.ndarray                # (faults,)
    u_pu: np.ndarray                   # (faults, nodes, 3) retained phase voltages, pu of U_n / √3
    fault_current_a: np.ndarray        # (faults, 3) current into the fault per phase
    #: component -> (faults, branches, 3) currents at the branch's from and to ends (they differ across
    #: a transformer by its ratio)
    branch_current_from_a: dict[str, np.ndarray]
    branch_current_to_a: dict[str, np.ndarray]

    @property
    def faults(self) -> int:
        return len(self.nodes)


def _fault_input(network: Network, node_id: int) -> dict[str, np.ndarray]:
    from power_grid_model import initialize_array

    fault = initialize_array("input", "fault", 1)
    fault["id"] = 1 + max(int(array["id"].max()) for array in network.input_data.values() if len(array))
    fault["status"] = 1
    fault["fault_type"] = _PGM_FAULT_TYPE["3ph"]
    fault["fault_phase"] = _DEFAULT_PHASE
    fault["fault_object"] = node_id
    fault["r_f"] = 0.0
    fault["x_f"] = 0.0
    return {**network.input_data, "fault": fault}


def _check(network: Network, nodes: np.ndarray, kinds: np.ndarray, r_f_ohm: np.ndarray) -> None:
    count = len(network.input_data["node"])
    if not (len(nodes) == len(kinds) == len(r_f_ohm)) or not len(nodes):
        raise PhysicsInputError("faults", "give as many fault nodes, kinds and resistances, at least one")
    if nodes.min() < 0 or nodes.max() >= count:
        raise PhysicsInputError("nodes", f"a node position outside 0..{count - 1}")
    if kinds.min() < 0 or kinds.max() >= len(FAULT_KINDS):
        raise PhysicsInputError("kinds", f"a kind outside 0..{len(FAULT_KINDS) - 1} ({', '.join(FAULT_KINDS)})")
    if not np.all(r_f_ohm >= 0):
        raise PhysicsInputError("r_f_ohm", "a fault resistance must be >= 0 Ω")


def fault_study(network: Network, nodes: np.ndarray, kinds: np.ndarray, r_f_ohm: np.ndarray, *,
                threading: int = -1) -> FaultStudy:
    """Every fault ``(nodes[i], FAULT_KINDS[kinds[i]], r_f_ohm[i])`` solved in one batch."""
    from power_grid_model import PowerGridModel, initialize_array

    nodes, kinds, r_f_ohm = (np.asarray(a) for a in (nodes, kinds, r_f_ohm))
    _check(network, nodes, kinds, r_f_ohm)
    node_ids = network.input_data["node"]["id"]
    data = _fault_input(network, int(node_ids[nodes[0]]))
    update = initialize_array("update", "fault", (len(nodes), 1))
    update["id"] = data["fault"]["id"][0]
    update["status"] = 1
    update["fault_object"] = node_ids[nodes][:, None]
    update["fault_type"] = np.array([_PGM_FAULT_TYPE[FAULT_KINDS[k]] for k in kinds])[:, None]
    update["fault_phase"] = _DEFAULT_PHASE
    update["r_f"] = r_f_ohm[:, None]
    update["x_f"] = 0.0
    components = [component for component, *_ in network.branches()]
    output = PowerGridModel(data).calculate_short_circuit(
        update_data={"fault": update}, threading=threading,
        output_component_types={"node": ["u_pu"], "fault": ["i_f"], **{c: ["i_from", "i_to"] for c in components}})
    return FaultStudy(nodes, kinds, r_f_ohm, output["node"]["u_pu"], output["fault"]["i_f"][:, 0, :],
                      {component: output[component]["i_from"] for component in components},
                      {component: output[component]["i_to"] for component in components})


def bolted_current_a(network: Network, kind: str = "3ph", *, threading: int = -1) -> np.ndarray:
    """(nodes,) IEC 60909 initial short-circuit current Ik'' of a bolted fault of ``kind`` at each node (A)."""
    count = len(network.input_data["node"])
    study = fault_study(network, np.arange(count), np.full(count, FAULT_KINDS.index(kind)), np.zeros(count),
                        threading=threading)
    return study.fault_current_a.max(axis=1)


__all__ = ["FAULT_KINDS", "FaultStudy", "bolted_current_a", "fault_study"]
