"""The compiled read path: query operations answered from read plans instead of field by field.

A Strawberry extension (the last of the schema's, so parsing, the token, validation, depth, alias
and token limits have all run) looks the operation up in a bounded cache of plans
(``api.query_plans`` and ``api.read_plans``; the same operation text always gives the same plan and the same Cypher),
asks each root field's own permission classes (``Authenticated.refusal``, the decision
``has_permission`` makes), sends one graph read per root field on the async driver and sets
the response's ``data``.  Strawberry then runs everything after execution as for any operation
(error masking, metrics, the JSON encoding).

A request the plan cannot answer exactly is answered field by field, so nothing a client sees
depends on which path ran: the selection did not compile (``NotCompilable``, remembered), or this
request fails somewhere (a missing permission, a bad argument, an absent trace start, an account
the caller may not see, a value graphql-core would report as an error, a Neo4j error: any
exception).  Reads are idempotent, so trying twice costs only time, and only on error paths.
``gridtwin_compiled_reads`` counts the three outcomes.

**Prepared operations.**  A request text answered from its plan once has passed everything before
execution (parsing within the token limit, validation for its caller kind with the depth and alias
limits, the one-operation rule), and all of that depends only on the text, the operation name, the
schema and whether the caller is anonymous.  :data:`PREPARED` remembers such texts (bounded, texts
up to :data:`PREPARED_TEXT_LIMIT` characters), and the HTTP view (``api.app``) answers the next
request with the same key from the plan straight away, without Strawberry's execution and its
extensions: the permission classes, variables and error fallback are those of :func:`answer`, and
``api.metrics.record_operation`` counts it as the operation extension would.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from graphql import (
    DocumentNode, ExecutionResult as GraphQLExecutionResult, FieldNode, FragmentDefinitionNode, OperationDefinitionNode,
    get_argument_values,
)
from graphql.execution.values import get_variable_values
from graphql.utilities import get_operation_ast
from prometheus_client import Counter
from strawberry.extensions import SchemaExtension
from strawberry.types.arguments import convert_arguments

from api.context import RequestContext
from api.metrics import REGISTRY, observe_awaited, record_operation
from api.protection import is_anonymous
from api.query_plans import Plan, RootField, compile_plan
from api.read_plans import DEFINITION, Build, NotCompilable, Unanswerable
from api.registry import ActiveModels
from api.twin_operations import twins_search
from graph import search
from graph.projections import TwinShape, search_rows_read, trace_rows_read
from graph.reads import Read, send_async
from graph.records import decoded_properties

COMPILED_READS = Counter("gridtwin_compiled_reads", "Query operations by how they were answered: compiled (from "
                         "a read plan), prepared (from the plan of a text that reached execution before, without "
                         "Strawberry's execution), fallback (the plan could not answer this request exactly) or "
                         "field_by_field (the selection does not compile).", ["outcome"], registry=REGISTRY)
PLAN_CACHE_SIZE = 512
PREPARED_TEXT_LIMIT = 16_384
T = TypeVar("T")
_NO_SHAPE = TwinShape(data=False)


class PlanCache:
    """Plans per (model generation, parsed document, operation name); None for selections that do not
    compile.  Documents come from Strawberry's parser cache, so one text is one document object."""

    def __init__(self, size: int = PLAN_CACHE_SIZE) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._plans: dict[tuple[int, int, str | None], tuple[ActiveModels, DocumentNode, Plan | None]] = {}

    def get(self, active: ActiveModels, document: DocumentNode, operation_name: str | None) -> Plan | None:
        key = (id(active), id(document), operation_name)
        hit = self._plans.get(key)
        if hit is not None and hit[0] is active and hit[1] is document:
            return hit[2]
        plan = _compiled(active, document, operation_name)
        with self._lock:
            if len(self._plans) >= self._size:
                self._plans.clear()
            self._plans[key] = (active, document, plan)
        return plan


def _compiled(active: ActiveModels, document: DocumentNode, operation_name: str | None) -> Plan | None:
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return None
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    try:
        return compile_plan(active.schema._schema, active.types, active.models,
                            partial(decoded_properties, active.models), operation, fragments)
    except NotCompilable:
        return None


PLANS = PlanCache()


@dataclass(frozen=True)
class Prepared:
    """A request text known to reach execution, and its plan (see the module docstring)."""

    active: ActiveModels
    plan: Plan
    root_field: str  # the operation's first root field, for /metrics


class PreparedOperations:
    """Prepared operations per (model generation, text, operation name as sent, caller anonymous)."""

    def __init__(self, size: int = PLAN_CACHE_SIZE) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._known: dict[tuple[int, str, str | None, bool], Prepared] = {}

    def remember(self, active: ActiveModels, query: str, document: DocumentNode, operation_name: str | None,
                 anonymous: bool, plan: Plan) -> None:
        """Keep ``query`` for requests naming ``operation_name``, or naming none when it is the only operation."""
        if len(query) > PREPARED_TEXT_LIMIT:
            return
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        names = {operation_name, None} if len(operations) == 1 else {operation_name}
        first = plan.operation.selection_set.selections[0]
        prepared = Prepared(active, plan, first.name.value if isinstance(first, FieldNode) else "-")
        with self._lock:
            if len(self._known) + len(names) > self._size:
                self._known.clear()
            for name in names:
                self._known[(id(active), query, name, anonymous)] = prepared

    def get(self, active: ActiveModels, query: str | None, operation_name: str | None,
            anonymous: bool) -> Prepared | None:
        if query is None or len(query) > PREPARED_TEXT_LIMIT:
            return None
        prepared = self._known.get((id(active), query, operation_name, anonymous))
        return prepared if prepared is not None and prepared.active is active else None


PREPARED = PreparedOperations()


class CompiledReads(SchemaExtension):
    """Answers compilable query operations from their plans (see the module docstring)."""

    async def on_execute(self) -> AsyncIterator[None]:  # type: ignore[override]
        execution = self.execution_context
        context = execution.context
        if (not execution.result and not execution.pre_execution_errors and isinstance(context, RequestContext)
                and context.services.settings.compiled_reads and not context.plan_refused
                and execution.graphql_document is not None
                and context.active.schema is execution.schema):
            plan = PLANS.get(context.active, execution.graphql_document, execution.operation_name)
            if plan is None:
                COMPILED_READS.labels("field_by_field").inc()
            else:
                data = await answer(plan, context, execution.variables or {})
                if data is not None:
                    execution.result = GraphQLExecutionResult(data=data, errors=None)
                    if execution.query is not None:
                        PREPARED.remember(context.active, execution.query, execution.graphql_document,
                                          execution.operation_name, is_anonymous(context), plan)
        yield


async def answer_prepared(prepared: Prepared, context: RequestContext, variables: dict[str, Any]) -> dict[str, Any] | None:
    """``answer`` for a prepared operation, counted in /metrics as the operation extension counts it; None to
    have the request run the whole way (which then counts it)."""
    started = time.perf_counter()
    data = await answer(prepared.plan, context, variables, answered="prepared")
    if data is None:
        context.plan_refused = True  # counted as a fallback once; the whole way runs field by field
    else:
        record_operation("query", prepared.root_field, "OK", time.perf_counter() - started)
    return data


async def answer(plan: Plan, context: RequestContext, variables: dict[str, Any],
                 answered: str = "compiled") -> dict[str, Any] | None:
    """The response data of ``plan`` for this request, or None to have it executed field by field; counted
    as ``answered`` (``compiled``, or ``prepared`` before Strawberry's execution) or ``fallback``."""
    try:
        data = await _answer(plan, context, variables)
    except Exception:  # noqa: BLE001 - every failure is reported by the field-by-field path, exactly
        COMPILED_READS.labels("fallback").inc()
        return None
    COMPILED_READS.labels(answered).inc()
    return data


async def _answer(plan: Plan, context: RequestContext, variables: dict[str, Any]) -> dict[str, Any]:
    definitions = plan.operation.variable_definitions
    coerced = get_variable_values(context.active.schema._schema, definitions, variables) if definitions else {}
    if isinstance(coerced, list):
        raise Unanswerable("variables do not coerce")
    for root in plan.fields:
        _check_permission(root, context)
    build = Build(context.loaders.hide_accounts)
    if len(plan.fields) == 1:  # no task for the usual one root field
        root = plan.fields[0]
        return {root.key: await _root_value(root, context, coerced, build)}
    values = await asyncio.gather(*(_root_value(root, context, coerced, build) for root in plan.fields))
    return {root.key: value for root, value in zip(plan.fields, values)}


def _check_permission(root: RootField, context: RequestContext) -> None:
    """The field's own permission classes decide (a refusal is reported by the field-by-field path)."""
    if any(permission.refusal(context.principal) is not None for permission in root.permissions):
        raise Unanswerable("the caller may not read this field")


async def _root_value(root: RootField, context: RequestContext, variables: Any, build: Build) -> Any:
    if root.kind == "typename":
        return "Query"
    assert root.definition is not None and root.node is not None
    arguments = get_argument_values(root.definition, root.node, variables)
    models, driver = context.active.models, context.services.neo4j_async
    shape = root.twin.shape if root.twin is not None else _NO_SHAPE
    if root.kind == "twin":
        assert root.twin is not None
        row = await _timed(root, context.services.twin_reads.row(models, str(arguments["id"]), shape,
                                                                 context.loaders.hidden_models))
        return None if row is None else root.twin.build(row, build)
    if root.kind == "twins":
        page = await _sent(root, driver, search_rows_read(models, _search(root, arguments, context), shape, count=root.counted))
        twins = [root.twin.build(row, build) for row in page.twins] if root.twin is not None else []
        return {key: get(page, twins) for key, get in root.entries}
    traced = await _sent(root, driver, trace_rows_read(models, str(arguments["id"]), shape,
                                                       downstream=root.downstream, max_depth=arguments["maxDepth"],
                                                       label=arguments["model"]))
    if traced is None:
        raise Unanswerable("no such twin to trace from")
    twins = [root.twin.build(row, build) if root.twin is not None else None for row in traced.rows]
    return [{key: get(depth, twin) for key, get in root.entries} for depth, twin in zip(traced.depths, twins)]


async def _sent(root: RootField, driver: Any, read: Read[T]) -> T:
    """``read`` sent on the async driver, timed."""
    return await _timed(root, send_async(driver, read))


async def _timed(root: RootField, reading: Awaitable[T]) -> T:
    """A root field's read, timed for /metrics as ``api.compiled_reads.<kind>``."""
    started = time.perf_counter()
    try:
        return await reading
    finally:
        observe_awaited(f"{__name__}.{root.kind}", time.perf_counter() - started)


def _search(root: RootField, arguments: dict[str, Any], context: RequestContext) -> search.Search:
    """The ``twins`` arguments converted by Strawberry as for the resolver, and made a Search as it makes one."""
    schema = context.active.schema
    converted = convert_arguments(arguments, root.definition.extensions[DEFINITION].arguments,  # type: ignore[union-attr]
                                  scalar_registry=schema.schema_converter.scalar_registry, config=schema.config)
    return twins_search(context, **converted)


__all__ = ["COMPILED_READS", "CompiledReads", "PLANS", "PREPARED", "PlanCache", "Prepared", "PreparedOperations",
           "answer", "answer_prepared"]
