"""DTDL Commands as GraphQL: ``invokeCommand(twinId, command, payload)``.

The twin's model says which commands exist and what their request and response look like; the
payload is validated against the request schema (problems as JSON pointers below ``/payload``)
before a handler runs, and the handler's answer against the response schema before it is sent.
Each handler declares the permission it needs (the role table of ``api.auth``), on top of the
field's own ``write_twins``: operating a breaker needs an operator, starting a simulation
``run_simulation``.  A declared command without a handler here is ``NOT_IMPLEMENTED``, named.

Handlers:

* ``operate`` (SwitchingDevice): moves ``switchState`` to the requested position (the device's
  report, so allowed on version 1 where it is read-only); the next power flow sees it.
* ``startSimulation`` (GridMeasurementPoint): a real-time run (1-second steps for
  ``durationSeconds``) of the grid whose bus the point is ``connectedTo``, with ``scenarioType``
  and its ``parameters`` (values are JSON text, e.g. ``"0.3"``); answers the run id.
* ``stopSimulation`` (GridMeasurementPoint): stops the runs this point's command started.
* ``mlEngine/runInference`` (the point's MLEngine component): runs the modules asked on the point's
  last minute, stores and streams the predictions (as ``runInference`` in GraphQL, which also
  returns them: the DTDL command declares no response).
* ``mlEngine/reloadModels``: drops the loaded models so the next inference reads the newest
  trained versions; answers how many models the registry holds.
* ``generateReport`` (GridMeasurementPoint): the point's report over ``from`` .. ``to`` (a week
  before ``to`` by default) as ``pdf`` or ``csv`` (api/reports.py); answers its download URL.

A component's command is named by its path, ``<component>/<command>``, as Azure Digital Twins
addresses it (``/components/mlEngine/commands/runInference``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import strawberry
from strawberry.scalars import JSON

from api.auth import Permission
from api.context import GraphQLInfo
from api.errors import ClientError, call, guarded
from api.events import TwinEvent
from api.permissions import requires

GT = "dtmi:gridtwin:"
Handler = Callable[[GraphQLInfo, Any, Any], Awaitable[Any]]


@dataclass(frozen=True)
class CommandHandler:
    """What runs a command of twins that are-a ``model``, and the permission it needs."""

    model: str
    permission: Permission
    run: Handler


def _bad(message: str, pointer: str) -> ClientError:
    return ClientError(message, "BAD_USER_INPUT", [{"pointer": pointer, "message": message}])


async def _operate(info: GraphQLInfo, twin: Any, payload: Any) -> bool:
    from graph.twins import update_twin

    services = info.context.services
    patch = [{"op": "add", "path": "/switchState", "value": payload}]
    updated = await call(update_twin, services.neo4j, info.context.active.models, twin.id, patch,
                         allow_read_only=True)
    services.events.publish_one(TwinEvent("twinUpdated", updated.id, updated.model))
    return True


def _grid_of_point(driver: Any, point_id: str) -> str | None:
    records, _, _ = driver.execute_query(
        "MATCH (:Twin {id: $id})-[:CONNECTED_TO]->(b:Twin) WHERE b.gridId IS NOT NULL RETURN b.gridId AS grid LIMIT 1",
        id=point_id)
    return records[0]["grid"] if records else None


def _parameters(values: dict[str, str]) -> dict[str, Any]:
    """Map<string, string> values as JSON where they parse (``"0.3"`` -> 0.3), else as text."""
    parsed: dict[str, Any] = {}
    for name, text in values.items():
        try:
            parsed[name] = json.loads(text)
        except json.JSONDecodeError:
            parsed[name] = text
    return parsed


async def _start_simulation(info: GraphQLInfo, twin: Any, payload: Any) -> str:
    from loaders.simulation.run import ScenarioRequest, SimulationRequest, SimulationRequestError

    services = info.context.services
    grid_id = await call(_grid_of_point, services.neo4j, twin.id)
    if grid_id is None:
        raise _bad(f"{twin.id} is not connectedTo a bus of a stored grid: there is nothing to simulate", "/twinId")
    kind = payload.get("scenarioType") or "normal"
    scenarios = [ScenarioRequest("normal")] + ([ScenarioRequest(kind, _parameters(payload.get("parameters") or {}))]
                                               if kind != "normal" else [])
    try:
        request = SimulationRequest(grid_id, tuple(scenarios), datetime.now(timezone.utc).replace(microsecond=0),
                                    int(payload.get("durationSeconds") or 60), 1.0)
        principal = info.context.principal
        return await guarded(services.simulations.start(
            request, speed=1.0, started_by=principal.username if principal else None, origin=twin.id))
    except SimulationRequestError as error:
        raise _bad(str(error), error.pointer("/payload")) from error


async def _stop_simulation(info: GraphQLInfo, twin: Any, payload: Any) -> None:
    runner = info.context.services.simulations
    for run_id in runner.started_from(twin.id):
        runner.stop(run_id)
    return None


async def _run_inference(info: GraphQLInfo, twin: Any, payload: Any) -> None:
    from api.prediction_operations import infer_points
    from ml.inference.outputs import checked_modules

    await infer_points(info, [twin.id], checked_modules(payload))  # stored and streamed; the command answers nothing


async def _reload_models(info: GraphQLInfo, twin: Any, payload: Any) -> int:
    from starlette.concurrency import run_in_threadpool

    services = info.context.services
    versions = await run_in_threadpool(services.ml_models.reload)
    services.predictions.engine.forget()
    return len(versions)


async def _generate_report(info: GraphQLInfo, twin: Any, payload: Any) -> str:
    from api.reports import ReportFormat, ReportRequest, generate
    from api.telemetry_bounds import TimeRange

    stop = _instant(payload.get("to"), "/payload/to") or datetime.now(timezone.utc)
    start = _instant(payload.get("from"), "/payload/from") or stop - timedelta(days=7)
    request = ReportRequest(twin.id, TimeRange.of(start, stop), ReportFormat(payload.get("format") or "pdf"), False)
    return (await generate(info, request)).url


def _instant(value: Any, pointer: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as error:
        raise _bad(f"{value!r} is not an ISO-8601 date-time", pointer) from error


HANDLERS: dict[str, CommandHandler] = {
    "generateReport": CommandHandler(f"{GT}GridMeasurementPoint;1", Permission.read_telemetry, _generate_report),
    "operate": CommandHandler(f"{GT}SwitchingDevice;1", Permission.write_twins, _operate),
    "startSimulation": CommandHandler(f"{GT}GridMeasurementPoint;1", Permission.run_simulation, _start_simulation),
    "stopSimulation": CommandHandler(f"{GT}GridMeasurementPoint;1", Permission.run_simulation, _stop_simulation),
    "mlEngine/runInference": CommandHandler(f"{GT}GridMeasurementPoint;1", Permission.run_inference, _run_inference),
    "mlEngine/reloadModels": CommandHandler(f"{GT}GridMeasurementPoint;1", Permission.manage_models, _reload_models),
}
_VERSIONS = {"operate": (f"{GT}SwitchingDevice;1", f"{GT}SwitchingDevice;2")}


def _handler(models: Any, model: str, command: str) -> CommandHandler | None:
    handler = HANDLERS.get(command)
    if handler is None:
        return None
    ancestors = _VERSIONS.get(command, (handler.model,))
    return handler if any(models.is_a(model, ancestor) for ancestor in ancestors) else None


def _command(models: Any, interface: Any, path: str) -> Any:
    """The Command content ``path`` names: ``name`` of the interface, or ``component/name`` of a component's."""
    from graph.validation import component_interface

    if interface is None:
        return None
    component, _, name = path.rpartition("/")
    if component:
        holder = interface.contents.get(component)
        if holder is None or holder.kind != "Component":
            return None
        interface = component_interface(models, holder)
        if interface is None:
            return None
    content = interface.contents.get(name)
    return content if content is not None and content.kind == "Command" else None


def _commands_of(models: Any, interface: Any) -> list[str]:
    """Every command path of an interface, its components' included (what an error lists)."""
    from graph.validation import component_interface

    if interface is None:
        return []
    found = []
    for name, content in interface.contents.items():
        if content.kind == "Command":
            found.append(name)
        elif content.kind == "Component" and (inner := component_interface(models, content)) is not None:
            found += [f"{name}/{n}" for n, c in inner.contents.items() if c.kind == "Command"]
    return sorted(found)


def _check_payload(models: Any, content: Any, payload: Any) -> None:
    from graph.validation import validate_value

    if content.request is None:
        if payload is not None:
            raise _bad(f"command {content.name} takes no payload", "/payload")
        return
    if payload is None:
        raise _bad(f"command {content.name} needs a payload ({content.request.name})", "/payload")
    problems = validate_value(models, content.request.schema, payload, "/payload")
    if problems:
        raise ClientError(f"the payload does not match the request schema of {content.name}", "BAD_USER_INPUT",
                          [{"pointer": p.pointer, "message": p.message} for p in problems])


def _check_response(models: Any, content: Any, response: Any) -> Any:
    from graph.validation import validate_value

    if content.response is None:
        return None
    problems = validate_value(models, content.response.schema, response, "/response")
    if problems:  # our handler broke the model's contract: a defect, not the caller's fault
        raise RuntimeError(f"{content.name} answered outside its response schema: {problems[0].message}")
    return response


@strawberry.type
class CommandMutation:
    @strawberry.mutation(description="Invoke a DTDL command of a twin's model: the payload is checked against the "
                                     "command's request schema, the answer follows its response schema.",
                         permission_classes=[requires(Permission.write_twins)])
    async def invoke_command(self, info: GraphQLInfo, twin_id: strawberry.ID, command: str,
                             payload: JSON | None = None) -> JSON | None:
        from graph.twins import get_twin, is_account_model

        models = info.context.active.models
        twin = await call(get_twin, info.context.services.neo4j, models, str(twin_id))
        if info.context.loaders.hide_accounts and is_account_model(models, twin.model):
            raise ClientError(f"no twin {str(twin_id)!r}", "NOT_FOUND")  # accounts read as absent, as in twin(id)
        content = _command(models, models.interfaces.get(twin.model), command)
        if content is None:
            known = ", ".join(_commands_of(models, models.interfaces.get(twin.model))) or "none"
            raise _bad(f"{twin.model} has no command {command!r}; its commands: {known}", "/command")
        _check_payload(models, content, payload)
        handler = _handler(models, twin.model, command)
        if handler is None:
            raise ClientError(f"command {command!r} of {twin.model} is declared but GridTwin does not run it yet",
                              "NOT_IMPLEMENTED")
        principal = info.context.principal
        if principal is None or not principal.can(handler.permission):
            raise ClientError(f"command {command} needs: {handler.permission.value}", "FORBIDDEN")
        return _check_response(models, content, await handler.run(info, twin, payload))
