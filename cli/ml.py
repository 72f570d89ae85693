"""``gridtwin ml train`` / ``gridtwin ml evaluate`` / ``gridtwin ml list``: the model set from the command line.

Training writes new versions into the profile's models folder (``<state dir>/models``);
evaluation loads the newest versions, scores them on held-out data against their baselines
and prints the table docs/ml.md records (``--markdown`` prints it as Markdown).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli.output import console, err_console
from gridtwin.config import get_settings

ml_app = typer.Typer(help="Train, evaluate and list the ML model set.", no_args_is_help=True)

PlanOption = Annotated[str, typer.Option("--plan", help="full (docs/ml.md's numbers) or small (seconds, as in make test)")]
ModelOption = Annotated[list[str] | None, typer.Option("--model", "-m", help="only these models (registry names)")]


def _context(plan_name: str, models: list[str] | None):  # -> (Registry, Plan, names, cache dir)
    from ml import jobs
    from ml.plan import PLANS
    from ml.registry import Registry

    if plan_name not in PLANS:
        err_console.print(f"--plan: {plan_name!r} is not one of {', '.join(PLANS)}", markup=False)
        raise typer.Exit(2)
    names = models or list(jobs.JOBS)
    unknown = [name for name in names if name not in jobs.JOBS]
    if unknown:
        err_console.print(f"--model: {', '.join(unknown)} not built; built models: {', '.join(jobs.JOBS)}", markup=False)
        raise typer.Exit(2)
    settings = get_settings()
    return Registry.of_profile(settings.state_path), PLANS[plan_name], names, settings.cache_dir / "ml"


def _refusing(job):  # -> what the job returns
    """Run a job; a missing or mismatched trained model is one clear line and exit code 2, not a traceback."""
    from ml.registry import RegistryError

    try:
        return job()
    except RegistryError as error:
        err_console.print(f"{error}", markup=False)
        raise typer.Exit(2) from error


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console)


@ml_app.command("train")
def train(plan: PlanOption = "full", model: ModelOption = None) -> None:
    """Train the built models on the plan's data and store a new version of each."""
    from ml import jobs

    registry, chosen, names, cache_dir = _context(plan, model)
    with _progress() as progress:
        task = progress.add_task(f"training ({chosen.name} plan)", total=len(names))
        for name in names:
            progress.update(task, description=f"training {name}")
            started = time.perf_counter()
            artefact = _refusing(lambda: jobs.train(name, registry, chosen, cache_dir))
            progress.console.print(f"{name} v{artefact.version}: {time.perf_counter() - started:.1f} s, "
                                   f"data sha256 {artefact.metadata['data_sha256'][:12]}", markup=False)
            progress.advance(task)


@ml_app.command("evaluate")
def evaluate(plan: PlanOption = "full", model: ModelOption = None,
             grid: Annotated[str | None, typer.Option("--grid", help="score the grid-wide models (load forecast, losses, "
                                                                    "taps, anomaly, GNN) on this simbench code; the risk "
                                                                    "and dispatch models keep their plan's grids")] = None,
             markdown: Annotated[bool, typer.Option("--markdown", help="print the table as Markdown")] = False) -> None:
    """Score the newest version of each model on held-out data beside its baseline."""
    from ml import jobs
    from ml.evaluation import HEADER, markdown as render, not_built_rows

    registry, chosen, names, cache_dir = _context(plan, model)
    if grid:
        chosen = chosen.for_grid(grid)
    rows = []
    with _progress() as progress:
        task = progress.add_task("evaluating", total=len(names))
        for name in names:
            progress.update(task, description=f"evaluating {name}")
            rows += _refusing(lambda: jobs.evaluate(name, registry, chosen, cache_dir))
            progress.advance(task)
    rows += [] if model else not_built_rows()
    if markdown:
        console.print(render(rows), markup=False, highlight=False)
        return
    table = Table(*HEADER, title=f"GridTwin models ({chosen.name} plan)")
    for row in rows:
        table.add_row(*row.cells())
    console.print(table)


@ml_app.command("dataset")
def dataset(run_id: Annotated[str, typer.Argument(help="a stored simulation run (`gridtwin simulate` or startSimulation)")],
            output: Annotated[Path, typer.Option("--output", "-o", help="the .npz file to write")],
            stride: Annotated[int, typer.Option("--stride", help="seconds between rows")] = 1) -> None:
    """A dataset from a stored run: its points' telemetry read back from InfluxDB through the point feature
    path, labelled from the run's recorded ground truth (ml/data/stored_runs.py)."""
    import asyncio

    from graph import db as graph_db
    from graph.errors import NotFoundError
    from graph.models_store import load_model_set
    from ml.data.stored_runs import describe, run_dataset
    from timeseries.directory import InMemoryTwinDirectory
    from timeseries.queries import TelemetryQueries

    settings = get_settings()
    queries = TelemetryQueries.from_settings(settings, InMemoryTwinDirectory())
    try:
        with graph_db.open_driver(settings) as driver:
            found = asyncio.run(run_dataset(driver, load_model_set(driver), queries, run_id, stride))
    except NotFoundError as error:
        err_console.print(f"{error}", markup=False)
        raise typer.Exit(2) from error
    finally:
        queries.close()
    found.save(output)
    summary = describe(found)
    console.print(f"{output}: {summary['rows']} rows of {summary['points']} points x {summary['features']} "
                  f"features from run {run_id} ({summary['grid']}); labels {summary['labels']}", markup=False)


@ml_app.command("list")
def list_models() -> None:
    """The catalogue: every model, whether it is built and its newest trained version."""
    from ml.catalogue import MODELS
    from ml.registry import Registry

    registry = Registry.of_profile(get_settings().state_path)
    table = Table("model", "task", "label", "built", "trained versions")
    for entry in MODELS:
        versions = registry.versions(entry.name)
        table.add_row(entry.name, entry.task, entry.label, "yes" if entry.built else "no",
                      ", ".join(map(str, versions)) or "—")
    console.print(table)


Training = tuple[tuple[str, str, str | None], ...]


def demo_training(points_grid: str) -> Training:
    """What `make demo` trains when the profile has no version yet: (model, plan, the one grid it is for).

    The load forecast on the full plan's data (~1.5 min once); the models the demo's points are
    inferred with on the small plan (about a minute in all; `gridtwin ml train` gives the full ones);
    technical losses for the grid the points measure in (the estimator is per grid).
    """
    return (("energy_flow.load_forecast", "full", None), ("monitoring.voltage_anomaly", "small", None),
            ("monitoring.power_quality_disturbance", "small", None),
            ("monitoring.frequency_forecast", "small", None), ("maintenance.overload_risk", "small", None),
            ("maintenance.equipment_failure_risk", "small", None), ("maintenance.power_quality_index", "small", None),
            ("energy_flow.technical_losses", "small", points_grid))


def ensure_trained(training: Training) -> None:
    """Train each model the profile's registry does not hold yet (the demo's forecasts and predictions need them)."""
    from ml import jobs

    for name, plan_name, grid in training:
        registry, chosen, _, cache_dir = _context(plan_name, [name])
        if registry.versions(name):
            continue
        chosen = chosen.for_grid(grid) if grid else chosen
        console.print(f"training {name} for the demo ({chosen.name} plan, once per profile) ...", markup=False)
        artefact = jobs.train(name, registry, chosen, cache_dir)
        console.print(f"{name} v{artefact.version} stored in {registry.root}", markup=False)
