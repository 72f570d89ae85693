"""Relationships between twins, validated against the source twin's DTDL interface.

Stored as one Neo4j relationship whose type comes from the DTDL name (feedsTo ->
FEEDS_TO) with ``id``, ``name``, ``_etag`` and timestamps plus its validated
properties.  Each fact is stored once:

* ``fedBy`` is not declared by the models; it is the *view* of incoming FEEDS_TO.
* ``manages`` (User) and ``managedBy`` (GridComponent, maxMultiplicity 1) are both
  declared as inverses; the stored direction is ``managedBy`` (asset -> user), so the
  asset's multiplicity is enforced on one edge, and ``manages`` is the incoming view.
  Writing ``manages`` from a user stores the managedBy edge from the asset, checked
  against both declarations.

A relationship is addressed by its stored source twin and its id (unique per source).
Race freedom: the create transaction write-locks both endpoint nodes before counting
for maxMultiplicity, so two concurrent creates cannot both see "one left".
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal, TypeVar

import neo4j

from dtdl.model import Content, ModelSet
from graph.db import in_transaction
from graph.cypher import quote, relationship_names, relationship_type
from graph.encoding import encode_contents
from graph.errors import ConflictError, ModelError, NotFoundError, Problem, ValidationError
from graph.keys import CREATED_KEY, ETAG_KEY, RELATIONSHIP_SYSTEM_KEYS, UPDATED_KEY, now
from graph.patch import apply_patch
from graph.reads import Read, send, send_async
from graph.records import Relationship, check_etag, check_twin_id, new_etag, read_projection, relationship_from_record
from graph.validation import validate_contents

T = TypeVar("T")

Direction = Literal["outgoing", "incoming", "both"]

#: Inverse view name -> stored (canonical) name.  Reading or writing the view name
#: works on the canonical edge in the opposite direction.
INVERSE_NAMES: Mapping[str, str] = {"fedBy": "feedsTo", "manages": "managedBy"}


@dataclass(frozen=True)
class Plan:
    """Where and how a requested relationship is stored, after validation."""

    name: str
    rel_type: str
    source_id: str
    target_id: str
    declaration: Content
    checks: tuple[tuple[str, str, str, int], ...]  # (twin id, direction, type, max) multiplicity checks


def canonical(models: ModelSet, name: str) -> tuple[str, bool]:
    """(stored name, reversed?) of a requested name; unknown names are a ModelError."""
    known = relationship_names(models)
    inverse_of = INVERSE_NAMES.get(name)
    if inverse_of is not None and inverse_of in known:
        return inverse_of, True
    if name in known:
        return name, False
    raise ModelError(f"no relationship named {name!r} in the models", [Problem("/$relationshipName", "unknown name")])


def _declaration(models: ModelSet, model: str, name: str) -> Content | None:
    interface = models.interfaces.get(model)
    content = interface.contents.get(name) if interface else None
    return content if content is not None and content.kind == "Relationship" else None


def _target_problem(models: ModelSet, declaration: Content, target_model: str, pointer: str) -> list[Problem]:
    if declaration.target and not models.is_a(target_model, declaration.target):
        return [Problem(pointer, f"{declaration.name!r} must target a {declaration.target}, not a {target_model}")]
    return []


def plan_relationship(
    models: ModelSet, source_id: str, source_model: str, name: str, target_id: str, target_model: str
) -> Plan:
    """Validate name, target type and direction (pure); the multiplicity counts are done by the caller."""
    stored_name, reverse = canonical(models, name)
    rel_type = relationship_type(stored_name)
    problems: list[Problem] = []
    if source_id == target_id:
        problems.append(Problem("/$targetId", "a twin cannot be related to itself"))
    if not reverse:
        declaration = _declaration(models, source_model, name)
        if declaration is None:
            raise ValidationError(
                "unknown relationship", [Problem("/$relationshipName", f"{source_model} has no relationship {name!r}")]
            )
        problems += _target_problem(models, declaration, target_model, "/$targetId")
        checks = _max_check(source_id, "out", rel_type, declaration)
        inverse = next((v for v, c in INVERSE_NAMES.items() if c == name), None)
        inverse_decl = _declaration(models, target_model, inverse) if inverse else None
        if inverse_decl is not None:
            checks += _max_check(target_id, "in", rel_type, inverse_decl)
        if problems:
            raise ValidationError("invalid relationship", problems)
        return Plan(stored_name, rel_type, source_id, target_id, declaration, checks)
    # written through the inverse view: the edge is stored from the target
    declaration = _declaration(models, target_model, stored_name)
    view = _declaration(models, source_model, name)
    if declaration is None:
        raise ValidationError(
            "unknown relationship",
            [Problem("/$targetId", f"{target_model} has no {stored_name!r}, so it cannot be {name!r} of {source_model}")],
        )
    if view is None and name in relationship_names(models):
        raise ValidationError(
            "unknown relationship", [Problem("/$relationshipName", f"{source_model} has no relationship {name!r}")]
        )
    problems += _target_problem(models, declaration, source_model, "/$sourceId")
    if view is not None:
        problems += _target_problem(models, view, target_model, "/$targetId")
    if problems:
        raise ValidationError("invalid relationship", problems)
    checks = _max_check(target_id, "out", rel_type, declaration)
    if view is not None:
        checks += _max_check(source_id, "in", rel_type, view)
    return Plan(stored_name, rel_type, target_id, source_id, declaration, checks)


def _max_check(twin_id: str, direction: str, rel_type: str, declaration: Content) -> tuple[tuple[str, str, str, int], ...]:
    if declaration.max_multiplicity is None:
        return ()
    return ((twin_id, direction, rel_type, declaration.max_multiplicity),)


def _validate_properties(models: ModelSet, declaration: Content, properties: Mapping[str, Any]) -> None:
    problems = validate_contents(
        models,
        declaration.properties,
        dict(properties),
        system_keys=RELATIONSHIP_SYSTEM_KEYS,
        what=f"relationship {declaration.name!r}",
    )
    if problems:
        raise ValidationError(f"relationship {declaration.name!r} properties are invalid", problems)


def _stored_properties(
    models: ModelSet, declaration: Content, rel_id: str, properties: Mapping[str, Any], created: Any
) -> dict[str, Any]:
    stored = encode_contents(models, declaration.properties, properties)
    stored.update({"id": rel_id, "name": declaration.name, ETAG_KEY: new_etag(), CREATED_KEY: created, UPDATED_KEY: now()})
    return stored


def _lock_endpoints(tx: neo4j.ManagedTransaction, source_id: str, target_id: str) -> dict[str, str]:
    records = tx.run(
        "UNWIND $ids AS id MATCH (t:Twin {id: id}) SET t._lock = true REMOVE t._lock RETURN t.id AS id, t.model AS model",
        ids=sorted({source_id, target_id}),
    )
    return {record["id"]: record["model"] for record in records}


def _check_multiplicity(tx: neo4j.ManagedTransaction, plan: Plan) -> None:
    for twin_id, direction, rel_type, maximum in plan.checks:
        pattern = f"(t)-[:{quote(rel_type)}]->()" if direction == "out" else f"(t)<-[:{quote(rel_type)}]-()"
        count = tx.run(f"MATCH (t:Twin {{id: $id}}) RETURN COUNT {{ {pattern} }} AS n", id=twin_id).single()
        if count is not None and count["n"] >= maximum:
            raise ConflictError(
                "maxMultiplicity reached",
                [Problem("/$relationshipName", f"twin {twin_id!r} already has {count['n']} {rel_type} (max {maximum})")],
            )


def create_relationship(
    driver: neo4j.Driver,
    models: ModelSet,
    source_id: str,
    name: str,
    target_id: str,
    properties: Mapping[str, Any] | None = None,
    *,
    relationship_id: str | None = None,
    database: str | None = None,
) -> Relationship:
    """Create ``source -[name]-> target`` after validating it against the models.

    ``name`` may be an inverse view name (``fedBy``, ``manages``): the edge is then
    stored in the canonical direction and returned as such.
    """
    rel_id = check_twin_id(relationship_id, "/$relationshipId") if relationship_id else str(uuid.uuid4())
    props = dict(properties or {})

    def work(tx: neo4j.ManagedTransaction) -> Relationship:
        found = _lock_endpoints(tx, source_id, target_id)
        missing = [i for i in (source_id, target_id) if i not in found]
        if missing:
            raise NotFoundError(f"no twin {missing[0]!r}", [Problem("/$sourceId" if missing[0] == source_id else "/$targetId", "not found")])
        plan = plan_relationship(models, source_id, found[source_id], name, target_id, found[target_id])
        _validate_properties(models, plan.declaration, props)
        duplicate = tx.run(
            "MATCH (s:Twin {id: $s})-[r]->() WHERE r.id = $rid RETURN count(r) AS n", s=plan.source_id, rid=rel_id
        ).single()
        if duplicate and duplicate["n"]:
            raise ConflictError(f"twin {plan.source_id!r} already has a relationship {rel_id!r}")
        _check_multiplicity(tx, plan)
        stored = _stored_properties(models, plan.declaration, rel_id, props, now())
        record = tx.run(
            f"MATCH (s:Twin {{id: $s}}) MATCH (t:Twin {{id: $t}}) "
            f"CREATE (s)-[r:{quote(plan.rel_type)}]->(t) SET r = $props RETURN r",
            s=plan.source_id,
            t=plan.target_id,
            props=stored,
        ).single()
        assert record is not None
        return relationship_from_record(models, dict(record["r"]), plan.source_id, plan.target_id, found[plan.source_id])

    return in_transaction(driver, work, database=database)


_FIND = (
    "MATCH (s:Twin {id: $s})-[r]->(t:Twin) WHERE r.id = $rid "
    "SET r._lock = true REMOVE r._lock RETURN r, s.model AS model, t.id AS target"
)


def _one_relationship(models: ModelSet, source_id: str, relationship_id: str,
                      records: Sequence[neo4j.Record]) -> Relationship:
    if not records:
        raise NotFoundError(f"no relationship {relationship_id!r} on twin {source_id!r}")
    record = records[0]
    return relationship_from_record(models, dict(record["r"]), source_id, record["target"], record["model"])


def get_relationship(
    driver: neo4j.Driver, models: ModelSet, source_id: str, relationship_id: str, *, database: str | None = None
) -> Relationship:
    """The relationship ``relationship_id`` stored on ``source_id``."""
    read = Read(
        "MATCH (s:Twin {id: $s})-[r]->(t:Twin) WHERE r.id = $rid RETURN r, s.model AS model, t.id AS target",
        {"s": source_id, "rid": relationship_id},
        partial(_one_relationship, models, source_id, relationship_id),
    )
    return send(driver, read, database=database)


def _check_etag(stored: Mapping[str, Any], if_match: str | None) -> None:
    check_etag(stored, if_match, "relationship")


def _locked_checked(tx: neo4j.ManagedTransaction, source_id: str, relationship_id: str,
                    if_match: str | None) -> neo4j.Record:
    """The relationship's record, locked for this transaction and ETag-checked."""
    record = tx.run(_FIND, s=source_id, rid=relationship_id).single()
    if record is None:
        raise NotFoundError(f"no relationship {relationship_id!r} on twin {source_id!r}")
    _check_etag(dict(record["r"]), if_match)
    return record


def update_relationship(
    driver: neo4j.Driver,
    models: ModelSet,
    source_id: str,
    relationship_id: str,
    patch: Sequence[Mapping[str, Any]],
    *,
    if_match: str | None = None,
    database: str | None = None,
) -> Relationship:
    """JSON-Patch the relationship's properties (endpoints and name cannot change)."""

    def work(tx: neo4j.ManagedTransaction) -> Relationship:
        record = _locked_checked(tx, source_id, relationship_id, if_match)
        stored = dict(record["r"])
        declaration = _declaration(models, record["model"], stored.get("name", ""))
        if declaration is None:
            raise ModelError(f"relationship {stored.get('name')!r} is not declared by {record['model']}")
        current = relationship_from_record(models, stored, source_id, record["target"], record["model"])
        document = apply_patch(current.properties, patch)
        _validate_properties(models, declaration, document)
        new = _stored_properties(models, declaration, relationship_id, document, stored.get(CREATED_KEY))
        written = tx.run(
            "MATCH (s:Twin {id: $s})-[r]->() WHERE r.id = $rid SET r = $props RETURN r",
            s=source_id,
            rid=relationship_id,
            props=new,
        ).single()
        assert written is not None
        return relationship_from_record(models, dict(written["r"]), source_id, record["target"], record["model"])

    return in_transaction(driver, work, database=database)


def delete_relationship(
    driver: neo4j.Driver,
    source_id: str,
    relationship_id: str,
    *,
    if_match: str | None = None,
    database: str | None = None,
) -> None:
    """Delete one relationship (ETag-checked when ``if_match`` is given)."""

    def work(tx: neo4j.ManagedTransaction) -> None:
        _locked_checked(tx, source_id, relationship_id, if_match)
        tx.run("MATCH (s:Twin {id: $s})-[r]->() WHERE r.id = $rid DELETE r", s=source_id, rid=relationship_id).consume()

    in_transaction(driver, work, database=database)


def relationship_pattern(models: ModelSet, name: str | None, direction: Direction, source: str = "t",
                         relationship: str = "r", other: str = "o") -> str:
    """The pattern of ``source``'s ``name`` relationships (any name when None; a view name such as
    ``fedBy`` is its stored edge reversed) seen in ``direction``, binding ``relationship`` and the twin
    at the ``other`` end; relationship types only from the models' whitelist."""
    if direction not in ("outgoing", "incoming", "both"):
        raise ValidationError("invalid direction", [Problem("/direction", "use outgoing, incoming or both")])
    if name is None:
        rel = f"[{relationship}]"
    else:
        stored, reverse = canonical(models, name)
        rel = f"[{relationship}:{quote(relationship_type(stored))}]"
        if reverse and direction != "both":
            direction = "incoming" if direction == "outgoing" else "outgoing"
    if direction == "outgoing":
        return f"({source})-{rel}->({other}:Twin)"
    if direction == "incoming":
        return f"({source})<-{rel}-({other}:Twin)"
    return f"({source})-{rel}-({other}:Twin)"


def list_relationships_many(
    driver: neo4j.Driver,
    models: ModelSet,
    twin_ids: Iterable[str],
    *,
    name: str | None = None,
    direction: Direction = "outgoing",
    database: str | None = None,
) -> dict[str, list[Relationship]]:
    """Relationships of many twins in one query (DataLoader batch), keyed by the asked twin id.

    ``name`` may be a view name: ``fedBy`` outgoing = incoming FEEDS_TO.
    """
    return send(driver, _many_read(models, twin_ids, name, direction), database=database)


async def list_relationships_many_async(
    driver: neo4j.AsyncDriver,
    models: ModelSet,
    twin_ids: Iterable[str],
    *,
    name: str | None = None,
    direction: Direction = "outgoing",
    database: str | None = None,
) -> dict[str, list[Relationship]]:
    """:func:`list_relationships_many` on the async driver (the API's DataLoader, on the event loop)."""
    return await send_async(driver, _many_read(models, twin_ids, name, direction), database=database)


def _batched(models: ModelSet, twin_ids: Iterable[str], name: str | None, direction: Direction, returning: str,
             decode: Callable[[list[str], Iterable[neo4j.Record]], T]) -> Read[T]:
    """One query over the ``name`` relationships of many twins (``id`` the asked twin, ``r`` the
    relationship, ``o`` the other end), then ``returning``; nothing is sent (nor checked) for no ids.
    No predicate on ``r``'s properties: it would have the planner scan the type's id index for every
    twin instead of expanding from it (see graph.projections)."""
    ids = list(dict.fromkeys(twin_ids))
    if not ids:
        return Read.known(decode(ids, []))
    text = f"UNWIND $ids AS id MATCH (t:Twin {{id: id}}) MATCH {relationship_pattern(models, name, direction)} {returning}"
    return Read(text, {"ids": ids}, partial(decode, ids))


def _many_read(models: ModelSet, twin_ids: Iterable[str], name: str | None,
               direction: Direction) -> Read[dict[str, list[Relationship]]]:
    """The relationships of many twins in one query."""
    return _batched(models, twin_ids, name, direction,
                    "WITH id, r, startNode(r) AS s, endNode(r) AS e "
                    f"RETURN id, {read_projection('r')} AS r, s.id AS source, s.model AS model, e.id AS target, "
                    "e.model AS target_model ORDER BY id, r.name, r.id", partial(_by_twin, models))


async def neighbours_many_async(
    driver: neo4j.AsyncDriver,
    models: ModelSet,
    twin_ids: Iterable[str],
    *,
    name: str,
    direction: Direction = "outgoing",
    database: str | None = None,
) -> dict[str, list[tuple[str, str]]]:
    """The twins at the other end of many twins' ``name`` relationships as ``(id, model)``, in the
    order :func:`list_relationships_many` lists the relationships: what a relationship field of
    the typed API needs, without reading and decoding each relationship's own properties (which
    was most of the cost of a list view with a related column)."""
    return await send_async(driver, _neighbours_read(models, twin_ids, name, direction), database=database)


def _neighbours_read(models: ModelSet, twin_ids: Iterable[str], name: str,
                     direction: Direction) -> Read[dict[str, list[tuple[str, str]]]]:
    return _batched(models, twin_ids, name, direction,
                    "WITH id, r, o ORDER BY r.name, r.id RETURN id, collect([o.id, o.model]) AS others",
                    _others_by_twin)


def _others_by_twin(ids: list[str], records: Iterable[neo4j.Record]) -> dict[str, list[tuple[str, str]]]:
    result: dict[str, list[tuple[str, str]]] = {i: [] for i in ids}
    for record in records:
        result[record["id"]] = [(other_id, model or "") for other_id, model in record["others"]]
    return result


def _by_twin(models: ModelSet, ids: list[str], records: Iterable[neo4j.Record]) -> dict[str, list[Relationship]]:
    result: dict[str, list[Relationship]] = {i: [] for i in ids}
    for record in records:
        result[record["id"]].append(
            relationship_from_record(
                models, record["r"], record["source"], record["target"], record["model"], record["target_model"]
            )
        )
    return result


def list_relationships(
    driver: neo4j.Driver,
    models: ModelSet,
    twin_id: str,
    *,
    name: str | None = None,
    direction: Direction = "outgoing",
    database: str | None = None,
) -> list[Relationship]:
    """Relationships of one twin by name (or all) and direction."""
    return list_relationships_many(driver, models, [twin_id], name=name, direction=direction, database=database)[twin_id]


def group_by_type(relationships: Iterable[Relationship]) -> dict[str, list[Relationship]]:
    """Helper for callers rendering relationships per name."""
    grouped: dict[str, list[Relationship]] = defaultdict(list)
    for relationship in relationships:
        grouped[relationship.name].append(relationship)
    return dict(grouped)
