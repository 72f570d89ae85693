"""Bulk writes for loaders: validated in Python, written with UNWIND in large batches.

Twins are grouped by model, because labels cannot be parameters: each group's
labels come from the compiled schema (never from the rows).  Relationships are
grouped by type for the same reason.  Every row is validated *before the first
write* (same rules as the single-twin functions), so a bad row refuses the whole
load; a database error (e.g. a duplicate id) stops at its batch, earlier batches
stay committed (use ``merge=True`` to make a re-run idempotent: twins are matched by
id, relationships by source and id).  ``check_twin_rows`` and ``plan_relationship_rows``
(``check_relationship_rows``) run the same validation without writing, so a loader that writes
twins, then their relationships, can refuse a bad input before its first write; the plans they
return are written by ``write_twin_plan`` / ``write_relationship_plan`` without validating,
encoding and planning a second time.

Bulk relationship loads check the model (name, target type, properties) and
``maxMultiplicity`` against the stored edges plus the rows of the load; they do not
lock endpoints, so run one loader at a time (loaders are batch jobs).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import neo4j

from dtdl.model import ModelSet
from graph.cypher import label_clause, labels_of, quote
from graph.errors import ConflictError, GraphError, Problem, ValidationError
from graph.records import check_twin_id
from graph.relationships import Plan, plan_relationship
from graph.twins import MODELS_OF_IDS, is_account_model
from graph.encoding import encode_contents
from graph.keys import RELATIONSHIP_SYSTEM_KEYS, now
from graph.validation import validate_contents, validate_twin

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
        if is_account_model(models, row.model):
            problems.append(Problem(f"/{index}/$metadata/$model", "user accounts cannot be loaded as twins; "
                                                                  "use the user-management operations"))
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


def _run_batches(
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

    ``workers`` batches run concurrently (distinct new nodes never contend for locks).  In a merge,
    rows with no stored twin of their id take the plain (faster) CREATE.
    """
    start = time.perf_counter()
    grouped = _twin_rows(models, list(rows), validate)
    plan = TwinPlan(grouped, _check_merge_targets(driver, grouped, database) if merge else {})
    result = write_twin_plan(driver, models, plan, merge=merge, batch_size=batch_size, workers=workers,
                             database=database)
    return BulkResult(result.written, result.batches, time.perf_counter() - start)


def write_twin_plan(
    driver: neo4j.Driver,
    models: ModelSet,
    plan: TwinPlan,
    *,
    merge: bool = True,
    batch_size: int = DEFAULT_BATCH,
    workers: int = 2,
    database: str | None = None,
    progress: BatchProgress | None = None,
) -> BulkResult:
    """Write a plan of :func:`check_twin_rows` (checked then, not again: run loaders one at a time)."""
    start = time.perf_counter()
    system = "t._etag = 'W/\"' + randomUUID() + '\"', t._updatedAt = $now"
    jobs: list[tuple[str, list[dict[str, Any]]]] = []
    for model, group in plan.groups.items():
        labels = labels_of(models, model)
        create = (f"UNWIND $rows AS row CREATE (t{label_clause(labels)}) "
                  f"SET t = row, t._createdAt = $now, {system}")
        upsert = ("UNWIND $rows AS row MERGE (t:Twin {id: row.id}) "
                  f"ON CREATE SET t._createdAt = $now WITH t, row, t._createdAt AS created "
                  f"SET t = row, t{label_clause(labels[1:])}, t._createdAt = created, {system}")
        known = [row for row in group if row["id"] in plan.stored] if merge else []
        fresh = [row for row in group if row["id"] not in plan.stored] if merge else group
        for subset, query in ((fresh, create), (known, upsert)):
            jobs.extend((query, list(chunk)) for chunk in _chunks(subset, batch_size))
    written = sum(_run_batches(driver, jobs, {"now": now()}, workers, database, progress))
    return BulkResult(written, len(jobs), time.perf_counter() - start)


def _check_merge_targets(driver: neo4j.Driver, grouped: Mapping[str, list[dict[str, Any]]],
                         database: str | None) -> dict[str, str]:
    """An upsert may update a twin, never turn it into another model or overwrite an account: both
    would bypass what the single-twin operations refuse (``SET t = row`` replaces every property).
    Returns the stored ones (id -> model)."""
    wanted = {row["id"]: model for model, group in grouped.items() for row in group}
    stored: dict[str, str] = {}
    if not wanted:
        return stored
    problems: list[Problem] = []
    for chunk in _chunks(list(wanted), 50_000):
        records, _, _ = driver.execute_query(
            "UNWIND $ids AS id MATCH (t:Twin {id: id}) "
            "RETURN collect(id) AS ids, collect(t.model) AS models, "
            "collect(EXISTS { (t)-[:HAS_CREDENTIAL]->() }) AS accounts",
            ids=list(chunk), database_=database, routing_=neo4j.RoutingControl.READ)
        record = records[0]
        for twin_id, model, account in zip(record["ids"], record["models"], record["accounts"]):
            stored[twin_id] = model
            if account:
                problems.append(Problem(f"/{twin_id}", "is a user account; it cannot be overwritten by a load"))
            elif model != wanted[twin_id]:
                problems.append(Problem(f"/{twin_id}", f"is stored as a {model}; a twin's model cannot change"))
    _raise_if(problems, "twins")
    return stored


def check_twin_rows(
    driver: neo4j.Driver, models: ModelSet, rows: Iterable[TwinRow], *, merge: bool = False, database: str | None = None
) -> TwinPlan:
    """Validate a twin load without writing it (the rules of :func:`bulk_create_twins`, a merge's
    included), so a loader can refuse a bad file before its first write; returns the plan that
    :func:`write_twin_plan` writes later."""
    grouped = _twin_rows(models, list(rows), True)
    return TwinPlan(grouped, _check_merge_targets(driver, grouped, database) if merge else {})


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
    _raise_if(problems, "relationships")
    return RelationshipPlan(grouped, stored, frozenset(bare))


def _stored_edges(
    driver: neo4j.Driver, keys: Sequence[tuple[str, str]], database: str | None
) -> tuple[dict[tuple[str, str], tuple[str, str]], set[tuple[str, str]]]:
    """(source id, relationship id) -> (type, target id) of the stored edges with those ids, and the keys
    of those that hold no properties beyond the system keys."""
    found: dict[tuple[str, str], tuple[str, str]] = {}
    bare: set[tuple[str, str]] = set()
    for chunk in _chunks(keys, 50_000):
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
            jobs.extend((query, list(chunk)) for chunk in _chunks(subset, batch_size))
    counts = _run_batches(driver, jobs, {"now": now()}, workers, database, progress)
    expected = sum(len(rows_) for _, rows_ in jobs)
    if sum(counts) != expected:
        raise ConflictError(f"{expected - sum(counts)} endpoint(s) vanished during the load")
    return BulkResult(sum(counts), len(jobs), time.perf_counter() - start)


def bulk_delete_twins(
    driver: neo4j.Driver, twin_ids: Iterable[str], *, batch_size: int = DEFAULT_BATCH, database: str | None = None
) -> int:
    """DETACH DELETE many twins in batches (loader resets and test/bench clean-up); accounts are skipped."""
    ids = list(twin_ids)
    deleted = 0
    for chunk in _chunks(ids, batch_size):
        records, _, _ = driver.execute_query(
            "UNWIND $ids AS id MATCH (t:Twin {id: id}) WHERE NOT EXISTS { (t)-[:HAS_CREDENTIAL]->() } "
            "DETACH DELETE t RETURN count(*) AS n",
            ids=list(chunk),
            database_=database,
        )
        deleted += records[0]["n"]
    return deleted


__all__ = [
    "BatchProgress",
    "BulkResult",
    "RelationshipPlan",
    "RelationshipRow",
    "TwinPlan",
    "TwinRow",
    "bulk_create_relationships",
    "bulk_create_twins",
    "bulk_delete_twins",
    "check_relationship_rows",
    "check_twin_rows",
    "plan_relationship_rows",
    "write_relationship_plan",
    "write_twin_plan",
]
