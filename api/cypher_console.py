"""Read-only Cypher for analysts, decided from the query's plan, never from its text.

Three layers, each structural:

1. **The server** (``servers/inputs/neo4j/src/GridTwinNeo4j.java``, docker-compose.yml): LOAD CSV
   from file URLs is off and every IP address is on the Cypher IP blocklist, so no query
   of anyone can read a server file or make the server open a connection.
2. **The plan**: the query is planned with ``EXPLAIN`` inside the transaction it will run
   in, and run only when the planner calls it a read query (``query_type == "r"``) and every
   operator of its plan is a read operator of :data:`READ_OPERATORS` (``LoadCSV``,
   ``Show*``/``Terminate*`` administration, ``TransactionApply``, writes: none are there);
   a ``ProcedureCall`` is allowed only for the schema-browsing procedures of
   :data:`ALLOWED_PROCEDURES`, named by the planner's resolved signature. Comments, casing
   or spacing cannot change what the planner sees.
3. **The transaction**: an explicit read transaction with a timeout; rows are capped.

Password hashes are sealed (``api.auth.PasswordVault``): a query that reaches a
``:Credential`` node reads ciphertext no one can verify against or crack offline.
"""

from __future__ import annotations

from typing import Any

import neo4j
import strawberry
from neo4j.graph import Node, Path, Relationship
from strawberry.scalars import JSON

from graph.db import request_metadata
from graph.errors import Problem, ValidationError

TIMEOUT_S = 10.0
ROW_CAP = 1_000
MAX_QUERY_CHARS = 20_000

#: Read-only operators of Neo4j 5's planner (Cypher manual, "Operators"); anything else is refused.
READ_OPERATORS = frozenset({
    # leaves
    "AllNodesScan", "NodeByLabelScan", "NodeByIdSeek", "NodeByElementIdSeek", "NodeIndexSeek",
    "NodeUniqueIndexSeek", "MultiNodeIndexSeek", "AssertingMultiNodeIndexSeek", "NodeIndexSeekByRange",
    "NodeUniqueIndexSeekByRange", "NodeIndexContainsScan", "NodeIndexEndsWithScan", "NodeIndexScan",
    "UnionNodeByLabelsScan", "IntersectionNodeByLabelsScan", "SubtractionNodeByLabelsScan",
    "DirectedRelationshipIndexScan", "UndirectedRelationshipIndexScan", "DirectedRelationshipIndexSeek",
    "UndirectedRelationshipIndexSeek", "DirectedRelationshipIndexSeekByRange",
    "UndirectedRelationshipIndexSeekByRange", "DirectedRelationshipIndexContainsScan",
    "UndirectedRelationshipIndexContainsScan", "DirectedRelationshipIndexEndsWithScan",
    "UndirectedRelationshipIndexEndsWithScan", "DirectedRelationshipByIdSeek", "UndirectedRelationshipByIdSeek",
    "DirectedRelationshipByElementIdSeek", "UndirectedRelationshipByElementIdSeek",
    "DirectedAllRelationshipsScan", "UndirectedAllRelationshipsScan", "DirectedRelationshipTypeScan",
    "UndirectedRelationshipTypeScan", "DirectedUnionRelationshipTypesScan", "UndirectedUnionRelationshipTypesScan",
    "NodeCountFromCountStore", "RelationshipCountFromCountStore", "Argument", "ArgumentTracker", "EmptyRow",
    # expansion and paths
    "Expand(All)", "Expand(Into)", "OptionalExpand(All)", "OptionalExpand(Into)", "VarLengthExpand(All)",
    "VarLengthExpand(Into)", "VarLengthExpand(Pruning)", "VarLengthExpand(Pruning,BFS,All)",
    "VarLengthExpand(Pruning,BFS,Into)", "ShortestPath", "StatefulShortestPath(All)", "StatefulShortestPath(Into)",
    "Repeat(Trail)", "Repeat(Walk)", "NullifyMetadata", "ProjectEndpoints", "TriadicSelection", "TriadicBuild",
    "TriadicFilter",
    # relational
    "Filter", "Projection", "Distinct", "OrderedDistinct", "EagerAggregation", "OrderedAggregation", "Sort",
    "PartialSort", "Top", "PartialTop", "Skip", "Limit", "ExhaustiveLimit", "Union", "OrderedUnion", "Optional",
    "Apply", "SemiApply", "AntiSemiApply", "LetSemiApply", "LetAntiSemiApply", "SelectOrSemiApply",
    "SelectOrAntiSemiApply", "LetSelectOrSemiApply", "LetSelectOrAntiSemiApply", "ConditionalApply",
    "AntiConditionalApply", "RollUpApply", "CartesianProduct", "NodeHashJoin", "ValueHashJoin",
    "NodeLeftOuterHashJoin", "NodeRightOuterHashJoin", "Unwind", "CacheProperties", "Eager", "ProduceResults",
    "AssertSameNode", "AssertSameRelationship", "Anti", "EmptyResult",
    # the only procedure calls allowed are checked by name below
    "ProcedureCall",
})

#: Procedures an analyst may call: they describe the schema and read nothing else.
ALLOWED_PROCEDURES = frozenset({
    "db.labels", "db.relationshipTypes", "db.propertyKeys", "db.schema.visualization",
    "db.schema.nodeTypeProperties", "db.schema.relTypeProperties",
})


@strawberry.type(description="Result of a read-only Cypher query; rows are capped.")
class CypherResult:
    columns: list[str]
    rows: list[JSON]
    truncated: bool


def run_read_only(driver: neo4j.Driver, query: str, params: dict[str, Any]) -> CypherResult:
    """Plan the query, refuse anything but reads (see the module docstring), then run it capped."""
    _check_input(query, params)
    try:
        with driver.session(default_access_mode=neo4j.READ_ACCESS) as session:
            with session.begin_transaction(timeout=TIMEOUT_S, metadata=request_metadata()) as tx:
                plan = tx.run("EXPLAIN " + query, params).consume()
                refuse_unless_read(plan.query_type, plan.plan)
                return _rows(tx.run(query, params))
    except neo4j.exceptions.ClientError as error:
        raise ValidationError("query failed", [Problem("/query", _brief(error))]) from error


def _check_input(query: str, params: Any) -> None:
    if not isinstance(params, dict):
        raise ValidationError("bad params", [Problem("/params", "params must be a JSON object")])
    if not query.strip() or len(query) > MAX_QUERY_CHARS:
        raise ValidationError("bad query", [Problem("/query", f"a query of 1 to {MAX_QUERY_CHARS} characters")])


def refuse_unless_read(query_type: str | None, plan: dict[str, Any] | None) -> None:
    """Raise ValidationError naming the first operator that is not a read of the twin graph."""
    if query_type != "r" or plan is None:
        kind = {"w": "writes", "rw": "reads and writes", "s": "changes the schema or the server"}.get(
            query_type or "", "is not a read query")
        raise ValidationError("query refused", [Problem("/query", f"this console runs read queries only; the "
                                                                    f"planner says this query {kind}")])
    for operator, details in _operators(plan):
        if operator not in READ_OPERATORS:
            raise ValidationError("query refused", [Problem("/query", f"the plan uses {operator}, which this "
                                                                        "read-only console does not run")])
        if operator == "ProcedureCall" and _procedure_name(details) not in ALLOWED_PROCEDURES:
            allowed = ", ".join(sorted(ALLOWED_PROCEDURES))
            raise ValidationError("query refused", [Problem("/query", f"procedure {_procedure_name(details)} is "
                                                                        f"not available here; allowed: {allowed}")])


def _operators(plan: dict[str, Any]) -> list[tuple[str, str]]:
    """(operator type without its ``@database`` suffix, details) of every node of a plan tree."""
    found = [(str(plan.get("operatorType", "")).split("@")[0], str(plan.get("args", {}).get("Details") or ""))]
    for child in plan.get("children", []):
        found.extend(_operators(child))
    return found


def _procedure_name(details: str) -> str:
    """The procedure the planner resolved, from its signature ``db.labels() :: (label :: STRING)``."""
    return details.split("(", 1)[0].strip()


def _rows(result: neo4j.Result) -> CypherResult:
    columns = list(result.keys())
    rows = []
    for record in result:
        if len(rows) == ROW_CAP:
            return CypherResult(columns=columns, rows=rows, truncated=True)
        rows.append({key: _plain(record[key]) for key in columns})
    return CypherResult(columns=columns, rows=rows, truncated=False)


def _brief(error: neo4j.exceptions.ClientError) -> str:
    if error.code and "AccessMode" in error.code:
        return "this console is read-only: writes are refused"
    if error.code and ("Timeout" in error.code or "TransactionTimedOut" in error.code):
        return f"the query ran longer than {TIMEOUT_S:.0f} s"
    return (error.message or error.code or "query failed").split("\n")[0][:300]


def _plain(value: Any) -> Any:
    """A JSON-friendly copy of a driver value."""
    if isinstance(value, Node):
        return {"labels": sorted(value.labels), "properties": _properties(value)}
    if isinstance(value, Relationship):
        return {"type": value.type, "start": value.start_node.get("id") if value.start_node else None,
                "end": value.end_node.get("id") if value.end_node else None, "properties": _properties(value)}
    if isinstance(value, Path):
        return {"nodes": [_plain(node) for node in value.nodes],
                "relationships": [_plain(rel) for rel in value.relationships]}
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "iso_format"):
        return value.iso_format()
    return str(value)


def _properties(entity: Node | Relationship) -> dict[str, Any]:
    return {key: _plain(item) for key, item in dict(entity).items()}
