"""Azure Digital Twins import files into and out of the twin graph, through the graph layer only.

Import (:func:`import_adt`, :func:`store_adt`) validates the whole file before its first write,
so a bad file stores nothing, and names the line and field of every problem:

1. models: the file's documents minus those stored verbatim (a no-op, like ``uploadModels``)
   are resolved together with the stored ones by ``models_store.check_upload``, the dry run of
   ``uploadModels`` (same rules, same errors);
2. twins against that model set, with the merge rules (``bulk.check_twin_rows``: a stored twin
   keeps its model, accounts are not twins to load);
3. relationships against their endpoints' models, the file's twins counted as already written
   (``bulk.check_relationship_rows`` with ``pending``), maxMultiplicity included.

Then models, twins and relationships are written with merge semantics
(:func:`loaders.merge.write_merged`, shared with the grid importer), so re-importing the same
file updates in place and never duplicates: twins are matched by ``$dtId`` (their properties
become the file's), relationships by source twin and ``$relationshipId``.  The writes are bulk
batches, each its own transaction: a server failure in the middle leaves the batches before
it, and running the import again completes it.

Export (:func:`export_adt`) reads twins, their relationships and the stored models back with
the graph layer's read functions and renders them with :func:`loaders.adt.write_adt`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import neo4j

from dtdl.model import ModelSet
from graph.bulk import (DEFAULT_BATCH, RelationshipPlan, RelationshipRow, TwinPlan, TwinRow, check_twin_rows,
                        plan_relationship_rows)
from graph.bulk_rows import chunks
from graph.errors import GraphError, NotFoundError, Problem, ValidationError
from graph.models_store import check_upload, list_models, load_model_set, upload_models
from graph.records import Twin
from graph.relationships import list_relationships_many
from graph.twins import get_models, get_twins, is_account_model, list_twins
from loaders.adt import AdtDocument, AdtFileError, AdtIssue, read_adt, write_adt
from loaders.merge import CheckedRows, Progress, write_merged

#: Twins read per query when exporting (list_twins' page limit).
EXPORT_PAGE = 10_000


@dataclass(frozen=True)
class ImportReport:
    """What an import did: counts per kind (``unchanged`` models were stored verbatim already)."""

    source: str
    models_added: int
    models_unchanged: int
    twins_created: int
    twins_updated: int
    relationships_created: int
    relationships_updated: int
    seconds: float


@dataclass(frozen=True)
class _ModelEntry:
    """One interface of the Models section: its line and its pointer prefix (``/i`` in an array line)."""

    line: int
    prefix: str
    document: Mapping[str, Any]


def _model_entries(document: AdtDocument) -> list[_ModelEntry]:
    """Array lines flattened: each element of a DTDL array document is a complete interface."""
    entries = []
    for line, model in zip(document.model_lines, document.models):
        if isinstance(model, list):
            entries.extend(_ModelEntry(line, f"/{i}", item) for i, item in enumerate(model))
        else:
            entries.append(_ModelEntry(line, "", model))
    return entries


def _issue(document: AdtDocument, line: int, pointer: str, message: str) -> AdtIssue:
    return AdtIssue(document.source, line, pointer, message)


def _model_issues(document: AdtDocument, entries: Sequence[_ModelEntry], error: GraphError) -> list[AdtIssue]:
    """Problems of check_upload (pointers ``/<document index>/...``) on their lines."""
    issues = []
    for problem in error.problems or [Problem("", str(error))]:
        head, _, rest = problem.pointer[1:].partition("/")
        if head.isdigit() and int(head) < len(entries):
            entry = entries[int(head)]
            issues.append(_issue(document, entry.line, entry.prefix + ("/" + rest if rest else ""), problem.message))
        else:
            line = entries[0].line if entries else 1
            issues.append(_issue(document, line, problem.pointer, f"{error.message}: {problem.message}"))
    return issues


def _check_models(driver: neo4j.Driver, document: AdtDocument, database: str | None) -> tuple[ModelSet, list[Any], int]:
    """(model set the import validates against, documents to upload, count stored verbatim)."""
    entries = _model_entries(document)
    stored = {m.dtmi: m.document for m in list_models(driver, database=database)} if entries else {}
    fresh: list[_ModelEntry] = []
    issues: list[AdtIssue] = []
    for entry in entries:
        dtmi = entry.document.get("@id")
        if dtmi not in stored:
            fresh.append(entry)
        elif stored[dtmi] != entry.document:
            issues.append(_issue(document, entry.line, entry.prefix + "/@id",
                                 f"{dtmi} is stored with another definition; a stored model cannot change "
                                 "(give the changed model a new version, e.g. ;2)"))
    if issues:
        raise AdtFileError(document.source, issues)
    if not fresh:
        return load_model_set(driver, database=database), [], len(entries)
    try:
        models, _ = check_upload(driver, [entry.document for entry in fresh], database=database)
    except GraphError as error:
        raise AdtFileError(document.source, _model_issues(document, fresh, error)) from error
    return models, [entry.document for entry in fresh], len(entries) - len(fresh)


def _row_issues(
    document: AdtDocument, lines: Sequence[int], line_of_id: Mapping[str, int], error: GraphError, section: str
) -> list[AdtIssue]:
    """Problems of a bulk check on their lines: pointers are ``/<row index>/...`` or ``/<twin id>``."""
    issues = []
    for problem in error.problems or [Problem("", str(error))]:
        head, _, rest = problem.pointer[1:].partition("/")
        pointer = ("/" + rest if rest else "").replace("/$sourceId", "/$dtId")  # the import file's name for it
        whole = problem.pointer[1:]
        if whole in line_of_id and not (rest and head.isdigit()):  # a row problem always names a field
            issues.append(_issue(document, line_of_id[whole], "", f"twin {whole!r} {problem.message}"))
        elif head.isdigit() and int(head) < len(lines):
            issues.append(_issue(document, lines[int(head)], pointer, problem.message))
        else:
            issues.append(_issue(document, lines[0] if lines else 1, problem.pointer,
                                 f"{section}: {error.message}: {problem.message}"))
    return issues


def _check_rows(
    driver: neo4j.Driver, models: ModelSet, document: AdtDocument, database: str | None
) -> CheckedRows:
    """Validate twins and relationships (all problems of both); returns the plans to write."""
    line_of_id = dict(zip((row.id for row in document.twins), document.twin_lines))
    stored_twins = get_models(driver, line_of_id, database=database)
    issues = [  # checked here too (bulk refuses it as well) to name the field on the twin's line
        _issue(document, line, "/$metadata/$model", f"twin {row.id!r} is stored as a {stored_twins[row.id]}; "
                                                    "a twin's model cannot change")
        for row, line in zip(document.twins, document.twin_lines)
        if row.id in stored_twins and stored_twins[row.id] != row.model
    ]
    twins, relationships = TwinPlan({}), RelationshipPlan({})
    try:
        # the merge checks only repeat the model changes above (and find accounts) once those are fixed
        twins = check_twin_rows(driver, models, document.twins, merge=not issues, database=database)
    except GraphError as error:
        issues += _row_issues(document, document.twin_lines, line_of_id, error, "Twins")
    if document.relationships:
        pending = {row.id: row.model for row in document.twins}
        try:
            relationships = plan_relationship_rows(
                driver, models, document.relationships, pending=pending, merge=True, database=database
            )
        except GraphError as error:
            issues += _row_issues(document, document.relationship_lines, {}, error, "Relationships")
    if issues:
        raise AdtFileError(document.source, sorted(issues, key=lambda issue: issue.line))
    return CheckedRows(twins, relationships, len(document.twins), len(document.relationships))


def store_adt(
    driver: neo4j.Driver, document: AdtDocument, *, batch_size: int = DEFAULT_BATCH, database: str | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Store a parsed import file (validated entirely first; :class:`AdtFileError` stores nothing)."""
    start = time.perf_counter()
    models, fresh, unchanged = _check_models(driver, document, database)
    checked = _check_rows(driver, models, document, database)
    if fresh:
        upload_models(driver, fresh, database=database)
    counts = write_merged(driver, models, checked, batch_size=batch_size, database=database, progress=progress)
    return ImportReport(
        source=document.source,
        models_added=len(fresh),
        models_unchanged=unchanged,
        twins_created=counts.twins_created,
        twins_updated=counts.twins_updated,
        relationships_created=counts.relationships_created,
        relationships_updated=counts.relationships_updated,
        seconds=time.perf_counter() - start,
    )


def import_adt(
    driver: neo4j.Driver,
    source: str | os.PathLike[str] | Iterable[str | bytes],
    *,
    name: str | None = None,
    batch_size: int = DEFAULT_BATCH,
    database: str | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Read an import file (a path or lines, see :func:`loaders.adt.read_adt`) and store it."""
    return store_adt(driver, read_adt(source, name=name), batch_size=batch_size, database=database, progress=progress)


# --------------------------------------------------------------------------- export


def _selected_twins(
    driver: neo4j.Driver, models: ModelSet, twin_ids: Iterable[str] | None, model: str | None, database: str | None
) -> list[Twin]:
    if twin_ids is not None and model is not None:
        raise ValidationError("choose the twins by ids or by model, not both", [Problem("/model", "give one of them")])
    if twin_ids is not None:
        ids = list(dict.fromkeys(twin_ids))
        found: dict[str, Twin] = {}
        for chunk in chunks(ids, EXPORT_PAGE):
            found.update(get_twins(driver, models, chunk, database=database))
        missing = [i for i in ids if i not in found]
        if missing:
            raise NotFoundError(f"{len(missing)} twin(s) to export do not exist",
                                [Problem("/twinIds", f"no twin {i!r}") for i in missing[:20]])
        return [found[i] for i in ids]
    twins: list[Twin] = []
    while True:
        page = list_twins(driver, models, model=model, skip=len(twins), limit=EXPORT_PAGE, database=database)
        twins += page
        if len(page) < EXPORT_PAGE:
            return twins


def _twin_row(models: ModelSet, twin: Twin) -> TwinRow:
    """The twin as an import-file row; components get the ``$metadata`` object ADT requires of them."""
    interface = models.interfaces.get(twin.model)
    properties = dict(twin.properties)
    for name, content in (interface.contents.items() if interface else ()):
        if content.kind == "Component" and isinstance(properties.get(name), dict):
            properties[name] = {"$metadata": {}, **properties[name]}
    return TwinRow(twin.id, twin.model, properties)


def export_adt(
    driver: neo4j.Driver,
    *,
    twin_ids: Iterable[str] | None = None,
    model: str | None = None,
    header: Mapping[str, Any] | None = None,
    include_models: bool = True,
    database: str | None = None,
) -> Iterator[str]:
    """The import file of a set of twins: those named by ``twin_ids``, those that are-a ``model``
    (DTMI or label), or all; user accounts are never exported.

    Relationships are those between exported twins (an edge to a twin outside the set would not
    import elsewhere); models are every stored model, so the file resolves on its own.  The
    reads happen here, the returned iterator only renders lines.
    """
    models = load_model_set(driver, database=database)
    twins = [t for t in _selected_twins(driver, models, twin_ids, model, database) if not is_account_model(models, t.model)]
    ids = sorted(t.id for t in twins)
    exported = set(ids)
    relationships: list[RelationshipRow] = []
    for chunk in chunks(ids, EXPORT_PAGE):
        for edges in list_relationships_many(driver, models, chunk, database=database).values():
            relationships += [RelationshipRow(r.source_id, r.name, r.target_id, r.properties, r.id)
                              for r in edges if r.target_id in exported]
    documents = [m.document for m in list_models(driver, database=database)] if include_models else []
    return write_adt(documents, [_twin_row(models, t) for t in twins], relationships, header=header)


__all__ = ["EXPORT_PAGE", "ImportReport", "export_adt", "import_adt", "store_adt"]
