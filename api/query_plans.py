"""Query plans: the root fields of a query operation, compiled (see api.read_plans for the twins below them).

A root field is ``twin``/``node`` (one twin by id), ``twins`` (a connection: its edges, cursors, page
info and total), ``downstream``/``upstream`` (trace steps) or ``__typename``; each keeps its field
node and definition (the arguments are read per request, with that request's variables), the
permission classes its field declares, and the entries that build its own objects around the twins.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode, FragmentDefinitionNode, GraphQLField, GraphQLObjectType, GraphQLSchema, OperationDefinitionNode,
    OperationType, get_named_type, is_object_type,
)

from api.permissions import Authenticated
from api.read_plans import DEFINITION, Compiler, NotCompilable, TwinPlan, selection_sets
from api.typegen import GeneratedTypes
from dtdl import ModelSet
from graph.projections import Row


@dataclass(frozen=True)
class RootField:
    """One root field: its kind (``twin``, ``twins``, ``trace``, ``typename``), where it sits, and plans."""

    key: str
    kind: str
    node: FieldNode | None = None
    definition: GraphQLField | None = None
    permissions: tuple[type[Authenticated], ...] = ()  # the field's own permission classes
    twin: TwinPlan | None = None
    entries: Sequence[tuple[str, Callable[..., Any]]] = ()  # a connection's or a step's own entries
    downstream: bool = True
    counted: bool = False  # a connection's totalCount is selected


@dataclass(frozen=True)
class Plan:
    """Every root field of one query operation."""

    operation: OperationDefinitionNode
    fields: tuple[RootField, ...]


_TRACES = {"downstream": True, "upstream": False}
_PAGE_INFO = {"hasNextPage": "has_next", "hasPreviousPage": "has_previous", "startCursor": "start_cursor",
              "endCursor": "end_cursor"}


def compile_plan(schema: GraphQLSchema, types: GeneratedTypes, models: ModelSet, decode: Callable[[Row], Any],
                 operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]) -> Plan:
    """The plan of a query operation, or NotCompilable."""
    if operation.operation is not OperationType.QUERY:
        raise NotCompilable("not a query")
    compiler = Compiler(schema, types, models, decode, fragments)
    query_type = schema.query_type
    assert query_type is not None
    roots = []
    for key, nodes in compiler.collect(query_type, [operation.selection_set]).items():
        name = nodes[0].name.value
        if name == "__typename":
            roots.append(RootField(key, "typename"))
            continue
        if len(nodes) > 1 or name not in query_type.fields:  # twice, or introspection (__schema, __type)
            raise NotCompilable(f"Query.{name}")
        roots.append(_root_field(compiler, key, nodes[0], query_type.fields[name]))
    return Plan(operation, tuple(roots))


def _root_field(compiler: Compiler, key: str, node: FieldNode, definition: GraphQLField) -> RootField:
    name = node.name.value
    strawberry_field = (definition.extensions or {}).get(DEFINITION)
    classes = tuple(getattr(strawberry_field, "permission_classes", None) or ())
    if strawberry_field is None or not all(issubclass(c, Authenticated) for c in classes):
        raise NotCompilable(f"Query.{name}: a permission the plan cannot ask")
    common = {"key": key, "node": node, "definition": definition, "permissions": classes}
    if name in ("twin", "node"):
        return RootField(kind="twin", twin=compiler.twin_plan(definition.type, selection_sets([node])), **common)
    if name == "twins":
        twin, entries, counted = _connection(compiler, definition.type, node)
        return RootField(kind="twins", twin=twin, entries=entries, counted=counted, **common)
    if name in _TRACES:
        twin, entries = _steps(compiler, definition.type, node)
        return RootField(kind="trace", twin=twin, entries=entries, downstream=_TRACES[name], **common)
    raise NotCompilable(f"Query.{name}")


def _object_of(static_type: Any) -> GraphQLObjectType:
    named = get_named_type(static_type)
    if not is_object_type(named):
        raise NotCompilable(str(named))
    return named  # type: ignore[no-any-return]


def _connection(compiler: Compiler, static_type: Any, node: FieldNode) -> tuple[TwinPlan | None, list[Any], bool]:
    """A ``TwinConnection`` selection: entries over (page, the built nodes), and whether it counts."""
    connection = _object_of(static_type)
    twin: TwinPlan | None = None
    counted = False
    entries: list[tuple[str, Callable[..., Any]]] = []
    for key, nodes in compiler.collect(connection, selection_sets([node])).items():
        name = nodes[0].name.value
        if name == "__typename":
            entries.append((key, _constant_of_page(connection.name)))
        elif name == "totalCount":
            counted = True
            entries.append((key, lambda page, _twins: page.total_count))
        elif name == "pageInfo":
            entries.append((key, _page_info(compiler, connection.fields[name].type, nodes)))
        elif name == "edges":
            edge_type = _object_of(connection.fields[name].type)
            edge_entries: list[tuple[str, str, Any]] = []
            for edge_key, edge_nodes in compiler.collect(edge_type, selection_sets(nodes)).items():
                edge_field = edge_nodes[0].name.value
                if edge_field == "node":
                    if twin is not None:
                        raise NotCompilable("edges.node selected twice")
                    twin = compiler.twin_plan(edge_type.fields["node"].type, selection_sets(edge_nodes))
                elif edge_field not in ("cursor", "__typename"):
                    raise NotCompilable(f"{edge_type.name}.{edge_field}")
                edge_entries.append((edge_key, edge_field, edge_type.name))
            entries.append((key, _edges(edge_entries)))
        else:
            raise NotCompilable(f"{connection.name}.{name}")
    return twin, entries, counted


def _constant_of_page(value: str) -> Callable[..., str]:
    return lambda _page, _twins: value


def _page_info(compiler: Compiler, static_type: Any, nodes: Sequence[FieldNode]) -> Callable[..., dict[str, Any]]:
    info_type = _object_of(static_type)
    fields = []
    for key, selected in compiler.collect(info_type, selection_sets(nodes)).items():
        name = selected[0].name.value
        if name != "__typename" and name not in _PAGE_INFO:
            raise NotCompilable(f"{info_type.name}.{name}")
        fields.append((key, _PAGE_INFO.get(name)))
    return lambda page, _twins: {key: info_type.name if attribute is None else getattr(page, attribute)
                                 for key, attribute in fields}


def _edges(entries: list[tuple[str, str, Any]]) -> Callable[..., list[dict[str, Any]]]:
    def edges(page: Any, twins: list[dict[str, Any]]) -> list[dict[str, Any]]:
        cursor = page.cursor
        return [{key: (twins[i] if field_name == "node" else typename if field_name == "__typename"
                       else cursor(i)) for key, field_name, typename in entries}
                for i in range(len(page.sort_values))]

    return edges


def _steps(compiler: Compiler, static_type: Any, node: FieldNode) -> tuple[TwinPlan | None, list[Any]]:
    """A ``[TraceStep]`` selection: entries over (depth, the built twin)."""
    step = _object_of(static_type)
    twin: TwinPlan | None = None
    entries: list[tuple[str, Callable[..., Any]]] = []
    for key, nodes in compiler.collect(step, selection_sets([node])).items():
        name = nodes[0].name.value
        if name == "__typename":
            entries.append((key, lambda _depth, _twin, typename=step.name: typename))
        elif name == "depth":
            entries.append((key, lambda depth, _twin: depth))
        elif name == "twin" and twin is None:
            twin = compiler.twin_plan(step.fields["twin"].type, selection_sets(nodes))
            entries.append((key, lambda _depth, built: built))
        else:
            raise NotCompilable(f"{step.name}.{name}")
    return twin, entries


__all__ = ["Plan", "RootField", "compile_plan"]
