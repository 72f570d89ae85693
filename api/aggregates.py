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


AGGREGATE_DESCRIPTION = ("Count, min, max, average and sum of properties of the twins that are-a model (DTMI or type "
                         "name, subtypes included) and match every filter: the where list and the typed filter of "
                         "twins, so count equals its totalCount (the typed filter names the model when model is left "
                         "out). Only the asked aggregates are computed.")


async def aggregate_twins(info: GraphQLInfo, model: str | None, where: list[PropertyFilter] | None,
                          twin_where: Any = None) -> TwinAggregate:
    """The typed aggregate of the twins ``twins`` would list with the same model and filters."""
    from api.twin_operations import typed_condition

    context = info.context
    models, generated = context.active.models, context.active.types
    typed = None
    if twin_where is not None:
        model, typed = typed_condition(models, model, twin_where, generated.filters.models_by_field)
    if model is None:
        raise ClientError("twinsAggregate needs a model, or a typed filter that names one", "BAD_USER_INPUT",
                          [{"pointer": "/model", "message": "give model or filter"}])
    dtmi = _aggregated_model(models, model)
    cls, properties = generated.aggregates[dtmi]
    wanted = set(asked_fields(info.selected_fields[0].selections))
    asked = aggregates.Aggregation(
        model=dtmi, filters=[search.Filter(f.property, f.op.value, f.value) for f in where or []],
        properties=[name for name in properties if name in wanted], hidden_models=context.loaders.hidden_models,
        typed_filter=typed)
    answer = await guarded(aggregates.aggregate_async(context.services.neo4j_async, models, asked))
    return aggregate_instance(cls, properties, dtmi, answer)  # type: ignore[no-any-return]


@strawberry.type
class AggregateQuery:
    @strawberry.field(description=AGGREGATE_DESCRIPTION, permission_classes=[requires(Permission.read_twins)])
    async def twins_aggregate(self, info: GraphQLInfo, model: str,
                              where: Optional[list[PropertyFilter]] = None) -> TwinAggregate:
        return await aggregate_twins(info, model, where)


def typed_aggregate_field(twin_where: type) -> Any:
    """``twinsAggregate`` with the generation's typed ``filter: TwinWhere`` beside ``where``, as ``twins`` has."""

    async def twins_aggregate(self: Any, info: GraphQLInfo, model: str | None = None,
                              where: Optional[list[PropertyFilter]] = None, filter: Any = None) -> TwinAggregate:
        return await aggregate_twins(info, model, where, filter)

    twins_aggregate.__annotations__ = {**twins_aggregate.__annotations__, "filter": Optional[twin_where],
                                       "return": TwinAggregate}
    return strawberry.field(resolver=twins_aggregate, description=AGGREGATE_DESCRIPTION,
                            permission_classes=[requires(Permission.read_twins)])
