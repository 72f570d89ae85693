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

This module writes twins and deletes them, and is the one import of loaders; the relationship
half lives in :mod:`graph.bulk_relationships`, the rows, plans and batch runner both share in
:mod:`graph.bulk_rows` (all re-exported here). Bulk relationship loads check the model (name,
target type, properties) and ``maxMultiplicity`` against the stored edges plus the rows of the
load; they do not lock endpoints, so run one loader at a time (loaders are batch jobs).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

import neo4j

from dtdl.model import ModelSet
from graph.cypher import label_clause, labels_of
from graph.errors import GraphError, Problem
from graph.records import check_twin_id
from graph.twins import is_account_model
from graph.encoding import encode_contents
from graph.keys import now
from graph.validation import validate_twin
from graph.bulk_relationships import (bulk_create_relationships, check_relationship_rows, plan_relationship_rows,
                                      write_relationship_plan)
from graph.bulk_rows import (DEFAULT_BATCH, BatchProgress, BulkResult, RelationshipPlan, RelationshipRow, TwinPlan,
                             TwinRow, chunks, refuse_if, run_batches)


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
    refuse_if(problems, "twins")
    return grouped


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
            jobs.extend((query, list(chunk)) for chunk in chunks(subset, batch_size))
    written = sum(run_batches(driver, jobs, {"now": now()}, workers, database, progress))
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
    for chunk in chunks(list(wanted), 50_000):
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
    refuse_if(problems, "twins")
    return stored


def check_twin_rows(
    driver: neo4j.Driver, models: ModelSet, rows: Iterable[TwinRow], *, merge: bool = False, database: str | None = None
) -> TwinPlan:
    """Validate a twin load without writing it (the rules of :func:`bulk_create_twins`, a merge's
    included), so a loader can refuse a bad file before its first write; returns the plan that
    :func:`write_twin_plan` writes later."""
    grouped = _twin_rows(models, list(rows), True)
    return TwinPlan(grouped, _check_merge_targets(driver, grouped, database) if merge else {})


def bulk_delete_twins(
    driver: neo4j.Driver, twin_ids: Iterable[str], *, batch_size: int = DEFAULT_BATCH, database: str | None = None
) -> int:
    """DETACH DELETE many twins in batches (loader resets and test/bench clean-up); accounts are skipped."""
    ids = list(twin_ids)
    deleted = 0
    for chunk in chunks(ids, batch_size):
        records, _, _ = driver.execute_query(
            "UNWIND $ids AS id MATCH (t:Twin {id: id}) WHERE NOT EXISTS { (t)-[:HAS_CREDENTIAL]->() } "
            "DETACH DELETE t RETURN count(*) AS n",
            ids=list(chunk),
            database_=database,
        )
        deleted += records[0]["n"]
    return deleted


__all__ = [
    "DEFAULT_BATCH",
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
