"""Simulation runs of one API process: start, stop, progress, the grid edits they follow.

A run is an asyncio task.  The power flows and the mapping to telemetry run in a worker thread
(power-grid-model releases the GIL); the telemetry goes through the process's normal ingest
pipeline (validated, made durable, published to subscribers) in batches of :data:`INGEST_BATCH`.
Batch runs compute :data:`BATCH_CHUNK` steps at a time and send them as fast as ingest takes
them; real-time runs compute one step at a time, paced at ``speed`` simulated seconds per wall
second, and re-read the grid before the next step when one of its twins changed through this
API (a breaker opened, a load changed): the edit is in the next step.

Limits, enforced before any grid is read: :data:`MAX_RUNNING` runs at once per process; a run's
steps are bounded by ``physics.timeseries.MAX_STEPS``.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import strawberry

from api.events import TwinEvent, TwinEvents
from gridtwin.fanout import FanOut
from timeseries.ingest import IngestResult

log = logging.getLogger(__name__)

MAX_RUNNING = 4
BATCH_CHUNK = 960
INGEST_BATCH = 5_000
#: How often a run's progress is written to its SimulationRun node (its subscribers hear every chunk).
PROGRESS_WRITE_S = 1.0

Ingest = Callable[[Sequence[dict[str, Any]]], Awaitable[IngestResult]]


@strawberry.type(name="SimulationProgress", description="Where a run is, delivered after every chunk of steps.")
class Progress:
    """What ``simulationProgress`` delivers and ``simulation(id)`` reads while the run is in this process."""

    run_id: str
    status: str
    steps_done: int
    steps: int
    messages_sent: int
    simulated_time: datetime | None
    errors: list[str]

    @strawberry.field(description="Share of the steps done, 0 to 1.")
    def progress(self) -> float:
        return self.steps_done / self.steps if self.steps else 1.0


def _run_id(progress: Progress) -> str:
    return progress.run_id


class SimulationBusy(Exception):
    """Too many runs at once."""


@dataclass
class _Run:
    id: str
    grid_id: str
    speed: float | None
    origin: str | None = None  # the twin whose command started it (invokeCommand startSimulation)
    task: asyncio.Task[None] | None = None
    stop_requested: bool = False
    grid_changed: bool = False
    #: Twins the run itself switched, with the state the plan was made on (undone when it re-reads the grid).
    operated: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Twin events the run is about to publish for its own edits: not edits to re-read the grid for.
    own_edits: set[str] = field(default_factory=set)
    progress: Progress | None = None
    errors: list[str] = field(default_factory=list)


class SimulationRunner:
    """The runs of this process (build it in the lifespan; ``close`` stops them)."""

    def __init__(self, driver: Any, settings: Any, models: Callable[[], Any], ingest: Ingest,
                 events: TwinEvents) -> None:
        self._driver = driver
        self._settings = settings
        self._models = models
        self._ingest = ingest
        self._events = events
        self.runs: dict[str, _Run] = {}
        self._starting = 0
        self.progress: FanOut[Progress] = FanOut(_run_id)

    def running(self) -> list[str]:
        return [run.id for run in self.runs.values() if run.task is not None and not run.task.done()]

    def started_from(self, twin_id: str) -> list[str]:
        """Running runs that a command of ``twin_id`` started."""
        return [run.id for run in self.runs.values() if run.origin == twin_id and run.id in self.running()]

    async def start(self, request: Any, *, speed: float | None, started_by: str | None,
                    origin: str | None = None) -> str:
        """Prepare (errors name the request field) and store the run, then run it in the background."""
        from graph.simulations import RecordedEvent, RunRecord, create_run
        from loaders.simulation.run import prepare

        if len(self.running()) + self._starting >= MAX_RUNNING:
            raise SimulationBusy(f"{MAX_RUNNING} simulations are running in this API process; stop one first")
        self._starting += 1  # held while the grid is read: concurrent starts cannot pass the limit together
        try:
            prepared = await asyncio.to_thread(prepare, self._driver, self._models(), self._settings, request)
        finally:
            self._starting -= 1
        run = _Run(f"sim-{uuid.uuid4().hex[:12]}", request.grid_id, speed, origin)
        step = timedelta(seconds=request.step_seconds)
        events = [RecordedEvent(e.label, e.scenario, e.severity, e.severity_unit, e.start_step, e.end_step,
                                request.start + e.start_step * step, request.start + e.end_step * step,
                                tuple(e.elements), tuple(prepared.twins_of(e.elements)), dict(e.details))
                  for e in prepared.events()]
        record = RunRecord(run.id, request.grid_id, "running", request.seed, request.steps, request.step_seconds,
                           request.start, "batch" if speed is None else "realtime",
                           tuple({"kind": s.kind, "parameters": dict(s.parameters)} for s in request.scenarios),
                           started_by=started_by)
        await asyncio.to_thread(create_run, self._driver, record, events)
        self.runs[run.id] = run
        run.task = asyncio.create_task(self._execute(run, prepared), name=f"simulation {run.id}")
        return run.id

    def stop(self, run_id: str) -> bool:
        """Ask a run to stop after its current step; False when it is not running here."""
        run = self.runs.get(run_id)
        if run is None or run.task is None or run.task.done():
            return False
        run.stop_requested = True
        return True

    async def close(self) -> None:
        for run in self.runs.values():
            run.stop_requested = True
        tasks = [run.task for run in self.runs.values() if run.task is not None]
        await asyncio.gather(*tasks, return_exceptions=True)
        self.progress.close("the API is shutting down")

    def _note_edit(self, run: _Run) -> Callable[[TwinEvent], None]:
        prefix = f"{run.grid_id}/"

        def note(event: TwinEvent) -> None:
            if event.twin_id in run.own_edits:
                run.own_edits.discard(event.twin_id)
                return
            if event.twin_id.startswith(prefix) or (event.other_twin_id or "").startswith(prefix):
                run.grid_changed = True
        return note

    async def _execute(self, run: _Run, prepared: Any) -> None:
        from graph.simulations import finish_run

        status = "failed"
        try:
            with self._events.watching(self._note_edit(run)):
                status = await self._steps(run, prepared)
        except asyncio.CancelledError:
            status = "stopped"  # the process is shutting down: the run did not fail
            raise
        except Exception as error:  # the run's failure is its record, not a crash of the API
            log.exception("simulation %s failed", run.id)
            run.errors.append(f"{type(error).__name__}: {error}")
        finally:
            await asyncio.to_thread(finish_run, self._driver, run.id, status, run.errors[-20:])
            self._publish(run, prepared, status, run.progress.steps_done if run.progress else 0,
                          run.progress.messages_sent if run.progress else 0)

    async def _steps(self, run: _Run, prepared: Any) -> str:
        from graph.simulations import record_progress
        from loaders.simulation.run import prepare

        request = prepared.request
        chunk = BATCH_CHUNK if run.speed is None else 1
        wall_start, written_at, sent, step = time.monotonic(), 0.0, 0, 0
        while step < request.steps:
            if run.stop_requested:
                return "stopped"
            if run.grid_changed:
                run.grid_changed = False
                prepared = await asyncio.to_thread(prepare, self._driver, self._models(), self._settings, request,
                                                   run.operated)
            end = min(request.steps, step + chunk)
            if run.speed is not None:
                await self._operate_switches(run, prepared, step)
            sent += await self._send_chunk(run, prepared, step, end)
            step = end
            self._publish(run, prepared, "running", step, sent)
            if time.monotonic() - written_at >= PROGRESS_WRITE_S or step == request.steps:
                await asyncio.to_thread(record_progress, self._driver, run.id, step, sent, run.errors[-5:])
                written_at = time.monotonic()
            if run.speed is not None:
                due = wall_start + step * request.step_seconds / run.speed
                await asyncio.sleep(max(0.0, due - time.monotonic()))
        return "completed"

    async def _operate_switches(self, run: _Run, prepared: Any, step: int) -> None:
        """Real time only: a protection trip opens its breaker's twin (and recloses it after the event), as
        the device would report it; twinChanged subscribers see it.  A batch run of past or future time
        leaves the live graph alone."""
        from graph.twins import update_twin

        for twin_id, state in prepared.switchings(step):
            patch = [{"op": "add", "path": "/switchState", "value": state}]
            try:
                twin = await asyncio.to_thread(update_twin, self._driver, self._models(), twin_id, patch)
            except Exception as error:  # the twin was deleted or is not a switch of version 2
                run.errors.append(f"step {step}: could not set {twin_id} {state}: {error}")
                continue
            run.operated[twin_id] = {"switchState": "closed"}
            run.own_edits.add(twin.id)  # the plan already holds the trip: no re-read for our own edit
            self._events.publish_one(TwinEvent("twinUpdated", twin.id, twin.model))

    async def _send_chunk(self, run: _Run, prepared: Any, start: int, end: int) -> int:
        from loaders.simulation.telemetry import messages

        series, clocks, errors = await asyncio.to_thread(prepared.chunk, start, end)
        run.errors.extend(errors)
        batch: list[dict[str, Any]] = []
        sent = 0
        for message in messages(series, range(end - start), prepared.request.times_ns(range(start, end)), clocks):
            batch.append(message)
            if len(batch) >= INGEST_BATCH:
                sent += await self._ingest_batch(run, batch)
                batch = []
        if batch:
            sent += await self._ingest_batch(run, batch)
        return sent

    async def _ingest_batch(self, run: _Run, batch: list[dict[str, Any]]) -> int:
        result = await self._ingest(batch)
        for rejection in result.rejected[:3]:
            run.errors.append(f"ingest refused a simulated message: {rejection}")
        return result.accepted

    def _publish(self, run: _Run, prepared: Any, status: str, done: int, sent: int) -> None:
        request = prepared.request
        simulated = request.start + timedelta(seconds=request.step_seconds * done) if done else None
        run.progress = Progress(run_id=run.id, status=status, steps_done=done, steps=request.steps, messages_sent=sent,
                                simulated_time=simulated, errors=run.errors[-5:])
        self.progress.publish_one(run.progress)


__all__ = ["MAX_RUNNING", "Progress", "SimulationBusy", "SimulationRunner"]
