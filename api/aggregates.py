"""``twinsAggregate``: count, min, max, average and sum of a model's properties over a filtered set.

As the Neo4j GraphQL Library generates them, each model ``X`` gets a typed ``XAggregate``
(implementing ``TwinAggregate``) with one field per number property (``NumberAggregate``) and
per string property (``TextAggregate``), so a client's editor completes and checks them:

    twinsAggregate(model: "Line", where: [...]) { count ... on LineAggregate { lengthKm { min max average } } }

Only the aggregates the selection asks for are computed, all in one Cypher query over the same
matching as ``twins`` (graph.search), so a filtered count equals that connection's totalCount.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Optional

import strawberry

from api.auth import Permission
from api.context import GraphQLInfo
from api.errors import ClientError, client_error, guarded
from api.permissions import requires
from api.twin_operations import PropertyFilter
from api.aggregate_types import TwinAggregate, aggregate_instance
from dtdl import ModelSet
from graph import aggregates
from graph import search
from graph.cypher import label_for, resolve_label
from graph.errors import ModelError


def asked_fields(selections: list[Any]) -> Iterator[str]:
    """Names of the fields a selection asks for, through inline fragments and fragment spreads."""
    for selection in selections:
        name = getattr(selection, "name", None)
        if hasattr(selection, "type_condition") or name is None:
            yield from asked_fields(selection.selections)
        else:
            yield name


def _aggregated_model(models: ModelSet, model: str) -> str:
    """The DTMI a ``model`` argument names: itself, or the newest version of the interface with that label."""
    if model in models.interfaces:
        return model
    try:
        label = resolve_label(models, model)
    except ModelError as error:
        raise client_error(error) from error
    versions = [dtmi for dtmi in models.interfaces if label_for(models, dtmi) == label]
    if not versions:
        raise ClientError(f"model {model!r}: aggregates need one interface, not {label!r}", "BAD_USER_INPUT")
    return max(versions, key=lambda dtmi: int(dtmi.rpartition(";")[2].split(".")[0] or 0))


@strawberry.type
class AggregateQuery:
    @strawberry.field(description="Count, min, max, average and sum of properties of the twins that are-a model "
                                  "(DTMI or type name, subtypes included) and match every filter (the filters of "
                                  "twins, so count equals its totalCount). Only the asked aggregates are computed.",
                     permission_classes=[requires(Permission.read_twins)])
    async def twins_aggregate(self, info: GraphQLInfo, model: str,
                              where: Optional[list[PropertyFilter]] = None) -> TwinAggregate:
        context = info.context
        models, generated = context.active.models, context.active.types
        dtmi = _aggregated_model(models, model)
        cls, properties = generated.aggregates[dtmi]
        wanted = set(asked_fields(info.selected_fields[0].selections))
        asked = aggregates.Aggregation(
            model=dtmi, filters=[search.Filter(f.property, f.op.value, f.value) for f in where or []],
            properties=[name for name in properties if name in wanted],
            hidden_models=context.loaders.hidden_models)
        answer = await guarded(aggregates.aggregate_async(context.services.neo4j_async, models, asked))
        return aggregate_instance(cls, properties, dtmi, answer)  # type: ignore[no-any-return]
