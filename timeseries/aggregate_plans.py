"""Which telemetry values the 1-minute aggregates keep, and the slot each numeric field gets (pure: no I/O).

A model's numeric fields get fixed slots (:class:`FieldSlots`), so a series-minute
(:class:`timeseries.aggregates.SeriesMinute`) keeps parallel lists indexed by slot; a model's
:class:`TelemetryPlan` says, per telemetry name, which slot or object plan its values fold into.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Union

from dtdl.model import Interface, Schema
from timeseries.lineprotocol import FIELD_SEPARATOR
from timeseries.snapshot_lines import Shape, key_shape

_NUMERIC = frozenset({"double", "float", "integer", "long"})


class FieldSlots:
    """Field key <-> slot for one model DTMI; only grows, so slots stay valid for the process."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self._index: dict[str, int] = {}

    def slot(self, key: str) -> int:
        index = self._index.get(key)
        if index is None:
            index = self._index[key] = len(self.keys)
            self.keys.append(key)
        return index


class FlatObject(dict):  # type: ignore[type-arg]
    """An Object telemetry whose fields are all numeric: field name -> slot (the hot path)."""


@dataclass(eq=False)
class MapPlan:
    """A Map telemetry: field keys depend on the map keys, so entries are made per key (cached)."""

    prefix: str
    value_schema: Schema
    slots: FieldSlots
    cache: dict[str, Any] = field(default_factory=dict)

    def entry_for(self, key: str) -> Any:
        entry = self.cache.get(key, False)
        if entry is False:
            entry = _entry(self.value_schema, self.prefix + key, self.slots)
            if len(self.cache) < 1024:
                self.cache[key] = entry
        return entry


PlanEntry = Union[int, FlatObject, dict, MapPlan]

#: Key shapes of a message (its telemetry names, then each object's field names) one plan keeps slots for.
MAX_SHAPES = 256


class TelemetryPlan(dict):  # type: ignore[type-arg]
    """Telemetry name -> :data:`PlanEntry`; also the slots of each message *shape* made of flat objects only.

    A message whose every telemetry is a :class:`FlatObject` (a measurement point's snapshot) has its
    numbers folded later, many messages at once (:meth:`SeriesMinute.settle`); its shape, which names
    and fields in which order, gives the slot of each number once per shape instead of per value.
    """

    def __init__(self) -> None:
        super().__init__()
        self.shapes: dict[Shape, tuple[int, ...] | None] = {}

    def flat_slots(self, values: Mapping[str, Any]) -> tuple[int, ...] | None:
        """The slots of ``values``' numbers in iteration order, or None when not all of it is flat objects."""
        try:
            shape = key_shape(values)
            found = self.shapes.get(shape, False)
        except TypeError:
            return None
        if found is False:
            found = self._slots_of(shape)
            if len(self.shapes) < MAX_SHAPES:
                self.shapes[shape] = found
        return found

    def _slots_of(self, shape: Shape) -> tuple[int, ...] | None:
        slots: list[int] = []
        for name, fields in zip(shape[0], shape[1:]):
            target = self.get(name)
            if type(target) is not FlatObject or not all(field in target for field in fields):
                return None
            slots.extend(target[field] for field in fields)
        return tuple(slots) if slots else None


def compile_plan(interface: Interface, slots: FieldSlots) -> TelemetryPlan:
    """Telemetry name -> slot, object plan or :class:`MapPlan`, for the numeric values only.

    Numeric means DTDL double/float/integer/long and integer Enums, what the former Flux task
    kept with ``types.isNumeric``; booleans, strings and JSON-encoded values are not aggregated.
    """
    plan = TelemetryPlan()
    for name, content in interface.contents.items():
        if content.kind == "Telemetry" and (entry := _entry(content.schema, name, slots)) is not None:
            plan[name] = entry
    return plan


def _entry(schema: Schema | None, key: str, slots: FieldSlots) -> PlanEntry | None:
    if schema is None:
        return None
    if schema.kind in _NUMERIC or (schema.kind == "Enum" and _integer_enum(schema)):
        return slots.slot(key)
    if schema.kind == "Object":
        sub = {name: entry for name, sub_schema in schema.fields.items()
               if (entry := _entry(sub_schema, key + FIELD_SEPARATOR + name, slots)) is not None}
        if not sub:
            return None
        flat = len(sub) == len(schema.fields) and all(type(entry) is int for entry in sub.values())
        return FlatObject(sub) if flat else sub
    if schema.kind == "Map" and schema.map_value is not None and schema.map_value.schema is not None:
        if _entry(schema.map_value.schema, key, FieldSlots()) is not None:
            return MapPlan(key + FIELD_SEPARATOR, schema.map_value.schema, slots)
    return None


def _integer_enum(schema: Schema) -> bool:
    if schema.value_schema is not None:
        return schema.value_schema.kind in ("integer", "long")
    values = list(schema.enum_values.values())
    return bool(values) and all(type(v) is int for v in values)
