"""The model set in GraphQL: what is built and trained, a day-ahead load forecast of a stored grid, reloads.

Analysts read the catalogue (``Permission.read_models``), operators run inference
(``Permission.run_inference``), admins reload the models from the registry without a restart
(``Permission.manage_models``).  Training stays on the command line (``gridtwin ml train``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import strawberry
from starlette.concurrency import run_in_threadpool

from api.auth import Permission
from api.context import GraphQLInfo
from api.errors import ClientError, client_error
from api.permissions import requires
from graph.errors import GraphError

@strawberry.type(description="A model of the set (docs/ml.md): what it learns, from what, against which baseline, "
                             "and its newest trained version in this profile's registry.")
class MlModel:
    name: str
    module: str
    task: str
    label: str
    baseline: str
    metric: str
    built: bool
    version: int | None
    saved_at: str | None
    data_sha256: str | None


@strawberry.type(description="A day-ahead forecast of a grid's total load demand, 96 quarter-hours from midnight UTC.")
class LoadForecast:
    grid_id: str
    day: date
    start: datetime
    interval_minutes: int
    values_mw: list[float]
    model_version: int
    history_days: int = strawberry.field(description="Days of demand history the forecast read.")


def _catalogue(info: GraphQLInfo) -> list[MlModel]:
    from ml.catalogue import MODELS
    from ml.registry import RegistryError

    registry = info.context.services.ml_models.registry
    found = []
    for entry in MODELS:
        try:
            artefact = registry.load(entry.name)
        except RegistryError:
            artefact = None
        metadata = artefact.metadata if artefact else {}
        found.append(MlModel(name=entry.name, module=entry.module, task=entry.task, label=entry.label,
                             baseline=entry.baseline, metric=entry.metric, built=entry.built,
                             version=artefact.version if artefact else None, saved_at=metadata.get("saved_at"),
                             data_sha256=metadata.get("data_sha256")))
    return found


def _forecast(info: GraphQLInfo, grid_id: str, day: date):  # -> ml.serving.GridForecast
    from loaders.simulation.run import SimulationRequestError
    from ml.registry import RegistryError
    from ml.serving import NoDemandHistory, forecast_grid_day

    services = info.context.services
    try:
        return forecast_grid_day(services.ml_models, services.neo4j, services.registry.active.models, services.settings,
                                 grid_id, day)
    except RegistryError as error:
        raise ClientError(f"no trained load forecast: {error}", "MODEL_NOT_TRAINED") from error
    except (NoDemandHistory, SimulationRequestError) as error:
        raise ClientError(f"cannot forecast grid {grid_id!r}: {error}", "BAD_USER_INPUT",
                          [{"pointer": "/gridId", "message": str(error)}]) from error
    except GraphError as error:
        raise client_error(error) from error


@strawberry.type
class MlQuery:
    @strawberry.field(description="The model set: every catalogue model, built or not, with its newest trained version.",
                      permission_classes=[requires(Permission.read_models)])
    async def ml_models(self, info: GraphQLInfo) -> list[MlModel]:
        return await run_in_threadpool(_catalogue, info)


@strawberry.type
class MlMutation:
    @strawberry.mutation(description="Day-ahead load forecast of a stored grid (energy_flow.load_forecast): 96 "
                                     "quarter-hours of `day` (default: tomorrow, UTC) from the 14 days before.",
                         permission_classes=[requires(Permission.run_inference)])
    async def forecast_load(self, info: GraphQLInfo, grid_id: str, day: date | None = None) -> LoadForecast:
        from ml.serving import HISTORY_DAYS

        target = day or (datetime.now(UTC) + timedelta(days=1)).date()
        result = await run_in_threadpool(_forecast, info, grid_id, target)
        return LoadForecast(grid_id=result.grid_id, day=result.day,
                            start=datetime(target.year, target.month, target.day, tzinfo=UTC), interval_minutes=15,
                            values_mw=result.values_mw, model_version=result.model_version,
                            history_days=HISTORY_DAYS)

    @strawberry.mutation(description="Drop the loaded models so that the next inference reads the newest trained "
                                     "versions (after `gridtwin ml train`), without a restart.",
                         permission_classes=[requires(Permission.manage_models)])
    async def reload_ml_models(self, info: GraphQLInfo) -> list[MlModel]:
        await run_in_threadpool(info.context.services.ml_models.reload)
        return await run_in_threadpool(_catalogue, info)
