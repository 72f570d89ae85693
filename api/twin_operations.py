"""Twin operations in GraphQL: reading twins (by id, searched, related), topology traces, and writes.

Reads go through the request's DataLoaders (``api.loaders``), so nested selections cost one
query per level; writes publish ``twinChanged`` events after they commit.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Annotated, Any, Optional

import strawberry
from strawberry.scalars import JSON

from api.auth import Permission
from api.context import GraphQLInfo
from api.errors import ClientError, call, guarded
from api.events import TwinEvent
from api.permissions import requires
from api.types import Direction, Node, Relationship, Twin
from graph import relationships as graph_relationships
from graph import search, topology
from graph import twins as graph_twins
from graph.cypher import label_for, resolve_label
from graph.errors import ModelError
from graph.topology import TraceNode

#: ``source`` in GraphQL; another name in Python because Strawberry's permission extension takes ``source`` itself.
SourceArgument = Annotated[strawberry.ID, strawberry.argument(name="source", description="The source twin's id.")]


@strawberry.enum
class FilterOp(enum.Enum):
    eq = "eq"
    ne = "ne"
    in_ = strawberry.enum_value("in", name="in")  # `in` in the schema, as documented (a Python keyword here)
    lt = "lt"
    lte = "lte"
    gt = "gt"
    gte = "gte"
    contains = "contains"
    startsWith = "startsWith"


@strawberry.input(description="Compare a property (dotted path for object fields, e.g. location.city) with a value.")
class PropertyFilter:
    property: str
    op: FilterOp = FilterOp.eq
    value: JSON


@strawberry.input
class PropertyOrder:
    property: str
    descending: bool = False


@strawberry.type
class TwinEdge:
    cursor: str
    node: Twin


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type(description="A page of twins (Relay connection).")
class TwinConnection:
    edges: list[TwinEdge]
    page_info: PageInfo
    total_count: int


@strawberry.type(description="A twin reached by a traversal, depth hops from the start.")
class TraceStep:
    depth: int
    twin: Twin


@strawberry.type(description="Twins that lose supply if the given elements open.")
class OutageImpact:
    opened: list[strawberry.ID]
    de_energised: list[TraceStep]


@strawberry.type(description="A connected component of the electrical topology.")
class Island:
    key: strawberry.ID
    size: int
    twin_ids: list[strawberry.ID]


async def _steps(info: GraphQLInfo, nodes: list[TraceNode]) -> list[TraceStep]:
    """Traced twins typed from the model the trace already returned; fields load lazily, batched."""
    twins = info.context.loaders.steps(nodes)
    return [TraceStep(depth=node.depth, twin=twin) for node, twin in zip(nodes, twins)]


async def _trace(info: GraphQLInfo, direction: Callable[..., topology.Trace], twin_id: str, max_depth: int,
                 model: str | None) -> list[TraceStep]:
    """A downstream or upstream trace as steps (``direction`` is ``topology.downstream`` or ``upstream``)."""
    trace = await call(direction, info.context.services.neo4j, info.context.active.models, twin_id,
                       max_depth=max_depth, label=model)
    return await _steps(info, trace.nodes)


TWINS_DESCRIPTION = ("Twins that are-a model (DTMI or type name; subtypes included), filtered (`where`, or the typed "
                     "per-model `filter`) and ordered, as a Relay connection: `first` twins after the cursor `after`, "
                     f"or the `last` twins before `before` (not both sizes; {search.DEFAULT_PAGE_SIZE} forward when "
                     "neither is given). Cursors are keyset cursors of this orderBy.")


def twins_search(context: Any, model: str | None = None, where: list[PropertyFilter] | None = None,
                 filter: Any = None, order_by: list[PropertyOrder] | None = None, first: int | None = None,
                 after: str | None = None, last: int | None = None, before: str | None = None) -> search.Search:
    """The graph-layer Search of the ``twins`` arguments as Strawberry gives them to the resolver (the
    compiled read path converts them with Strawberry too and comes here); accounts hidden as the
    caller's loaders say."""
    condition = None
    if filter is not None:
        model, condition = typed_condition(context.active.models, model, filter,
                                           context.active.types.filters.models_by_field)
    return search.Search(
        model=model, filters=[search.Filter(f.property, f.op.value, f.value) for f in where or []],
        typed_filter=condition, order_by=[search.Order(o.property, o.descending) for o in order_by or []],
        first=first, after=after, last=last, before=before, hidden_models=context.loaders.hidden_models)


async def list_twins(info: GraphQLInfo, asked: search.Search) -> TwinConnection:
    """One page of the ``twins`` connection (its typed ``filter`` form in api.schema comes here too)."""
    context = info.context
    page = await guarded(search.search_twins_async(context.services.neo4j_async, context.active.models, asked))
    edges = [TwinEdge(cursor=cursor, node=context.loaders.typed(twin)) for cursor, twin in zip(page.cursors, page.twins)]
    return TwinConnection(edges=edges, total_count=int(page.total_count),  # type: ignore[arg-type] # counted by default
                          page_info=PageInfo(has_next_page=page.has_next, has_previous_page=page.has_previous,
                                             start_cursor=page.start_cursor, end_cursor=page.end_cursor))


@strawberry.type
class TwinQuery:
    @strawberry.field(description="One twin by id, typed by its model; null when absent.",
                     permission_classes=[requires(Permission.read_twins)])
    async def twin(self, info: GraphQLInfo, id: strawberry.ID) -> Twin | None:
        return await info.context.loaders.twin(str(id))

    @strawberry.field(description="Any node by its id (Relay's object identification): today every node is a "
                                  "twin, typed by its model; null when absent.",
                     permission_classes=[requires(Permission.read_twins)])
    async def node(self, info: GraphQLInfo, id: strawberry.ID) -> Node | None:
        return await info.context.loaders.twin(str(id))

    @strawberry.field(description=TWINS_DESCRIPTION, permission_classes=[requires(Permission.read_twins)])
    async def twins(self, info: GraphQLInfo, model: str | None = None, where: list[PropertyFilter] | None = None,
                    order_by: list[PropertyOrder] | None = None, first: int | None = None, after: str | None = None,
                    last: int | None = None, before: str | None = None) -> TwinConnection:
        return await list_twins(info, twins_search(info.context, model, where, None, order_by, first, after, last,
                                                   before))

    @strawberry.field(description="Relationships of a twin; fedBy/manages name the inverse views.",
                     permission_classes=[requires(Permission.read_twins)])
    async def relationships(self, info: GraphQLInfo, twin_id: strawberry.ID, name: str | None = None,
                            direction: Direction = Direction.outgoing) -> list[Relationship]:
        return await info.context.loaders.relationships(str(twin_id), name, direction.value)

    @strawberry.field(description="Twins fed by this one (over feedsTo), nearest first.",
                     permission_classes=[requires(Permission.read_twins)])
    async def downstream(self, info: GraphQLInfo, id: strawberry.ID, max_depth: int = topology.DEFAULT_DEPTH,
                         model: str | None = None) -> list[TraceStep]:
        return await _trace(info, topology.downstream, str(id), max_depth, model)

    @strawberry.field(description="Twins feeding this one (over feedsTo), nearest first.",
                     permission_classes=[requires(Permission.read_twins)])
    async def upstream(self, info: GraphQLInfo, id: strawberry.ID, max_depth: int = topology.DEFAULT_DEPTH,
                       model: str | None = None) -> list[TraceStep]:
        return await _trace(info, topology.upstream, str(id), max_depth, model)

    @strawberry.field(description="Shortest feedsTo path between two twins (either direction); empty when none.",
                     permission_classes=[requires(Permission.read_twins)])
    async def path(self, info: GraphQLInfo, from_: Annotated[strawberry.ID, strawberry.argument(name="from")],
                   to: strawberry.ID, max_depth: int = topology.DEFAULT_DEPTH) -> list[TraceStep]:
        found = await call(topology.shortest_path, info.context.services.neo4j, info.context.active.models,
                           str(from_), str(to), max_depth=max_depth)
        return await _steps(info, found.nodes)

    @strawberry.field(description="The substations that supply a twin.",
                     permission_classes=[requires(Permission.read_twins)])
    async def source_substations(self, info: GraphQLInfo, id: strawberry.ID) -> list[TraceStep]:
        nodes = await call(topology.source_substations, info.context.services.neo4j, info.context.active.models,
                           str(id))
        return await _steps(info, nodes)

    @strawberry.field(description="Connected components (islands) over feedsTo and connectedTo.",
                     permission_classes=[requires(Permission.read_twins)])
    async def islands(self, info: GraphQLInfo, min_size: int = 1) -> list[Island]:
        found = await call(topology.connected_components, info.context.services.neo4j, info.context.active.models,
                           min_size=min_size)
        return [Island(key=c.key, size=len(c.member_ids), twin_ids=c.member_ids) for c in found]

    @strawberry.field(description="Twins de-energised if these breakers or lines open.",
                     permission_classes=[requires(Permission.read_twins)])
    async def outage_impact(self, info: GraphQLInfo, id: list[strawberry.ID]) -> OutageImpact:
        impact = await call(topology.outage_impact, info.context.services.neo4j, info.context.active.models,
                            [str(i) for i in id])
        return OutageImpact(opened=impact.opened, de_energised=await _steps(info, impact.de_energised))


@strawberry.type
class TwinMutation:
    @strawberry.mutation(description="Create a twin; properties are validated against the model.",
                     permission_classes=[requires(Permission.write_twins)])
    async def create_twin(self, info: GraphQLInfo, id: strawberry.ID, model: str, properties: JSON | None = None) -> Twin:
        twin = await call(graph_twins.create_twin, info.context.services.neo4j, info.context.active.models, str(id),
                          model, properties or {})
        info.context.services.events.publish_one(TwinEvent("twinCreated", twin.id, twin.model))
        return info.context.loaders.typed(twin)

    @strawberry.mutation(description="Update a twin with a JSON Patch (RFC 6902); ifMatch refuses stale writes.",
                     permission_classes=[requires(Permission.write_twins)])
    async def update_twin(self, info: GraphQLInfo, id: strawberry.ID, patch: JSON, if_match: str | None = None) -> Twin:
        if not isinstance(patch, list):
            raise ClientError("patch must be a JSON Patch array", "BAD_USER_INPUT",
                              [{"pointer": "/patch", "message": "expected an array of operations"}])
        twin = await call(graph_twins.update_twin, info.context.services.neo4j, info.context.active.models, str(id),
                          patch, if_match=if_match)
        info.context.services.events.publish_one(TwinEvent("twinUpdated", twin.id, twin.model))
        return info.context.loaders.typed(twin)

    @strawberry.mutation(description="Delete a twin; refused while it has relationships unless cascade.",
                     permission_classes=[requires(Permission.write_twins)])
    async def delete_twin(self, info: GraphQLInfo, id: strawberry.ID, cascade: bool = False,
                          if_match: str | None = None) -> bool:
        existing = await info.context.loaders.twin(str(id))
        await call(graph_twins.delete_twin, info.context.services.neo4j, str(id), cascade=cascade, if_match=if_match)
        info.context.services.events.publish_one(TwinEvent("twinDeleted", str(id), existing.model if existing else None))
        return True

    @strawberry.mutation(description="Create a relationship, validated against the source's model.",
                     permission_classes=[requires(Permission.write_twins)])
    async def create_relationship(self, info: GraphQLInfo, source_: SourceArgument, name: str, target: strawberry.ID,
                                  properties: JSON | None = None, id: strawberry.ID | None = None) -> Relationship:
        stored = await call(graph_relationships.create_relationship, info.context.services.neo4j,
                            info.context.active.models, str(source_), name, str(target), properties or {},
                            relationship_id=str(id) if id else None)
        source_twin = await info.context.loaders.twin(stored.source_id)
        info.context.services.events.publish_one(TwinEvent("relationshipCreated", stored.source_id,
                                                       source_twin.model if source_twin else None,
                                                       stored.name, stored.target_id))
        return Relationship(id=stored.id, name=stored.name, source_id=stored.source_id, target_id=stored.target_id,
                            properties=stored.properties)

    @strawberry.mutation(description="Delete a relationship of a source twin by its id.",
                     permission_classes=[requires(Permission.write_twins)])
    async def delete_relationship(self, info: GraphQLInfo, source_: SourceArgument, id: strawberry.ID,
                                  if_match: str | None = None) -> bool:
        await call(graph_relationships.delete_relationship, info.context.services.neo4j, str(source_), str(id),
                   if_match=if_match)
        source_twin = await info.context.loaders.twin(str(source_))
        info.context.services.events.publish_one(TwinEvent("relationshipDeleted", str(source_),
                                                       source_twin.model if source_twin else None, str(id)))
        return True


def _same_model(models: Any, model: str | None, dtmi: str) -> bool:
    if model is None or model == dtmi:
        return True
    try:
        return resolve_label(models, model) == label_for(models, dtmi)
    except ModelError:
        return False


def typed_condition(models: Any, model: str | None, twin_where: Any,
                    models_by_field: dict[str, str]) -> tuple[str, search.Condition]:
    """The model and graph.search condition of a ``filter: TwinWhere`` (one model's XWhere, @oneOf);
    a ``model`` argument naming another model is the client's error."""
    from api.filter_types import filters_of

    [(field_name, typed)] = [(f.python_name, getattr(twin_where, f.python_name))
                             for f in twin_where.__strawberry_definition__.fields
                             if getattr(twin_where, f.python_name) not in (None, strawberry.UNSET)]
    typed_model = models_by_field[field_name]
    if not _same_model(models, model, typed_model):
        raise ClientError(f"filter.{field_name} filters {typed_model}, but model is {model!r}", "BAD_USER_INPUT",
                          [{"pointer": "/filter", "message": "give the model of the filter, or no model"}])
    return model or typed_model, filters_of(typed)


def typed_twins_field(twin_where: type) -> Any:
    """``twins`` with the generation's typed ``filter: TwinWhere`` beside ``where`` (api.filter_types)."""

    async def twins(self: Any, info: GraphQLInfo, model: str | None = None, where: list[PropertyFilter] | None = None,
                    filter: Any = None, order_by: list[PropertyOrder] | None = None, first: int | None = None,
                    after: str | None = None, last: int | None = None, before: str | None = None) -> TwinConnection:
        return await list_twins(info, twins_search(info.context, model, where, filter, order_by, first, after, last,
                                                   before))

    twins.__annotations__ = {**twins.__annotations__, "filter": Optional[twin_where], "return": TwinConnection}
    return strawberry.field(resolver=twins, description=TWINS_DESCRIPTION,
                            permission_classes=[requires(Permission.read_twins)])
