"""``gridtwin grid import|export|list|delete``: real grids into and out of the twin graph.

The commands are thin: sources are read by ``loaders.grids.sources`` / ``loaders.adt``, stored by
``loaders.grids.sink`` / ``loaders.adt_graph``, read back by ``loaders.grids.reader``.  Every
refusal is one message naming the file, element and field, and exit code 1; nothing of a
refused input is stored.  The power-flow stack is imported inside the commands, so ``gridtwin``
starts as fast as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli.output import console, err_console
from gridtwin.config import get_settings

grid_app = typer.Typer(help="Real grids: import (simbench, pandapower, ADT), export, list, delete.",
                       no_args_is_help=True)
#: How many problems of a refused input are printed (all of them are counted).
SHOWN_PROBLEMS = 20


@grid_app.callback()
def grid_main() -> None:
    """Real grids in the twin graph."""
    import logging

    logging.getLogger("pandapower").setLevel(logging.WARNING)  # its import-time notes (no plotly, ...) are noise here


def _fail(message: str, problems: list[str] | None = None) -> typer.Exit:
    """Print one refusal (and its first problems) and return the exit to raise."""
    err_console.print("[red]error:[/red] ", end="")
    err_console.print(message, highlight=False, markup=False)
    for line in (problems or [])[:SHOWN_PROBLEMS]:
        err_console.print(f"  {line}", highlight=False, markup=False)
    if problems and len(problems) > SHOWN_PROBLEMS:
        err_console.print(f"  ... and {len(problems) - SHOWN_PROBLEMS} more")
    return typer.Exit(1)


@contextmanager
def _refusals() -> Iterator[None]:
    """Every refusal of the loaders and the graph as one clear message and exit code 1."""
    import neo4j

    from graph.errors import GraphError
    from loaders.adt import AdtFileError
    from loaders.grids.document import GridSourceError
    from loaders.grids.sink import GridStoreError

    try:
        yield
    except AdtFileError as error:
        raise _fail(error.message, [str(issue) for issue in error.issues]) from error
    except GridStoreError as error:  # each problem's message names its element and field
        raise _fail(error.message, [problem.message for problem in error.problems]) from error
    except GraphError as error:
        raise _fail(error.message, [str(problem) for problem in error.problems]) from error
    except GridSourceError as error:
        raise _fail(str(error)) from error
    except (neo4j.exceptions.ServiceUnavailable, neo4j.exceptions.AuthError) as error:
        raise _fail(f"Neo4j of profile {get_settings().profile!r} is not reachable ({error}); "
                    "start it with: gridtwin services up") from error
    except OSError as error:
        raise _fail(f"{getattr(error, 'filename', None) or 'file'}: {error.strerror or error}") from error


@contextmanager
def _graph() -> Iterator[tuple[Any, Any]]:
    """The profile's Neo4j driver and its model set (the shipped models stored first)."""
    from graph.db import open_driver
    from graph.models_store import ensure_builtin_models

    with open_driver(get_settings()) as driver:
        yield driver, ensure_builtin_models(driver)


def _progress_bar() -> Progress:
    return Progress(SpinnerColumn(), TextColumn("{task.description:<22}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=False)


def _reporter(bar: Progress) -> Callable[[str, int, int], None]:
    """A ``loaders.merge.Progress`` that moves one bar per phase."""
    tasks: dict[str, Any] = {}

    def report(phase: str, done: int, total: int) -> None:
        if phase not in tasks:
            tasks[phase] = bar.add_task(phase, total=total)
        bar.update(tasks[phase], completed=done, total=total)

    return report


def _import_adt(path: str) -> None:
    from loaders.adt_graph import import_adt

    with _refusals(), _graph() as (driver, _), _progress_bar() as bar:
        bar.add_task(f"reading {Path(path).name}", total=None)
        report = import_adt(driver, Path(path), progress=_reporter(bar))
    console.print(f"{report.source}: {report.models_added} model(s) added, {report.twins_created} twin(s) created, "
                  f"{report.twins_updated} updated, {report.relationships_created} relationship(s) created, "
                  f"{report.relationships_updated} updated in {report.seconds:.1f} s")


@grid_app.command("import")
def grid_import(
    source: str = typer.Argument(..., help="simbench:<code>, pandapower:<network>, opendss:<ieee13|ieee34|ieee123>, "
                                           "a pandapower .json file, an OpenDSS .dss master file, a CGMES .zip "
                                           "(or cgmes:<folder>), or adt:<file>.ndjson"),
    grid_id: str | None = typer.Option(None, "--id", help="grid id (default: the code, network name or file stem)"),
    replace: bool = typer.Option(False, "--replace", help="replace a stored grid of this id from another source"),
) -> None:
    """Import a grid; re-importing the same source updates it in place."""
    if source.startswith("adt:"):
        if grid_id:
            raise _fail("--id does not apply to an ADT file: its twins carry their own ids")
        _import_adt(source[len("adt:"):])
        return
    import time

    from loaders.grids.sink import store_grid
    from loaders.grids.sources import load_grid

    with _refusals():
        started = time.perf_counter()
        with _progress_bar() as bar:
            reading = bar.add_task(f"reading {source}", total=None)
            document = load_grid(source, grid_id)
            bar.update(reading, total=1, completed=1)
            read_seconds = time.perf_counter() - started
            with _graph() as (driver, models):
                report = store_grid(driver, models, document, settings=get_settings(), replace=replace,
                                    progress=_reporter(bar))
    console.print(
        f"grid [bold]{report.grid_id}[/bold] from {report.source}: {report.buses} buses; twins "
        f"{report.twins_created} created, {report.twins_updated} updated ({report.twins_unchanged} unchanged), "
        f"{report.twins_deleted} removed; relationships {report.relationships_created} created, "
        f"{report.relationships_updated} updated ({report.relationships_unchanged} unchanged), "
        f"{report.relationships_deleted} removed; {report.profile_tables} profile table(s)"
        f"{' in ' + report.profile_file if report.profile_file else ''}; topology depth {report.topology_depth}; "
        f"read {read_seconds:.1f} s, stored {report.seconds:.1f} s")


@grid_app.command("export")
def grid_export(
    format: str = typer.Argument(..., help="pandapower (JSON net), opendss (DSS script of an OpenDSS grid) or adt (ADT import file, NDJSON)"),
    grid_id: str = typer.Argument(..., help="the grid id (see gridtwin grid list)"),
    output: Path = typer.Option(..., "-o", "--output", help="file to write"),
) -> None:
    """Export a stored grid as it is now (operator edits included)."""
    from loaders.grids.export import EXPORT_FORMATS, export_grid

    if format not in EXPORT_FORMATS:
        raise _fail(f"unknown format {format!r}: use {' or '.join(EXPORT_FORMATS)}")
    with _refusals(), _graph() as (driver, models):
        chunks = export_grid(driver, models, grid_id, format)  # type: ignore[arg-type]
        with output.open("w", encoding="utf-8") as file:
            file.writelines(chunks)
    console.print(f"grid [bold]{grid_id}[/bold] exported as {format} to {output}")


@grid_app.command("list")
def grid_list() -> None:
    """The stored grids with their source, twin and bus counts."""
    from loaders.grids.sink import list_grids

    with _refusals(), _graph() as (driver, _):
        grids = list_grids(driver)
    table = Table(title=f"grids, profile {get_settings().profile}")
    for column in ("grid id", "source", "twins", "buses", "profiles"):
        table.add_column(column)
    for grid in grids:
        table.add_row(grid.grid_id, grid.source or "-", str(grid.twins), str(grid.buses), grid.profile_file or "-")
    console.print(table)


@grid_app.command("delete")
def grid_delete(grid_id: str = typer.Argument(..., help="the grid id (see gridtwin grid list)")) -> None:
    """Delete a grid: every twin with its gridId, their relationships and the stored profiles."""
    from loaders.grids.sink import delete_grid

    with _refusals(), _graph() as (driver, _):
        report = delete_grid(driver, grid_id, settings=get_settings())
    console.print(f"grid [bold]{grid_id}[/bold] deleted: {report.twins} twins, {report.relationships} relationships"
                  f"{', profiles' if report.profiles else ''}")
