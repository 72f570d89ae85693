"""Bulk writes for loaders: validated in Python, written with UNWIND in large batches.

Twins are grouped by model, because labels cannot be parameters: each group's
labels come from the compiled schema (never from the rows).  Relationships are
grouped by type for the same reason.  Every row is validated *before the first
write* (same rules as the single-twin functions), so a bad row refuses the whole
load; a database error (e.g. a duplicate id) stops at its batch, earlier batches
stay committed (use ``merge=True`` to make a re-run idempotent).

Bulk relationship loads check the model (name, target type, properties) and
``maxMultiplicity`` against the stored edges plus the rows of the load; they do not
lock endpoints, so run one loader at a time (loaders are batch jobs).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import neo4j

from dtdl.model import ModelSet
from graph.cypher import label_clause, labels_of, quote
from graph.errors import ConflictError, GraphError, Problem, ValidationError
from graph.records import check_twin_id
from graph.relationships import Plan, plan_relationship
from graph.twins import MODELS_OF_IDS
from graph.validation import RELATIONSHIP_SYSTEM_KEYS, encode_contents, validate_contents, validate_twin

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


def _chunks(rows: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _raise_if(problems: list[Problem], what: str) -> None:
    if problems:
        raise ValidationError(f"{len(problems)} problem(s) in the {what}; nothing was written", problems)


def _twin_rows(models: ModelSet, rows: Iterable[TwinRow], validate: bool) -> dict[str, list[dict[str, Any]]]:
    """Validate and encode every row, grouped by model."""
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    problems: list[Problem] = []
    seen: set[str] = set()
    for index, row in enumerate(rows):
        try:
            check_twin_id(row.id, f"/{index}/$dtId")
        except GraphError as error:
            problems.extend(error.problems)
            continue
        if row.id in seen:
            problems.append(Problem(f"/{index}/$dtId", f"duplicate id {row.id!r} in the load"))
        seen.add(row.id)
        interface = models.interfaces.get(row.model)
        if interface is None:
            problems.append(Problem(f"/{index}/$metadata/$model", f"unknown model {row.model!r}"))
            continue
        if validate:
            found = validate_twin(models, row.model, row.properties)
            if found:
                problems.extend(Problem(f"/{index}{p.pointer}", p.message) for p in found)
                continue
        stored = encode_contents(models, interface.contents, row.properties)
        stored["id"] = row.id
        stored["model"] = row.model
        grouped[row.model].append(stored)
    _raise_if(problems, "twins")
    return grouped


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _run_batches(
    driver: neo4j.Driver, jobs: list[tuple[str, list[dict[str, Any]]]], params: Mapping[str, Any], workers: int,
    database: str | None,
) -> list[int]:
    """Run (query, rows) batches, ``workers`` at a time.

    Two concurrent transactions keep both the server's and the client's core busy:
    while Neo4j writes one batch, the driver packs the next one.  Each batch is its
    own transaction (retried by the driver on transient errors such as deadlocks).
    """

    def one(job: tuple[str, list[dict[str, Any]]]) -> int:
        query, rows = job
        records, _, _ = driver.execute_query(query, rows=rows, database_=database, **params)
        return int(records[0]["n"]) if records and "n" in records[0].keys() else len(rows)

    if workers <= 1 or len(jobs) <= 1:
        return [one(job) for job in jobs]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, jobs))


def bulk_create_twins(
    driver: neo4j.Driver,
    models: ModelSet,
    rows: Iterable[TwinRow],
    *,
    batch_size: int = DEFAULT_BATCH,
    merge: bool = False,
    validate: bool = True,
    workers: int = 2,
    database: str | None = None,
) -> BulkResult:
    """Create (or with ``merge`` upsert) many twins; returns the count and rate.

    ``workers`` batches run concurrently (distinct new nodes never contend for locks).
    """
    start = time.perf_counter()
    grouped = _twin_rows(models, list(rows), validate)
    system = "t._etag = 'W/\"' + randomUUID() + '\"', t._updatedAt = $now"
    jobs: list[tuple[str, list[dict[str, Any]]]] = []
    for model, group in grouped.items():
        labels = labels_of(models, model)
        if merge:
            query = (
                "UNWIND $rows AS row MERGE (t:Twin {id: row.id}) "
                f"ON CREATE SET t._createdAt = $now WITH t, row, t._createdAt AS created "
                f"SET t = row, t{label_clause(labels[1:])}, t._createdAt = created, {system}"
            )
        else:
            query = (
                f"UNWIND $rows AS row CREATE (t{label_clause(labels)}) "
                f"SET t = row, t._createdAt = $now, {system}"
            )
        jobs.extend((query, list(chunk)) for chunk in _chunks(group, batch_size))
    written = sum(_run_batches(driver, jobs, {"now": _now()}, workers, database))
    return BulkResult(written, len(jobs), time.perf_counter() - start)


def _models_of(driver: neo4j.Driver, ids: Sequence[str], database: str | None) -> dict[str, str]:
    found: dict[str, str] = {}
    for chunk in _chunks(ids, 50_000):
        records, _, _ = driver.execute_query(
            MODELS_OF_IDS, ids=list(chunk), database_=database, routing_=neo4j.RoutingControl.READ
        )
        found.update(zip(records[0]["ids"], records[0]["models"]))
    return found


def _existing_counts(
    driver: neo4j.Driver, checks: Mapping[tuple[str, str], set[str]], database: str | None
) -> dict[tuple[str, str, str], int]:
    """Stored edge counts for the (direction, type) pairs that have a maxMultiplicity."""
    counts: dict[tuple[str, str, str], int] = {}
    for (direction, rel_type), ids in checks.items():
        pattern = f"(t)-[:{quote(rel_type)}]->()" if direction == "out" else f"(t)<-[:{quote(rel_type)}]-()"
        records, _, _ = driver.execute_query(
            f"UNWIND $ids AS id MATCH (t:Twin {{id: id}}) RETURN collect(id) AS ids, collect(COUNT {{ {pattern} }}) AS ns",
            ids=sorted(ids),
            database_=database,
            routing_=neo4j.RoutingControl.READ,
        )
        for twin_id, n in zip(records[0]["ids"], records[0]["ns"]):
            counts[(twin_id, direction, rel_type)] = n
    return counts


def _plan_rows(
    driver: neo4j.Driver, models: ModelSet, rows: Sequence[RelationshipRow], validate: bool, database: str | None
) -> dict[str, list[dict[str, Any]]]:
    """Validate every relationship row against the endpoints' models; group encoded rows by type."""
    endpoint_models = _models_of(driver, sorted({r.source_id for r in rows} | {r.target_id for r in rows}), database)
    problems: list[Problem] = []
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    plan_cache: dict[tuple[str, str, str], Plan | GraphError] = {}
    planned: list[tuple[int, Plan]] = []
    for index, row in enumerate(rows):
        missing = [i for i in (row.source_id, row.target_id) if i not in endpoint_models]
        if missing:
            problems.append(Problem(f"/{index}", f"no twin {missing[0]!r}"))
            continue
        key = (endpoint_models[row.source_id], row.name, endpoint_models[row.target_id])
        if key not in plan_cache:
            try:
                plan_cache[key] = plan_relationship(models, "s", key[0], row.name, "t", key[2])
            except GraphError as error:
                plan_cache[key] = error
        cached = plan_cache[key]
        if isinstance(cached, GraphError):
            problems.extend(Problem(f"/{index}{p.pointer}", p.message) for p in cached.problems or [Problem("", str(cached))])
            continue
        if row.source_id == row.target_id:
            problems.append(Problem(f"/{index}/$targetId", "a twin cannot be related to itself"))
            continue
        swap = cached.source_id == "t"
        source, target = (row.target_id, row.source_id) if swap else (row.source_id, row.target_id)
        plan = Plan(cached.name, cached.rel_type, source, target, cached.declaration, tuple(
            (row.source_id if twin == "s" else row.target_id, direction, rel_type, maximum)
            for twin, direction, rel_type, maximum in cached.checks
        ))
        if validate and row.properties:
            found = validate_contents(
                models, plan.declaration.properties, dict(row.properties), system_keys=RELATIONSHIP_SYSTEM_KEYS, what=plan.name
            )
            if found:
                problems.extend(Problem(f"/{index}{p.pointer}", p.message) for p in found)
                continue
        planned.append((index, plan))
        props = encode_contents(models, plan.declaration.properties, row.properties) if row.properties else {}
        props["name"] = plan.name
        if row.id is not None:
            props["id"] = row.id
        grouped[plan.rel_type].append({"s": source, "t": target, "p": props})
    problems += _multiplicity_problems(driver, planned, database)
    _raise_if(problems, "relationships")
    return grouped


def _multiplicity_problems(driver: neo4j.Driver, planned: list[tuple[int, Plan]], database: str | None) -> list[Problem]:
    wanted: dict[tuple[str, str], set[str]] = defaultdict(set)
    added: Counter[tuple[str, str, str]] = Counter()
    limits: dict[tuple[str, str, str], tuple[int, int]] = {}
    for index, plan in planned:
        for twin, direction, rel_type, maximum in plan.checks:
            wanted[(direction, rel_type)].add(twin)
            added[(twin, direction, rel_type)] += 1
            limits[(twin, direction, rel_type)] = (maximum, index)
    if not wanted:
        return []
    existing = _existing_counts(driver, wanted, database)
    problems = []
    for key, count in added.items():
        maximum, index = limits[key]
        total = count + existing.get(key, 0)
        if total > maximum:
            problems.append(Problem(f"/{index}", f"twin {key[0]!r} would have {total} {key[2]} (max {maximum})"))
    return problems


def bulk_create_relationships(
    driver: neo4j.Driver,
    models: ModelSet,
    rows: Iterable[RelationshipRow],
    *,
    batch_size: int = DEFAULT_BATCH,
    validate: bool = True,
    workers: int = 2,
    database: str | None = None,
) -> BulkResult:
    """Create many relationships (validated first); returns the count and rate.

    Concurrent batches may touch the same node (a busbar feeding many lines); the
    resulting deadlocks are transient errors the driver retries.
    """
    start = time.perf_counter()
    grouped = _plan_rows(driver, models, list(rows), validate, database)
    jobs: list[tuple[str, list[dict[str, Any]]]] = []
    for rel_type, group in grouped.items():
        query = (
            "UNWIND $rows AS row MATCH (s:Twin {id: row.s}) MATCH (t:Twin {id: row.t}) "
            f"CREATE (s)-[r:{quote(rel_type)}]->(t) "
            "SET r = row.p, r.id = coalesce(row.p.id, randomUUID()), "
            "r._etag = 'W/\"' + randomUUID() + '\"', r._createdAt = $now, r._updatedAt = $now "
            "RETURN count(r) AS n"
        )
        jobs.extend((query, list(chunk)) for chunk in _chunks(group, batch_size))
    counts = _run_batches(driver, jobs, {"now": _now()}, workers, database)
    expected = sum(len(rows_) for _, rows_ in jobs)
    if sum(counts) != expected:
        raise ConflictError(f"{expected - sum(counts)} endpoint(s) vanished during the load")
    return BulkResult(sum(counts), len(jobs), time.perf_counter() - start)


def bulk_delete_twins(
    driver: neo4j.Driver, twin_ids: Iterable[str], *, batch_size: int = DEFAULT_BATCH, database: str | None = None
) -> int:
    """DETACH DELETE many twins in batches (loader resets and test/bench clean-up)."""
    ids = list(twin_ids)
    deleted = 0
    for chunk in _chunks(ids, batch_size):
        records, _, _ = driver.execute_query(
            "UNWIND $ids AS id MATCH (t:Twin {id: id}) DETACH DELETE t RETURN count(*) AS n",
            ids=list(chunk),
            database_=database,
        )
        deleted += records[0]["n"]
    return deleted


__all__ = [
    "BulkResult",
    "RelationshipRow",
    "TwinRow",
    "bulk_create_relationships",
    "bulk_create_twins",
    "bulk_delete_twins",
]
