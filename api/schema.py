"""The GraphQL schema: the operations of each room plus the types generated from DTDL.

Every operation declares its permission as a permission class on its field
(``api.permissions``); every blocking graph call goes through ``api.errors.call`` so
domain errors reach clients as coded errors and everything else is masked. The rooms:
``api.users`` (accounts), ``api.twin_operations``, ``api.model_operations``,
``api.telemetry``, ``api.simulation_operations``; this module composes them with the protection extensions.
"""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import AddValidationRules, MaskErrors, MaxAliasesLimiter, MaxTokensLimiter, ParserCache, \
    QueryDepthLimiter
from strawberry.scalars import JSON

from api.adt_queries import AdtQuery
from api.aggregates import AggregateQuery, typed_aggregate_field
from api.auth import Permission
from api.context import GraphQLInfo
from api.commands import CommandMutation
from api.compiled_reads import CompiledReads
from api.cypher_console import CypherResult, run_read_only
from api.errors import call, should_mask
from api.event_route_operations import EventRouteMutation, EventRouteQuery
from api.grid_operations import GridMutation, GridQuery
from api.metrics import OperationMetrics
from api.model_operations import ModelMutation, ModelQuery
from api.permissions import requires
from api.reports import ReportMutation
from api.protection import GridTwinExecutionContext, protection_extensions
from api.ml_operations import MlMutation, MlQuery
from api.prediction_operations import PredictionMutation, PredictionQuery, PredictionSubscription
from api.simulation_operations import SimulationMutation, SimulationQuery, SimulationSubscription
from api.telemetry import TelemetryMutation, TelemetryQuery, TelemetrySubscription
from api.twin_operations import TwinMutation, TwinQuery, typed_twins_field
from api.typegen import GeneratedTypes
from api.types import GenericTwin
from api.users import AccountMutation, AccountQuery
from graph import db as graph_db
from timeseries import client as timeseries_client

MAX_QUERY_DEPTH = 12
MAX_ALIASES = 50
MAX_TOKENS = 5_000


@strawberry.type(description="Reachability of the servers behind the API.")
class Health:
    neo4j: bool
    influxdb: bool
    version: str


@strawberry.type
class Query(AccountQuery, TwinQuery, AggregateQuery, AdtQuery, ModelQuery, GridQuery, TelemetryQuery, SimulationQuery, MlQuery,
            PredictionQuery, EventRouteQuery):
    @strawberry.field(description="Whether Neo4j and InfluxDB answer, and the API version.")
    async def health(self, info: GraphQLInfo) -> Health:
        services = info.context.services
        return Health(
            neo4j=await call(graph_db.ping, services.neo4j),
            influxdb=await timeseries_client.is_reachable(services.influxdb_http),
            version=services.settings.version,
        )

    @strawberry.field(description="Read-only Cypher for analysts (read access mode, timeout, row cap).",
                     permission_classes=[requires(Permission.run_cypher)])
    async def cypher(self, info: GraphQLInfo, query: str, params: JSON | None = None) -> CypherResult:
        return await call(run_read_only, info.context.services.neo4j, query, params or {})


@strawberry.type
class Mutation(AccountMutation, TwinMutation, ModelMutation, GridMutation, TelemetryMutation, SimulationMutation,
               MlMutation, PredictionMutation, CommandMutation, ReportMutation, EventRouteMutation):
    pass


@strawberry.type
class Subscription(TelemetrySubscription, SimulationSubscription, PredictionSubscription):
    pass


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


def _query_of(types: GeneratedTypes) -> type:
    """Query, with ``twins`` and ``twinsAggregate`` taking the generation's typed per-model ``filter`` when the
    models have one."""
    twin_where = types.filters.twin_where
    if twin_where is None:
        return Query
    typed = {"twins": typed_twins_field(twin_where), "twins_aggregate": typed_aggregate_field(twin_where)}
    return strawberry.type(type("Query", (Query,), typed), name="Query")


def build_schema(types: GeneratedTypes) -> strawberry.Schema:
    """The whole schema for one generated type set, with the protection extensions."""
    return GridTwinSchema(
        query=_query_of(types),
        mutation=Mutation,
        subscription=Subscription,
        types=[*types.interfaces.values(), *types.objects.values(), *(made for made, _ in types.aggregates.values()),
               GenericTwin],
        extensions=[
            OperationMetrics,  # first: its time covers the other extensions' work
            LimitRules,
            lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
            lambda: ParserCache(maxsize=512),
            *protection_extensions(),  # validates (cached per caller kind) in place of ValidationCache
            lambda: MaskErrors(should_mask_error=should_mask),
            CompiledReads,  # last: every check above has run when it answers a query from its plan
        ],
        execution_context_class=GridTwinExecutionContext,
    )
