"""Read-only Cypher for analysts: read access mode, a timeout and a row cap.

Neo4j refuses writes in a read-mode transaction, so the mode is the guard, not
a text check.  Password hashes live on ``:Credential`` nodes: queries naming
them are refused and such nodes and keys are dropped from results (Neo4j
Community has no property-level security; see docs/api.md).
"""

from __future__ import annotations

import re
from typing import Any

import neo4j
import strawberry
from neo4j.graph import Node, Path, Relationship
from strawberry.scalars import JSON

from graph.errors import Problem, ValidationError

TIMEOUT_S = 10.0
ROW_CAP = 1_000
_FORBIDDEN = re.compile(r"credential|passwordhash|load\s+csv|\bdbms\.|apoc\.", re.IGNORECASE)
_HIDDEN_LABEL = "Credential"
_HIDDEN_KEY = "passwordHash"


@strawberry.type(description="Result of a read-only Cypher query; rows are capped.")
class CypherResult:
    columns: list[str]
    rows: list[JSON]
    truncated: bool


def run_read_only(driver: neo4j.Driver, query: str, params: dict[str, Any]) -> CypherResult:
    if not isinstance(params, dict):
        raise ValidationError("bad params", [Problem("/params", "params must be a JSON object")])
    if _FORBIDDEN.search(query):
        raise ValidationError("query refused",
                              [Problem("/query", "credentials, LOAD CSV, dbms.* and apoc.* are not available here")])
    try:
        with driver.session(default_access_mode=neo4j.READ_ACCESS) as session:
            result = session.run(neo4j.Query(query, timeout=TIMEOUT_S), params)
            columns = list(result.keys())
            rows = []
            for record in result:
                if len(rows) == ROW_CAP:
                    result.consume()
                    return CypherResult(columns=columns, rows=rows, truncated=True)
                rows.append({key: _plain(record[key]) for key in columns})
    except neo4j.exceptions.ClientError as error:
        raise ValidationError("query failed", [Problem("/query", _brief(error))]) from error
    return CypherResult(columns=columns, rows=rows, truncated=False)


def _brief(error: neo4j.exceptions.ClientError) -> str:
    if error.code and "AccessMode" in error.code:
        return "this console is read-only: writes are refused"
    if error.code and ("Timeout" in error.code or "TransactionTimedOut" in error.code):
        return f"the query ran longer than {TIMEOUT_S:.0f} s"
    return (error.message or error.code or "query failed").split("\n")[0][:300]


def _plain(value: Any) -> Any:
    """A JSON-friendly copy of a driver value, without credentials."""
    if isinstance(value, Node):
        if _HIDDEN_LABEL in value.labels:
            return None
        return {"labels": sorted(value.labels), "properties": _properties(value)}
    if isinstance(value, Relationship):
        return {"type": value.type, "start": value.start_node.get("id") if value.start_node else None,
                "end": value.end_node.get("id") if value.end_node else None, "properties": _properties(value)}
    if isinstance(value, Path):
        return {"nodes": [_plain(node) for node in value.nodes],
                "relationships": [_plain(rel) for rel in value.relationships]}
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items() if key != _HIDDEN_KEY}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "iso_format"):
        return value.iso_format()
    return str(value)


def _properties(entity: Node | Relationship) -> dict[str, Any]:
    return {key: _plain(item) for key, item in dict(entity).items() if key != _HIDDEN_KEY}
