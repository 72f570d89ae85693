"""GraphQL types of DTDL property values: scalars, enums, objects, arrays and components.

Why a room of its own: a twin's value types are built once per model-set generation from the
DTDL schemas, and each GraphQL type must stand for exactly what the graph stores, so that no
stored value becomes unreadable through the typed schema:

- an Enum is a GraphQL enum whose members are the DTDL enumValue *names* (DTDL's convention,
  camelCase as the model spells them); each member stands for its stored enumValue;
- an Object is a GraphQL object type with one field per DTDL field (``GridComponentLocation``);
- an Array of a representable element is a GraphQL list of it;
- a Component is an object type of its interface's properties (``MLEngineComponent``);
- a Map, a geospatial value, or anything GraphQL cannot carry one-to-one stays ``JSON``.

Type names: a reusable schema (one with an ``@id``) is named after its id's last segment, an
inline one after its owner and property; a name already taken gets the suffix ``Enum``,
``Object`` or ``Component`` (``UserRoleEnum``, as the API's own ``UserRole`` exists).
"""

from __future__ import annotations

import enum
import itertools
import re
from collections.abc import Mapping
from typing import Any, Optional

import strawberry
from strawberry.scalars import JSON

from dtdl import Content, Interface, ModelSet, Schema
from dtdl.kinds import GEOSPATIAL
from graph.validation import component_interface, resolve_schema

GRAPHQL_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]*$")

_SCALARS: Mapping[str, Any] = {
    "boolean": bool,
    "double": float, "float": float, "decimal": float,
    "integer": int, "short": int, "byte": int, "unsignedByte": int, "unsignedShort": int,
    "long": float, "unsignedInteger": float, "unsignedLong": float,
}


def scalar_type(schema: Schema | None) -> Any:
    """The GraphQL-facing Python type of a DTDL schema, without generating types: numbers and
    booleans as themselves, other primitives (strings, dates, enums' values) as ``str``, the rest
    (Object, Map, Array, geospatial GeoJSON) as ``JSON``."""
    if schema is None:
        return JSON
    if schema.kind in _SCALARS:
        return _SCALARS[schema.kind]
    if schema.kind == "Enum" or (schema.is_primitive and schema.kind not in GEOSPATIAL):
        return str
    return JSON


class ValueTypes:
    """The GraphQL type of each DTDL value schema of one generation, each made once.

    ``taken`` holds the type names already in the schema; every name made here is added to it.
    """

    def __init__(self, models: ModelSet, taken: set[str]) -> None:
        self.models, self.taken = models, taken
        self.made: dict[int, Any] = {}
        self.filters: dict[type, type] = {}  # per GraphQL enum, its filter input (api.filter_types)

    def of_content(self, content: Content, owner: str) -> Any:
        """The type of a Property's value or of a Component (``None`` for other contents)."""
        if content.kind == "Component":
            return self._component(content)
        if content.kind == "Property":
            return self.of_schema(content.schema, owner, content.name)
        return None

    def of_schema(self, schema: Schema | None, owner: str, name: str) -> Any:
        resolved = resolve_schema(self.models, schema)
        if resolved is None or resolved.kind not in ("Enum", "Object", "Array"):
            return scalar_type(resolved)
        if resolved.kind == "Array":
            element = self.of_schema(resolved.element_schema, owner, name)
            return JSON if element is JSON else list[Optional[element]]  # type: ignore[valid-type]
        if id(resolved) not in self.made:
            self.made[id(resolved)] = self._make(resolved, owner, name)
        return self.made[id(resolved)]

    def _make(self, schema: Schema, owner: str, name: str) -> Any:
        if schema.kind == "Enum":
            return self._enum(schema, owner, name) if _one_to_one(schema) else scalar_type(schema)
        if not schema.fields or not all(GRAPHQL_NAME.match(field) for field in schema.fields):
            return JSON
        type_name = self._name(schema, owner, name, "Object")
        fields = {field: self.of_schema(field_schema, type_name, field) for field, field_schema in schema.fields.items()}
        return _object_type(type_name, fields, _text(schema.description) or f"Value of {owner}.{name} (DTDL Object).")

    def _enum(self, schema: Schema, owner: str, name: str) -> Any:
        type_name = self._name(schema, owner, name, "Enum")
        try:
            members = enum.Enum(type_name, dict(schema.enum_values))  # type: ignore[misc]
        except (ValueError, TypeError):  # a member name Python's Enum refuses (``mro``)
            return scalar_type(schema)
        return strawberry.enum(members, name=type_name, description=_text(schema.description) or
                               f"Values of {owner}.{name} (DTDL enum; each member stands for its enumValue).")

    def _component(self, content: Content) -> Any:
        interface = component_interface(self.models, content)
        if interface is None:
            return JSON
        key = id(interface)
        if key not in self.made:
            self.made[key] = self._component_type(interface)
        return self.made[key]

    def _component_type(self, interface: Interface) -> Any:
        label = re.sub(r"[^_0-9A-Za-z]", "", interface.dtmi.rsplit(":", 1)[-1].split(";")[0])
        type_name = self.free(f"{label}Component")
        properties = [c for c in interface.contents.values() if c.kind == "Property" and GRAPHQL_NAME.match(c.name)]
        fields = {c.name: self.of_content(c, type_name) for c in properties}
        if not fields:
            return JSON
        return _object_type(type_name, fields, _text(interface.description) or
                            f"The properties of a component of interface {interface.dtmi}.")

    def _name(self, schema: Schema, owner: str, name: str, suffix: str) -> str:
        base = (re.sub(r"[^_0-9A-Za-z]", "", schema.id.rsplit(":", 1)[-1].split(";")[0]) if schema.id else
                f"{owner}{name[:1].upper()}{name[1:]}")
        return self.free(base if GRAPHQL_NAME.match(base) else f"{owner}{suffix}", suffix)

    def free(self, base: str, suffix: str = "") -> str:
        """``base``, or with ``suffix`` (and a number) when taken; the name is taken from then on."""
        candidates = itertools.chain((base, f"{base}{suffix}"), (f"{base}{suffix}{n}" for n in itertools.count(2)))
        chosen = next(candidate for candidate in candidates if candidate not in self.taken)
        self.taken.add(chosen)
        return chosen


def _one_to_one(schema: Schema) -> bool:
    """An enum GraphQL can carry faithfully: valid member names, no two members with one value."""
    values = list(schema.enum_values.values())
    return bool(values) and all(GRAPHQL_NAME.match(name) for name in schema.enum_values) and \
        len({(type(v), v) for v in values}) == len(values)


def _object_type(type_name: str, fields: Mapping[str, Any], description: str) -> Any:
    """A GraphQL object type over a stored mapping: each field reads its key (a value the graph
    decoded as a dict), so nothing is copied into instances."""
    namespace: dict[str, Any] = {"__annotations__": {}}
    for field_name, field_type in fields.items():
        namespace[field_name] = strawberry.field(resolver=_key_reader(field_name, field_type))
    return strawberry.type(type(type_name, (), namespace), name=type_name, description=description)


def _key_reader(key: str, value_type: Any) -> Any:
    def read(root: Any) -> Any:
        return root.get(key) if isinstance(root, Mapping) else getattr(root, key, None)

    read.__annotations__["return"] = Optional[value_type]
    read.__name__ = key
    return read


def _text(texts: Mapping[str, str]) -> str | None:
    return texts.get("en") or next(iter(texts.values()), None) if texts else None
