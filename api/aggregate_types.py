"""The typed aggregate results of ``twinsAggregate``: one ``XAggregate`` per model, made with the
model set's other generated types (api.typegen), and the instances answering a query.

Apart from the query (api.aggregates) because typegen builds these with every generation and
must not depend on the request-side modules.
"""

from __future__ import annotations

import keyword
from collections.abc import Mapping
from typing import Any, Optional

import strawberry

from dtdl import Interface, ModelSet
from graph import aggregates
from graph.validation import resolve_schema


@strawberry.type(description="Aggregates of a number property over the twins that have it.")
class NumberAggregate:
    min: Optional[float] = None
    max: Optional[float] = None
    average: Optional[float] = None
    sum: Optional[float] = None
    count: int = strawberry.field(default=0, description="Twins with a value of this property.")


@strawberry.type(description="Aggregates of a string property over the twins that have it (lexicographic).")
class TextAggregate:
    min: Optional[str] = None
    max: Optional[str] = None
    count: int = strawberry.field(default=0, description="Twins with a value of this property.")


@strawberry.interface(description="Aggregates over the twins of a model matching a filter; the model's own "
                                  "XAggregate type has one field per number or string property.")
class TwinAggregate:
    model: str = strawberry.field(description="The DTMI whose twins (subtypes included) were aggregated.")
    count: int = strawberry.field(description="Twins that are-a the model and match every filter.")

    @classmethod
    def resolve_type(cls, obj: Any, info: Any, abstract_type: Any) -> str:
        return str(obj.__strawberry_definition__.name)


_FIXED_FIELDS = frozenset({"model", "count"})


def aggregate_type(type_name: str, interface: Interface, models: ModelSet) -> tuple[type, tuple[str, ...]]:
    """The ``XAggregate`` object type of an interface, and the properties it has fields for."""
    fields: dict[str, Any] = {}
    descriptions: dict[str, str] = {}
    for content in interface.contents.values():
        kinds = aggregates.aggregatable(resolve_schema(models, content.schema)) if content.kind == "Property" else ()
        if kinds and content.name not in _FIXED_FIELDS and content.name.isidentifier() and \
                not keyword.iskeyword(content.name):
            fields[content.name] = NumberAggregate if "average" in kinds else TextAggregate
            descriptions[content.name] = f"Aggregates of {content.name}" + (f" [{content.unit}]" if content.unit else "")
    namespace: dict[str, Any] = {"__annotations__": {name: Optional[cls] for name, cls in fields.items()},
                                 "is_type_of": classmethod(lambda cls, obj, info: isinstance(obj, cls))}
    namespace.update({name: strawberry.field(default=None, name=name, description=descriptions[name])
                      for name in fields})
    made = strawberry.type(type(type_name, (TwinAggregate,), namespace), name=type_name,
                           description=f"Aggregates of the twins of {interface.dtmi}.")
    return made, tuple(fields)


def aggregate_instance(cls: type, properties: tuple[str, ...], model: str, answer: Mapping[str, Any]) -> Any:
    """The answer of graph.aggregates as an ``XAggregate``: properties not asked for stay null."""
    made = object.__new__(cls)
    made.__dict__.update(dict.fromkeys(properties), model=model, count=answer["count"])
    for name in properties:
        if name in answer:
            result = NumberAggregate if "average" in answer[name] else TextAggregate
            made.__dict__[name] = result(**answer[name])
    return made
