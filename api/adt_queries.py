"""``adtQuery``: Azure Digital Twins' query language for integrators who bring their ADT queries.

The query is compiled by graph.adt_query (parsed, every name resolved against the models, every
literal a parameter) into one read; the answer has ADT's shape, ``{"value": [rows]}``.
"""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from api.auth import Permission
from api.context import GraphQLInfo
from api.errors import guarded
from api.permissions import requires
from graph import adt_query


@strawberry.type(description="Rows of an ADT query, as ADT's query API answers them (no continuation token: "
                             "one page of at most `first` rows).")
class AdtQueryResult:
    value: list[JSON]


@strawberry.type
class AdtQuery:
    @strawberry.field(description="Twins by an Azure Digital Twins query (SELECT ... FROM DIGITALTWINS [JOIN ... "
                                  "RELATED ...] [WHERE ...]); docs/api.md lists what maps and what does not. At "
                                  f"most `first` rows (1-{adt_query.MAX_ROWS}; TOP(n) lowers it).",
                     permission_classes=[requires(Permission.read_twins)])
    async def adt_query(self, info: GraphQLInfo, query: str, first: int = adt_query.DEFAULT_ROWS) -> AdtQueryResult:
        context = info.context
        rows = await guarded(adt_query.adt_query_async(context.services.neo4j_async, context.active.models, query,
                                                       first=first, hidden_models=context.loaders.hidden_models))
        return AdtQueryResult(value=rows)
