"""The ``gridtwin`` command line: servers, models, demo and API."""

from __future__ import annotations

import functools

import json
import time
from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from cli.output import console
from cli.grid import grid_app
from cli.ml import demo_training, ensure_trained, ml_app
from cli.simulate import simulate
from gridtwin.config import get_settings
from gridtwin.logs import configure_logging

app = typer.Typer(help="GridTwin: a GraphQL digital twin of an electrical grid.", no_args_is_help=True)
services_app = typer.Typer(help="The profile's Neo4j, InfluxDB and Redis servers.", no_args_is_help=True)
app.add_typer(services_app, name="services")
models_app = typer.Typer(help="DTDL models: validate, compile to Neo4j Cypher, export as RDF.", no_args_is_help=True)
app.add_typer(models_app, name="models")
app.add_typer(grid_app, name="grid")
app.add_typer(ml_app, name="ml")
app.command("simulate")(simulate)


@app.callback()
def main() -> None:
    configure_logging(get_settings().log_level, get_settings().log_format)


@services_app.command("up")
def services_up() -> None:
    """Build (first time only) and start Neo4j and InfluxDB for the profile."""
    import servers as services

    settings = get_settings()
    started = time.monotonic()
    try:
        services.up(settings)
    except Exception as error:  # noqa: BLE001 - one clear message, no traceback
        console.print(f"[red]services up failed:[/red] {error}")
        raise typer.Exit(1) from error
    console.print(f"profile [bold]{settings.profile}[/bold]: servers up in {time.monotonic() - started:.1f} s")
    _print_status()


@services_app.command("build")
def services_build() -> None:
    """Build Neo4j and InfluxDB (and install GraphiQL's browser assets) into the cache (a no-op when cached)."""
    from servers import browser_assets, influxdb, neo4j

    settings = get_settings()
    started = time.monotonic()
    try:
        neo4j_home, influx_home = neo4j.provision(settings), influxdb.provision(settings)
        assets = browser_assets.provision(settings)
    except Exception as error:  # noqa: BLE001 - one clear message, no traceback
        console.print(f"[red]services build failed:[/red] {error}")
        raise typer.Exit(1) from error
    console.print(f"Neo4j {neo4j.version()}: {neo4j_home}\nInfluxDB {influxdb.version()}: {influx_home}\n"
                  f"GraphiQL's assets: {assets}\nready in {time.monotonic() - started:.1f} s")


@services_app.command("down")
def services_down() -> None:
    """Stop the profile's servers."""
    import servers as services

    services.down(get_settings())
    console.print(f"profile [bold]{get_settings().profile}[/bold]: servers stopped")


@services_app.command("status")
def services_status() -> None:
    """Print versions, addresses and PIDs; exit 1 unless both servers are up."""
    if not _print_status():
        raise typer.Exit(1)


def _print_status() -> bool:
    import servers as services

    settings = get_settings()
    table = Table(title=f"GridTwin services, profile {settings.profile} ({settings.state_path})")
    for column in ("service", "running", "pid", "address", "version"):
        table.add_column(column)
    rows = services.status(settings)
    for row in rows:
        table.add_row(row.name, "yes" if row.running else "no", str(row.pid or "-"), row.address or "-",
                      row.version or "-")
    console.print(table)
    return all(row.running for row in rows)


def _load_documents(paths: list[Path]) -> tuple[list[Any], list[Path]]:
    """JSON documents of the given files and folders (``*.json`` inside folders), with their files."""
    files = sorted(f for p in paths for f in (p.rglob("*.json") if p.is_dir() else [p]))
    documents: list[Any] = []
    for file in files:
        try:
            documents.append(json.loads(file.read_text(encoding="utf-8-sig")))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            console.print(f"[red]{file}[/red]: not a readable JSON document: {error}")
            raise typer.Exit(1) from error
    if not files:
        console.print("[red]no *.json model files found[/red] in " + ", ".join(map(str, paths)))
        raise typer.Exit(1)
    return documents, files


def _validated(paths: list[Path]) -> Any:
    import dtdl

    documents, files = _load_documents(paths)
    result = dtdl.validate(documents, resolve_relationship_targets=True)
    for problem in result.problems:
        source = files[problem.document] if problem.document is not None else "?"
        # the problem's texts are data (DTMIs hold ':x:'-like runs, values hold brackets): never markup or emoji
        console.print(Text.assemble((problem.rule, "red"),
                                    f"\n  file: {source}\n  element: {problem.element or '-'}\n"
                                    f"  pointer: {problem.pointer or '/'}\n  value: {problem.value!r}\n  {problem.message}"),
                      highlight=False)
    if not result.ok:
        console.print(f"{len(result.problems)} problem(s) in {len(files)} file(s)")
        raise typer.Exit(1)
    return result


@models_app.command("validate")
def models_validate(paths: list[Path]) -> None:
    """Validate DTDL files and folders together; exit 1 with the problem list on any error."""
    result = _validated(paths)
    console.print(f"ok: {len(result.models.interfaces)} interfaces valid")


@models_app.command("compile")
def models_compile(paths: list[Path]) -> None:
    """Print the Cypher that applies the Neo4j schema compiled from the models."""
    from ontology.neo4j_schema import compile_schema, render_script

    print(render_script(compile_schema(_validated(paths).models)))


@models_app.command("export")
def models_export(paths: list[Path], format: str = typer.Option("ttl", help="ttl, jsonld, nt or owl (OWL as Turtle)")) -> None:
    """Print the models as RDF (JSON-LD expanded with the bundled contexts) or as the OWL view."""
    from ontology import jsonld, owl

    formats = {"ttl": "turtle", "jsonld": "json-ld", "nt": "nt"}
    if format not in (*formats, "owl"):
        console.print(f"[red]unknown format {format!r}[/red]: use ttl, jsonld, nt or owl")
        raise typer.Exit(2)
    result = _validated(paths)
    if format == "owl":
        print(jsonld.serialize(owl.owl_graph(result.models), "turtle"))
    else:
        documents, _ = _load_documents(paths)
        print(jsonld.serialize(jsonld.to_graph(documents), formats[format]))


@app.command("serve")
def serve(workers: int = typer.Option(1, "--workers", min=1, max=64,
                                     help="API processes on the one port; more than one needs the broker "
                                          "(GRIDTWIN_BROKER=redis is then set for them)")) -> None:
    """Serve the GraphQL API (servers must be up) on GRIDTWIN_API_HOST:GRIDTWIN_API_PORT."""
    if workers == 1:
        _serve(get_settings(), ())
        return
    import os

    import uvicorn

    # Replicas must see each other's live events: a subscriber may sit on any of them.
    os.environ["GRIDTWIN_BROKER"] = "redis"
    get_settings.cache_clear()
    settings = get_settings()
    console.print(f"{workers} API processes on {settings.api_host}:{settings.api_port}, live events over Redis")
    uvicorn.run("api.app:create_app", factory=True, workers=workers, host=settings.api_host, port=settings.api_port,
                log_config=None, access_log=False)


def _serve(settings: Any, background: Any) -> None:
    import uvicorn

    from api.app import create_app

    uvicorn.run(create_app(settings, background), host=settings.api_host, port=settings.api_port, log_config=None,
                access_log=False)


#: The real grid `make demo` loads: simbench's semi-urban 20 kV grid (~120 buses) with its year of profiles.
DEMO_GRID = "simbench:1-MV-semiurb--0-sw"


@app.command("demo")
def demo() -> None:
    """Servers up, the demo grid loaded, GraphQL served: the README's main command."""
    from loaders import demo_grid

    from cli.grid import grid_import

    services_up()
    settings = get_settings()
    summary = demo_grid.load(settings)
    console.print(f"demo feeder loaded: {summary}")
    grid_import(DEMO_GRID, grid_id=None, replace=False)  # a real MV grid beside it (re-import updates in place)
    grid_import(f"simbench:{demo_grid.LV_GRID}", grid_id=None, replace=False)  # where the demo's points measure
    demo_grid.attach_points(settings)
    ensure_trained(demo_training(demo_grid.LV_GRID))  # `forecastLoad` and the points' predictions need them
    console.print(f"GraphQL (GraphiQL in a browser): http://{settings.api_host}:{settings.api_port}/graphql")
    password_file = settings.state_path / "admin-password"
    if not settings.admin_password:
        console.print(f"log in as {settings.admin_username!r}; the password is in {password_file} "
                      "(created at first start)")
    grids = (DEMO_GRID.removeprefix("simbench:"), demo_grid.LV_GRID)
    console.print(f"live physics (1 Hz real-time simulation) of {', '.join(grids)} and "
                  f"{', '.join(demo_grid.MEASUREMENT_POINTS)}")
    # GraphiQL opened without a token must load the schema; outside the demo anonymous introspection is off
    console.print(f"continuous inference of {', '.join(demo_grid.MEASUREMENT_POINTS)} every "
                  f"{demo_grid.INFERENCE_INTERVAL_S:g} s (subscription `predictions`)")
    # on the broker (services_up started the profile's Redis), so event routes work in the demo
    _serve(settings.model_copy(update={"anonymous_introspection": True, "broker": "redis"}),
           [functools.partial(demo_grid.stream_physics, grids=grids), demo_grid.infer_continuously])


if __name__ == "__main__":
    app()
