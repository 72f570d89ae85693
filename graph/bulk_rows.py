"""The rows and plans of the bulk loaders (graph.bulk for twins, graph.bulk_relationships for relationships)
and the batch runner both write with: one place, so neither imports the other for them."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import neo4j

from graph.errors import Problem, ValidationError

DEFAULT_BATCH = 5_000


@dataclass(frozen=True)
class TwinRow:
    """One twin to load."""

    id: str
    model: str
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RelationshipRow:
    """One relationship to load (``id`` generated when omitted)."""

    source_id: str
    name: str
    target_id: str
    properties: Mapping[str, Any] = field(default_factory=dict)
    id: str | None = None


@dataclass(frozen=True)
class BulkResult:
    """How much was written and how fast."""

    written: int
    batches: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.written / self.seconds if self.seconds > 0 else float("inf")


@dataclass(frozen=True)
class TwinPlan:
    """A validated twin load, encoded for Neo4j (:func:`check_twin_rows`): written by :func:`write_twin_plan`
    without being validated or encoded again.  ``groups``: model -> node property maps; ``stored``: the
    ids a merge found stored (id -> model), which are merged while the others are created."""

    groups: Mapping[str, list[dict[str, Any]]]
    stored: Mapping[str, str] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return sum(len(group) for group in self.groups.values())


@dataclass(frozen=True)
class RelationshipPlan:
    """A validated relationship load (:func:`plan_relationship_rows`), written by :func:`write_relationship_plan`.
    ``groups``: relationship type -> ``{"s", "t", "p"}`` rows in stored direction; ``stored``: (source id,
    relationship id) -> (type, target id) of the stored edges a merge replaces."""

    groups: Mapping[str, list[dict[str, Any]]]
    stored: Mapping[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    #: The stored keys whose edge has no properties beyond the system keys.
    bare: frozenset[tuple[str, str]] = frozenset()

    @property
    def size(self) -> int:
        return sum(len(group) for group in self.groups.values())


#: ``progress(rows)``: called after each batch a write committed, with the rows of that batch.
BatchProgress = Callable[[int], None]


def chunks(rows: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def refuse_if(problems: list[Problem], what: str) -> None:
    if problems:
        raise ValidationError(f"{len(problems)} problem(s) in the {what}; nothing was written", problems)


def run_batches(
    driver: neo4j.Driver, jobs: list[tuple[str, list[dict[str, Any]]]], params: Mapping[str, Any], workers: int,
    database: str | None, progress: BatchProgress | None = None,
) -> list[int]:
    """Run (query, rows) batches, ``workers`` at a time.

    Two concurrent transactions keep both the server's and the client's core busy:
    while Neo4j writes one batch, the driver packs the next one.  Each batch is its
    own transaction (retried by the driver on transient errors such as deadlocks).
    """

    def one(job: tuple[str, list[dict[str, Any]]]) -> int:
        query, rows = job
        records, _, _ = driver.execute_query(query, rows=rows, database_=database, **params)
        if progress:
            progress(len(rows))
        return int(records[0]["n"]) if records and "n" in records[0].keys() else len(rows)

    if workers <= 1 or len(jobs) <= 1:
        return [one(job) for job in jobs]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, jobs))


