"""Build a pandapower net from a :class:`GridDocument`, as its rows come back from the twin graph.

The builder is the inverse of :mod:`loaders.grids.from_pandapower`: the same column table,
read backwards.  It honours the twin graph as it is *now*: a switch whose ``switchState`` is
``open`` is an open switch, equipment whose ``status`` is not ``inService`` is out of service,
a changed ``tapPosition`` is the tap the power flow uses.  Elements keep their source index
(``sourceId`` ``table/index``) so results line up with the source; twins created later get the
next free index.  Every table gets a ``twin_id`` column, so results map back to twins.
Buses left without a source are not an error: pandapower leaves them unsolved, and
:func:`unsupplied_islands` reports them.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from graph.bulk import TwinRow
from loaders.grids.document import GRID_MODEL, GT, GridDocument, GridSourceError
from loaders.grids.feeds import FEEDS_TO
from loaders.grids.tables import (BY_NAME, MEASUREMENT_TYPES, SWITCH_BRANCHES, SWITCH_COLUMNS, SWITCH_MODELS, TABLES,
                                  Column, Table)

_PHASE_PROPS = {f"{q}Power{ph}" for q in ("active", "reactive") for ph in "ABC"} | {"connection"}
_SWITCH_TYPES = {(model, kind): code for code, (model, kind) in SWITCH_MODELS.items()}
_SWITCH_MODELS = {model for model, _ in SWITCH_MODELS.values()}
_BRANCH_CODES = {table: code for code, table in SWITCH_BRANCHES.items()}
_MEASUREMENT_CODES = {value: code for code, value in MEASUREMENT_TYPES.items()}


def decode(column: Column, value: Any) -> Any:
    """A twin property value as a pandapower cell (the inverse of ``from_pandapower.encode``)."""
    if value is None:
        return None
    if column.kind == "kilo":
        return float(value) / 1000.0
    if column.kind == "enum":
        for code, enum_value in column.codes.items():
            if enum_value == value:
                return code
        raise GridSourceError(f"property {column.prop}", column.prop, f"{value!r} is not one of {sorted(column.codes.values())}")
    return value


def _table_of(twin: TwinRow) -> str:
    """The pandapower table of a twin: its ``sourceId`` when that names a table of its model, else its model."""
    source = str(twin.properties.get("sourceId", ""))
    table, _, _ = source.partition("/")
    if table in BY_NAME and BY_NAME[table].model == twin.model:
        return table
    if twin.model in _SWITCH_MODELS or (table == "switch" and twin.model.startswith(f"{GT}SwitchingDevice")):
        return "switch"
    if twin.model == f"{GT}Measurement;1":
        return "measurement"
    candidates = [t.name for t in TABLES if t.model == twin.model]
    if not candidates:
        raise GridSourceError(f"twin {twin.id!r}", None, f"model {twin.model} has no power-flow element")
    asymmetric = [name for name in candidates if name.startswith("asymmetric_")]
    if asymmetric and _PHASE_PROPS & set(twin.properties):
        return asymmetric[0]
    return candidates[0]


def _indices(twins: list[TwinRow], table: str) -> list[int]:
    """The source index of each twin where it has a free one, else the next free index."""
    wanted: list[int | None] = []
    for twin in twins:
        prefix, _, number = str(twin.properties.get("sourceId", "")).partition("/")
        wanted.append(int(number) if prefix == table and number.isdigit() else None)
    taken: set[int] = set()
    result: list[int | None] = []
    for index in wanted:
        result.append(index if index is not None and index not in taken else None)
        if index is not None:
            taken.add(index)
    free = iter(i for i in range(max(taken, default=-1) + 1, 1 << 31))
    return [index if index is not None else next(free) for index in result]


class _Network:
    """Twins grouped by table with their indices, and every relationship by (source, name)."""

    def __init__(self, document: GridDocument) -> None:
        self.by_table: dict[str, list[TwinRow]] = defaultdict(list)
        for twin in document.twins:
            if twin.model != GRID_MODEL and _keeps(twin):
                self.by_table[_table_of(twin)].append(twin)
        self.index: dict[str, tuple[str, int]] = {}
        for table, twins in self.by_table.items():
            for twin, index in zip(twins, _indices(twins, table)):
                self.index[twin.id] = (table, index)
        self.targets: dict[tuple[str, str], str] = {}
        for relationship in document.relationships:
            if relationship.name != FEEDS_TO:  # topology, not a terminal
                self.targets[(relationship.source_id, relationship.name)] = relationship.target_id

    def bus_of(self, twin: TwinRow, name: str) -> int:
        """Index of the bus at the twin's end ``name`` (a required relationship)."""
        return self.target(twin, name, ("bus",))[1]  # type: ignore[index]

    def target(self, twin: TwinRow, name: str, tables: Iterable[str], required: bool = True) -> tuple[str, int] | None:
        target = self.targets.get((twin.id, name))
        if target is None:
            if required:
                raise GridSourceError(f"twin {twin.id!r}", name, "relationship missing")
            return None
        found = self.index.get(target)
        if found is None or found[0] not in tables:
            raise GridSourceError(f"twin {twin.id!r}", name, f"target {target!r} is not a {' or '.join(tables)} of the grid")
        return found


def _keeps(twin: TwinRow) -> bool:
    return twin.model.startswith(GT) and twin.model not in (f"{GT}NetworkElement;1",)


def _decoded_column(column: Column, values: list[Any], twins: list[TwinRow]) -> list[Any]:
    """One property of many twins as pandapower cells (:func:`decode` column by column, for speed)."""
    if column.kind == "kilo":
        return [None if v is None else float(v) / 1000.0 for v in values]
    if column.kind != "enum":
        return values
    codes = {enum_value: code for code, enum_value in column.codes.items()}
    for twin, value in zip(twins, values):
        if value is not None and value not in codes:
            raise GridSourceError(f"twin {twin.id!r}", column.prop, f"{value!r} is not one of {sorted(codes)}")
    return [None if v is None else codes[v] for v in values]


def _element_columns(network: _Network, table: Table, twins: list[TwinRow]) -> dict[str, list[Any]]:
    """The table's columns (property by property, not twin by twin: 10,000s of twins build in a blink)."""
    properties = [twin.properties for twin in twins]
    columns: dict[str, list[Any]] = {"twin_id": [twin.id for twin in twins]}
    for column in table.columns:
        if column.prop == "status":  # anything but inService (maintenance, faulted) is out of service
            columns["in_service"] = [p.get("status", "inService") == "inService" for p in properties]
            continue
        values = [p.get(column.prop) for p in properties]
        if any(v is not None for v in values):
            columns[column.column] = _decoded_column(column, values, twins)
    for column, relationship in table.buses.items():
        columns[column] = [network.bus_of(twin, relationship) for twin in twins]
    return columns


def _switch_row(network: _Network, twin: TwinRow) -> dict[str, Any]:
    row: dict[str, Any] = {"twin_id": twin.id, "closed": twin.properties.get("switchState", "closed") == "closed"}
    row.update({c.column: decode(c, twin.properties[c.prop]) for c in SWITCH_COLUMNS if c.prop in twin.properties})
    row["type"] = _SWITCH_TYPES.get((twin.model, twin.properties.get("switchType")))
    row["bus"] = network.target(twin, "fromBus", ("bus",))[1]  # type: ignore[index]
    to_bus = network.target(twin, "toBus", ("bus",), required=False)
    branch = network.target(twin, "branch", tuple(_BRANCH_CODES), required=False)
    if (to_bus is None) == (branch is None):
        raise GridSourceError(f"twin {twin.id!r}", "toBus", "a switch needs exactly one of toBus and branch")
    table, index = to_bus or branch  # type: ignore[misc]
    row.update(et="b" if to_bus else _BRANCH_CODES[table], element=index)
    if twin.properties.get("status", "inService") != "inService":
        row["closed"] = False  # a switch out of service conducts nothing
    return row


def _measurement_row(network: _Network, twin: TwinRow) -> dict[str, Any]:
    props = twin.properties
    table, index = network.target(twin, "measuredElement", ("bus", "line", "trafo", "trafo3w"))  # type: ignore[misc]
    return {"twin_id": twin.id, "name": props.get("name"), "measurement_type": _MEASUREMENT_CODES[props["measurementType"]],
            "element_type": table, "element": index, "value": props.get("measuredValue"),
            "std_dev": props.get("standardDeviation"), "side": props.get("side")}


def _fill(frame: Any, column: str, value: Any) -> None:
    """Put ``value`` where ``column`` is empty (without pandas' deprecated silent downcasting)."""
    empty = frame[column].isna()
    if empty.all():
        frame[column] = [value] * len(frame)
    elif empty.any():
        frame[column] = [value if gap else cell for cell, gap in zip(frame[column].tolist(), empty.tolist())]


def _frame(empty: Any, rows: list[dict[str, Any]] | dict[str, list[Any]], indices: list[int],
           defaults: Mapping[str, Any]) -> Any:
    """Rows (or columns) as a DataFrame shaped like pandapower's own table: its columns, defaults and dtypes."""
    import pandas as pd

    index = pd.Index(indices, dtype="int64")
    frame = pd.DataFrame(rows, index=index) if isinstance(rows, dict) else pd.DataFrame.from_records(rows, index=index)
    columns = list(empty.columns) + [c for c in frame.columns if c not in empty.columns]
    frame = frame.reindex(columns=columns)
    for column, value in defaults.items():
        if column in frame:
            _fill(frame, column, value)
    for column, dtype in empty.dtypes.items():
        if str(dtype) == "bool":
            _fill(frame, column, False)
            frame[column] = frame[column].astype(bool)
        elif str(dtype).startswith(("uint", "int", "float")) and frame[column].notna().all():
            frame[column] = frame[column].astype(dtype)
        elif str(dtype).startswith("float"):
            frame[column] = frame[column].astype("float64")
        elif str(dtype) == "Int64":
            frame[column] = frame[column].astype("Int64")
    return frame


@lru_cache(maxsize=1)
def _empty_template() -> Any:
    import pandapower as pp

    return pp.create_empty_network()


def _empty_network() -> Any:
    """A fresh empty net: a deep copy of one made once (pandapower takes ~0.2 s to make one, a copy ~15 ms)."""
    return copy.deepcopy(_empty_template())


def to_pandapower(document: GridDocument) -> Any:
    """The pandapower net the document describes; a :class:`GridSourceError` names the twin and field that is wrong."""
    grid = next((t.properties for t in document.twins if t.model == GRID_MODEL), {})
    if grid.get("sourceFormat") == "openDss":
        raise GridSourceError(f"grid {document.grid_id!r}", "sourceFormat",
                              "a phase-level OpenDSS grid has no balanced pandapower form here (pandapower's own "
                              "OpenDSS converter does not converge on IEEE 123); use its OpenDSS circuit "
                              "(loaders.grids.to_opendss, export format opendss)")
    net = _empty_network()
    net.name, net.f_hz, net.sn_mva = (grid.get("name", document.grid_id), float(grid.get("nominalFrequency", 50.0)),
                                      float(grid.get("basePower", 1.0)))
    network = _Network(document)
    for table_name, twins in network.by_table.items():
        if table_name == "switch":
            rows = [_switch_row(network, twin) for twin in twins]
            defaults: Mapping[str, Any] = {"z_ohm": 0.0}
        elif table_name == "measurement":
            rows = [_measurement_row(network, twin) for twin in twins]
            defaults = {}
        else:
            table = BY_NAME[table_name]
            rows = _element_columns(network, table, twins)  # type: ignore[assignment]
            defaults = table.defaults
        indices = [network.index[twin.id][1] for twin in twins]
        net[table_name] = _frame(net[table_name], rows, indices, defaults).sort_index()
    return net


def unsupplied_islands(net: Any) -> list[list[str]]:
    """Groups of bus twin ids that no in-service source reaches (after switch states), largest first."""
    import pandapower.topology as top

    dead = set(top.unsupplied_buses(net))
    if not dead:
        return []
    graph = top.create_nxgraph(net, respect_switches=True, include_out_of_service=False)
    ids = net.bus["twin_id"] if "twin_id" in net.bus else net.bus.index.astype(str)
    islands = []
    for component in top.connected_components(graph, notravbuses=set()):
        members = sorted(str(ids.at[bus]) for bus in component if bus in dead)
        if members:
            islands.append(members)
    seen = {bus for island in islands for bus in island}
    islands += [[str(ids.at[bus])] for bus in sorted(dead) if str(ids.at[bus]) not in seen]
    return sorted(islands, key=lambda island: (-len(island), island))
