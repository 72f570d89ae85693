"""Simulation in GraphQL: start and stop runs, read them with their ground truth, follow their progress.

Operators and admins only (``Permission.run_simulation``).  A request the simulator cannot run is
refused before anything is stored, with the request field named (``/scenarios/1/depth``); a power
flow that does not converge is an entry in the run's ``errors``, and the run goes on.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime, timezone
from typing import Any

import strawberry
from strawberry.scalars import JSON

from api.auth import Permission
from api.context import GraphQLInfo
from api.errors import ClientError, call, guarded
from api.permissions import requires
from api.simulations import Progress, SimulationBusy
from gridtwin.fanout import SubscriptionClosed

MAX_LISTED = 500


@strawberry.input(description="One scenario of a run: its kind (normal, overload, outage, shortCircuit, pvCloud, "
                              "windRamp, demandResponse, voltageSag, harmonicDistortion, phaseUnbalance, "
                              "generatorLoss) and its parameters (docs/simulation.md), e.g. "
                              "{start_step: 10, duration_steps: 4}. Elements may be named by twin id.")
class ScenarioInput:
    kind: str
    parameters: JSON | None = None


@strawberry.type(description="A ground-truth event of a run: what happened, where, from when to when, how bad.")
class SimulationEvent:
    label: str
    scenario: str
    severity: float
    severity_unit: str
    start_step: int
    end_step: int = strawberry.field(description="First step after the event (exclusive).")
    start_time: datetime
    end_time: datetime
    elements: list[str] = strawberry.field(description="Element keys in the grid's source, e.g. line/12.")
    twin_ids: list[str]
    details: JSON


@strawberry.type(description="A simulation run and its state.")
class Simulation:
    id: str
    grid_id: str
    status: str = strawberry.field(description="running, completed, stopped or failed.")
    mode: str = strawberry.field(description="batch or realtime.")
    seed: int
    steps: int
    step_seconds: float
    start: datetime
    steps_done: int
    messages_sent: int
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime | None
    started_by: str | None
    errors: list[str]
    scenarios: JSON

    @strawberry.field(description="Share of the steps done, 0 to 1.")
    def progress(self) -> float:
        return self.steps_done / self.steps if self.steps else 1.0

    @strawberry.field(description="The run's ground truth in time order, optionally of one label.")
    async def events(self, info: GraphQLInfo, label: str | None = None) -> list[SimulationEvent]:
        from graph.simulations import run_events

        found = await call(run_events, info.context.services.neo4j, self.id, label=label)
        return [SimulationEvent(**{name: getattr(e, name) for name in _EVENT_FIELDS}) for e in found]


_EVENT_FIELDS = ("label", "scenario", "severity", "severity_unit", "start_step", "end_step", "start_time", "end_time",
                 "elements", "twin_ids", "details")
_RUN_FIELDS = ("id", "grid_id", "status", "mode", "seed", "steps", "step_seconds", "start", "steps_done",
               "messages_sent", "started_at", "finished_at", "updated_at", "started_by", "errors", "scenarios")


def _simulation(record: Any, live: Progress | None = None) -> Simulation:
    """A stored run; ``live`` (the runner's own progress, when the run is in this process) is fresher than
    what the run writes to Neo4j once a second."""
    values = {name: getattr(record, name) for name in _RUN_FIELDS}
    values["errors"], values["scenarios"] = list(record.errors), list(record.scenarios)
    if live is not None and live.steps_done >= record.steps_done and record.status == "running":
        values.update(steps_done=live.steps_done, messages_sent=live.messages_sent, status=live.status)
    return Simulation(**values)


def _live(info: GraphQLInfo, run_id: str) -> Progress | None:
    run = info.context.services.simulations.runs.get(run_id)
    return run.progress if run is not None else None


def _request(grid_id: str, scenarios: list[ScenarioInput], start: datetime | None, steps: int, step_seconds: float,
             seed: int, exact: bool) -> Any:
    from loaders.simulation.run import ScenarioRequest, SimulationRequest

    for position, scenario in enumerate(scenarios):
        if scenario.parameters is not None and not isinstance(scenario.parameters, dict):
            raise ClientError("scenario parameters are an object", "BAD_USER_INPUT",
                              [{"pointer": f"/scenarios/{position}/parameters", "message": "give a JSON object"}])
    return SimulationRequest(grid_id, tuple(ScenarioRequest(s.kind, dict(s.parameters or {})) for s in scenarios),
                             start or datetime.now(timezone.utc).replace(microsecond=0), steps, step_seconds, seed, exact)


def _refused(error: Any) -> ClientError:
    return ClientError(f"the simulation cannot run: {error}", "BAD_USER_INPUT",
                       [{"pointer": error.pointer(), "message": str(error)}])


@strawberry.type
class SimulationQuery:
    @strawberry.field(description="Simulation runs, newest first, optionally of one grid.",
                      permission_classes=[requires(Permission.run_simulation)])
    async def simulations(self, info: GraphQLInfo, grid_id: str | None = None, first: int = 50) -> list[Simulation]:
        from graph.simulations import list_runs

        if not 1 <= first <= MAX_LISTED:
            raise ClientError(f"first must be 1 to {MAX_LISTED}", "BAD_USER_INPUT",
                              [{"pointer": "/first", "message": f"{first} is outside 1..{MAX_LISTED}"}])
        found = await call(list_runs, info.context.services.neo4j, grid_id=grid_id, limit=first)
        return [_simulation(record, _live(info, record.id)) for record in found]

    @strawberry.field(description="One simulation run, or null.",
                      permission_classes=[requires(Permission.run_simulation)])
    async def simulation(self, info: GraphQLInfo, id: strawberry.ID) -> Simulation | None:
        from graph.simulations import find_run

        record = await call(find_run, info.context.services.neo4j, str(id))
        return None if record is None else _simulation(record, _live(info, str(id)))


@strawberry.type
class SimulationMutation:
    @strawberry.mutation(description="Run scenarios on a stored grid: batch (speed null: as fast as ingest takes "
                                     "it) or real time (speed = simulated seconds per wall second, 1 = real time). "
                                     "Telemetry goes through the normal ingest path; the ground truth is stored "
                                     "with the run.", permission_classes=[requires(Permission.run_simulation)])
    async def start_simulation(self, info: GraphQLInfo, grid_id: str, scenarios: list[ScenarioInput],
                               steps: int = 96, step_seconds: float = 900.0, start: datetime | None = None,
                               speed: float | None = None, seed: int = 0,
                               exact: bool = False) -> Simulation:
        from graph.simulations import get_run
        from loaders.simulation.run import SimulationRequestError

        if speed is not None and not 0.001 <= speed <= 1e6:
            raise ClientError("speed is simulated seconds per wall second, 0.001 to 1e6", "BAD_USER_INPUT",
                              [{"pointer": "/speed", "message": f"{speed} is outside 0.001..1e6"}])
        services = info.context.services
        principal = info.context.principal
        try:
            request = _request(grid_id, scenarios, start, steps, step_seconds, seed, exact)
            run_id = await guarded(services.simulations.start(
                request, speed=speed, started_by=principal.username if principal else None))
        except SimulationRequestError as error:
            raise _refused(error) from error
        except SimulationBusy as error:
            raise ClientError(str(error), "TOO_MANY_SIMULATIONS") from error
        return _simulation(await call(get_run, services.neo4j, run_id))

    @strawberry.mutation(description="Stop a run of this API process after its current step; false when it is "
                                     "not running here.", permission_classes=[requires(Permission.run_simulation)])
    def stop_simulation(self, info: GraphQLInfo, id: strawberry.ID) -> bool:
        return info.context.services.simulations.stop(str(id))


@strawberry.type
class SimulationSubscription:
    @strawberry.subscription(description="Progress of a run of this API process after every chunk of steps, "
                                         "ending when the run finishes.",
                             permission_classes=[requires(Permission.run_simulation)])
    async def simulation_progress(self, info: GraphQLInfo, id: strawberry.ID) -> AsyncGenerator[Progress, None]:
        runner = info.context.services.simulations
        subscription = runner.progress.subscribe({str(id)}, max_queue=256, policy="disconnect")
        try:
            current = runner.runs.get(str(id))
            if current is not None and current.progress is not None:
                yield current.progress
                if current.progress.status != "running":
                    return
            while True:
                delivery = await subscription.get()
                for update in delivery.items:
                    yield update
                    if update.status != "running":
                        return
        except SubscriptionClosed as closed:
            raise ClientError(f"subscription closed: {closed.reason}", "SUBSCRIPTION_CLOSED") from closed
        finally:
            subscription.close()
