"""Compile a DTDL model set to the Neo4j graph schema (pure, deterministic; nothing is applied).

The mapping, documented for analysts in ``docs/graph-schema.md`` ("Schema compiled from DTDL"):

* **Labels.**  An Interface's label is the last segment of its DTMI in PascalCase
  (``dtmi:gridtwin:PowerTransformer;1`` -> ``PowerTransformer``); all versions of one DTMI
  share it.  When two different versionless DTMIs would get the same label, or a label
  would be a reserved one (``Twin``, ``Model``), *each* of them gets the qualified label made
  of all its path segments joined by ``_`` (``dtmi:acme:grid:Meter;1`` -> ``Acme_Grid_Meter``).
  If even qualified labels collide the compile fails with :class:`SchemaCompileError`.
* **Twin labels.**  A twin node carries ``:Twin`` plus the labels of its Interface and of all
  its ancestors (nearest first), so ``MATCH (c:GridComponent)`` finds every asset subtype.
* **Relationship types.**  A Relationship name in camelCase becomes UPPER_SNAKE
  (``feedsTo`` -> ``FEEDS_TO``).  The type is global: every Interface's ``managedBy`` is
  ``MANAGED_BY``.  Two different names that give one type fail the compile.
* **Constraints and indexes**, all ``IF NOT EXISTS`` so that applying twice is a no-op:
  ``Twin.id`` and ``Model.dtmi`` unique; ``Twin.model`` and ``Model.versionless`` indexed;
  a range index on every Interface that declares a property named in
  :data:`INDEXED_PROPERTY_NAMES`, and a uniqueness constraint for
  :data:`UNIQUE_PROPERTY_NAMES`.  Subtypes carry their ancestors' labels, so an index on the
  declaring Interface's label serves them all.  Each relationship type gets an index on
  ``r.id`` (``rel_feeds_to_id``), so a relationship is found by id with an index seek.
* **Model nodes.**  ``(:Model {dtmi, version, versionless, label, json, context, displayName,
  decommissioned, uploadedAt})``, MERGEd on ``dtmi`` so ``;2`` coexists with ``;1``;
  ``(:Model)-[:EXTENDS]->(:Model)`` for each direct ``extends``.  A Model node is only
  written on creation: a DTMI's definition is immutable, a change needs a new version.

Each statement says its :data:`StatementKind`: constraints and indexes are schema commands
(Neo4j runs them only in their own auto-commit transactions), Model nodes and EXTENDS edges are
data written in one transaction, so callers choose by kind, never by the statement's text.

Every value travels as a query parameter; identifiers (labels, relationship types, index names)
cannot be parameters in Cypher, so they must match :data:`IDENTIFIER` (the one pattern the graph
layer checks too) and are backtick-quoted.
"""
from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from dtdl.model import Content, Interface, ModelSet

TWIN_LABEL = "Twin"
MODEL_LABEL = "Model"
RESERVED_LABELS = frozenset({TWIN_LABEL, MODEL_LABEL})
INDEXED_PROPERTY_NAMES = ("name", "status", "role", "switchState", "gridId")
"""Twin properties that queries filter on; each gets a range index on its declaring label."""
UNIQUE_PROPERTY_NAMES = ("username",)
"""Twin properties that must be unique among the twins of the declaring label."""
RESERVED_PROPERTY_NAMES = frozenset({"id", "model"})
"""Twin node properties owned by the graph layer (twin id and model DTMI)."""

IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
"""What a name must be, in full, to reach Cypher text: DTDL names and DTMI segments start with a
letter, so every compiled label and relationship type fits, and nothing needs escaping."""

StatementKind = Literal["constraint", "index", "model-node", "extends"]
SCHEMA_COMMAND_KINDS: frozenset[StatementKind] = frozenset({"constraint", "index"})
"""Kinds Neo4j runs only as auto-commit schema commands (all ``IF NOT EXISTS``)."""


class SchemaCompileError(ValueError):
    """The model set cannot be mapped to Neo4j without ambiguity."""


@dataclass(frozen=True)
class CypherStatement:
    """One Cypher statement plus its parameters (never string-pasted values)."""

    text: str
    params: Mapping[str, Any] = field(default_factory=dict)
    kind: StatementKind | None = None
    """What the statement does; every compiled statement has one (None: written by hand)."""

    @property
    def is_schema_command(self) -> bool:
        """True for a constraint or index, which must run in its own auto-commit transaction."""
        return self.kind in SCHEMA_COMMAND_KINDS


@dataclass(frozen=True)
class Neo4jSchema:
    """The compiled schema: statements to apply plus the mappings the graph layer needs."""

    statements: tuple[CypherStatement, ...]
    labels: Mapping[str, str]
    """Interface DTMI -> its own label."""
    twin_labels: Mapping[str, tuple[str, ...]]
    """Interface DTMI -> every label a twin of it carries (``Twin`` first)."""
    relationship_types: Mapping[str, str]
    """DTDL Relationship name -> Neo4j relationship type."""

    @property
    def schema_commands(self) -> tuple[CypherStatement, ...]:
        """The constraints and indexes (each run in its own auto-commit transaction)."""
        return tuple(s for s in self.statements if s.is_schema_command)

    def model_writes(self, dtmis: Collection[str]) -> tuple[CypherStatement, ...]:
        """The Model-node and EXTENDS statements that write the models ``dtmis`` (an upload writes
        only its new models: a stored definition is immutable)."""
        return tuple(
            s for s in self.statements
            if (s.kind == "model-node" and s.params["dtmi"] in dtmis)
            or (s.kind == "extends" and s.params["child"] in dtmis)
        )


# --- names ---------------------------------------------------------------------------------

def _pascal(segment: str) -> str:
    parts = [part for part in segment.split("_") if part]
    return "".join(part[:1].upper() + part[1:] for part in parts)


def _path_segments(dtmi: str) -> list[str]:
    versionless = dtmi.split(";", 1)[0]
    return versionless.split(":")[1:]  # drop the "dtmi" scheme


def simple_label(dtmi: str) -> str:
    """Last DTMI segment in PascalCase: ``dtmi:gridtwin:PowerTransformer;1`` -> ``PowerTransformer``."""
    return _pascal(_path_segments(dtmi)[-1])


def qualified_label(dtmi: str) -> str:
    """All DTMI segments in PascalCase joined by ``_``: ``dtmi:acme:Meter;1`` -> ``Acme_Meter``."""
    return "_".join(_pascal(segment) for segment in _path_segments(dtmi))


def relationship_type(name: str) -> str:
    """camelCase Relationship name -> UPPER_SNAKE type (``monitoredBy`` -> ``MONITORED_BY``)."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name)
    return re.sub(r"_+", "_", snake).upper()


def is_identifier(name: object) -> bool:
    """True when ``name`` matches :data:`IDENTIFIER` in full (a trailing newline does not)."""
    return isinstance(name, str) and IDENTIFIER.fullmatch(name) is not None


def _quoted(identifier: str) -> str:
    if not is_identifier(identifier):
        raise SchemaCompileError(f"{identifier!r} is not a safe Neo4j identifier")
    return f"`{identifier}`"


def assign_labels(dtmis: Iterable[str]) -> dict[str, str]:
    """Label per DTMI, resolving collisions as documented in the module docstring."""
    by_versionless: dict[str, list[str]] = defaultdict(list)
    for dtmi in dtmis:
        by_versionless[dtmi.split(";", 1)[0]].append(dtmi)
    candidates: dict[str, list[str]] = defaultdict(list)
    for versionless in by_versionless:
        candidates[simple_label(versionless)].append(versionless)
    chosen: dict[str, str] = {}
    for label, owners in candidates.items():
        ambiguous = len(owners) > 1 or label in RESERVED_LABELS or not is_identifier(label)
        for versionless in owners:
            chosen[versionless] = qualified_label(versionless) if ambiguous else label
    clashes = defaultdict(list)
    for versionless, label in chosen.items():
        clashes[label].append(versionless)
    for label, owners in sorted(clashes.items()):
        if len(owners) > 1 or label in RESERVED_LABELS or not is_identifier(label):
            raise SchemaCompileError(
                f"cannot give a distinct Neo4j label to {', '.join(sorted(owners))}: "
                f"label {label!r} is ambiguous or reserved"
            )
    return {dtmi: chosen[versionless] for versionless, dtmis_ in by_versionless.items() for dtmi in dtmis_}


def assign_relationship_types(interfaces: Iterable[Interface]) -> dict[str, str]:
    """Relationship name -> type, failing when two names would share one type."""
    names = sorted({c.name for i in interfaces for c in i.own_contents.values() if c.kind == "Relationship"})
    types: dict[str, str] = {}
    owners: dict[str, str] = {}
    for name in names:
        rel_type = relationship_type(name)
        if rel_type in owners:
            raise SchemaCompileError(
                f"Relationships {owners[rel_type]!r} and {name!r} both map to type {rel_type!r}"
            )
        owners[rel_type] = name
        types[name] = rel_type
    return types


# --- statements ----------------------------------------------------------------------------

def _constraint(text: str) -> CypherStatement:
    return CypherStatement(text, kind="constraint")


def _index(text: str) -> CypherStatement:
    return CypherStatement(text, kind="index")


def _base_statements() -> list[CypherStatement]:
    return [
        _constraint(f"CREATE CONSTRAINT twin_id IF NOT EXISTS FOR (t:{TWIN_LABEL}) REQUIRE t.id IS UNIQUE"),
        _constraint(f"CREATE CONSTRAINT model_dtmi IF NOT EXISTS FOR (m:{MODEL_LABEL}) REQUIRE m.dtmi IS UNIQUE"),
        _index(f"CREATE INDEX twin_model IF NOT EXISTS FOR (t:{TWIN_LABEL}) ON (t.model)"),
        _index(f"CREATE INDEX model_versionless IF NOT EXISTS FOR (m:{MODEL_LABEL}) ON (m.versionless)"),
    ]


def _declared_properties(interface: Interface) -> Iterable[Content]:
    return (c for c in interface.own_contents.values() if c.kind == "Property")


def _property_statements(model_set: ModelSet, labels: Mapping[str, str]) -> list[CypherStatement]:
    """Indexes/constraints on the label of the Interface that declares each listed property."""
    wanted: set[tuple[str, str, str]] = set()
    for dtmi, interface in model_set.interfaces.items():
        for content in _declared_properties(interface):
            if content.name in UNIQUE_PROPERTY_NAMES:
                wanted.add(("unique", labels[dtmi], content.name))
            elif content.name in INDEXED_PROPERTY_NAMES:
                wanted.add(("index", labels[dtmi], content.name))
    statements = []
    for kind, label, prop in sorted(wanted):
        name = f"{label.lower()}_{prop.lower()}"
        if kind == "unique":
            statements.append(_constraint(
                f"CREATE CONSTRAINT {_quoted(name)} IF NOT EXISTS FOR (n:{_quoted(label)}) REQUIRE n.{_quoted(prop)} IS UNIQUE"
            ))
        else:
            statements.append(_index(
                f"CREATE INDEX {_quoted(name)} IF NOT EXISTS FOR (n:{_quoted(label)}) ON (n.{_quoted(prop)})"
            ))
    return statements


def _relationship_id_statements(relationship_types: Mapping[str, str]) -> list[CypherStatement]:
    """One index on ``r.id`` per relationship type: a relationship is addressed by its id."""
    return [
        _index(f"CREATE INDEX {_quoted('rel_' + rel_type.lower() + '_id')} IF NOT EXISTS "
               f"FOR ()-[r:{_quoted(rel_type)}]-() ON (r.id)")
        for rel_type in sorted(set(relationship_types.values()))
    ]


def _display_name(interface: Interface) -> str | None:
    names = interface.display_name
    return names.get("en") or names.get("en-US") or next((names[k] for k in sorted(names)), None)


def _context(source: Mapping[str, Any]) -> list[str]:
    context = source.get("@context", [])
    return [c for c in (context if isinstance(context, list) else [context]) if isinstance(c, str)]


_MERGE_MODEL = (
    f"MERGE (m:{MODEL_LABEL} {{dtmi: $dtmi}})\n"
    "ON CREATE SET m.version = $version, m.versionless = $versionless, m.label = $label,\n"
    "  m.json = $json, m.context = $context, m.displayName = $displayName,\n"
    "  m.decommissioned = $decommissioned, m.uploadedAt = datetime()"
)
_MERGE_EXTENDS = (
    f"MATCH (child:{MODEL_LABEL} {{dtmi: $child}})\n"
    f"MATCH (parent:{MODEL_LABEL} {{dtmi: $parent}})\n"
    "MERGE (child)-[:EXTENDS]->(parent)"
)


def _model_statements(model_set: ModelSet, labels: Mapping[str, str]) -> list[CypherStatement]:
    nodes, edges = [], []
    for dtmi, interface in sorted(model_set.interfaces.items()):
        versionless, _, version = dtmi.partition(";")
        params = {
            "dtmi": dtmi,
            "version": int(version.split(".", 1)[0]),
            "versionless": versionless,
            "label": labels[dtmi],
            "json": json.dumps(interface.source, ensure_ascii=False),
            "context": _context(interface.source),
            "displayName": _display_name(interface),
            "decommissioned": False,
        }
        nodes.append(CypherStatement(_MERGE_MODEL, params, kind="model-node"))
        for parent in sorted(interface.extends):
            edges.append(CypherStatement(_MERGE_EXTENDS, {"child": dtmi, "parent": parent}, kind="extends"))
    return nodes + edges


def _check_property_names(model_set: ModelSet) -> None:
    for dtmi, interface in sorted(model_set.interfaces.items()):
        clash = sorted(RESERVED_PROPERTY_NAMES & {c.name for c in _declared_properties(interface)})
        if clash:
            raise SchemaCompileError(f"{dtmi} declares {clash}, reserved for the twin node's own id/model")


def compile_schema(model_set: ModelSet) -> Neo4jSchema:
    """Compile ``model_set`` to constraints, indexes and Model nodes (same input, same output)."""
    _check_property_names(model_set)
    labels = assign_labels(model_set.interfaces)
    twin_labels = {
        dtmi: (TWIN_LABEL, labels[dtmi], *(labels[a] for a in interface.ancestors if a in labels))
        for dtmi, interface in sorted(model_set.interfaces.items())
    }
    relationship_types = assign_relationship_types(model_set.interfaces.values())
    statements = (
        _base_statements()
        + _property_statements(model_set, labels)
        + _relationship_id_statements(relationship_types)
        + _model_statements(model_set, labels)
    )
    return Neo4jSchema(
        statements=tuple(statements),
        labels=MappingProxyType(dict(sorted(labels.items()))),
        twin_labels=MappingProxyType(twin_labels),
        relationship_types=MappingProxyType(relationship_types),
    )


# --- rendering -----------------------------------------------------------------------------

def cypher_literal(value: Any) -> str:
    """A Cypher literal for a parameter value, for the printable script only."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} has no Cypher literal")
        return repr(value)
    if isinstance(value, str):
        escaped = (value.replace("\\", "\\\\").replace("'", "\\'")
                   .replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t"))
        return f"'{escaped}'"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(cypher_literal(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_quoted(str(k))}: {cypher_literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no Cypher literal for {type(value).__name__}")


def _inline(statement: CypherStatement) -> str:
    """Replace each ``$param`` in one pass, so inserted text is never scanned again."""
    def literal(match: re.Match[str]) -> str:
        name = match.group(1)
        return cypher_literal(statement.params[name]) if name in statement.params else match.group(0)
    return re.sub(r"\$([A-Za-z_][A-Za-z0-9_]*)", literal, statement.text)


def render_script(schema: Neo4jSchema) -> str:
    """The statements as a Cypher script (values inlined as literals) for ``gridtwin models compile``.

    The script is for reading and for cypher-shell; programs apply ``schema.statements`` with
    their parameters instead.
    """
    lines = ["// GridTwin graph schema compiled from DTDL. Idempotent: safe to run again.", ""]
    lines.extend(_inline(statement) + ";" for statement in schema.statements)
    return "\n".join(lines) + "\n"
