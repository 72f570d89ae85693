"""Names that may appear in Cypher text, and the schema commands.

Labels, relationship types and property keys cannot be Cypher parameters, so they
are the one place user text could be injected.  The rule of this package: a name
only reaches query text when it was derived from the loaded DTDL models (the
whitelist built here), matches the compiler's identifier pattern
(``ontology.neo4j_schema.IDENTIFIER``), and is escaped with backticks.  Everything else
travels as a parameter.

The naming rules (interface -> label, relationship name -> type) and every constraint and
index belong to the schema compiler ``ontology.neo4j_schema``; this module only caches its
output per ModelSet and applies its schema commands.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

import neo4j

from dtdl.model import ModelSet
from graph.errors import ModelError
from ontology import neo4j_schema
from ontology.neo4j_schema import Neo4jSchema, SchemaCompileError

TWIN_LABEL = neo4j_schema.TWIN_LABEL
MODEL_LABEL = neo4j_schema.MODEL_LABEL

_cache_lock = threading.Lock()
_cache: dict[int, tuple[ModelSet, Neo4jSchema]] = {}


def compiled(models: ModelSet) -> Neo4jSchema:
    """The compiled Neo4j schema of ``models`` (memoised: the graph calls this on every write)."""
    key = id(models)
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] is models:
            return hit[1]
    try:
        schema = neo4j_schema.compile_schema(models)
    except SchemaCompileError as error:
        raise ModelError(str(error)) from error
    with _cache_lock:
        if len(_cache) > 32:
            _cache.clear()
        _cache[key] = (models, schema)  # keeps models alive, so the id cannot be reused
    return schema


def relationship_type(name: str) -> str:
    """Neo4j relationship type of the DTDL relationship ``name`` (``feedsTo`` -> ``FEEDS_TO``)."""
    return check_identifier(neo4j_schema.relationship_type(name))


def check_identifier(name: str) -> str:
    """Refuse any name that is not a plain identifier, before it can reach query text."""
    if not neo4j_schema.is_identifier(name):
        raise ModelError(f"not a safe Cypher identifier: {name!r}")
    return name


def quote(name: str) -> str:
    """Backtick-quote an identifier after :func:`check_identifier` (which leaves nothing to escape)."""
    return f"`{check_identifier(name)}`"


def labels_of(models: ModelSet, dtmi: str) -> tuple[str, ...]:
    """Labels of a twin of interface ``dtmi``: ``Twin``, its own label and every ancestor's."""
    labels = compiled(models).twin_labels.get(dtmi)
    if labels is None:
        raise ModelError(f"unknown model {dtmi}")
    return tuple(check_identifier(label) for label in labels)


def label_for(models: ModelSet, dtmi: str) -> str:
    """The interface's own label."""
    label = compiled(models).labels.get(dtmi)
    if label is None:
        raise ModelError(f"unknown model {dtmi}")
    return check_identifier(label)


def label_clause(labels: Iterable[str]) -> str:
    """``:`A`:`B``` for a CREATE/MATCH pattern."""
    return "".join(":" + quote(label) for label in labels)


def known_labels(models: ModelSet) -> dict[str, str]:
    """Whitelist label -> DTMI of every interface of the models (filters are checked against it)."""
    return {label: dtmi for dtmi, label in compiled(models).labels.items()}


def resolve_label(models: ModelSet, label_or_dtmi: str) -> str:
    """The label for a caller's filter given as a DTMI or a label; refused when not a model."""
    if label_or_dtmi in models.interfaces:
        return label_for(models, label_or_dtmi)
    labels = known_labels(models)
    if label_or_dtmi in labels or label_or_dtmi == TWIN_LABEL:
        return label_or_dtmi
    raise ModelError(f"no interface named {label_or_dtmi!r} in the models")


def relationship_names(models: ModelSet) -> dict[str, str]:
    """Whitelist DTDL relationship name -> relationship type over all interfaces."""
    return dict(compiled(models).relationship_types)


def schema_statements(models: ModelSet) -> list[str]:
    """The compiled constraint and index commands of the twin graph (all IF NOT EXISTS, idempotent):
    ``Twin.id`` unique, ``Twin.model``, property indexes and one ``r.id`` index per relationship type."""
    return [statement.text for statement in compiled(models).schema_commands]


def apply_schema(driver: neo4j.Driver, models: ModelSet) -> None:
    """Run the schema commands, each in its own auto-commit transaction (Neo4j requires it)."""
    for statement in schema_statements(models):
        driver.execute_query(statement)
