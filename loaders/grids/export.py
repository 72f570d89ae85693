"""A stored grid exported as it is now: a pandapower JSON net, an OpenDSS script, or an ADT import file.

Both read the twin graph at the moment of the call, so an operator's edits (a switch opened, a
tap moved) are in the export.  The pandapower net is the one the power flow would run on
(:func:`loaders.grids.reader.read_grid` then ``to_pandapower``; every table carries a ``twin_id``
column); re-importing it gives the same grid.  The ADT file holds the grid's twins, the
relationships between them (``feedsTo`` included) and every stored model, so it imports
elsewhere on its own (``loaders.adt_graph.import_adt``).  The OpenDSS script is the phase-level
circuit of a grid imported from OpenDSS (:mod:`loaders.grids.to_opendss`); OpenDSS compiles it as
it stands.  Used by ``gridtwin grid export`` and
meant for the API's ``exportGrid``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import neo4j

from dtdl.model import ModelSet
from loaders.grids.document import GridSourceError

ExportFormat = Literal["pandapower", "opendss", "adt"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("pandapower", "opendss", "adt")


def export_pandapower(driver: neo4j.Driver, models: ModelSet, grid_id: str, *, database: str | None = None) -> str:
    """The grid as pandapower's JSON (``pandapower.from_json`` reads it back)."""
    import pandapower as pp

    from loaders.grids.reader import read_grid
    from loaders.grids.to_pandapower import to_pandapower

    return str(pp.to_json(to_pandapower(read_grid(driver, models, grid_id, database=database))))


def export_opendss(driver: neo4j.Driver, models: ModelSet, grid_id: str, *, database: str | None = None) -> str:
    """The grid as an OpenDSS script (``Compile`` it, then ``Solve``)."""
    from loaders.grids.reader import read_grid
    from loaders.grids.to_opendss import to_opendss

    return to_opendss(read_grid(driver, models, grid_id, database=database))


def export_adt(driver: neo4j.Driver, grid_id: str, *, database: str | None = None) -> Iterator[str]:
    """The grid as ADT import-file lines (each ends in a newline); the reads happen before the first line."""
    from loaders.adt_graph import export_adt as adt_lines
    from loaders.grids.sink import grid_twin_ids

    return adt_lines(driver, twin_ids=grid_twin_ids(driver, grid_id, database=database), database=database)


def export_grid(driver: neo4j.Driver, models: ModelSet, grid_id: str, export_format: ExportFormat, *,
                database: str | None = None) -> Iterator[str]:
    """The export of ``grid_id`` in ``export_format`` as text chunks (one for pandapower and OpenDSS, one per line for ADT)."""
    if export_format == "pandapower":
        return iter([export_pandapower(driver, models, grid_id, database=database)])
    if export_format == "opendss":
        return iter([export_opendss(driver, models, grid_id, database=database)])
    if export_format == "adt":
        return export_adt(driver, grid_id, database=database)
    raise GridSourceError("export format", None, f"{export_format!r}: use {' or '.join(EXPORT_FORMATS)}")


__all__ = ["EXPORT_FORMATS", "ExportFormat", "export_adt", "export_grid", "export_opendss", "export_pandapower"]
