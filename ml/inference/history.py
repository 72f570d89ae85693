"""A stored grid's recent history for the grid-level models: its power flow over the last 14 days and today.

What a utility reads from its historian, the demo does not have (it streams since minutes), so
the history is what the simulator computes for those quarter-hours: the twin graph's grid as it
is now (switch states, ratings), its loads and generators at their profile values, solved by
power-grid-model in one batch (``loaders.simulation.run.prepare`` of normal operation, exact).
That is the same physics the simulator streams, so the models read the grid the points measure.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np

from ml.data.grids import substation_node
from ml.data.load_series import SLOTS_PER_DAY
from ml.energy_flow.load_forecast import HISTORY_DAYS
from ml.inference.grid import GridHistory
from physics.network import Network, PhysicsInputError
from physics.topology import supply_paths

STEP_S = 900
BRANCHES = ("line", "transformer")


def period(now: datetime) -> tuple[datetime, int, int]:
    """(start: midnight 14 days before today, steps up to now's quarter-hour, profile-year position of start)."""
    midnight = now.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    start = midnight - timedelta(days=HISTORY_DAYS)
    steps = HISTORY_DAYS * SLOTS_PER_DAY + int((now - midnight).total_seconds() // STEP_S) + 1
    year_start = start.replace(month=1, day=1)
    return start, steps, int((start - year_start).total_seconds() // STEP_S)


def _branch_columns(network: Network) -> tuple[list[int], list[str], list[int]]:
    """PGM ids, twin ids and transformer column positions of the lines and transformers, in output order."""
    ids, twins, transformers = [], [], []
    for component in BRANCHES:
        array = network.input_data.get(component)
        if array is None:
            continue
        for pgm_id in array["id"]:
            key = network.keys.get(int(pgm_id), str(pgm_id))
            if component == "transformer":
                transformers.append(len(ids))
            ids.append(int(pgm_id))
            twins.append(network.twin_ids.get(key, key))
    return ids, twins, transformers


def _demand_at(inputs: Any, network: Network, node: int) -> np.ndarray | None:
    """Active power (W) per step of every load part on ``node`` (None when the bus has no load)."""
    for component in ("sym_load", "asym_load"):
        array = network.input_data.get(component)
        if array is None or "p_specified" not in inputs.columns.get(component, {}):
            continue
        at = np.flatnonzero(array["node"] == node)
        if len(at):
            values = inputs.columns[component]["p_specified"][:, at]
            return values.reshape(len(values), -1).sum(axis=1)
    return None


def grid_history(driver: Any, models: Any, settings: Any, grid_id: str, now: datetime) -> GridHistory:
    """The history of ``grid_id`` up to ``now``'s quarter-hour and where its attached points sit in it."""
    from loaders.simulation.run import SimulationRequest, prepare

    start, steps, first_position = period(now)
    prepared = prepare(driver, models, settings, SimulationRequest(grid_id, start=start, steps=steps, exact=True))
    records, _, _ = driver.execute_query("MATCH (g:Twin {id: $grid}) RETURN g.source AS source", grid=grid_id)
    return history_of_run(grid_id, prepared.network, prepared.inputs, prepared.points, first_position,
                          symmetric=not prepared.asymmetric, source=records[0]["source"] if records else None)


def history_of_run(grid_id: str, network: Network, inputs: Any, points: dict[str, str], first_position: int,
                   symmetric: bool = True, source: str | None = None) -> GridHistory:
    """Solve the steps of ``inputs`` and keep what the grid models read; ``points``: point -> bus key."""
    from physics.timeseries import run_time_series

    outputs = {name: ["loading"] for name in BRANCHES if name in network.input_data} | {
        "source": ["p", "q"], "node": ["u_pu"]}
    result = run_time_series(inputs, symmetric=symmetric, outputs=outputs)
    ids, twins, transformers = _branch_columns(network)
    loading = np.hstack([result.output[name]["loading"] for name in BRANCHES if name in result.output])
    u = result.values("node", "u_pu")
    u = u.mean(axis=-1) if u.ndim == 3 else u
    sources = result.output["source"]
    p, q = (np.asarray(sources[a]) for a in ("p", "q"))
    p, q = (v.reshape(len(v), -1).sum(axis=1) for v in (p, q))
    head = np.column_stack([p, q, u[:, substation_node(network)]])
    history = GridHistory(grid_id, source, first_position, tuple(twins), tuple(transformers), loading, head, u)
    column_of = {pgm_id: k for k, pgm_id in enumerate(ids)}
    transformer_columns = set(transformers)
    node_of = {point: network.pgm_ids(bus_key)[0] for point, bus_key in points.items()}
    per_node: dict[int, tuple[tuple[int, ...], np.ndarray | None]] = {}
    for node in set(node_of.values()):  # points share buses: each bus's path and demand once
        try:
            path = tuple(column_of[b] for b in supply_paths(network, [node])[node] if b in column_of)
        except PhysicsInputError:  # the source's own node: nothing supplies it but the upstream grid
            path = ()
        per_node[node] = (path, _demand_at(inputs, network, node))
    for point, node in node_of.items():
        history.point_node[point] = int(network.positions("node", [node])[0])
        path, demand = per_node[node]
        history.point_paths[point] = path
        history.point_transformer[point] = next((c for c in reversed(path) if c in transformer_columns), None)
        if demand is not None:
            history.point_demand_w[point] = demand
    return history
