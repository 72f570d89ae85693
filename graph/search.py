"""Filtered, ordered, paged twin listing for the ``twins`` connection.

Property paths come from clients, so each is checked against the models before
it reaches Cypher: only paths that name a primitive or enum property (or a
field of an Object property, ``location.city``) of the searched interface (or,
without one, of any interface) are accepted, and they are then used as
backtick-quoted node keys, the same dotted keys the storage encoding writes.
Values always travel as parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import neo4j

from dtdl.model import ModelSet, Schema
from graph.compiled import memoised
from graph.cursors import SortKey, beyond, decode_cursor, encode_cursor
from graph.cypher import known_labels, label_for, quote, resolve_label
from graph.errors import ModelError, Problem, ValidationError
from graph.reads import Read, send_async
from graph.records import read_projection, twin_from_node
from graph.encoding import encode_primitive
from graph.relationships import Direction, relationship_pattern
from graph.validation import INTEGER_RANGES, resolve_schema

OPERATORS: Mapping[str, str] = {
    "eq": "=", "ne": "<>", "lt": "<", "lte": "<=", "gt": ">", "gte": ">=",
    "in": "IN", "contains": "CONTAINS", "startsWith": "STARTS WITH",
}
_STRING_OPERATORS = frozenset({"contains", "startsWith"})
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 50


@dataclass(frozen=True)
class Filter:
    """``property`` (a dotted path) compared with ``value`` by ``op`` (a key of OPERATORS)."""

    property: str
    op: str
    value: Any


@dataclass(frozen=True)
class AllOf:
    """Every condition holds (a typed filter's fields together, its ``and``); none given holds always."""

    conditions: Sequence[Condition]


@dataclass(frozen=True)
class AnyOf:
    """At least one condition holds (a typed filter's ``or``); none given holds never."""

    conditions: Sequence[Condition]


@dataclass(frozen=True)
class Not:
    """The condition does not hold (a typed filter's ``not``)."""

    condition: Condition


@dataclass(frozen=True)
class Related:
    """The twin's ``relationship`` twins (seen in ``direction``; a view name such as ``fedBy`` is its
    stored edge reversed) meet ``condition`` as ``quantifier`` says: ``some`` of them, ``none``, ``all``
    or exactly one (``single``); ``model`` (a DTMI, or None for any) is part of what each must be-a.
    Twins hidden from the caller are not there: "all" and "none" are over the visible ones."""

    relationship: str
    direction: Direction
    quantifier: str
    model: str | None
    condition: Condition


#: A filter, a boolean combination of them, or one over related twins (api/filter_types.py builds these).
Condition = Filter | AllOf | AnyOf | Not | Related
QUANTIFIERS = ("some", "none", "all", "single")
#: How deep relationship filters may nest (each level is one more Cypher subquery per candidate twin).
MAX_RELATED_DEPTH = 3


@dataclass(frozen=True)
class Order:
    property: str
    descending: bool = False


@dataclass(frozen=True)
class Page:
    """One page in the asked order, with each twin's keyset cursor (see graph/cursors.py), encoded only
    when asked for (a list view that asks for none of them should not pay for a hundred)."""

    twins: list[Any]
    """Graph-layer Twins, or what ``search_read``'s ``make`` made of each twin's projection."""
    sort_values: list[list[Any]]
    keys: Sequence[SortKey]
    total_count: int | None
    """None when the read was told not to count (``search_read(..., count=False)``)."""
    has_next: bool
    has_previous: bool

    def cursor(self, index: int) -> str:
        return encode_cursor(self.keys, self.sort_values[index])

    @property
    def cursors(self) -> list[str]:
        return [encode_cursor(self.keys, values) for values in self.sort_values]

    @property
    def start_cursor(self) -> str | None:
        return self.cursor(0) if self.sort_values else None

    @property
    def end_cursor(self) -> str | None:
        return self.cursor(-1) if self.sort_values else None


@dataclass(frozen=True)
class Search:
    """What one ``twins`` page asks: a model (DTMI or label), filters, order, page size (``first`` twins
    after ``after``, or the ``last`` twins before ``before``) ; twins that are-a one of ``hidden_models``
    are left out (the API hides accounts from non-admins)."""

    model: str | None = None
    filters: Sequence[Filter] = ()
    typed_filter: Condition | None = None  # ``filter``: its errors point at /filter
    order_by: Sequence[Order] = ()
    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None
    hidden_models: Sequence[str] = ()


def _page_size(search: Search) -> tuple[int, bool]:
    """(size, backward?): ``last`` pages backward; neither given is ``first: DEFAULT_PAGE_SIZE``."""
    if search.first is not None and search.last is not None:
        raise ValidationError("bad page size", [Problem("/last", "give first or last, not both")])
    size, name = (search.last, "/last") if search.last is not None else (DEFAULT_PAGE_SIZE if search.first is None else search.first, "/first")
    if not 0 < size <= MAX_PAGE_SIZE:
        raise ValidationError("bad page size", [Problem(name, f"{name[1:]} must be between 1 and {MAX_PAGE_SIZE}")])
    return size, search.last is not None


def search_read(models: ModelSet, search: Search, projection: Callable[[str], str] = read_projection,
                make: Callable[[Mapping[str, Any]], Any] | None = None, count: bool = True) -> Read[Page]:
    """One page of twins that are-a the model and match every filter, and the total, in ONE query
    that always answers one record (the total with an empty page too: a cursor past the end).

    Both cursors bound the set (``after`` below, ``before`` above); a backward page reads the order
    reversed and turns it round.  Whether twins lie beyond the far cursor is one more bounded look.
    ``projection`` of ``t`` is what a page holds per twin, ``make`` what it becomes (by default the
    twin's map and a graph-layer Twin; graph.projections passes a request's own shape).  Without
    ``count`` the total is not counted (a list view that does not show it should not scan every match)."""
    size, backward = _page_size(search)
    params: dict[str, Any] = {}
    match, conditions, properties = matching(models, search.model, search.filters, search.hidden_models, params,
                                             search.typed_filter, ordered=[o.property for o in search.order_by])
    keys = [*(SortKey(quote_path(_checked_path(o.property, properties, f"/orderBy/{i}")), o.descending)
              for i, o in enumerate(search.order_by)), SortKey("id")]
    bounds, outside = _bounds(keys, search, params)
    every = where(conditions)
    read_order = [key.reversed() if backward else key for key in keys]
    order = ", ".join(f"t.{key.cypher}{' DESC' if key.descending else ''}" for key in read_order)
    total = f"CALL () {{ {match} {every} RETURN count(t) AS total }} " if count else "CALL () { RETURN null AS total } "
    query = (
        total +
        f"CALL () {{ {match} {where([*conditions, *bounds])} WITH t ORDER BY {order} LIMIT $limit "
        f"RETURN collect([{projection('t')}, [{', '.join(f't.{k.cypher}' for k in keys)}]]) AS page }} "
        f"CALL () {{ {match} {where([*conditions, outside])} WITH t LIMIT 1 RETURN count(t) > 0 AS beyond }} "
        "RETURN total, page, beyond"
    )
    return Read(query, {**params, "limit": size + 1},
                partial(_page, make or partial(twin_from_node, models), keys, size, backward))


def matching(models: ModelSet, model: str | None, filters: Sequence[Filter], hidden_models: Sequence[str],
             params: dict[str, Any], typed: Condition | None = None,
             ordered: Sequence[str] = ()) -> tuple[str, list[str], dict[str, Schema]]:
    """The ``MATCH`` of twins (bound to ``t``) that are-a ``model``, the checked conditions of ``filters``,
    of the ``typed`` condition and of the hidden models (their values added to ``params``), and the
    model's filterable properties.

    The pattern also names the label of the interface that declares each property the twins are
    filtered or ``ordered`` by (a twin carries the labels of all its model's ancestors, so the set
    is the same): the schema's indexes are on those labels (ontology.neo4j_schema), and a pattern
    without them leaves Neo4j a label scan and a sort where an index seek returns the page in order
    (a ``name`` prefix over 10,000 lines: 102 index rows instead of 10,000 nodes filtered and sorted)."""
    label = resolve_label(models, model) if model else "Twin"
    scope = _Scope(models, "t", searchable_properties(models, model), tuple(hidden_models), 0)
    properties = scope.properties
    conditions = [_compiled(f, f"/where/{i}", scope, params) for i, f in enumerate(filters)]
    if typed is not None:
        conditions.append(_compiled(typed, "/filter", scope, params))
    conditions += hidden(models, hidden_models, "t")
    # filter paths were checked above; order paths not yet (search_read reports them), so only known ones
    paths = [*(f.property for f in filters), *_plain_paths(typed), *(p for p in ordered if p in properties)]
    labels = [label, *(other for other in declaring_labels(models, label, paths) if other != label)]
    return f"MATCH (t:Twin{''.join(':' + quote(name) for name in labels)})", conditions, properties


def _plain_paths(condition: Condition | None) -> list[str]:
    """The properties of the filters a typed condition requires of the twin itself (its ``and``)."""
    if isinstance(condition, Filter):
        return [condition.property]
    if isinstance(condition, AllOf):
        return [path for part in condition.conditions for path in _plain_paths(part)]
    return []


def declaring_labels(models: ModelSet, label: str, paths: Sequence[str]) -> list[str]:
    """The labels of the interfaces (``label``'s model or its ancestors) that declare the properties of
    ``paths`` (``location.city`` is the property ``location``); none for ``Twin``, which has no model."""
    roots = sorted({path.split(".", 1)[0] for path in paths})
    return memoised("declaring", models, models.interfaces, f"{label}|{'|'.join(roots)}",
                    lambda models, _interfaces, _variant: _declaring(models, label, roots))


def _declaring(models: ModelSet, label: str, names: Sequence[str]) -> list[str]:
    model = known_labels(models).get(label)
    if model is None:
        return []
    found: list[str] = []
    for interface in models.interfaces.values():
        if models.is_a(model, interface.dtmi) and any(name in interface.own_contents for name in names):
            found.append(label_for(models, interface.dtmi))
    return sorted(found)


def hidden(models: ModelSet, hidden_models: Sequence[str], variable: str) -> list[str]:
    """The conditions that leave out the twins of ``variable`` that are-a one of ``hidden_models``."""
    return [f"NOT {variable}:{quote(label_for(models, dtmi))}" for dtmi in hidden_models if dtmi in models.interfaces]


def where(conditions: Sequence[str]) -> str:
    return f"WHERE {' AND '.join(conditions)}" if conditions else ""


def _bounds(keys: Sequence[SortKey], search: Search, params: dict[str, Any]) -> tuple[list[str], str]:
    """The cursors' conditions on the page, and the condition for twins at or behind the cursor the
    page starts from (``after`` forward, ``before`` backward): "false" without that cursor."""
    after = before = None
    if search.after is not None:
        after = beyond(keys, decode_cursor(search.after, keys, "/after"), "a", params)
    if search.before is not None:
        before = beyond([key.reversed() for key in keys], decode_cursor(search.before, keys, "/before"), "b", params)
    start = before if search.last is not None else after
    return [bound for bound in (after, before) if bound is not None], "false" if start is None else f"NOT {start}"


def _page(make: Callable[[Mapping[str, Any]], Any], keys: Sequence[SortKey], size: int, backward: bool,
          records: Sequence[neo4j.Record]) -> Page:
    found = records[0]["page"]
    more = len(found) > size
    rows = list(reversed(found[:size])) if backward else found[:size]
    twins = [make(twin) for twin, _ in rows]  # each [the projection, its sort key]
    beyond_start = bool(records[0]["beyond"])
    return Page(twins=twins, sort_values=[key for _, key in rows], keys=keys, total_count=None if records[0]["total"] is None else int(records[0]["total"]),
                has_next=beyond_start if backward else more, has_previous=more if backward else beyond_start)


async def search_twins_async(driver: neo4j.AsyncDriver, models: ModelSet, search: Search, *,
                             database: str | None = None) -> Page:
    """One page on the async driver, on the event loop (the API's ``twins`` field; a sync caller sends
    :func:`search_read` with ``graph.reads.send``)."""
    return await send_async(driver, search_read(models, search), database=database)


def quote_path(path: str) -> str:
    """A dotted property path as one backtick-quoted node key (each part already whitelisted)."""
    return "`" + path.replace("`", "``") + "`"


@dataclass(frozen=True)
class _Scope:
    """Where a condition is compiled: the twin ``variable`` it is about, that twin's filterable
    ``properties``, the models hidden from the caller, and how many relationship filters deep it is."""

    models: ModelSet
    variable: str
    properties: Mapping[str, Schema]
    hidden_models: tuple[str, ...]
    depth: int


def _compiled(condition: Condition, pointer: str, scope: _Scope, params: dict[str, Any]) -> str:
    """One condition as Cypher over the scope's twin; a combination as its parts in parentheses."""
    if isinstance(condition, Filter):
        return _condition(condition, pointer, scope, params)
    if isinstance(condition, Not):
        return f"NOT {_compiled(condition.condition, f'{pointer}/not', scope, params)}"
    if isinstance(condition, Related):
        return _related(condition, pointer, scope, params)
    parts = [_compiled(part, f"{pointer}/{i}", scope, params) for i, part in enumerate(condition.conditions)]
    if not parts:
        return "true" if isinstance(condition, AllOf) else "false"
    return "(" + (" AND " if isinstance(condition, AllOf) else " OR ").join(parts) + ")"


def _related(related: Related, pointer: str, scope: _Scope, params: dict[str, Any]) -> str:
    """An existential (or counting) subquery over the scope twin's related twins, which get a scope of
    their own: their model's properties, the same hidden models, one level deeper."""
    if related.quantifier not in QUANTIFIERS:
        raise ValidationError("bad filter", [Problem(pointer, f"unknown quantifier {related.quantifier!r}; use one "
                                                              f"of {', '.join(QUANTIFIERS)}")])
    if scope.depth >= MAX_RELATED_DEPTH:
        raise ValidationError("bad filter", [Problem(pointer, f"relationship filters nest at most "
                                                              f"{MAX_RELATED_DEPTH} deep")])
    other = f"o{scope.depth + 1}"
    try:
        pattern = relationship_pattern(scope.models, related.relationship, related.direction, scope.variable,
                                       f"r{scope.depth + 1}", other)
        label = [f"{other}:{quote(resolve_label(scope.models, related.model))}"] if related.model else []
        inner = _Scope(scope.models, other, searchable_properties(scope.models, related.model), scope.hidden_models,
                       scope.depth + 1)
    except (ValidationError, ModelError) as error:
        raise ValidationError("bad filter", [Problem(pointer, str(error))]) from error
    visible = hidden(scope.models, scope.hidden_models, other)
    meets = " AND ".join([*label, _compiled(related.condition, pointer + "/" + related.quantifier, inner, params)])
    if related.quantifier == "all":  # no visible related twin fails it
        return f"NOT EXISTS {{ MATCH {pattern} {where([*visible, f'NOT ({meets})'])} }}"
    matched = f"{{ MATCH {pattern} {where([*visible, meets])} }}"
    return {"some": f"EXISTS {matched}", "none": f"NOT EXISTS {matched}"}.get(related.quantifier,
                                                                           f"COUNT {matched} = 1")


def _condition(spec: Filter, pointer: str, scope: _Scope, params: dict[str, Any]) -> str:
    index = len(params)  # a fresh parameter name per compared value
    properties = scope.properties
    path = _checked_path(spec.property, properties, pointer + "/property")
    operator = OPERATORS.get(spec.op)
    if operator is None:
        raise ValidationError("bad filter", [Problem(pointer + "/op", f"unknown operator {spec.op!r}; use one of "
                                                                      f"{', '.join(OPERATORS)}")])
    schema = properties[path]
    if spec.op in _STRING_OPERATORS and not (schema.kind in ("string", "Enum") and isinstance(spec.value, str)):
        raise ValidationError("bad filter", [Problem(pointer, f"{spec.op} needs a string property and value")])
    if spec.op == "in":
        if not isinstance(spec.value, list):
            raise ValidationError("bad filter", [Problem(pointer + "/value", "in needs a list of values")])
        params[f"v{index}"] = [encode_compared(schema, value, f"{pointer}/value/{i}") for i, value in enumerate(spec.value)]
    else:
        params[f"v{index}"] = encode_compared(schema, spec.value, f"{pointer}/value")
    return f"{scope.variable}.{quote_path(path)} {operator} $v{index}"


def encode_compared(schema: Schema, value: Any, pointer: str) -> Any:
    """The parameter for one compared value; one Neo4j cannot take is the client's error, said here."""
    if value is None or isinstance(value, (dict, list)):
        raise ValidationError("bad filter", [Problem(pointer, "compare with a string, number or boolean")])
    encoded = value if schema.kind == "Enum" else encode_primitive(schema.kind, value)
    low, high = INTEGER_RANGES["unsignedLong" if schema.kind == "unsignedLong" else "long"]
    sent_as_integer = isinstance(encoded, int) and not isinstance(encoded, bool)
    if (sent_as_integer or schema.kind == "unsignedLong") and isinstance(value, int) and not low <= value <= high:
        raise ValidationError("bad filter", [Problem(pointer, f"{value} is out of the integer range a "
                                                              f"{schema.kind} property compares with "
                                                              f"([{low}, {high}]): Neo4j integers are 64-bit")])
    return encoded


def _checked_path(path: str, properties: Mapping[str, Schema], pointer: str) -> str:
    if path not in properties:
        raise ValidationError("bad property", [Problem(pointer, f"{path!r} is not a filterable property of the "
                                                                f"model; use one of {', '.join(sorted(properties))}")])
    return path


def searchable_properties(models: ModelSet, model: str | None) -> dict[str, Schema]:
    """Dotted path -> schema of every primitive/enum property (and object field) one may filter on;
    made once per model set and model (a model set is frozen), not on every page asked for."""
    return memoised("searchable", models, models.interfaces, model or "",
                    lambda models, _interfaces, model: _searchable(models, model or None))


def _searchable(models: ModelSet, model: str | None) -> dict[str, Schema]:
    if model:
        label = resolve_label(models, model)
        interfaces = [i for i in models.interfaces.values() if model in (i.dtmi, label) or
                      _label_matches(models, i.dtmi, label)]
    else:
        interfaces = list(models.interfaces.values())
    found: dict[str, Schema] = {}
    for interface in interfaces:
        for content in interface.contents.values():
            if content.kind == "Property":
                _collect(models, content.name, content.schema, found, depth=0)
    return found


def _label_matches(models: ModelSet, dtmi: str, label: str) -> bool:
    return label_for(models, dtmi) == label


def _collect(models: ModelSet, path: str, schema: Schema | None, found: dict[str, Schema], depth: int) -> None:
    schema = resolve_schema(models, schema)
    if schema is None or depth > 4:
        return
    if schema.kind == "Object":
        for name, field_schema in schema.fields.items():
            _collect(models, f"{path}.{name}", field_schema, found, depth + 1)
    elif schema.kind == "Enum" or (schema.is_primitive and schema.kind != "point"):
        found[path] = schema

