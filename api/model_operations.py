"""Model operations in GraphQL: the stored DTDL models, uploads (checked as a schema before they are
stored), decommissioning and deletion."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from api.auth import Permission
from api.context import GraphQLInfo
from api.errors import call
from api.permissions import requires
from api.registry import ActiveModels
from graph import models_store


@strawberry.type(description="A stored DTDL interface.")
class ModelInfo:
    id: str
    display_name: str | None
    extends: list[str]
    decommissioned: bool
    uploaded_at: str | None
    label: str
    model: JSON = strawberry.field(description="The interface's DTDL JSON.")


def _model_info(stored: models_store.StoredModel) -> ModelInfo:
    return ModelInfo(id=stored.dtmi, display_name=stored.display_name, extends=stored.extends,
                     decommissioned=stored.decommissioned,
                     uploaded_at=stored.uploaded_at.isoformat() if stored.uploaded_at else None,
                     label=stored.label, model=stored.document)


async def _reload_models(info: GraphQLInfo) -> None:
    """After a delete: the stored set minus a model always builds (it built with it)."""
    services = info.context.services
    models = await call(models_store.load_model_set, services.neo4j)
    services.registry.install(services.registry.build(models))


@strawberry.type
class ModelQuery:
    @strawberry.field(description="Stored DTDL models.",
                     permission_classes=[requires(Permission.read_models)])
    async def models(self, info: GraphQLInfo, include_decommissioned: bool = True) -> list[ModelInfo]:
        stored = await call(models_store.list_models, info.context.services.neo4j,
                            include_decommissioned=include_decommissioned)
        return [_model_info(item) for item in stored]

    @strawberry.field(description="One stored DTDL model by DTMI.",
                     permission_classes=[requires(Permission.read_models)])
    async def model(self, info: GraphQLInfo, id: str) -> ModelInfo:
        return _model_info(await call(models_store.get_model, info.context.services.neo4j, id))


@strawberry.type
class ModelMutation:
    @strawberry.mutation(description="Upload DTDL models, validated together with the stored ones; all or nothing. "
                                     "Models already stored verbatim are accepted unchanged.",
                     permission_classes=[requires(Permission.manage_models)])
    async def upload_models(self, info: GraphQLInfo, models: list[JSON]) -> list[ModelInfo]:
        registry = info.context.services.registry
        built: list[ActiveModels] = []
        await call(models_store.upload_models, info.context.services.neo4j, list(models),
                            check=lambda candidate: built.append(registry.build(candidate)))
        if built:
            registry.install(built[-1])
        stored = await call(models_store.list_models, info.context.services.neo4j)
        uploaded = {item.get("@id") for document in models
                    for item in (document if isinstance(document, list) else [document]) if isinstance(item, dict)}
        return [_model_info(model) for model in stored if model.dtmi in uploaded]

    @strawberry.mutation(description="Mark a model decommissioned: no new twins of it.",
                     permission_classes=[requires(Permission.manage_models)])
    async def decommission_model(self, info: GraphQLInfo, id: str) -> ModelInfo:
        stored = await call(models_store.decommission_model, info.context.services.neo4j, id)
        return _model_info(stored)

    @strawberry.mutation(description="Delete a model no twin uses and no model extends.",
                     permission_classes=[requires(Permission.manage_models)])
    async def delete_model(self, info: GraphQLInfo, id: str) -> bool:
        await call(models_store.delete_model, info.context.services.neo4j, id)
        await _reload_models(info)
        return True
