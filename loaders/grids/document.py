"""The neutral in-memory form of an imported grid: twin and relationship rows plus what the simulator needs.

A grid travels between a source (simbench, a pandapower net, later OpenDSS or CGMES), the
twin graph and the power-flow engines as a :class:`GridDocument`.  Its rows are the same
:class:`graph.bulk.TwinRow` / :class:`graph.bulk.RelationshipRow` the bulk loader writes, so
a sink stores a document as it is, and a document read back from the graph builds the same
network.  Time series (simbench's year of 15-minute profiles) are not twin properties: a
twin names its profile (``profile``) and the tables stay here, for the simulator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from graph.bulk import RelationshipRow, TwinRow
from graph.errors import ValidationError

GT = "dtmi:gridtwin:"
GRID_MODEL = f"{GT}ElectricalGrid;1"


class GridSourceError(ValidationError, ValueError):
    """A source or a document that cannot become a network; the message names where and what.
    A ValidationError, so every caller (the API among them) reports it as the client's input error."""

    def __init__(self, where: str, field_name: str | None, message: str) -> None:
        self.where = where
        self.field_name = field_name
        self.reason = message
        located = f"{where}, field {field_name!r}" if field_name else where
        super().__init__(f"{located}: {message}")

    def __reduce__(self) -> tuple[type[GridSourceError], tuple[str, str | None, str]]:
        """Pickled by its parts (it crosses from the OpenDSS engine process)."""
        return type(self), (self.where, self.field_name, self.reason)


@dataclass
class GridDocument:
    """One grid as rows: ``twins`` and ``relationships`` as the graph stores them.

    ``profiles`` maps a profile table name (simbench: load, renewables, powerplants, storage)
    to a DataFrame whose columns are ``<profile>_<quantity>`` per 15-minute step;
    ``study_cases`` holds simbench's load-case scaling factors.  Both are for the simulator.
    """

    grid_id: str
    source: str
    twins: list[TwinRow] = field(default_factory=list)
    relationships: list[RelationshipRow] = field(default_factory=list)
    profiles: dict[str, Any] = field(default_factory=dict)
    study_cases: Any = None

    def twins_of(self, model: str) -> list[TwinRow]:
        """The twins of one model, in document order."""
        return [twin for twin in self.twins if twin.model == model]

    def twin(self, twin_id: str) -> TwinRow:
        """The twin with this id; a :class:`GridSourceError` when there is none."""
        for twin in self.twins:
            if twin.id == twin_id:
                return twin
        raise GridSourceError(f"twin {twin_id!r}", None, "not in the grid document")


#: What a grid id is: it prefixes every twin id of the grid and names the grid's folder in the
#: state directory (its profiles), so it is a plain file name: letters, digits, ``.``, ``_``, ``-``.
GRID_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def check_grid_id(grid_id: object) -> str:
    """The grid id when it is one (see :data:`GRID_ID`); a :class:`GridSourceError` saying what is wrong."""
    if not isinstance(grid_id, str) or not GRID_ID.fullmatch(grid_id):
        raise GridSourceError("grid id", None, f"{grid_id!r}: give 1 to 100 letters, digits, '.', '_' or '-', "
                                               "starting with a letter or digit")
    return grid_id


def twin_id(grid_id: str, table: str, index: object) -> str:
    """Deterministic twin id of a source element, so a re-import updates in place."""
    return f"{grid_id}/{table}/{index}"


def relationship_id(source_twin: str, name: str) -> str:
    """Deterministic relationship id: one relationship of a name per element end."""
    return f"{source_twin}/{name}"
