"""Typed per-model filters of ``twins``: ``filter: {line: {length: {gt: 1}, status: {eq: inService}}}``.

As the Neo4j GraphQL Library generates them: each model ``X`` gets an input ``XWhere`` with one
operator input per filterable property (``FloatFilter``, ``IntFilter``, ``StringFilter``,
``BooleanFilter``, or ``<Enum>Filter`` with the model's own enum values) and a nested ``...Where``
per Object property; ``TwinWhere`` is a ``@oneOf`` input naming the model by one field
(``line``, ``powerTransformer``, ``acLineSegment``). A typed filter is the same search as the
``where`` list (graph.search), so every operator keeps its meaning, checks and errors there;
the typed input only makes a wrong name or type a validation error before the resolver runs.

Relationship fields filter by related twins, in the library's nested form: ``line: {feedsTo: {some:
{measurementPoint: {status: {eq: faulted}}}}}`` (also ``none``, ``all`` and ``single``); the related
twins are chosen by a ``TwinWhere`` again, so a relationship filter names their model as the top
level does (``IS_OF_MODEL`` semantics) and nests (at most graph.search.MAX_RELATED_DEPTH deep).
"""

from __future__ import annotations

import enum
import keyword
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Optional

import strawberry

from api.value_types import GRAPHQL_NAME, ValueTypes
from dtdl import Interface, ModelSet, Schema
from graph.search import QUANTIFIERS, AllOf, AnyOf, Condition, Filter, Not, Related
from graph.validation import resolve_schema

_COMPARISONS = ("eq", "ne", "lt", "lte", "gt", "gte")
_MAX_DEPTH = 4
#: Metadata of generated input fields: the DTMI a TwinWhere field names; the (relationship, direction)
#: an XWhere's relationship field follows (the same pair as the output type's field).
MODEL, RELATED = "gridtwin.filter.model", "gridtwin.filter.related"
#: (field name, relationship name, direction) of the relationship fields of one model's XWhere.
RelationshipFields = tuple[tuple[str, str, str], ...]


def _operator_input(name: str, value_type: Any, operators: tuple[str, ...], description: str) -> type:
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {"__annotations__": annotations}
    for operator in (*operators, "in"):
        python_name = f"{operator}_" if keyword.iskeyword(operator) else operator
        annotations[python_name] = Optional[list[value_type]] if operator == "in" else Optional[value_type]
        namespace[python_name] = strawberry.field(default=None, name=operator)
    return strawberry.input(type(name, (), namespace), name=name, description=description)


FloatFilter = _operator_input("FloatFilter", float, _COMPARISONS, "Compare a number property.")
IntFilter = _operator_input("IntFilter", int, _COMPARISONS, "Compare an integer property.")
StringFilter = _operator_input("StringFilter", str, (*_COMPARISONS, "contains", "startsWith"),
                               "Compare a string property (dates and times as ISO-8601 strings).")
BooleanFilter = _operator_input("BooleanFilter", bool, ("eq", "ne"), "Compare a boolean property.")
_SCALAR_FILTERS: Mapping[Any, type] = {float: FloatFilter, int: IntFilter, str: StringFilter, bool: BooleanFilter}


@dataclass
class TypedFilters:
    """The generation's ``TwinWhere`` (None without models) and, per its field, the DTMI it names."""

    twin_where: type | None
    models_by_field: dict[str, str]


def typed_filters(models: ModelSet, names: Mapping[str, str], value_types: ValueTypes,
                  relationships: Mapping[str, RelationshipFields] | None = None) -> TypedFilters:
    """``XWhere`` per interface and the ``TwinWhere`` choosing one of them; ``relationships`` are the
    relationship fields each model's output type has (api.typegen), which its XWhere gets as well."""
    related_filter = type("TwinRelationshipFilter", (), {"__annotations__": {}})  # finished once TwinWhere is
    fields: dict[str, Any] = {}
    models_by_field: dict[str, str] = {}
    for dtmi, interface in sorted(models.interfaces.items()):
        where = _where_input(models, value_types, names[dtmi], interface, (relationships or {}).get(dtmi, ()),
                             related_filter)
        field_name = _field_name(names[dtmi])
        if where is not None and field_name not in fields:
            fields[field_name] = where
            models_by_field[field_name] = dtmi
    if not fields:
        return TypedFilters(None, {})
    name = value_types.free("TwinWhere", "Input")
    namespace: dict[str, Any] = {"__annotations__": {f: Optional[cls] for f, cls in fields.items()}}
    namespace.update({f: strawberry.field(default=strawberry.UNSET, name=f, metadata={MODEL: models_by_field[f]})
                      for f in fields})  # oneOf: no defaults
    twin_where = strawberry.input(type(name, (), namespace), name=name, one_of=True,
                                  description="Typed filter of one model's twins: exactly one field, the model's.")
    _finish_related_filter(related_filter, twin_where, value_types)
    return TypedFilters(twin_where, models_by_field)


def _finish_related_filter(shell: type, twin_where: type, value_types: ValueTypes) -> None:
    """The input of a relationship field: which of the related twins (each chosen by a TwinWhere) must match."""
    meanings = {"some": "at least one related twin matches", "none": "no related twin matches",
                "all": "every related twin matches (true without any)", "single": "exactly one related twin matches"}
    for quantifier in QUANTIFIERS:
        shell.__annotations__[quantifier] = Optional[twin_where]
        setattr(shell, quantifier, strawberry.field(default=None, name=quantifier, description=meanings[quantifier]))
    strawberry.input(shell, name=value_types.free("TwinRelationshipFilter", "Input"),
                     description="Filter by the twins at the other end of a relationship; every given quantifier "
                                 "must hold. Twins hidden from the caller do not count.")


def _field_name(type_name: str) -> str:
    """``Line`` -> ``line``, ``ACLineSegment`` -> ``acLineSegment``, ``MLEngine`` -> ``mlEngine``."""
    head = re.match(r"^[A-Z]+(?=[A-Z][a-z]|$)|^[A-Z]", type_name)
    return type_name if head is None else head.group(0).lower() + type_name[head.end():]


def _where_input(models: ModelSet, value_types: ValueTypes, type_name: str, interface: Interface,
                 relationships: RelationshipFields, related_filter: type) -> type | None:
    schemas = {c.name: c.schema for c in interface.contents.values() if c.kind == "Property"}
    return _input_of(models, value_types, f"{type_name}Where", schemas, 0,
                     f"Typed filter of {interface.dtmi} twins; every given comparison and relationship filter "
                     "must hold, and every `and` filter, one of the `or` filters, not the `not` filter.",
                     combinable=True, relationships=relationships, related_filter=related_filter)


#: The boolean fields of a model's XWhere: (Python name, GraphQL name, a list of XWhere?).
_COMBINATIONS = (("and_", "and", True), ("or_", "or", True), ("not_", "not", False))


def _input_of(models: ModelSet, value_types: ValueTypes, name: str, schemas: Mapping[str, Schema | None],
              depth: int, description: str, combinable: bool = False, relationships: RelationshipFields = (),
              related_filter: type | None = None) -> type | None:
    fields: dict[str, Any] = {}
    for field_name, schema in schemas.items():
        if not GRAPHQL_NAME.match(field_name) or keyword.iskeyword(field_name):
            continue
        kind = _filter_of(models, value_types, name, field_name, schema, depth)
        if kind is not None:
            fields[field_name] = kind
    followed = {field: (relationship, direction) for field, relationship, direction in relationships
                if field not in fields and GRAPHQL_NAME.match(field) and not keyword.iskeyword(field)}
    fields.update({field: related_filter for field in followed})
    if not fields:
        return None
    annotations: dict[str, Any] = {f: Optional[kind] for f, kind in fields.items()}
    namespace: dict[str, Any] = {"__annotations__": annotations}
    namespace.update({f: strawberry.field(default=None, name=f, metadata={RELATED: followed[f]} if f in followed else {})
                      for f in fields})
    made = type(name, (), namespace)
    if combinable:  # the input refers to itself: added once the class exists
        for python_name, graphql_name, many in _COMBINATIONS:
            annotations[python_name] = Optional[list[made]] if many else Optional[made]  # type: ignore[valid-type]
            setattr(made, python_name, strawberry.field(default=None, name=graphql_name))
    return strawberry.input(made, name=value_types.free(name, "Input"), description=description)


def _filter_of(models: ModelSet, value_types: ValueTypes, owner: str, field_name: str, schema: Schema | None,
               depth: int) -> type | None:
    resolved = resolve_schema(models, schema)
    if resolved is None or resolved.kind in ("Array", "Map") or depth > _MAX_DEPTH:
        return None
    value_type = value_types.of_schema(resolved, owner.removesuffix("Where"), field_name)
    if resolved.kind == "Object":  # one XWhere per Object type, shared by every model holding it
        if not hasattr(value_type, "__strawberry_definition__"):
            return None
        if value_type not in value_types.filters:
            object_name = value_type.__strawberry_definition__.name
            value_types.filters[value_type] = _input_of(models, value_types, f"{object_name}Where",  # type: ignore[assignment]
                                                        dict(resolved.fields), depth + 1,
                                                        f"Typed filter of the fields of {object_name}.")
        return value_types.filters[value_type]
    if isinstance(value_type, type) and issubclass(value_type, enum.Enum):  # a GraphQL enum of the model's values
        return _enum_filter(value_types, value_type)
    return _SCALAR_FILTERS.get(value_type)


def _enum_filter(value_types: ValueTypes, enum_type: Any) -> type:
    made = value_types.filters
    if enum_type not in made:
        enum_name = enum_type.__name__
        made[enum_type] = _operator_input(value_types.free(f"{enum_name}Filter", "Input"), enum_type, ("eq", "ne"),
                                          f"Compare a {enum_name} property.")
    return made[enum_type]


def filters_of(where: Any) -> AllOf:
    """The typed input as one graph.search condition: its comparisons and its ``and``/``or``/``not``, all
    of which must hold (dotted paths for Object fields, stored values for enum members)."""
    return AllOf(list(_walk(where, "")))


def _walk(node: Any, prefix: str) -> Iterator[Condition]:
    for field in node.__strawberry_definition__.fields:
        value = getattr(node, field.python_name)
        if value is None:
            continue
        if field.python_name in ("and_", "or_"):
            parts = [filters_of(part) for part in value]
            yield AllOf(parts) if field.python_name == "and_" else AnyOf(parts)
        elif field.python_name == "not_":
            yield Not(filters_of(value))
        elif RELATED in field.metadata:
            yield from _related(value, *field.metadata[RELATED])
        else:
            path = f"{prefix}{field.graphql_name or field.python_name}"
            yield from _operators(value, path) if _is_operator_input(value) else _walk(value, f"{path}.")


def _related(node: Any, relationship: str, direction: Any) -> Iterator[Related]:
    """One graph.search condition per quantifier given, over the twins a TwinWhere chooses."""
    for quantifier in QUANTIFIERS:
        twin_where = getattr(node, quantifier)
        if twin_where is None:
            continue
        [(model, where)] = [(f.metadata[MODEL], getattr(twin_where, f.python_name))
                            for f in twin_where.__strawberry_definition__.fields
                            if getattr(twin_where, f.python_name) not in (None, strawberry.UNSET)]
        yield Related(relationship, direction, quantifier, model, filters_of(where))


_OPERATOR_NAMES = frozenset({*_COMPARISONS, "contains", "startsWith", "in_"})


def _is_operator_input(node: Any) -> bool:
    return {f.python_name for f in node.__strawberry_definition__.fields} <= _OPERATOR_NAMES


def _operators(node: Any, path: str) -> Iterator[Filter]:
    for field in node.__strawberry_definition__.fields:
        value = getattr(node, field.python_name)
        if value is not None:
            operator = field.graphql_name or field.python_name
            yield Filter(path, operator, [_stored(v) for v in value] if isinstance(value, list) else _stored(value))


def _stored(value: Any) -> Any:
    return getattr(value, "value", value)  # an enum member stands for its stored enumValue
