"""The DTDL models stored in Neo4j as ``(:Model {dtmi, json, ...})-[:EXTENDS]->(:Model)``.

An upload is validated and resolved *together with* the models already stored (a
new interface may extend or target a stored one) and written all or nothing in
one transaction.  The compiled constraints/indexes are schema commands, which
Neo4j only runs in their own auto-commit transactions, so they are applied after
the commit (all IF NOT EXISTS, so re-applying is harmless).  An upload validates and
compiles once and hands its model set on (:class:`Upload`), so no caller reads the
stored models back to parse them again.

A model's definition is immutable once stored (a change is a new version), and an
upload may not change the Neo4j label of a stored interface (the compiler
qualifies clashing labels, which would silently re-label existing twins).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import neo4j
from neo4j.exceptions import ConstraintError

import dtdl
from dtdl.model import ModelSet
from graph.db import in_transaction
from graph.cypher import apply_schema, compiled
from graph.encoding import datetime_to_native
from graph.errors import ConflictError, ModelError, NotFoundError, Problem
from ontology import MODELS_DIR
from ontology.neo4j_schema import SchemaCompileError, assign_labels


@dataclass(frozen=True)
class StoredModel:
    """One stored interface."""

    dtmi: str
    label: str
    document: dict[str, Any]
    extends: list[str]
    decommissioned: bool
    uploaded_at: datetime | None
    display_name: str | None


def builtin_documents(directory: Path = MODELS_DIR) -> list[dict[str, Any]]:
    """The grid models shipped in dtdl/models (what the demo and tests upload)."""
    return [json.loads(path.read_text()) for path in sorted(directory.glob("*.json"))]


def _problems(result: Any, offset: int = 0) -> list[Problem]:
    problems = []
    for problem in result.problems:
        document = problem.document
        where = f"/{document - offset}" if isinstance(document, int) and document >= offset else ""
        problems.append(Problem(where + (problem.pointer or ""), f"[{problem.rule_name}] {problem.message}"))
    return problems


def parse_models(documents: Sequence[Any]) -> ModelSet:
    """Parse and resolve DTDL documents into a ModelSet; invalid input is a ModelError listing problems."""
    result = dtdl.validate(list(documents))
    if not result.ok:
        raise ModelError("the DTDL models are invalid", _problems(result))
    return result.models


def _ids_of(documents: Iterable[Any]) -> list[str]:
    ids: list[str] = []
    for document in documents:
        for item in document if isinstance(document, list) else [document]:
            if isinstance(item, Mapping) and isinstance(item.get("@id"), str):
                ids.append(item["@id"])
    return ids


def _stored_documents(tx: neo4j.ManagedTransaction) -> dict[str, Any]:
    return {r["dtmi"]: json.loads(r["json"]) for r in tx.run("MATCH (m:Model) RETURN m.dtmi AS dtmi, m.json AS json ORDER BY dtmi")}


def _read_stored(driver: neo4j.Driver, database: str | None) -> dict[str, Any]:
    return in_transaction(driver, _stored_documents, database=database, write=False)


def _not_stored_verbatim(stored: Mapping[str, Any], documents: Sequence[Any]) -> list[Any]:
    """The documents minus those stored exactly as given, so uploading a model set again is a
    no-op instead of a conflict (a *changed* document with a stored @id still conflicts)."""
    return [d for d in documents if not (isinstance(d, Mapping) and stored.get(d.get("@id")) == d)]


def _resolve_upload(stored: Mapping[str, Any], documents: Sequence[Any]) -> tuple[ModelSet, list[str]]:
    """Validate the new documents together with the stored ones (pure)."""
    if not _ids_of(documents):
        raise ModelError("nothing to upload", [Problem("", "no document has an @id")])
    documents = _not_stored_verbatim(stored, documents)
    if not documents:
        return dtdl.validate(list(stored.values())).models, []
    new_ids = _ids_of(documents)
    duplicates = sorted(set(new_ids) & set(stored)) + sorted({i for i in new_ids if new_ids.count(i) > 1})
    if duplicates:
        raise ConflictError(
            "models already exist", [Problem("", f"{dtmi} is already stored or uploaded twice") for dtmi in duplicates]
        )
    stored_docs = list(stored.values())
    result = dtdl.validate(stored_docs + list(documents))
    if not result.ok:
        raise ModelError("the uploaded models are invalid", _problems(result, len(stored_docs)))
    models = result.models
    renamed = _relabelled(stored, compiled(models).labels)  # compiled: a ModelError on label/type clashes
    if renamed:
        raise ConflictError(
            "the upload would change the label of stored models",
            [Problem("", f"{r} (choose another last DTMI segment)") for r in renamed],
        )
    return models, new_ids


def _relabelled(stored_dtmis: Iterable[str], labels: Mapping[str, str]) -> list[str]:
    """``dtmi: old -> new`` for each stored model whose label ``labels`` would change.  A label depends
    only on the set of DTMIs (``assign_labels``), so the stored set is not validated again to know its own."""
    try:
        before = assign_labels(stored_dtmis)
    except SchemaCompileError as error:
        raise ModelError(f"the stored models have no distinct labels: {error}") from error
    return [f"{d}: {before[d]} -> {labels.get(d)}" for d in sorted(before) if labels.get(d) != before[d]]


def check_upload(
    driver: neo4j.Driver, documents: Sequence[Any], *, database: str | None = None
) -> tuple[ModelSet, list[str]]:
    """Dry run of :func:`upload_models`: the model set the upload would give and the DTMIs it would
    add, with the same errors and nothing written (an importer validates its twins against it
    before storing anything)."""
    return _resolve_upload(_read_stored(driver, database), list(documents))


@dataclass(frozen=True)
class Upload:
    """What an upload stored: the whole resolved model set after it and the new DTMIs."""

    models: ModelSet
    new_ids: list[str]


def upload_models(driver: neo4j.Driver, documents: Sequence[Any], *, check: Callable[[ModelSet], Any] | None = None,
                  database: str | None = None) -> Upload:
    """Store new interfaces (all or nothing) and apply the schema after commit.

    ``check`` sees the model set the upload would give *before anything is written* and refuses it by
    raising (the API builds the GraphQL schema there, so a set that cannot be served is never stored).
    The result carries that model set, so callers need not read and re-parse the stored models.
    """
    documents = list(documents)

    def work(tx: neo4j.ManagedTransaction) -> Upload:
        models, new_ids = _resolve_upload(_stored_documents(tx), documents)
        if new_ids and check is not None:
            check(models)
        for statement in compiled(models).model_writes(set(new_ids)):
            tx.run(statement.text, dict(statement.params)).consume()
        return Upload(models, new_ids)

    try:
        upload = in_transaction(driver, work, database=database)
    except ConstraintError as error:
        raise ConflictError(f"a concurrent upload stored one of these models: {error.message}") from error
    apply_schema(driver, upload.models)
    return upload


def _stored_model(record: Mapping[str, Any]) -> StoredModel:
    node = record["m"]
    return StoredModel(
        dtmi=node["dtmi"],
        label=node.get("label", ""),
        document=json.loads(node.get("json", "{}")),
        extends=sorted(record["extends"]),
        decommissioned=bool(node.get("decommissioned", False)),
        uploaded_at=datetime_to_native(node.get("uploadedAt")),
        display_name=node.get("displayName"),
    )


_READ = "OPTIONAL MATCH (m)-[:EXTENDS]->(p:Model) WITH m, collect(p.dtmi) AS extends RETURN m, extends"


def list_models(
    driver: neo4j.Driver, *, include_decommissioned: bool = True, database: str | None = None
) -> list[StoredModel]:
    """All stored models ordered by DTMI."""
    records, _, _ = driver.execute_query(
        "MATCH (m:Model) WHERE $all OR NOT coalesce(m.decommissioned, false) " + _READ + " ORDER BY m.dtmi",
        all=include_decommissioned,
        database_=database,
        routing_=neo4j.RoutingControl.READ,
    )
    return [_stored_model(record) for record in records]


def get_model(driver: neo4j.Driver, dtmi: str, *, database: str | None = None) -> StoredModel:
    """One stored model; NotFoundError when absent."""
    records, _, _ = driver.execute_query(
        "MATCH (m:Model {dtmi: $dtmi}) " + _READ, dtmi=dtmi, database_=database, routing_=neo4j.RoutingControl.READ
    )
    if not records:
        raise NotFoundError(f"no model {dtmi!r}")
    return _stored_model(records[0])


def decommission_model(
    driver: neo4j.Driver, dtmi: str, *, decommissioned: bool = True, database: str | None = None
) -> StoredModel:
    """Mark a model (un)decommissioned: existing twins stay, new twins of it are refused."""
    records, _, _ = driver.execute_query(
        "MATCH (m:Model {dtmi: $dtmi}) SET m.decommissioned = $flag WITH m " + _READ,
        dtmi=dtmi,
        flag=decommissioned,
        database_=database,
    )
    if not records:
        raise NotFoundError(f"no model {dtmi!r}")
    return _stored_model(records[0])


def delete_model(driver: neo4j.Driver, dtmi: str, *, database: str | None = None) -> None:
    """Delete a model; refused while twins use it, models extend it, or the rest would not resolve."""

    def work(tx: neo4j.ManagedTransaction) -> None:
        record = tx.run(
            "MATCH (m:Model {dtmi: $dtmi}) SET m._lock = true REMOVE m._lock "
            "RETURN COUNT { (:Twin {model: $dtmi}) } AS twins, "
            "[(c:Model)-[:EXTENDS]->(m) | c.dtmi] AS children",
            dtmi=dtmi,
        ).single()
        if record is None:
            raise NotFoundError(f"no model {dtmi!r}")
        problems = [Problem("", f"{record['twins']} twin(s) use it")] if record["twins"] else []
        problems += [Problem("", f"{child} extends it") for child in record["children"]]
        if problems:
            raise ConflictError(f"model {dtmi} is in use", problems)
        remaining = {k: v for k, v in _stored_documents(tx).items() if k != dtmi}
        if remaining:
            result = dtdl.validate(list(remaining.values()))
            if not result.ok:
                raise ConflictError(f"other models depend on {dtmi}", _problems(result))
        tx.run("MATCH (m:Model {dtmi: $dtmi}) DETACH DELETE m", dtmi=dtmi).consume()

    in_transaction(driver, work, database=database)


def _model_set(stored: Mapping[str, Any]) -> ModelSet:
    return parse_models(list(stored.values())) if stored else ModelSet()


def load_model_set(driver: neo4j.Driver, *, database: str | None = None) -> ModelSet:
    """Every stored model resolved into one ModelSet (API start-up, importers)."""
    return _model_set(_read_stored(driver, database))


def additions_only(stored: Mapping[str, Any], shipped: Mapping[str, Any]) -> list[str]:
    """What keeps ``shipped`` from being a compatible edit of ``stored`` (empty: it only adds contents).

    A compatible edit keeps every stored content (same name, same definition) and every other key
    except descriptive text, so twins valid under the stored model stay valid and no label moves.
    A Telemetry Object may gain fields: telemetry is not stored on twins, and a message may carry
    any subset of an Object's fields, so every message valid before stays valid.
    """
    problems: list[str] = []
    descriptive = {"contents", "description", "comment"}  # displayName is stored on the Model node
    for key in (set(stored) | set(shipped)) - descriptive:
        if stored.get(key) != shipped.get(key):
            problems.append(f"{key} changed")
    shipped_contents = {c.get("name"): c for c in shipped.get("contents", []) if isinstance(c, Mapping)}
    for content in stored.get("contents", []):
        name = content.get("name") if isinstance(content, Mapping) else None
        if shipped_contents.get(name) != content and not _telemetry_gains_fields(content, shipped_contents.get(name)):
            problems.append(f"content {name!r} removed or changed")
    return problems


def _telemetry_gains_fields(stored: Mapping[str, Any], shipped: Any) -> bool:
    """Whether ``shipped`` is the Telemetry ``stored`` with fields added to its Object schema (and nothing else)."""
    if not isinstance(shipped, Mapping) or "Telemetry" not in _types(stored):
        return False
    old_schema, new_schema = stored.get("schema"), shipped.get("schema")
    if not (isinstance(old_schema, Mapping) and isinstance(new_schema, Mapping)
            and old_schema.get("@type") == new_schema.get("@type") == "Object"):
        return False
    if {k: v for k, v in stored.items() if k != "schema"} != {k: v for k, v in shipped.items() if k != "schema"}:
        return False
    if {k: v for k, v in old_schema.items() if k != "fields"} != {k: v for k, v in new_schema.items() if k != "fields"}:
        return False
    new_fields = {f.get("name"): f for f in new_schema.get("fields", []) if isinstance(f, Mapping)}
    return all(new_fields.get(f.get("name")) == f for f in old_schema.get("fields", []) if isinstance(f, Mapping))


def _types(content: Mapping[str, Any]) -> list[Any]:
    kind = content.get("@type")
    return kind if isinstance(kind, list) else [kind]


def _compatible_refreshes(stored: Mapping[str, Any], shipped: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Shipped documents whose stored copy is older and which only add to it; a changed one is refused."""
    refreshes: dict[str, Any] = {}
    for document in shipped:
        dtmi = document.get("@id")
        old = stored.get(dtmi)
        if old is None or old == document:
            continue
        problems = additions_only(old, document)
        if problems:
            raise ModelError(f"the shipped model {dtmi} differs from the stored one in more than additions",
                             [Problem(f"/{dtmi}", problem) for problem in problems])
        refreshes[str(dtmi)] = document
    return refreshes


def _refresh(driver: neo4j.Driver, refreshes: Mapping[str, Any], database: str | None) -> None:
    rows = [{"dtmi": dtmi, "json": json.dumps(document, ensure_ascii=False)} for dtmi, document in refreshes.items()]
    in_transaction(driver, lambda tx: tx.run(
        "UNWIND $rows AS row MATCH (m:Model {dtmi: row.dtmi}) SET m.json = row.json", rows=rows).consume(),
        database=database)


def ensure_builtin_models(driver: neo4j.Driver, *, database: str | None = None) -> ModelSet:
    """Upload the shipped grid models that are not stored yet, apply the schema, return the full stored set.

    A shipped model that is stored in an older form is replaced when the shipped form only adds
    contents (a compatible edit, e.g. telemetry added to an interface that was not released before
    it; see docs/models.md): otherwise a store made by an older GridTwin would keep serving the old
    definition for ever.  Any other difference is refused with the model and what changed.
    Each step runs once: an upload validates, compiles and applies the schema of the whole set and
    returns that set; with nothing to upload, the documents read here are parsed once and applied.
    """
    stored = _read_stored(driver, database)
    shipped = builtin_documents()
    refreshes = _compatible_refreshes(stored, shipped)
    if refreshes:
        candidate = {**stored, **refreshes}
        compiled(_model_set(candidate))  # validates the refreshed set before anything is written
        _refresh(driver, refreshes, database)
        stored = candidate
    missing = [d for d in shipped if d.get("@id") not in stored]
    if missing:
        try:
            return upload_models(driver, missing, database=database).models
        except ConflictError:
            stored = _read_stored(driver, database)  # another process uploaded them meanwhile
    models = _model_set(stored)
    apply_schema(driver, models)
    return models


__all__ = [
    "StoredModel",
    "Upload",
    "additions_only",
    "builtin_documents",
    "check_upload",
    "decommission_model",
    "delete_model",
    "ensure_builtin_models",
    "get_model",
    "list_models",
    "load_model_set",
    "parse_models",
    "upload_models",
]
