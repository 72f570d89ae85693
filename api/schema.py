"""The GraphQL schema: static queries and mutations plus the types generated from DTDL.

Every field asks for a permission (``api.auth.PERMISSIONS``) before touching
data; every blocking graph call goes through ``api.errors.call`` so domain
errors reach clients as coded errors and everything else is masked.
"""

from __future__ import annotations

import enum
from typing import Annotated, Any
import strawberry
from graphql import GraphQLError
from strawberry.extensions import AddValidationRules, MaskErrors, MaxAliasesLimiter, MaxTokensLimiter, ParserCache, QueryDepthLimiter, \
    ValidationCache
from strawberry.scalars import JSON
from strawberry.types import Info

from api import users
from api.auth import Permission, Role, issue_token
from api.context import allowed
from api.errors import ClientError, call, should_mask
from api.typegen import GeneratedTypes
from api.types import Direction, GenericTwin, Relationship, Twin
from api.cypher_console import CypherResult, run_read_only
from api.events import TwinEvent
from api.telemetry import Subscription, TelemetryMutation, TelemetryQuery
from graph import db as graph_db
from graph import models_store, search, topology
from graph import relationships as graph_relationships
from graph import twins as graph_twins
from graph.topology import TraceNode
from timeseries import client as timeseries_client

MAX_QUERY_DEPTH = 12
MAX_ALIASES = 50
MAX_TOKENS = 5_000
DEFAULT_PAGE_SIZE = 50




@strawberry.type(description="Reachability of the servers behind the API.")
class Health:
    neo4j: bool
    influxdb: bool
    version: str


@strawberry.enum
class FilterOp(enum.Enum):
    eq = "eq"
    ne = "ne"
    in_ = strawberry.enum_value("in")
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


@strawberry.type(description="A stored DTDL interface.")
class ModelInfo:
    id: str
    display_name: str | None
    extends: list[str]
    decommissioned: bool
    uploaded_at: str | None
    label: str
    model: JSON = strawberry.field(description="The interface's DTDL JSON.")


@strawberry.type
class AuthToken:
    token: str
    expires_in: int
    role: str


@strawberry.type(description="A user account (its twin is of the User interface).")
class UserAccount:
    id: strawberry.ID
    username: str
    role: str
    active: bool


@strawberry.type
class Me:
    id: strawberry.ID
    username: str
    role: str


strawberry.enum(Role, name="UserRole")


def _model_info(stored: models_store.StoredModel) -> ModelInfo:
    return ModelInfo(id=stored.dtmi, display_name=stored.display_name, extends=stored.extends,
                     decommissioned=stored.decommissioned,
                     uploaded_at=stored.uploaded_at.isoformat() if stored.uploaded_at else None,
                     label=stored.label, model=stored.document)


async def _steps(info: Info, nodes: list[TraceNode]) -> list[TraceStep]:
    """Traced twins typed from the model the trace already returned; fields load lazily, batched."""
    twins = info.context.loaders.steps(nodes)
    return [TraceStep(depth=node.depth, twin=twin) for node, twin in zip(nodes, twins)]


@strawberry.type
class Query(TelemetryQuery):
    @strawberry.field(description="Whether Neo4j and InfluxDB answer, and the API version.")
    async def health(self, info: Info) -> Health:
        services = info.context.services
        return Health(
            neo4j=await call(graph_db.ping, services.neo4j),
            influxdb=await timeseries_client.is_reachable(services.influxdb_http),
            version=services.settings.version,
        )

    @strawberry.field(description="The caller, from the bearer token.")
    def me(self, info: Info) -> Me | None:
        principal = info.context.principal
        return Me(id=principal.user_id, username=principal.username, role=principal.role.name) if principal else None

    @strawberry.field(description="One twin by id, typed by its model; null when absent.")
    async def twin(self, info: Info, id: strawberry.ID) -> Twin | None:
        allowed(info, Permission.read_twins)
        return await info.context.loaders.twin(str(id))

    @strawberry.field(description="Twins that are-a model (DTMI or type name; subtypes included), filtered and "
                                  "ordered, as a Relay connection.")
    async def twins(self, info: Info, model: str | None = None, where: list[PropertyFilter] | None = None,
                    order_by: list[PropertyOrder] | None = None, first: int = DEFAULT_PAGE_SIZE,
                    after: str | None = None) -> TwinConnection:
        allowed(info, Permission.read_twins)
        context = info.context
        page = await call(
            search.search_twins, context.services.neo4j, context.active.models, model=model,
            filters=[search.Filter(f.property, f.op.value, f.value) for f in where or []],
            order_by=[search.Order(o.property, o.descending) for o in order_by or []], first=first, after=after)
        edges = [TwinEdge(cursor=search.encode_cursor(page.offset + index), node=context.loaders.typed(twin))
                 for index, twin in enumerate(page.twins)]
        return TwinConnection(edges=edges, total_count=page.total_count,
                              page_info=PageInfo(has_next_page=page.has_next, end_cursor=page.end_cursor))

    @strawberry.field(description="Relationships of a twin; fedBy/manages name the inverse views.")
    async def relationships(self, info: Info, twin_id: strawberry.ID, name: str | None = None,
                            direction: Direction = Direction.OUTGOING) -> list[Relationship]:
        allowed(info, Permission.read_twins)
        return await info.context.loaders.relationships(str(twin_id), name, direction.value)

    @strawberry.field(description="Twins fed by this one (over feedsTo), nearest first.")
    async def downstream(self, info: Info, id: strawberry.ID, max_depth: int = topology.DEFAULT_DEPTH,
                         model: str | None = None) -> list[TraceStep]:
        allowed(info, Permission.read_twins)
        trace = await call(topology.downstream, info.context.services.neo4j, info.context.active.models, str(id),
                           max_depth=max_depth, label=model)
        return await _steps(info, trace.nodes)

    @strawberry.field(description="Twins feeding this one (over feedsTo), nearest first.")
    async def upstream(self, info: Info, id: strawberry.ID, max_depth: int = topology.DEFAULT_DEPTH,
                       model: str | None = None) -> list[TraceStep]:
        allowed(info, Permission.read_twins)
        trace = await call(topology.upstream, info.context.services.neo4j, info.context.active.models, str(id),
                           max_depth=max_depth, label=model)
        return await _steps(info, trace.nodes)

    @strawberry.field(description="Shortest feedsTo path between two twins (either direction); empty when none.")
    async def path(self, info: Info, from_: Annotated[strawberry.ID, strawberry.argument(name="from")],
                   to: strawberry.ID, max_depth: int = topology.DEFAULT_DEPTH) -> list[TraceStep]:
        allowed(info, Permission.read_twins)
        found = await call(topology.shortest_path, info.context.services.neo4j, info.context.active.models,
                           str(from_), str(to), max_depth=max_depth)
        return await _steps(info, found.nodes)

    @strawberry.field(description="The substations that supply a twin.")
    async def source_substations(self, info: Info, id: strawberry.ID) -> list[TraceStep]:
        allowed(info, Permission.read_twins)
        nodes = await call(topology.source_substations, info.context.services.neo4j, info.context.active.models,
                           str(id))
        return await _steps(info, nodes)

    @strawberry.field(description="Connected components (islands) over feedsTo and connectedTo.")
    async def islands(self, info: Info, min_size: int = 1) -> list[Island]:
        allowed(info, Permission.read_twins)
        found = await call(topology.connected_components, info.context.services.neo4j, info.context.active.models,
                           min_size=min_size)
        return [Island(key=c.key, size=len(c.member_ids), twin_ids=c.member_ids) for c in found]

    @strawberry.field(description="Twins de-energised if these breakers or lines open.")
    async def outage_impact(self, info: Info, id: list[strawberry.ID]) -> OutageImpact:
        allowed(info, Permission.read_twins)
        impact = await call(topology.outage_impact, info.context.services.neo4j, info.context.active.models,
                            [str(i) for i in id])
        return OutageImpact(opened=impact.opened, de_energised=await _steps(info, impact.de_energised))

    @strawberry.field(description="Stored DTDL models.")
    async def models(self, info: Info, include_decommissioned: bool = True) -> list[ModelInfo]:
        allowed(info, Permission.read_models)
        stored = await call(models_store.list_models, info.context.services.neo4j,
                            include_decommissioned=include_decommissioned)
        return [_model_info(item) for item in stored]

    @strawberry.field(description="One stored DTDL model by DTMI.")
    async def model(self, info: Info, id: str) -> ModelInfo:
        allowed(info, Permission.read_models)
        return _model_info(await call(models_store.get_model, info.context.services.neo4j, id))

    @strawberry.field(description="Read-only Cypher for analysts (read access mode, timeout, row cap).")
    async def cypher(self, info: Info, query: str, params: JSON | None = None) -> CypherResult:
        allowed(info, Permission.run_cypher)
        return await call(run_read_only, info.context.services.neo4j, query, params or {})


@strawberry.type
class Mutation(TelemetryMutation):
    @strawberry.mutation(description="Exchange a username and password for a bearer token.")
    async def login(self, info: Info, username: str, password: str) -> AuthToken:
        services = info.context.services
        principal = await call(users.authenticate, services.neo4j, info.context.active.models, username, password)
        ttl = services.settings.jwt_ttl_seconds
        return AuthToken(token=issue_token(principal, services.jwt_secret, ttl), expires_in=ttl,
                         role=principal.role.name)

    @strawberry.mutation(description="Upload DTDL models, validated together with the stored ones; all or nothing. "
                                     "Models already stored verbatim are accepted unchanged.")
    async def upload_models(self, info: Info, models: list[JSON]) -> list[ModelInfo]:
        allowed(info, Permission.manage_models)
        services = info.context.services
        new_ids = await call(models_store.upload_models, services.neo4j, list(models))
        if new_ids:
            await _reload_models(info)
        stored = await call(models_store.list_models, services.neo4j)
        uploaded = {item.get("@id") for document in models
                    for item in (document if isinstance(document, list) else [document]) if isinstance(item, dict)}
        return [_model_info(model) for model in stored if model.dtmi in uploaded]

    @strawberry.mutation(description="Mark a model decommissioned: no new twins of it.")
    async def decommission_model(self, info: Info, id: str) -> ModelInfo:
        allowed(info, Permission.manage_models)
        stored = await call(models_store.decommission_model, info.context.services.neo4j, id)
        return _model_info(stored)

    @strawberry.mutation(description="Delete a model no twin uses and no model extends.")
    async def delete_model(self, info: Info, id: str) -> bool:
        allowed(info, Permission.manage_models)
        await call(models_store.delete_model, info.context.services.neo4j, id)
        await _reload_models(info)
        return True

    @strawberry.mutation(description="Create a twin; properties are validated against the model.")
    async def create_twin(self, info: Info, id: strawberry.ID, model: str, properties: JSON | None = None) -> Twin:
        allowed(info, Permission.write_twins)
        twin = await call(graph_twins.create_twin, info.context.services.neo4j, info.context.active.models, str(id),
                          model, properties or {})
        info.context.services.events.publish(TwinEvent("twinCreated", twin.id, twin.model))
        return info.context.loaders.typed(twin)

    @strawberry.mutation(description="Update a twin with a JSON Patch (RFC 6902); ifMatch refuses stale writes.")
    async def update_twin(self, info: Info, id: strawberry.ID, patch: JSON, if_match: str | None = None) -> Twin:
        allowed(info, Permission.write_twins)
        if not isinstance(patch, list):
            raise ClientError("patch must be a JSON Patch array", "BAD_USER_INPUT",
                              [{"pointer": "/patch", "message": "expected an array of operations"}])
        twin = await call(graph_twins.update_twin, info.context.services.neo4j, info.context.active.models, str(id),
                          patch, if_match=if_match)
        info.context.services.events.publish(TwinEvent("twinUpdated", twin.id, twin.model))
        return info.context.loaders.typed(twin)

    @strawberry.mutation(description="Delete a twin; refused while it has relationships unless cascade.")
    async def delete_twin(self, info: Info, id: strawberry.ID, cascade: bool = False,
                          if_match: str | None = None) -> bool:
        allowed(info, Permission.write_twins)
        existing = await info.context.loaders.twin(str(id))
        await call(graph_twins.delete_twin, info.context.services.neo4j, str(id), cascade=cascade, if_match=if_match)
        info.context.services.events.publish(TwinEvent("twinDeleted", str(id), existing.model if existing else None))
        return True

    @strawberry.mutation(description="Create a relationship, validated against the source's model.")
    async def create_relationship(self, info: Info, source: strawberry.ID, name: str, target: strawberry.ID,
                                  properties: JSON | None = None, id: strawberry.ID | None = None) -> Relationship:
        allowed(info, Permission.write_twins)
        stored = await call(graph_relationships.create_relationship, info.context.services.neo4j,
                            info.context.active.models, str(source), name, str(target), properties or {},
                            relationship_id=str(id) if id else None)
        source_twin = await info.context.loaders.twin(stored.source_id)
        info.context.services.events.publish(TwinEvent("relationshipCreated", stored.source_id,
                                                       source_twin.model if source_twin else None,
                                                       stored.name, stored.target_id))
        return Relationship(id=stored.id, name=stored.name, source_id=stored.source_id, target_id=stored.target_id,
                            properties=stored.properties)

    @strawberry.mutation(description="Delete a relationship of a source twin by its id.")
    async def delete_relationship(self, info: Info, source: strawberry.ID, id: strawberry.ID,
                                  if_match: str | None = None) -> bool:
        allowed(info, Permission.write_twins)
        await call(graph_relationships.delete_relationship, info.context.services.neo4j, str(source), str(id),
                   if_match=if_match)
        source_twin = await info.context.loaders.twin(str(source))
        info.context.services.events.publish(TwinEvent("relationshipDeleted", str(source),
                                                       source_twin.model if source_twin else None, str(id)))
        return True

    @strawberry.mutation(description="Create a user (a User twin with a hashed password).")
    async def create_user(self, info: Info, username: str, password: str, role: Role,
                          email: str | None = None, display_name: str | None = None) -> UserAccount:
        allowed(info, Permission.manage_users)
        extra = {key: value for key, value in {"email": email, "displayName": display_name}.items() if value}
        record = await call(users.create_user, info.context.services.neo4j, info.context.active.models, username,
                            password, role, extra)
        return UserAccount(id=record.id, username=record.username, role=record.role.name, active=record.active)

    @strawberry.mutation(description="Change a user's role.")
    async def set_user_role(self, info: Info, username: str, role: Role) -> UserAccount:
        allowed(info, Permission.manage_users)
        record = await call(users.set_role, info.context.services.neo4j, info.context.active.models, username,
                            role)
        return UserAccount(id=record.id, username=record.username, role=record.role.name, active=record.active)


async def _reload_models(info: Info) -> None:
    services = info.context.services
    models = await call(models_store.load_model_set, services.neo4j)
    services.registry.install(models)


def _validation_rules() -> tuple[Any, ...]:
    """The depth and alias limit rules, built once: the validation cache is keyed by the rule
    classes, and a limiter built per request would make every request a cache miss."""
    depth = QueryDepthLimiter(max_depth=MAX_QUERY_DEPTH)
    aliases = MaxAliasesLimiter(max_alias_count=MAX_ALIASES)
    return (*depth.validation_rules, *aliases.validation_rules)


_LIMIT_RULES = _validation_rules()


class LimitRules(AddValidationRules):
    """Query depth and alias limits with rule classes shared by all requests."""

    def __init__(self) -> None:
        super().__init__(list(_LIMIT_RULES))


class GridTwinSchema(strawberry.Schema):
    """Logs only unexpected errors; client errors are the client's business, not the log's."""

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        unexpected = [error for error in errors if should_mask(error)]
        if unexpected:
            super().process_errors(unexpected, execution_context)


def build_schema(types: GeneratedTypes) -> strawberry.Schema:
    """The whole schema for one generated type set, with the protection extensions."""
    return GridTwinSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[*types.interfaces.values(), *types.objects.values(), GenericTwin],
        extensions=[
            LimitRules,
            lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
            lambda: ParserCache(maxsize=512),
            lambda: ValidationCache(maxsize=512),
            lambda: MaskErrors(should_mask_error=should_mask),
        ],
    )
