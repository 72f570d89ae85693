"""GraphQL types generated from the active DTDL model set.

For every DTDL interface ``X`` (label from the Neo4j schema mapping) the schema
gets:

- a GraphQL *interface* ``X`` with X's properties as typed fields and its
  relationships as fields, implementing ``Twin`` and the interfaces of X's
  ``extends``, so ``... on GridComponent { status }`` matches every subtype;
- an *object type* ``XTwin`` implementing ``X``: the ``__typename`` of twins
  whose model is X.

A twin whose model is unknown to the active set resolves as ``GenericTwin``.
Property values are typed by :mod:`api.value_types`: DTDL enums are GraphQL enums, Objects and
Components object types, Arrays lists; Maps and geospatial values ``JSON``; integers wider than
32 bits ``Float``.
"""

from __future__ import annotations

import itertools
import sys
import types
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Optional

import strawberry
from strawberry.types import Info

from api.types import GenericTwin, Twin, twin_fields
from dtdl import Content, Interface, ModelSet
from api.aggregate_types import aggregate_type
from api.filter_types import RelationshipFields, TypedFilters, typed_filters
from api.value_types import GRAPHQL_NAME, ValueTypes

#: Relationship names whose incoming side gets its own field on the target type.
INVERSE_RELATIONSHIPS: Mapping[str, str] = {"feedsTo": "fedBy"}

_RESERVED_FIELDS = frozenset({"id", "model", "etag", "properties", "relationships"})
#: Metadata keys of generated fields: the stored property a typed field reads, and the (relationship
#: name, direction) a relationship field follows; read by api.compiled_reads from the schema itself.
PROPERTY, RELATIONSHIP = "gridtwin.property", "gridtwin.relationship"

def graphql_names(labels: Mapping[str, str], reserved: frozenset[str] = frozenset()) -> dict[str, str]:
    """GraphQL type name per interface DTMI: its Neo4j label; older versions get ``V<n>``.

    Two versions of a model share a Neo4j label but need distinct GraphQL names;
    the newest version keeps the plain label so queries stay stable across uploads.
    A label whose interface or object name (``<label>Twin``) is a name of the static schema
    (``reserved``, read from the schema itself) or of GraphQL gets the suffix ``Interface``.
    """
    taken = reserved | _GRAPHQL_BUILT_INS

    def free(label: str) -> str:
        while label in taken or f"{label}Twin" in taken:
            label = f"{label}Interface"
        return label

    by_label: dict[str, list[str]] = {}
    for dtmi, label in labels.items():
        by_label.setdefault(free(label), []).append(dtmi)
    names: dict[str, str] = {}
    for label, dtmis in by_label.items():
        newest, *older = sorted(dtmis, key=_version, reverse=True)
        names[newest] = label
        names.update({dtmi: free(f"{label}V{_version(dtmi)}") for dtmi in older})
    return names


_GRAPHQL_BUILT_INS = frozenset({"Query", "Mutation", "Subscription", "String", "Int", "Float", "Boolean", "ID",
                                "JSON", "Twin", "GenericTwin"})


def _version(dtmi: str) -> int:
    _, _, version = dtmi.partition(";")
    return int(version.split(".")[0]) if version.split(".")[0].isdigit() else 0


TwinLoader = Callable[[str], Awaitable[Optional[Twin]]]


@dataclass
class GeneratedTypes:
    """The generated classes by DTMI, and how to turn a twin record into one of them."""

    interfaces: dict[str, type] = field(default_factory=dict)
    objects: dict[str, type] = field(default_factory=dict)
    typed_fields: dict[str, tuple[str, ...]] = field(default_factory=dict)
    filters: TypedFilters = field(default_factory=lambda: TypedFilters(None, {}))
    """The typed per-model ``filter`` input of ``twins`` (api.filter_types)."""
    aggregates: dict[str, tuple[type, tuple[str, ...]]] = field(default_factory=dict)
    """Per DTMI, its ``XAggregate`` type and the properties that type has fields for (api.aggregates)."""
    _lazy: dict[str, type] = field(default_factory=dict, repr=False)

    def instance(self, record: dict[str, Any]) -> Twin:
        """A twin record from the graph layer as an instance of its generated type.

        Built without the dataclass ``__init__`` (keyword matching over every typed field
        cost more than reading the twin): every field of the class is set here.
        """
        model = record["model"]
        cls = self.objects.get(model)
        if cls is None:
            return GenericTwin(**twin_fields(record))
        properties = record.get("properties", {})
        twin = object.__new__(cls)
        values = twin.__dict__
        values.update(id=record["id"], model=model, etag=record["etag"], properties=properties)
        get = properties.get
        for name in self.typed_fields[model]:
            values[name] = get(name)
        return twin

    def lazy(self, twin_id: str, model: str, load: TwinLoader) -> Twin:
        """A twin known by id and model only (a traversal found it): ``id``, ``model`` and
        ``__typename`` need nothing more; any other field awaits ``load(twin_id)`` (a DataLoader,
        so all lazy twins of a request are read in one batched query, and only when asked for)."""
        cls = self._lazy.get(model)
        if cls is None:
            base = self.objects.get(model, GenericTwin)
            cls = self._lazy[model] = _lazy_class(base, ("etag", "properties", *self.typed_fields.get(model, ())))
        twin = object.__new__(cls)
        twin.__dict__ = {"id": twin_id, "model": model, "_load": load}
        return twin  # type: ignore[no-any-return]


def _lazy_class(base: type, names: tuple[str, ...]) -> type:
    """A plain subclass of a generated object type (same GraphQL type: Strawberry resolves interfaces
    and ``is_type_of`` with isinstance) whose data fields are awaitables reading the full twin."""

    def deferred(name: str) -> property:
        async def value(self: Any) -> Any:
            full = await self._load(self.id)
            if full is None:  # deleted since it was found
                return _ABSENT.get(name)
            return getattr(full, name)

        return property(value, doc=f"{name}, read when a query asks for it")

    namespace: dict[str, Any] = {name: deferred(name) for name in names}
    namespace["__repr__"] = lambda self: f"{base.__name__}(id={self.id!r}, model={self.model!r}, lazy)"
    namespace["__eq__"] = object.__eq__
    namespace["__hash__"] = object.__hash__
    namespace["__module__"] = base.__module__
    return type(f"Lazy{base.__name__}", (base,), namespace)


#: What the non-null fields of a lazy twin give when the twin disappeared before its data was read.
_ABSENT: Mapping[str, Any] = {"etag": "", "properties": {}}


def generate(models: ModelSet, labels: Mapping[str, str], reserved: frozenset[str] = frozenset()) -> GeneratedTypes:
    """Build the interface and object types of every interface in ``models``.

    ``labels`` is the Neo4j label per DTMI from the compiled schema, so GraphQL
    type names and graph labels always agree.
    """
    generated = GeneratedTypes()
    names = graphql_names(labels, reserved)
    value_types = ValueTypes(models, {*names.values(), *(f"{name}Twin" for name in names.values()), *reserved, *_GRAPHQL_BUILT_INS})
    module = _new_module()
    inverse_targets = _inverse_fields(models)
    for dtmi in _parents_first(models):
        interface = models.interfaces[dtmi]
        bases = tuple(generated.interfaces[parent] for parent in interface.extends if parent in generated.interfaces)
        gql_interface = _make_interface(names[dtmi], interface, bases or (Twin,), names, module,
                                        inverse_targets.get(dtmi, ()), value_types)
        generated.interfaces[dtmi] = module.__dict__[names[dtmi]] = gql_interface
        generated.objects[dtmi] = strawberry.type(
            type(f"{names[dtmi]}Twin", (gql_interface,), {"__module__": module.__name__, "is_type_of": _is_type_of}),
            description=f"A twin of {dtmi}.",
        )
        generated.aggregates[dtmi] = aggregate_type(value_types.free(f"{names[dtmi]}Aggregate", "Type"), interface,
                                                    models)
        generated.typed_fields[dtmi] = tuple(
            content.name for content in interface.contents.values() if _is_typed_content(content)
        )
    generated.filters = typed_filters(models, names, value_types, _relationship_fields(models, inverse_targets))
    return generated


def _relationship_fields(models: ModelSet, inverse_targets: Mapping[str, tuple[tuple[str, str | None], ...]]
                         ) -> dict[str, RelationshipFields]:
    """Per interface, the (field, relationship, direction) of every relationship field its output type has:
    its own and inherited relationships, and the inverse fields (fedBy) of it and its ancestors."""
    found: dict[str, RelationshipFields] = {}
    for dtmi, interface in models.interfaces.items():
        outgoing = [(c.name, c.name, "outgoing") for c in interface.contents.values()
                    if c.kind == "Relationship" and c.name not in _RESERVED_FIELDS]
        incoming = [(inverse, _inverse_of(inverse), "incoming") for owner in (dtmi, *interface.ancestors)
                    for inverse, _ in inverse_targets.get(owner, ())]
        found[dtmi] = tuple(dict.fromkeys([*outgoing, *incoming]))
    return found


@classmethod  # type: ignore[misc]
def _is_type_of(cls: type, obj: Any, info: Any) -> bool:
    """GraphQL's check that a value is of the object type: a plain isinstance (lazy twins subclass it)."""
    return isinstance(obj, cls)


_generation = itertools.count()


def _new_module() -> types.ModuleType:
    """A module to hold one generation's classes, so relationship fields can name their
    target type as a forward reference (an interface may point at itself or at one
    generated after it) and Strawberry resolves it from this module's namespace."""
    module = types.ModuleType(f"{__name__}_generated_{next(_generation)}")
    module.__dict__.update(Twin=Twin, Info=Info, Any=Any)
    sys.modules[module.__name__] = module
    return module


def _parents_first(models: ModelSet) -> list[str]:
    """Interfaces ordered so every interface comes after those it extends."""
    return sorted(models.interfaces, key=lambda dtmi: (len(models.interfaces[dtmi].ancestors), dtmi))


def _is_typed_content(content: Content) -> bool:
    """A Property or Component: a value stored on the twin, answered by its own typed field."""
    return content.kind in ("Property", "Component") and content.name not in _RESERVED_FIELDS and bool(
        GRAPHQL_NAME.match(content.name))


def _make_interface(name: str, interface: Interface, bases: tuple[type, ...], names: Mapping[str, str],
                    module: types.ModuleType, inverse_fields: tuple[tuple[str, str | None], ...],
                    value_types: ValueTypes) -> type:
    own = [content for content in interface.own_contents.values()]
    annotations = {c.name: Optional[value_types.of_content(c, name)] for c in own if _is_typed_content(c)}
    namespace: dict[str, Any] = {"__annotations__": annotations, "__module__": module.__name__}
    namespace.update({name: strawberry.field(default=None, description=_description(interface.own_contents[name]),
                                             metadata={PROPERTY: name})
                      for name in annotations})
    for content in own:
        if content.kind == "Relationship" and content.name not in _RESERVED_FIELDS:
            target_type = names.get(content.target or "", "Twin")
            namespace[content.name] = _relationship_field(content.name, "outgoing", target_type, module,
                                                          _description(content))
    for inverse_name, source_dtmi in inverse_fields:
        source_type = names.get(source_dtmi or "", "Twin")
        namespace[inverse_name] = _relationship_field(_inverse_of(inverse_name), "incoming", source_type, module,
                                                      f"Twins related to this one by {_inverse_of(inverse_name)}.")
    return strawberry.interface(type(name, bases, namespace), name=name,
                                description=_first_text(interface.description) or f"DTDL interface {interface.dtmi}")


def _relationship_field(name: str, direction: str, target_type: str, module: types.ModuleType,
                        description: str | None) -> Any:
    async def resolve(root: Twin, info: Info) -> list[Any]:
        return await info.context.loaders.related(str(root.id), name, direction)

    resolve.__module__ = module.__name__
    resolve.__annotations__["return"] = f"list[{target_type}]"
    return strawberry.field(resolver=resolve, description=description, metadata={RELATIONSHIP: (name, direction)})


def _inverse_fields(models: ModelSet) -> dict[str, tuple[tuple[str, str | None], ...]]:
    """For each target interface, the inverse fields (name, source DTMI) it gets, e.g. fedBy."""
    found: dict[str, list[tuple[str, str | None]]] = {}
    for interface in models.interfaces.values():
        for content in interface.own_contents.values():
            inverse = INVERSE_RELATIONSHIPS.get(content.name)
            if content.kind != "Relationship" or inverse is None:
                continue
            targets = [content.target] if content.target else list(models.interfaces)
            for target in targets:
                declared = {name for name, _ in found.get(target, [])}
                if inverse not in declared and not _declares(models, target, inverse):
                    found.setdefault(target, []).append((inverse, interface.dtmi))
    return {target: tuple(fields) for target, fields in found.items()}


def _declares(models: ModelSet, dtmi: str, name: str) -> bool:
    interface = models.interfaces.get(dtmi)
    return interface is not None and name in interface.contents


def _inverse_of(inverse_name: str) -> str:
    return next(name for name, inverse in INVERSE_RELATIONSHIPS.items() if inverse == inverse_name)


def _description(content: Content) -> str | None:
    text = _first_text(content.description) or _first_text(content.display_name)
    unit = f" [{content.unit}]" if content.unit else ""
    return f"{text}{unit}" if text else None


def _first_text(texts: Mapping[str, str]) -> str | None:
    return texts.get("en") or next(iter(texts.values()), None) if texts else None

