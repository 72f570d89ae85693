"""Predictions in GraphQL: run inference, read and stream predictions and alerts, watch points continuously.

Operators run inference (``runInference``, ``setContinuousInference``: ``Permission.run_inference``);
analysts read what was predicted (``latestPredictions``, the ``predictions`` and ``alerts``
subscriptions, ``continuousInference``: ``Permission.read_predictions``).  The per-module result
types are generated from ``ml.inference.outputs.OUTPUTS``, the one table of which model fills which
MLEngine field, so the schema, the stored telemetry and the engine cannot disagree.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import AsyncGenerator, Mapping
from datetime import datetime, timezone
from typing import Any, Optional

import strawberry
from starlette.concurrency import run_in_threadpool

from api.auth import Permission
from api.context import GraphQLInfo
from api.errors import ClientError
from api.permissions import requires
from api.predictions import WINDOW_LOOKBACK, point_inputs
from api.telemetry import _deliveries, queried
from api.telemetry_bounds import checked_twin_count, checked_twin_ids
from ml.inference.outputs import MODULES, OUTPUTS, TELEMETRY, NotAPoint, checked_modules  # tables: no xgboost

MAX_INFERENCE_TWINS = 1_000
MIN_INTERVAL_S = 1.0


@strawberry.enum(description="The MLEngine's modules (its runInference command's enum).")
class MlModule(enum.Enum):
    monitoring = "monitoring"
    maintenance = "maintenance"
    energy = "energy"
    decision = "decision"


@strawberry.enum(description="How urgent an alert is.")
class AlertSeverity(enum.Enum):
    info = 0
    warning = 1
    critical = 2


@strawberry.type(description="A model version a prediction used.")
class ModelUse:
    model: str
    version: int


@strawberry.type(description="A field no model answered, and why (not built, not trained, no recent sample ...).")
class Unanswered:
    model: str
    reason: str


def _module_type(module: str) -> type:
    """``<Module>Predictions``: one nullable Float per MLEngine field of the module, described by its model."""
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {"__annotations__": annotations}
    for output in (o for o in OUTPUTS if o.module == module):
        annotations[output.field] = Optional[float]
        namespace[output.field] = strawberry.field(default=None, description=f"{output.meaning} ({output.model})")
    annotations["models"] = list[ModelUse]
    namespace["models"] = strawberry.field(default_factory=list, description="The model versions that answered.")
    annotations["unanswered"] = list[Unanswered]
    namespace["unanswered"] = strawberry.field(default_factory=list, description="Fields left empty, with why.")
    name = f"{module[0].upper()}{module[1:]}Predictions"
    return strawberry.type(type(name, (), namespace), description=f"The {module} module's predictions at a point.")


MODULE_TYPES: dict[str, type] = {module: _module_type(module) for module in MODULES}
MonitoringPredictions, MaintenancePredictions, EnergyPredictions, DecisionPredictions = MODULE_TYPES.values()


@strawberry.type(description="The engine's runtime statistics stored with a prediction (MLEngine.inferenceMetrics).")
class InferenceMetrics:
    total_inferences: int = strawberry.field(description="Points inferred by this API process since it started.")
    average_inference_time: float = strawberry.field(description="Mean time per point and pass, milliseconds.")
    active_models: int = strawberry.field(description="Models loaded from the registry.")


@strawberry.type(description="A measurement point's predictions at one instant (its mlEngine component's telemetry).")
class PointPredictions:
    twin_id: strawberry.ID
    time: datetime
    monitoring: Optional[MonitoringPredictions] = None  # type: ignore[valid-type]
    maintenance: Optional[MaintenancePredictions] = None  # type: ignore[valid-type]
    energy: Optional[EnergyPredictions] = None  # type: ignore[valid-type]
    decision: Optional[DecisionPredictions] = None  # type: ignore[valid-type]
    metrics: Optional[InferenceMetrics] = None


@strawberry.type(description="A predicted value past an alert limit (ml/inference/alerts.py).")
class Alert:
    twin_id: strawberry.ID
    time: datetime
    module: str
    field: str
    value: float
    severity: AlertSeverity
    message: str
    model_version: int | None


@strawberry.type(description="Continuous inference of this API process: which points, how often, how it goes.")
class ContinuousInference:
    twin_ids: list[strawberry.ID]
    interval_seconds: float
    modules: list[MlModule]
    passes: int
    last_pass_ms: float
    last_error: str | None


def _time(time_ns: int) -> datetime:
    return datetime.fromtimestamp(time_ns / 1e9, tz=timezone.utc)


def from_engine(prediction: Any) -> PointPredictions:
    """GraphQL result of an ``ml.inference.outputs.PointPrediction``."""
    modules = {}
    for name, module in prediction.modules.items():
        modules[name] = MODULE_TYPES[name](
            **module.values, models=[ModelUse(model=m, version=v) for m, v in sorted(module.versions.items())],
            unanswered=[Unanswered(model=m, reason=r) for m, r in sorted(module.unavailable.items())])
    return PointPredictions(twin_id=prediction.twin_id, time=_time(prediction.time_ns), **modules)


def from_stored(twin_id: str, time_ns: int, values: Mapping[str, Any]) -> PointPredictions:
    """GraphQL result of stored or streamed MLEngine telemetry (values only: the telemetry holds no versions)."""
    modules = {}
    for name, telemetry in TELEMETRY.items():
        fields = values.get(telemetry)
        if isinstance(fields, dict):
            known = {f: float(v) for f, v in fields.items() if f in _FIELDS[name] and isinstance(v, (int, float))}
            modules[name] = MODULE_TYPES[name](**known)
    metrics = values.get("inferenceMetrics")
    if isinstance(metrics, dict) and {"totalInferences", "averageInferenceTime", "activeModels"} <= set(metrics):
        modules["metrics"] = InferenceMetrics(total_inferences=int(metrics["totalInferences"]),
                                              average_inference_time=float(metrics["averageInferenceTime"]),
                                              active_models=int(metrics["activeModels"]))
    return PointPredictions(twin_id=twin_id, time=_time(time_ns), **modules)


_FIELDS = {module: {o.field for o in OUTPUTS if o.module == module} for module in MODULES}


def _modules(modules: list[MlModule] | None) -> tuple[str, ...]:
    return checked_modules([m.value for m in modules] if modules is not None else None)


def _bad_twins(error: NotAPoint) -> ClientError:
    return ClientError(str(error), "BAD_USER_INPUT", [{"pointer": "/twinIds", "message": str(error)}])


async def infer_points(info: GraphQLInfo, twin_ids: list[str], modules: tuple[str, ...]) -> Any:  # BatchPrediction
    """Resolve the points, read their last minute from InfluxDB, run the engine, store and stream the answers."""
    from ml.features.windows import history_rows, windows_from_history

    services = info.context.services
    try:
        inputs = await run_in_threadpool(point_inputs, services.neo4j, info.context.active.models, twin_ids)
    except NotAPoint as error:
        raise _bad_twins(error) from error
    end_s = int(time.time()) - 1
    recent = await queried(services.telemetry.queries.recent_samples(twin_ids, WINDOW_LOOKBACK))

    def windows() -> Any:
        import numpy as np

        rows = []
        for twin_id in twin_ids:
            samples = recent.get(twin_id, [])
            seconds, values = history_rows([t for t, _ in samples], [v for _, v in samples])
            rows.append(windows_from_history(seconds, values, [end_s])[0])
        return np.stack(rows)

    samples = await asyncio.to_thread(windows)
    return await services.predictions.run_once(inputs, samples, end_s, modules)


@strawberry.type
class PredictionQuery:
    @strawberry.field(description="The latest stored predictions of measurement points (last 24 h).",
                      permission_classes=[requires(Permission.read_predictions)])
    async def latest_predictions(self, info: GraphQLInfo, twin_ids: list[strawberry.ID]) -> list[PointPredictions]:
        checked_twin_count(len(twin_ids), "twinIds")
        found = await queried(info.context.services.telemetry.queries.latest([str(i) for i in twin_ids],
                                                                               component="mlEngine"))
        results = []
        for twin_id, values in sorted(found.items()):
            newest = max(value.time for value in values.values())
            results.append(from_stored(twin_id, int(newest.timestamp() * 1e9),
                                       {name: value.value for name, value in values.items()}))
        return results

    @strawberry.field(description="What this API process infers continuously (null when nothing).",
                      permission_classes=[requires(Permission.read_predictions)])
    def continuous_inference(self, info: GraphQLInfo) -> ContinuousInference | None:
        return _watch_state(info.context.services.predictions.watch)


def _watch_state(watch: Any) -> ContinuousInference | None:
    if watch is None:
        return None
    return ContinuousInference(twin_ids=list(watch.twin_ids), interval_seconds=watch.interval_s,
                               modules=[MlModule(m) for m in watch.modules], passes=watch.passes,
                               last_pass_ms=watch.last_pass_ms, last_error=watch.last_error)


@strawberry.type
class PredictionMutation:
    @strawberry.mutation(description="Run the models of `modules` (default: all) now on measurement points' last "
                                     "minute of telemetry; the predictions are stored as their mlEngine telemetry "
                                     f"and streamed. At most {MAX_INFERENCE_TWINS} points.",
                         permission_classes=[requires(Permission.run_inference)])
    async def run_inference(self, info: GraphQLInfo, twin_ids: list[strawberry.ID],
                            modules: list[MlModule] | None = None) -> list[PointPredictions]:
        if not 1 <= len(twin_ids) <= MAX_INFERENCE_TWINS:
            raise ClientError(f"give 1 to {MAX_INFERENCE_TWINS} twin ids, not {len(twin_ids)}", "BAD_USER_INPUT",
                              [{"pointer": "/twinIds", "message": "count out of range"}])
        batch = await infer_points(info, [str(i) for i in twin_ids], _modules(modules))
        return [from_engine(p) for p in batch.points()]

    @strawberry.mutation(description="Infer these measurement points continuously from their live stream, every "
                                     "`intervalSeconds` (an empty list stops it). Replaces what was watched.",
                         permission_classes=[requires(Permission.run_inference)])
    async def set_continuous_inference(self, info: GraphQLInfo, twin_ids: list[strawberry.ID],
                                       interval_seconds: float = 5.0,
                                       modules: list[MlModule] | None = None) -> ContinuousInference | None:
        if interval_seconds < MIN_INTERVAL_S:
            raise ClientError(f"intervalSeconds must be at least {MIN_INTERVAL_S:g}", "BAD_USER_INPUT",
                              [{"pointer": "/intervalSeconds", "message": "too short"}])
        try:
            watch = await info.context.services.predictions.start_watch([str(i) for i in twin_ids], interval_seconds,
                                                                        _modules(modules))
        except NotAPoint as error:
            raise _bad_twins(error) from error
        except ValueError as error:
            raise ClientError(str(error), "BAD_USER_INPUT", [{"pointer": "/twinIds", "message": str(error)}]) from error
        return _watch_state(watch)


@strawberry.type
class PredictionSubscription:
    @strawberry.subscription(description="Predictions of the given measurement points as they are stored.",
                             permission_classes=[requires(Permission.read_predictions)])
    async def predictions(self, info: GraphQLInfo,
                          twin_ids: list[strawberry.ID]) -> AsyncGenerator[PointPredictions, None]:
        from timeseries.broker import component_key

        subscription = info.context.services.telemetry.broker.subscribe(
            [component_key(twin_id, "mlEngine") for twin_id in checked_twin_ids(twin_ids, "twinIds")])
        async for delivery in _deliveries(subscription):
            merged: dict[tuple[str, int], dict[str, Any]] = {}
            for sample in delivery.items:  # a coalesced delivery holds one value per sample: merge them back
                merged.setdefault((sample.twin, sample.time_ns), {}).update(sample.values)
            for (twin_id, time_ns), values in merged.items():
                yield from_stored(twin_id, time_ns, values)

    @strawberry.subscription(description="Alerts the predictions raise, at or above `minSeverity`, optionally only "
                                         "of some twins.",
                             permission_classes=[requires(Permission.read_predictions)])
    async def alerts(self, info: GraphQLInfo, min_severity: AlertSeverity = AlertSeverity.warning,
                     twin_ids: list[strawberry.ID] | None = None) -> AsyncGenerator[Alert, None]:
        if twin_ids is not None:
            checked_twin_count(len(twin_ids), "twinIds")
        keys = [str(i) for i in twin_ids] if twin_ids is not None else None
        subscription = info.context.services.predictions.alerts.subscribe(keys, policy="disconnect")
        async for delivery in _deliveries(subscription):
            for alert in delivery.items:
                if alert.severity >= min_severity.value:
                    yield Alert(twin_id=alert.twin_id, time=_time(alert.time_ns), module=alert.module,
                                field=alert.field, value=alert.value, severity=AlertSeverity(int(alert.severity)),
                                message=alert.message, model_version=alert.model_version)
