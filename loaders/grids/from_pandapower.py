"""A pandapower net as a :class:`GridDocument`: one twin per element, one relationship per bus end.

Every column that :mod:`loaders.grids.tables` maps is kept, standard-type parameters
included, so the network built back from the twins is the source network.  Missing values
(NaN) become absent properties, which the builder turns back into pandapower's defaults.
Zero-sequence, short-circuit and vector-group data that the source lacks are filled by
:mod:`loaders.grids.assumed` and named in each twin's ``assumed`` list.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from graph.bulk import RelationshipRow, TwinRow
from loaders.grids import assumed
from loaders.grids.document import (GRID_MODEL, GT, GridDocument, GridSourceError, check_grid_id, relationship_id,
                                    twin_id)
from loaders.grids.feeds import feeds_to
from loaders.grids.tables import (MEASUREMENT_TYPES, SWITCH_BRANCHES, SWITCH_COLUMNS, SWITCH_MODELS, TABLES, Column,
                                  Table)

_SGEN_KINDS = (("pv", "pv"), ("wind", "wind"), ("hydro", "hydro"), ("river", "hydro"), ("biomass", "biomass"),
               ("chp", "chp"), ("battery", "battery"), ("fuel", "fuelCell"))


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN, pd.NA
    except (TypeError, ValueError):
        return False


def encode(column: Column, value: Any, where: str) -> Any:
    """A pandapower cell as a twin property value; ``None`` when the cell is empty."""
    if _missing(value):
        return None
    if column.kind == "kilo":
        return float(value) * 1000.0
    if column.kind == "float":
        return float(value)
    if column.kind == "int":
        number = float(value)
        if not number.is_integer():
            raise GridSourceError(where, column.column, f"{value!r} is not a whole number")
        return int(number)
    if column.kind == "bool":
        return bool(value)
    if column.kind == "str":
        return str(value)
    if value not in column.codes:
        raise GridSourceError(where, column.column, f"{value!r} is not one of {sorted(map(str, column.codes))}")
    return column.codes[value]


def _properties(columns: Iterable[Column], row: Mapping[str, Any], where: str) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for column in columns:
        if column.column in row:
            value = encode(column, row[column.column], where)
            if value is not None:
                properties[column.prop] = value
    return properties


def _records(net: Any, table: str) -> Iterable[tuple[int, dict[str, Any]]]:
    frame = net[table] if table in net else None
    if frame is None or len(frame) == 0:
        return []
    return zip((int(i) for i in frame.index), frame.to_dict("records"))


class _Builder:
    """Collects rows while walking the tables; knows every element's twin id for relationships."""

    def __init__(self, net: Any, grid_id: str) -> None:
        self.net, self.grid_id = net, grid_id
        self.twins: list[TwinRow] = []
        self.relationships: list[RelationshipRow] = []

    def tid(self, table: str, index: int) -> str:
        return twin_id(self.grid_id, table, index)

    def add(self, table: str, index: int, model: str, properties: dict[str, Any]) -> str:
        own = self.tid(table, index)
        properties.update(gridId=self.grid_id, sourceId=f"{table}/{index}")
        self.twins.append(TwinRow(own, model, properties))
        return own

    def link(self, source: str, name: str, target_table: str, target_index: Any, where: str) -> None:
        if _missing(target_index):
            raise GridSourceError(where, name, "no bus given")
        index = int(target_index)
        if target_table in self.net and index not in self.net[target_table].index:
            raise GridSourceError(where, name, f"{target_table} {index} does not exist")
        self.relationships.append(RelationshipRow(source, name, self.tid(target_table, index),
                                                  id=relationship_id(source, name)))

    def element_table(self, table: Table) -> None:
        for index, row in _records(self.net, table.name):
            where = f"{table.name} {index}"
            properties = _properties(table.columns, row, where)
            if table.name == "sgen":
                properties["kind"] = _sgen_kind(properties.get("generatorType"))
            filled = assumed.fill(table.name, row, properties, self.net)
            if filled:
                properties["assumed"] = filled
            own = self.add(table.name, index, table.model, properties)
            for column, relationship in table.buses.items():
                self.link(own, relationship, "bus", row.get(column), where)


def _sgen_kind(generator_type: str | None) -> str:
    text = (generator_type or "").lower()
    return next((kind for key, kind in _SGEN_KINDS if key in text), "other")


def _switches(builder: _Builder) -> None:
    for index, row in _records(builder.net, "switch"):
        where = f"switch {index}"
        kind = None if _missing(row.get("type")) else row["type"]
        if kind not in SWITCH_MODELS:
            raise GridSourceError(where, "type", f"{kind!r} is not one of CB, DS, LS, LBS")
        model, switch_type = SWITCH_MODELS[kind]
        properties = _properties(SWITCH_COLUMNS, row, where)
        state = "closed" if bool(row["closed"]) else "open"
        properties.update(switchState=state, normalState=state)
        if switch_type:
            properties["switchType"] = switch_type
        own = builder.add("switch", index, model, properties)
        builder.link(own, "fromBus", "bus", row["bus"], where)
        if row["et"] == "b":
            builder.link(own, "toBus", "bus", row["element"], where)
        elif row["et"] in SWITCH_BRANCHES:
            builder.link(own, "branch", SWITCH_BRANCHES[row["et"]], row["element"], where)
        else:
            raise GridSourceError(where, "et", f"{row['et']!r} is not one of b, l, t, t3")


def _measurements(builder: _Builder) -> None:
    sides = {"from": "from", "to": "to", "hv": "hv", "mv": "mv", "lv": "lv"}
    for index, row in _records(builder.net, "measurement"):
        where = f"measurement {index}"
        kind = row.get("measurement_type")
        if kind not in MEASUREMENT_TYPES:
            raise GridSourceError(where, "measurement_type", f"{kind!r} is not one of {sorted(MEASUREMENT_TYPES)}")
        properties: dict[str, Any] = {"measurementType": MEASUREMENT_TYPES[kind]}
        for column, prop in (("name", "name"), ("value", "measuredValue"), ("std_dev", "standardDeviation")):
            if not _missing(row.get(column)):
                properties[prop] = row[column] if prop == "name" and isinstance(row[column], str) else (
                    str(row[column]) if prop == "name" else float(row[column]))
        side = row.get("side")
        if not _missing(side):
            if str(side) not in sides:
                raise GridSourceError(where, "side", f"{side!r} is not one of {sorted(sides)}")
            properties["side"] = sides[str(side)]
        own = builder.add("measurement", index, f"{GT}Measurement;1", properties)
        builder.link(own, "measuredElement", str(row["element_type"]), row["element"], where)


def from_pandapower(net: Any, grid_id: str, *, source: str = "pandapower net", source_format: str = "pandapower",
                    profiles: Mapping[str, Any] | None = None) -> GridDocument:
    """The grid document of ``net``; a :class:`GridSourceError` names the element and field that is wrong."""
    check_grid_id(grid_id)
    builder = _Builder(net, grid_id)
    grid: dict[str, Any] = {
        "gridId": grid_id, "sourceId": "net", "name": str(net.name or grid_id), "nominalFrequency": float(net.f_hz),
        "basePower": float(net.sn_mva), "sourceFormat": source_format, "source": source}
    builder.twins.append(TwinRow(grid_id, GRID_MODEL, grid))
    unknown = _unsupported_tables(net)
    if unknown:
        raise GridSourceError(source, None, f"element tables not supported yet: {', '.join(unknown)}")
    for table in TABLES:
        builder.element_table(table)
    _switches(builder)
    _measurements(builder)
    study_cases = net["loadcases"] if "loadcases" in net and len(net["loadcases"]) else None
    feeds = feeds_to(grid_id, builder.twins, builder.relationships)
    grid["topologyDepth"] = feeds.depth
    return GridDocument(grid_id, source, builder.twins, builder.relationships + feeds.relationships,
                        dict(profiles or {}), study_cases)


_KNOWN = {table.name for table in TABLES} | {"switch", "measurement"}
_UNSUPPORTED = ("impedance", "ward", "xward", "tcsc", "svc", "ssc", "vsc", "motor", "source_dc",
                "load_dc", "bus_dc", "line_dc")


def _unsupported_tables(net: Any) -> list[str]:
    """Element tables that carry power but have no model yet: refused rather than silently dropped."""
    return [name for name in _UNSUPPORTED if name in net and len(net[name]) > 0]
