"""Read plans: a query's selection compiled once into what to read and how to build its answer.

Why: graphql-core completes every object and every field of a response in Python (resolver call,
type resolution, leaf serialisation, path bookkeeping); for a list of 100 twins with a related
column that was most of the API's time.  A plan is made once per (schema, document, operation)
and holds, for each root field, one graph-layer read (``graph.projections``: the twins and every
relationship level the selection asks for, in one Cypher query) and, for each concrete twin type
that can occur at each place, the list of (response key, getter) pairs that turn a row into the
response object.  The same operation text therefore always gives the same Cypher.

What compiles (the root fields are api.query_plans'): ``twin``, ``node``, ``twins`` (``where``, the typed ``filter``, orders, cursors), ``downstream`` and
``upstream``, and below them ``__typename``, the Twin fields (``id model etag properties``),
typed DTDL properties (scalars, enums, lists, DTDL Objects and Components) and generated
relationship fields (``feedsTo``, ``fedBy`` ...), through inline fragments and fragment spreads.
Anything else (directives, ``relationships(...)``, other root fields, mutations, subscriptions)
raises :class:`NotCompilable` and runs field by field, as does any request whose answer the plan
cannot build exactly (see ``api.compiled_reads``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode, FragmentDefinitionNode, FragmentSpreadNode, GraphQLField, GraphQLObjectType, GraphQLSchema,
    InlineFragmentNode, SelectionSetNode, get_named_type, is_abstract_type,
    is_leaf_type, is_list_type, is_non_null_type, is_object_type,
)

from api.typegen import PROPERTY, RELATIONSHIP, GeneratedTypes
from dtdl import ModelSet
from graph.keys import ETAG_KEY
from graph.projections import DATA, HOPS, ID, MODEL, Hop, Row, TwinShape
from graph.twins import is_account_model

#: Where Strawberry keeps a graphql-core field's own StrawberryField.
DEFINITION = "strawberry-definition"
GENERIC_TWIN = "GenericTwin"


class NotCompilable(Exception):
    """The selection is answered by field-by-field execution instead."""


class Unanswerable(Exception):
    """This request's data is not what a plan can answer exactly (an account hidden from the caller, a
    value graphql-core would report as an error): the request runs field by field instead."""


class Build:
    """What building one response needs besides the rows: whether accounts are hidden from the caller."""

    __slots__ = ("hide_accounts",)

    def __init__(self, hide_accounts: bool) -> None:
        self.hide_accounts = hide_accounts


#: (row, its decoded properties or None, the build) -> the field's response value.
Getter = Callable[[Row, Any, Build], Any]


@dataclass
class ObjectPlan:
    """One concrete twin type at one place: its response entries."""

    typename: str
    entries: list[tuple[str, Getter]]
    properties: bool  # an entry reads the decoded properties
    data: bool  # an entry needs more of the stored map than id and model
    account: bool  # twins of this type are accounts (hidden from callers without manage_users)
    decode: Callable[[Row], Any]


@dataclass
class TwinPlan:
    """A twin selection: the shape to read and the plan per concrete type that may occur."""

    shape: TwinShape
    by_model: dict[str, ObjectPlan]
    generic: ObjectPlan | None  # a twin whose model has no generated type

    def build(self, row: Row, build: Build) -> dict[str, Any]:
        model = row[MODEL] or ""
        plan = self.by_model.get(model) or self.generic
        if plan is None:
            raise Unanswerable(f"a {model} twin cannot appear here")
        if plan.account and build.hide_accounts:
            raise Unanswerable("an account twin, hidden from this caller")
        properties = plan.decode(row[DATA]) if plan.properties else None
        return {key: get(row, properties, build) for key, get in plan.entries}


@dataclass
class Compiler:
    schema: GraphQLSchema
    types: GeneratedTypes
    models: ModelSet
    decode: Callable[[Row], Any]
    fragments: Mapping[str, FragmentDefinitionNode]
    object_names: dict[str, str] = field(default_factory=dict)
    twin_plans: dict[tuple[str, tuple[int, ...]], TwinPlan] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.object_names = {dtmi: cls.__strawberry_definition__.name for dtmi, cls in self.types.objects.items()}

    # -- selections ------------------------------------------------------------------------------

    def collect(self, object_type: GraphQLObjectType,
                selection_sets: Sequence[SelectionSetNode]) -> dict[str, list[FieldNode]]:
        """The fields selected on ``object_type`` by response key, in order (GraphQL's CollectFields)."""
        found: dict[str, list[FieldNode]] = {}

        def applies(type_name: str) -> bool:
            condition = self.schema.get_type(type_name)
            return condition is object_type or (condition is not None and is_abstract_type(condition) and
                                                self.schema.is_sub_type(condition, object_type))  # type: ignore[arg-type]

        def visit(selection_set: SelectionSetNode) -> None:
            for selection in selection_set.selections:
                if selection.directives:
                    raise NotCompilable("directives")
                if isinstance(selection, FieldNode):
                    key = selection.alias.value if selection.alias else selection.name.value
                    found.setdefault(key, []).append(selection)
                elif isinstance(selection, InlineFragmentNode):
                    if selection.type_condition is None or applies(selection.type_condition.name.value):
                        visit(selection.selection_set)
                elif isinstance(selection, FragmentSpreadNode):
                    fragment = self.fragments[selection.name.value]
                    if applies(fragment.type_condition.name.value):
                        visit(fragment.selection_set)

        for selection_set in selection_sets:
            visit(selection_set)
        return found

    # -- twins -----------------------------------------------------------------------------------

    def twin_plan(self, static_type: Any, selection_sets: Sequence[SelectionSetNode]) -> TwinPlan:
        """The plan of a twin selection whose static type is ``static_type`` (memoised per selection)."""
        named = get_named_type(static_type)
        key = (named.name, tuple(id(s) for s in selection_sets))
        if key in self.twin_plans:
            return self.twin_plans[key]
        possible = self.schema.get_possible_types(named) if is_abstract_type(named) else [named]
        by_name = {candidate.name: candidate for candidate in possible}
        twin_names = {*self.object_names.values(), GENERIC_TWIN}
        if not by_name or not set(by_name) <= twin_names:
            raise NotCompilable(f"{named.name} is not a twin type")
        hops: dict[Hop, int] = {}  # each hop of this twin selection, and its position in a row
        plans = {name: self.object_plan(object_type, selection_sets, hops) for name, object_type in by_name.items()}
        by_model = {dtmi: plans[name] for dtmi, name in self.object_names.items() if name in plans}
        shape = TwinShape(data=any(p.data for p in plans.values()), hops=tuple(hops))
        plan = self.twin_plans[key] = TwinPlan(shape, by_model, plans.get(GENERIC_TWIN))
        return plan

    def object_plan(self, object_type: GraphQLObjectType, selection_sets: Sequence[SelectionSetNode],
                    hops: dict[Hop, int]) -> ObjectPlan:
        entries: list[tuple[str, Getter]] = []
        properties = data = False
        for key, nodes in self.collect(object_type, selection_sets).items():
            name = nodes[0].name.value
            if name == "__typename":
                entries.append((key, constant(object_type.name)))
                continue
            definition = object_type.fields[name]
            if name in ("id", "model"):
                entries.append((key, _position(ID if name == "id" else MODEL)))
            elif name == "etag":
                data = True
                entries.append((key, _etag))
            elif name == "properties":
                properties = True
                entries.append((key, _all_properties))
            else:
                metadata = self._checked(definition, nodes[0], name)
                if PROPERTY in metadata:
                    properties = True
                    entries.append((key, _property(metadata[PROPERTY], self.value(definition.type, nodes))))
                elif RELATIONSHIP in metadata:
                    entries.append((key, self.hop(definition, nodes, metadata[RELATIONSHIP], hops)))
                else:
                    raise NotCompilable(f"{object_type.name}.{name}")
        account = object_type.name != GENERIC_TWIN and any(
            is_account_model(self.models, dtmi) for dtmi, name in self.object_names.items() if name == object_type.name)
        return ObjectPlan(object_type.name, entries, properties, data or properties, account, self.decode)

    def _checked(self, definition: GraphQLField, node: FieldNode, name: str) -> Mapping[str, Any]:
        """A generated field's metadata, refusing fields with arguments or a permission of their own."""
        strawberry_field = (definition.extensions or {}).get(DEFINITION)
        if strawberry_field is None or node.arguments or getattr(strawberry_field, "permission_classes", None):
            raise NotCompilable(name)
        return strawberry_field.metadata or {}

    def hop(self, definition: GraphQLField, nodes: Sequence[FieldNode], relationship: tuple[str, str],
            hops: dict[Hop, int]) -> Getter:
        name, direction = relationship
        target = self.twin_plan(definition.type, selection_sets(nodes))
        position = hops.setdefault(Hop(name, direction, target.shape), HOPS + len(hops))  # type: ignore[arg-type]
        build_twin = target.build

        def related(row: Row, _properties: Any, build: Build) -> list[dict[str, Any]]:
            return [build_twin(other, build) for other in row[position]]

        return related

    # -- values ----------------------------------------------------------------------------------

    def value(self, value_type: Any, nodes: Sequence[FieldNode]) -> Callable[[Any], Any]:
        """How a stored value becomes the response value of ``value_type`` (as graphql-core completes it)."""
        non_null = is_non_null_type(value_type)
        inner_type = value_type.of_type if non_null else value_type
        if is_leaf_type(inner_type):
            convert: Callable[[Any], Any] = inner_type.serialize
        elif is_list_type(inner_type):
            convert = _each(self.value(inner_type.of_type, nodes))
        elif is_object_type(inner_type):
            convert = self.object_value(inner_type, nodes)
        else:
            raise NotCompilable(f"values of {inner_type}")

        def complete(value: Any) -> Any:
            if value is None:
                if non_null:
                    raise Unanswerable("null for a non-null value")
                return None
            return convert(value)

        return complete

    def object_value(self, object_type: GraphQLObjectType, nodes: Sequence[FieldNode]) -> Callable[[Any], Any]:
        """A DTDL Object or Component (a stored mapping) in its object type's selection."""
        fields: list[tuple[str, str | None, Callable[[Any], Any] | None]] = []
        for key, selected in self.collect(object_type, selection_sets(nodes)).items():
            name = selected[0].name.value
            if name == "__typename":
                fields.append((key, None, None))
                continue
            self._checked(object_type.fields[name], selected[0], name)
            fields.append((key, name, self.value(object_type.fields[name].type, selected)))
        typename = object_type.name

        def complete(value: Any) -> dict[str, Any]:
            if not isinstance(value, Mapping):
                raise Unanswerable(f"a {typename} that is not a mapping")
            return {key: typename if name is None else convert(value.get(name))  # type: ignore[misc]
                    for key, name, convert in fields}

        return complete


def selection_sets(nodes: Sequence[FieldNode]) -> list[SelectionSetNode]:
    return [node.selection_set for node in nodes if node.selection_set is not None]


def constant(value: Any) -> Getter:
    return lambda _row, _properties, _build: value


def _position(position: int) -> Getter:
    return lambda row, _properties, _build: row[position]


def _etag(row: Row, _properties: Any, _build: Build) -> Any:
    return row[DATA].get(ETAG_KEY, "")


def _all_properties(_row: Row, properties: Any, _build: Build) -> Any:
    return properties


def _property(name: str, convert: Callable[[Any], Any]) -> Getter:
    return lambda _row, properties, _build: convert(properties.get(name))


def _each(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def each(value: Any) -> list[Any]:
        if not isinstance(value, (list, tuple)):
            raise Unanswerable("a list value that is not a list")
        return [convert(item) for item in value]

    return each


__all__ = ["DEFINITION", "Build", "Compiler", "NotCompilable", "ObjectPlan", "TwinPlan", "Unanswerable", "selection_sets"]
