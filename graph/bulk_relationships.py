"""Bulk relationship loads (graph.bulk's other half): validated against the models, planned per
(model, name, model) kind, checked for ``maxMultiplicity`` against the stored edges plus the load's own
rows, then written with UNWIND per relationship type (types cannot be parameters; they come from the
models' whitelist). Endpoints are not locked: run one loader at a time (loaders are batch jobs).
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence, Set as AbstractSet
from typing import Any, NamedTuple

import neo4j

from dtdl.model import ModelSet
from graph.cypher import quote
from graph.errors import ConflictError, GraphError, Problem
from graph.relationships import Plan, plan_relationship
from graph.twins import MODELS_OF_IDS
from graph.encoding import encode_contents
from graph.keys import RELATIONSHIP_SYSTEM_KEYS, now
from graph.validation import validate_contents
from graph.bulk_rows import (DEFAULT_BATCH, BatchProgress, BulkResult, RelationshipPlan, RelationshipRow, chunks,
                             refuse_if, run_batches)


def _models_of(driver: neo4j.Driver, ids: Sequence[str], database: str | None) -> dict[str, str]:
    found: dict[str, str] = {}
    for chunk in chunks(ids, 50_000):
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


def _endpoint_models(
    driver: neo4j.Driver, rows: Sequence[RelationshipRow], pending: Mapping[str, str], database: str | None
) -> dict[str, str]:
    """Model per endpoint: the stored twins', then ``pending`` (twins of the same load, not written yet)."""
    ids = ({r.source_id for r in rows} | {r.target_id for r in rows}) - set(pending)
    found = _models_of(driver, sorted(ids), database)
    found.update(pending)
    return found


class _PlannedRow(NamedTuple):
    """One valid row: its endpoints in stored direction and the plan of its (model, name, model) kind.

    ``kind`` is shared by every row of that kind (its ids are the placeholders "s" and "t"), so a
    load of 100,000 rows plans each kind once and builds no per-row Plan."""

    index: int
    row: RelationshipRow
    kind: Plan
    source_id: str
    target_id: str

    def checks(self) -> Iterator[tuple[str, str, str, int]]:
        """The kind's multiplicity checks, with this row's twin ids."""
        for twin, direction, rel_type, maximum in self.kind.checks:
            yield self.row.source_id if twin == "s" else self.row.target_id, direction, rel_type, maximum


def _plan_row(
    models: ModelSet, row: RelationshipRow, index: int, endpoint_models: Mapping[str, str],
    cache: dict[tuple[str, str, str], Plan | GraphError],
) -> _PlannedRow | list[Problem]:
    """The row's plan (stored direction, type, multiplicity checks) or its problems."""
    source_model, target_model = endpoint_models.get(row.source_id), endpoint_models.get(row.target_id)
    if source_model is None or target_model is None:
        missing, field_name = (row.source_id, "$sourceId") if source_model is None else (row.target_id, "$targetId")
        return [Problem(f"/{index}/{field_name}", f"no twin {missing!r}")]
    key = (source_model, row.name, target_model)
    kind = cache.get(key)
    if kind is None:
        try:
            kind = plan_relationship(models, "s", source_model, row.name, "t", target_model)
        except GraphError as error:
            kind = error
        cache[key] = kind
    if isinstance(kind, GraphError):
        return [Problem(f"/{index}{p.pointer}", p.message) for p in kind.problems or [Problem("", str(kind))]]
    if row.source_id == row.target_id:
        return [Problem(f"/{index}/$targetId", "a twin cannot be related to itself")]
    if kind.source_id == "t":
        return _PlannedRow(index, row, kind, row.target_id, row.source_id)
    return _PlannedRow(index, row, kind, row.source_id, row.target_id)


def _plan_rows(
    driver: neo4j.Driver, models: ModelSet, rows: Sequence[RelationshipRow], validate: bool, database: str | None,
    pending: Mapping[str, str] | None = None, merge: bool = False, new_ids: AbstractSet[str] = frozenset(),
) -> RelationshipPlan:
    """Validate every row against the endpoints' models; group encoded rows by type.  With ``merge``,
    also the stored edges the rows replace: (source, id) -> (type, target).  ``new_ids`` are pending
    twins known not to be stored: they have no stored edges to look up or count."""
    endpoint_models = _endpoint_models(driver, rows, pending or {}, database)
    problems: list[Problem] = []
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    cache: dict[tuple[str, str, str], Plan | GraphError] = {}
    planned: list[_PlannedRow] = []
    keys: dict[tuple[str, str], int] = {}
    for index, row in enumerate(rows):
        plan = _plan_row(models, row, index, endpoint_models, cache)
        if isinstance(plan, list):
            problems.extend(plan)
            continue
        if validate and row.properties:
            found = validate_contents(
                models, plan.kind.declaration.properties, dict(row.properties), system_keys=RELATIONSHIP_SYSTEM_KEYS, what=plan.kind.name
            )
            if found:
                problems.extend(Problem(f"/{index}{p.pointer}", p.message) for p in found)
                continue
        if row.id is None and merge:
            problems.append(Problem(f"/{index}/$relationshipId", "a merge matches relationships by id; give every row one"))
            continue
        if row.id is not None:
            if (plan.source_id, row.id) in keys:
                problems.append(Problem(f"/{index}/$relationshipId", f"twin {plan.source_id!r} has relationship "
                                                                     f"{row.id!r} twice in the load (row {keys[(plan.source_id, row.id)]})"))
                continue
            keys[(plan.source_id, row.id)] = index
        if plan.kind.checks:
            planned.append(plan)
        props = encode_contents(models, plan.kind.declaration.properties, row.properties) if row.properties else {}
        props["name"] = plan.kind.name
        if row.id is not None:
            props["id"] = row.id
        grouped[plan.kind.rel_type].append({"s": plan.source_id, "t": plan.target_id, "p": props})
    stored_keys = [key for key in keys if key[0] not in new_ids]
    stored, bare = _stored_edges(driver, stored_keys, database) if merge and stored_keys else ({}, set())
    problems += _multiplicity_problems(driver, planned, database, stored, new_ids)
    refuse_if(problems, "relationships")
    return RelationshipPlan(grouped, stored, frozenset(bare))


def _stored_edges(
    driver: neo4j.Driver, keys: Sequence[tuple[str, str]], database: str | None
) -> tuple[dict[tuple[str, str], tuple[str, str]], set[tuple[str, str]]]:
    """(source id, relationship id) -> (type, target id) of the stored edges with those ids, and the keys
    of those that hold no properties beyond the system keys."""
    found: dict[tuple[str, str], tuple[str, str]] = {}
    bare: set[tuple[str, str]] = set()
    for chunk in chunks(keys, 50_000):
        records, _, _ = driver.execute_query(
            "UNWIND $keys AS k MATCH (s:Twin {id: k[0]})-[r]->(t:Twin) WHERE r.id = k[1] "
            "RETURN collect([s.id, r.id, type(r), t.id, all(key IN keys(r) WHERE key IN $system)]) AS edges",
            keys=list(chunk), system=sorted(RELATIONSHIP_SYSTEM_KEYS), database_=database,
            routing_=neo4j.RoutingControl.READ,
        )
        for s, r, rel_type, t, is_bare in records[0]["edges"]:
            found[(s, r)] = (rel_type, t)
            if is_bare:
                bare.add((s, r))
    return found, bare


def _multiplicity_problems(
    driver: neo4j.Driver, planned: list[_PlannedRow], database: str | None,
    replaced: Mapping[tuple[str, str], tuple[str, str]], new_ids: AbstractSet[str],
) -> list[Problem]:
    """maxMultiplicity against stored edges plus the load's, minus the stored edges a merge replaces."""
    wanted: dict[tuple[str, str], set[str]] = defaultdict(set)
    added: Counter[tuple[str, str, str]] = Counter()
    limits: dict[tuple[str, str, str], tuple[int, int]] = {}
    for plan in planned:
        for twin, direction, rel_type, maximum in plan.checks():
            wanted[(direction, rel_type)].add(twin)
            added[(twin, direction, rel_type)] += 1
            limits[(twin, direction, rel_type)] = (maximum, plan.index)
    stored_wanted = {check: twins - new_ids for check, twins in wanted.items() if twins - new_ids}
    existing = Counter(_existing_counts(driver, stored_wanted, database))
    for (source, _), (rel_type, target) in replaced.items():
        existing.subtract({(source, "out", rel_type): 1, (target, "in", rel_type): 1})
    problems = []
    for key, count in added.items():
        maximum, index = limits[key]
        total = count + existing.get(key, 0)
        if total > maximum:
            problems.append(Problem(f"/{index}", f"twin {key[0]!r} would have {total} {key[2]} (max {maximum})"))
    return problems


def plan_relationship_rows(
    driver: neo4j.Driver,
    models: ModelSet,
    rows: Iterable[RelationshipRow],
    *,
    pending: Mapping[str, str] | None = None,
    merge: bool = False,
    new_ids: AbstractSet[str] = frozenset(),
    database: str | None = None,
) -> RelationshipPlan:
    """Validate a relationship load without writing it (the rules of :func:`bulk_create_relationships`);
    the plan is what :func:`write_relationship_plan` writes later.

    ``pending`` maps the ids of twins that the same load will write first to their models, so a
    loader can refuse a bad file before its first write; ``new_ids``, those of them known not to be
    stored yet (a merge's check found them absent), whose edges need no look-up.
    """
    return _plan_rows(driver, models, list(rows), True, database, pending, merge, new_ids)


def check_relationship_rows(
    driver: neo4j.Driver,
    models: ModelSet,
    rows: Iterable[RelationshipRow],
    *,
    pending: Mapping[str, str] | None = None,
    merge: bool = False,
    database: str | None = None,
) -> set[tuple[str, str]]:
    """:func:`plan_relationship_rows` returning only, with ``merge``, the (stored source id, relationship
    id) pairs already stored, which the merge would update."""
    return set(plan_relationship_rows(driver, models, rows, pending=pending, merge=merge, database=database).stored)


def _relationship_query(rel_type: str, merge: bool) -> str:
    system = "r._etag = 'W/\"' + randomUUID() + '\"', r._updatedAt = $now"
    match = "UNWIND $rows AS row MATCH (s:Twin {id: row.s}) MATCH (t:Twin {id: row.t}) "
    if not merge:
        return (match + f"CREATE (s)-[r:{quote(rel_type)}]->(t) "
                f"SET r = row.p, r.id = coalesce(row.p.id, randomUUID()), r._createdAt = $now, {system} RETURN count(r) AS n")
    # an edge with this id on the source but another type or target is replaced: ids are unique per source
    return (match + "CALL (s, t, row) { MATCH (s)-[old]->(other) WHERE old.id = row.p.id "
            f"AND NOT (old:{quote(rel_type)} AND other = t) DELETE old }} "
            f"MERGE (s)-[r:{quote(rel_type)} {{id: row.p.id}}]->(t) ON CREATE SET r._createdAt = $now "
            f"WITH r, row, r._createdAt AS created SET r = row.p, r._createdAt = created, {system} RETURN count(r) AS n")


def bulk_create_relationships(
    driver: neo4j.Driver,
    models: ModelSet,
    rows: Iterable[RelationshipRow],
    *,
    batch_size: int = DEFAULT_BATCH,
    merge: bool = False,
    validate: bool = True,
    workers: int = 2,
    database: str | None = None,
) -> BulkResult:
    """Create (or with ``merge`` upsert by source and id) many relationships, validated first.

    A merge updates the stored edge with the row's id in place (its properties become the row's),
    replaces it when its name or target changed, and creates the others, so a re-run of a load
    never duplicates.  Concurrent batches may touch the same node (a busbar feeding many lines);
    the resulting deadlocks are transient errors the driver retries.
    """
    start = time.perf_counter()
    plan = _plan_rows(driver, models, list(rows), validate, database, merge=merge)
    result = write_relationship_plan(driver, plan, batch_size=batch_size, workers=workers, database=database)
    return BulkResult(result.written, result.batches, time.perf_counter() - start)


def write_relationship_plan(
    driver: neo4j.Driver,
    plan: RelationshipPlan,
    *,
    batch_size: int = DEFAULT_BATCH,
    workers: int = 2,
    database: str | None = None,
    progress: BatchProgress | None = None,
) -> BulkResult:
    """Write a plan of :func:`plan_relationship_rows` (checked then, not again: run loaders one at a time)."""
    start = time.perf_counter()
    jobs: list[tuple[str, list[dict[str, Any]]]] = []
    for rel_type, group in plan.groups.items():
        # rows with no stored edge of their id take the plain (faster) CREATE, even in a merge
        fresh = [row for row in group if (row["s"], row["p"].get("id")) not in plan.stored]
        known = [row for row in group if (row["s"], row["p"].get("id")) in plan.stored]
        for subset, query in ((fresh, _relationship_query(rel_type, False)), (known, _relationship_query(rel_type, True))):
            jobs.extend((query, list(chunk)) for chunk in chunks(subset, batch_size))
    counts = run_batches(driver, jobs, {"now": now()}, workers, database, progress)
    expected = sum(len(rows_) for _, rows_ in jobs)
    if sum(counts) != expected:
        raise ConflictError(f"{expected - sum(counts)} endpoint(s) vanished during the load")
    return BulkResult(sum(counts), len(jobs), time.perf_counter() - start)
