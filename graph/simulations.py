"""Simulation runs and their ground truth in Neo4j, beside the twin graph they ran on.

The shape an analyst queries (docs/graph-schema.md "Simulation runs"):

    (:SimulationRun {id, gridId, status, seed, steps, stepSeconds, start, stepsDone, ...})
        -[:SIMULATES]->(:Twin)                      the grid's ElectricalGrid twin
    (:SimulationRun)-[:RECORDED]->(:GroundTruthEvent {label, scenario, severity, severityUnit,
        startStep, endStep, startTime, endTime, elements, twinIds, details})
    (:GroundTruthEvent)-[:CONCERNS]->(:Twin)         every twin the event names

Runs and events are not twins (no ``:Twin`` label): twin queries, counts and exports never see them,
and deleting a grid leaves its runs (their events lose the CONCERNS edges with the twins).  The
events are the labels the ML models train on: "which breaker tripped, from when to when" is
``MATCH (:SimulationRun {id: $run})-[:RECORDED]->(e:GroundTruthEvent {label: 'protectionTrip'})``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import neo4j

from graph.db import in_transaction
from graph.encoding import datetime_to_native
from graph.errors import NotFoundError

RUN_LABEL = "SimulationRun"
EVENT_LABEL = "GroundTruthEvent"
#: A run whose process ended without finishing it stays ``running`` with an old ``updatedAt``: with
#: several API processes on one graph, no process can tell another's live run from a dead one.
FINISHED = frozenset({"completed", "stopped", "failed"})


@dataclass(frozen=True)
class RecordedEvent:
    """One ground-truth event of a run, with times and the twins it names."""

    label: str
    scenario: str
    severity: float
    severity_unit: str
    start_step: int
    end_step: int
    start_time: datetime
    end_time: datetime
    elements: tuple[str, ...]
    twin_ids: tuple[str, ...]
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunRecord:
    """A run as stored: its request, state and progress."""

    id: str
    grid_id: str
    status: str
    seed: int
    steps: int
    step_seconds: float
    start: datetime
    mode: str
    scenarios: tuple[Mapping[str, Any], ...]
    steps_done: int = 0
    messages_sent: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    updated_at: datetime | None = None
    started_by: str | None = None
    errors: tuple[str, ...] = ()


_CREATE_RUN = (
    f"CREATE (r:{RUN_LABEL} {{id: $id, gridId: $grid, status: 'running', seed: $seed, steps: $steps, "
    "stepSeconds: $stepSeconds, start: $start, mode: $mode, scenarios: $scenarios, stepsDone: 0, messagesSent: 0, "
    "startedAt: datetime(), updatedAt: datetime(), startedBy: $startedBy, errors: []}) "
    "WITH r OPTIONAL MATCH (g:Twin {id: $grid}) FOREACH (_ IN CASE WHEN g IS NULL THEN [] ELSE [1] END | "
    "CREATE (r)-[:SIMULATES]->(g))"
)
_RECORD_EVENTS = (
    f"MATCH (r:{RUN_LABEL} {{id: $id}}) UNWIND $events AS e "
    f"CREATE (r)-[:RECORDED]->(x:{EVENT_LABEL} {{runId: $id, label: e.label, scenario: e.scenario, "
    "severity: e.severity, severityUnit: e.severityUnit, startStep: e.startStep, endStep: e.endStep, "
    "startTime: e.startTime, endTime: e.endTime, elements: e.elements, twinIds: e.twinIds, details: e.details}) "
    "WITH x, e UNWIND (CASE WHEN size(e.twinIds) = 0 THEN [null] ELSE e.twinIds END) AS twin "
    "OPTIONAL MATCH (t:Twin {id: twin}) FOREACH (_ IN CASE WHEN t IS NULL THEN [] ELSE [1] END | "
    "MERGE (x)-[:CONCERNS]->(t))"
)
_PROGRESS = (f"MATCH (r:{RUN_LABEL} {{id: $id}}) SET r.stepsDone = $done, r.messagesSent = $sent, "
             "r.errors = r.errors + $errors, r.updatedAt = datetime()")
_FINISH = (f"MATCH (r:{RUN_LABEL} {{id: $id}}) WHERE r.status = 'running' "
           "SET r.status = $status, r.finishedAt = datetime(), r.updatedAt = datetime(), r.errors = r.errors + $errors")
_RUN_PROJECTION = "r {.*} AS run"


def create_run(driver: neo4j.Driver, run: RunRecord, events: Sequence[RecordedEvent], *,
               database: str | None = None) -> None:
    """Store a new run (status running) and its ground truth in one transaction."""
    def work(tx: neo4j.ManagedTransaction) -> None:
        tx.run(_CREATE_RUN, id=run.id, grid=run.grid_id, seed=run.seed, steps=run.steps, stepSeconds=run.step_seconds,
               start=run.start, mode=run.mode, scenarios=json.dumps(list(run.scenarios)),
               startedBy=run.started_by).consume()
        if events:
            tx.run(_RECORD_EVENTS, id=run.id, events=[_event_row(e) for e in events]).consume()

    in_transaction(driver, work, database=database)


def _event_row(event: RecordedEvent) -> dict[str, Any]:
    return {"label": event.label, "scenario": event.scenario, "severity": float(event.severity),
            "severityUnit": event.severity_unit, "startStep": event.start_step, "endStep": event.end_step,
            "startTime": event.start_time, "endTime": event.end_time, "elements": list(event.elements),
            "twinIds": list(event.twin_ids), "details": json.dumps(dict(event.details), default=float)}


def record_progress(driver: neo4j.Driver, run_id: str, steps_done: int, messages_sent: int,
                    errors: Sequence[str] = (), *, database: str | None = None) -> None:
    driver.execute_query(_PROGRESS, id=run_id, done=steps_done, sent=messages_sent, errors=list(errors),
                         database_=database)


def finish_run(driver: neo4j.Driver, run_id: str, status: str, errors: Sequence[str] = (), *,
               database: str | None = None) -> None:
    """Mark a running run finished (``completed``, ``stopped``, ``failed``); a finished one stays as it is."""
    if status not in FINISHED:
        raise ValueError(f"status {status!r} is not one of {', '.join(sorted(FINISHED))}")
    driver.execute_query(_FINISH, id=run_id, status=status, errors=list(errors), database_=database)


def _run_record(values: Mapping[str, Any]) -> RunRecord:
    return RunRecord(
        id=values["id"], grid_id=values["gridId"], status=values["status"], seed=int(values["seed"]),
        steps=int(values["steps"]), step_seconds=float(values["stepSeconds"]), start=datetime_to_native(values["start"]),
        mode=values.get("mode", "batch"), scenarios=tuple(json.loads(values.get("scenarios") or "[]")),
        steps_done=int(values.get("stepsDone", 0)), messages_sent=int(values.get("messagesSent", 0)),
        started_at=datetime_to_native(values.get("startedAt")), finished_at=datetime_to_native(values.get("finishedAt")),
        updated_at=datetime_to_native(values.get("updatedAt")), started_by=values.get("startedBy"), errors=tuple(values.get("errors") or ()))


def list_runs(driver: neo4j.Driver, *, grid_id: str | None = None, limit: int = 100,
              database: str | None = None) -> list[RunRecord]:
    """Runs, newest first, optionally of one grid."""
    records, _, _ = driver.execute_query(
        f"MATCH (r:{RUN_LABEL}) WHERE $grid IS NULL OR r.gridId = $grid RETURN {_RUN_PROJECTION} "
        "ORDER BY r.startedAt DESC, r.id LIMIT $limit", grid=grid_id, limit=limit, database_=database,
        routing_=neo4j.RoutingControl.READ)
    return [_run_record(r["run"]) for r in records]


def find_run(driver: neo4j.Driver, run_id: str, *, database: str | None = None) -> RunRecord | None:
    """The run ``run_id``, or None."""
    records, _, _ = driver.execute_query(f"MATCH (r:{RUN_LABEL} {{id: $id}}) RETURN {_RUN_PROJECTION}", id=run_id,
                                         database_=database, routing_=neo4j.RoutingControl.READ)
    return _run_record(records[0]["run"]) if records else None


def get_run(driver: neo4j.Driver, run_id: str, *, database: str | None = None) -> RunRecord:
    """The run ``run_id``; NotFoundError when there is none."""
    found = find_run(driver, run_id, database=database)
    if found is None:
        raise NotFoundError(f"no simulation run {run_id!r}")
    return found


def run_events(driver: neo4j.Driver, run_id: str, *, label: str | None = None,
               database: str | None = None) -> list[RecordedEvent]:
    """The ground truth of a run in time order, optionally of one label."""
    records, _, _ = driver.execute_query(
        f"MATCH (:{RUN_LABEL} {{id: $id}})-[:RECORDED]->(e:{EVENT_LABEL}) WHERE $label IS NULL OR e.label = $label "
        "RETURN e {.*} AS e ORDER BY e.startStep, e.label, e.elements", id=run_id, label=label, database_=database,
        routing_=neo4j.RoutingControl.READ)
    return [_recorded(r["e"]) for r in records]


def _recorded(values: Mapping[str, Any]) -> RecordedEvent:
    return RecordedEvent(
        label=values["label"], scenario=values["scenario"], severity=float(values["severity"]),
        severity_unit=values["severityUnit"], start_step=int(values["startStep"]), end_step=int(values["endStep"]),
        start_time=datetime_to_native(values["startTime"]), end_time=datetime_to_native(values["endTime"]),
        elements=tuple(values["elements"]), twin_ids=tuple(values["twinIds"]),
        details=json.loads(values.get("details") or "{}"))


__all__ = ["EVENT_LABEL", "FINISHED", "RUN_LABEL", "RecordedEvent", "RunRecord", "create_run", "find_run", "finish_run",
           "get_run", "list_runs", "record_progress", "run_events"]
