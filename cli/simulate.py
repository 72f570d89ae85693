"""``gridtwin simulate GRID_ID``: a simulation run from the command line, through the same runner as the API.

The command starts the API's services in-process (no HTTP server): the run's telemetry goes through
the normal ingest pipeline (validated, spooled, written, downsampled) and its ground truth is
stored with the run, exactly as ``startSimulation`` does.  A batch run shows a progress bar; a
real-time run prints its progress as it goes; Ctrl-C stops the run after its current step.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from cli.output import console, err_console
from gridtwin.config import get_settings



def _scenario(text: str, position: int) -> Any:
    """``KIND`` or ``KIND:{json parameters}``."""
    from loaders.simulation.run import ScenarioRequest, SimulationRequestError

    kind, _, parameters = text.partition(":")
    try:
        values = json.loads(parameters) if parameters else {}
    except json.JSONDecodeError as error:
        raise SimulationRequestError(f"scenarios[{position}].parameters", f"not JSON: {error}") from error
    if not isinstance(values, dict):
        raise SimulationRequestError(f"scenarios[{position}].parameters", "give a JSON object")
    return ScenarioRequest(kind, values)


def _start_time(text: str | None) -> datetime:
    from loaders.simulation.run import SimulationRequestError

    if text is None:
        return datetime.now(timezone.utc).replace(microsecond=0)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as error:
        raise SimulationRequestError("start", f"{text!r} is not an ISO 8601 time") from error
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


async def _run(request: Any, speed: float | None) -> tuple[Any, list[Any]]:
    from api.app import start_services
    from graph.simulations import get_run, run_events

    services = await start_services(get_settings())
    try:
        runner = services.simulations
        run_id = await runner.start(request, speed=speed, started_by="cli")
        subscription = runner.progress.subscribe({run_id}, policy="disconnect", max_queue=100_000)
        columns = [TextColumn(f"[bold]{run_id}[/bold] {request.grid_id}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("steps, {task.fields[sent]:,} messages"), TimeElapsedColumn(), TimeRemainingColumn()]
        with Progress(*columns, console=console) as bar:
            task = bar.add_task("simulating", total=request.steps, sent=0)
            try:
                while True:
                    update = (await subscription.get()).items[-1]
                    bar.update(task, completed=update.steps_done, sent=update.messages_sent)
                    if update.status != "running":
                        break
            except asyncio.CancelledError:
                runner.stop(run_id)
                raise
        record = await asyncio.to_thread(get_run, services.neo4j, run_id)
        events = await asyncio.to_thread(run_events, services.neo4j, run_id)
        return record, events
    finally:
        await services.close()


def _report(record: Any, events: list[Any]) -> None:
    console.print(f"{record.id}: {record.status}, {record.steps_done} of {record.steps} steps, "
                  f"{record.messages_sent:,} telemetry messages")
    for error in record.errors:
        err_console.print(f"  {error}", highlight=False, markup=False)
    table = Table("label", "scenario", "steps", "severity", "twins")
    for event in events:
        twins = ", ".join(event.twin_ids[:3]) + (f" (+{len(event.twin_ids) - 3})" if len(event.twin_ids) > 3 else "")
        table.add_row(event.label, event.scenario, f"{event.start_step}..{event.end_step - 1}",
                      f"{event.severity:.4g} {event.severity_unit}", twins)
    console.print(table)


def simulate(
    grid_id: str = typer.Argument(..., help="A stored grid's id (gridtwin grid list)."),
    scenario: list[str] = typer.Option(["normal"], "--scenario", "-s",
                                       help="KIND or KIND:{json parameters}, repeatable (docs/simulation.md)."),
    steps: int = typer.Option(96, help="Steps to simulate."),
    step_seconds: float = typer.Option(900.0, help="Seconds per step."),
    start: str | None = typer.Option(None, help="Time of the first step, ISO 8601 (default: now)."),
    seed: int = typer.Option(0, help="Seed of the scenarios and the sensor layer."),
    exact: bool = typer.Option(False, help="Sensor layer off: the physics as computed."),
    realtime: bool = typer.Option(False, "--realtime/--batch", help="Paced at --speed, or as fast as ingest takes it."),
    speed: float = typer.Option(1.0, help="Real time only: simulated seconds per wall second."),
) -> None:
    """Simulate a stored grid: power flow per step, telemetry through ingest, ground truth stored with the run."""
    from graph.errors import GraphError
    from loaders.simulation.run import SimulationRequest, SimulationRequestError

    try:
        request = SimulationRequest(grid_id, tuple(_scenario(text, i) for i, text in enumerate(scenario)),
                                    _start_time(start), steps, step_seconds, seed, exact)
        record, events = asyncio.run(_run(request, speed if realtime else None))
    except (SimulationRequestError, GraphError) as error:
        err_console.print(f"[red]error:[/red] {error}", highlight=False)
        raise typer.Exit(1) from error
    except KeyboardInterrupt:
        err_console.print("stopped")
        raise typer.Exit(130) from None
    _report(record, events)
    if record.status != "completed":
        raise typer.Exit(1)
