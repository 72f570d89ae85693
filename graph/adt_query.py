"""Azure Digital Twins' query language, compiled to one parameterised Cypher read.

Why: integrators who come from ADT have their queries written already. The common forms map
one to one onto the twin graph, and the query is *parsed* (a Lark grammar), never pattern-matched:
every name it uses is resolved against the models (collection names become Cypher variables of
our own, relationship names the whitelisted relationship types, property paths the checked
dotted keys of graph.search) and every literal travels as a parameter.

What maps (docs/api.md, "ADT query language"):
``SELECT * | TOP(n) cols | COUNT() FROM DIGITALTWINS [T] [JOIN C RELATED T.rel [R]]... [WHERE cond]``
with ``=  !=  <>  <  <=  >  >=  IN [..]  NIN [..]``, ``AND OR NOT``, parentheses, ``IS_OF_MODEL``
(with ADT's semantics: the model or any model extending it, that version; ``exact`` for the
model alone), ``IS_DEFINED``, ``STARTSWITH``, ``ENDSWITH``, ``CONTAINS``; ``$dtId``, ``$etag``
and ``$metadata.$model`` of a twin. What does not: ``FROM RELATIONSHIPS``, conditions on a
relationship collection, ``IS_NULL``/``IS_BOOL``-style type checks, ``AS`` aliases, ``ORDER BY``
(ADT has none either) and continuation tokens (one page of at most ``MAX_ROWS`` rows).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import neo4j
from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedInput

from dtdl.model import ModelSet, Schema
from graph.cypher import label_for, quote, relationship_names
from graph.errors import Problem, ValidationError
from graph.keys import ETAG_KEY
from graph.reads import Read, send_async
from graph.records import read_projection, relationship_from_record, twin_from_node
from graph.search import encode_compared, quote_path, searchable_properties

MAX_ROWS = 1000
DEFAULT_ROWS = 100
MAX_JOINS = 5  # ADT's own limit

_GRAMMAR = r"""
start: "SELECT"i select "FROM"i "DIGITALTWINS"i [NAME] join* ["WHERE"i condition]
select: "*"                                -> select_all
      | [top] "COUNT"i "(" ")"             -> select_count
      | [top] path ("," path)*             -> select_columns
top: "TOP"i "(" INT ")"
join: "JOIN"i NAME "RELATED"i NAME "." NAME [NAME]
?condition: disjunction
?disjunction: conjunction ("OR"i conjunction)*
?conjunction: negation ("AND"i negation)*
?negation: "NOT"i negation -> not_
         | atom
?atom: "(" condition ")"
     | path OPERATOR value             -> compare
     | path "IN"i list                 -> in_
     | path "NIN"i list                -> nin
     | NAME "(" [argument ("," argument)*] ")" -> call
?argument: value | path
list: "[" [value ("," value)*] "]"
path: segment ("." segment)*
?segment: NAME | SYSTEM
?value: STRING -> string
      | SIGNED_NUMBER -> number
      | "true"i -> true
      | "false"i -> false
OPERATOR: "=" | "!=" | "<>" | "<=" | ">=" | "<" | ">"
SYSTEM: /\$[A-Za-z]+/
NAME: /[A-Za-z_][A-Za-z0-9_]*/
STRING: /'(?:[^'\\]|\\.)*'/ | /"(?:[^"\\]|\\.)*"/
%import common.INT
%import common.SIGNED_NUMBER
%import common.WS
%ignore WS
"""
_PARSER = Lark(_GRAMMAR, parser="lalr", maybe_placeholders=True)
_CYPHER_OPERATORS = {"=": "=", "!=": "<>", "<>": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_STRING_FUNCTIONS = {"STARTSWITH": "STARTS WITH", "ENDSWITH": "ENDS WITH", "CONTAINS": "CONTAINS"}
_SYSTEM_FIELDS = {"$dtId": "id", "$etag": ETAG_KEY, "$metadata.$model": "model"}
_STRING = Schema(kind="string")


@dataclass
class _Collection:
    variable: str  # ours: c0, c1 ... (never the query's text)
    twin: bool = True
    source_model_of: str | None = None  # for a relationship collection: the source twin's variable


@dataclass
class _Compiled:
    models: ModelSet
    hidden_models: Sequence[str]
    collections: dict[str, _Collection] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    default: str | None = None  # the FROM collection, for unqualified paths
    _properties: dict[str, Schema] | None = None

    def properties(self) -> dict[str, Schema]:
        """Dotted path -> schema of every property of any model one may compare (graph.search's list)."""
        if self._properties is None:
            self._properties = searchable_properties(self.models, None)
        return self._properties

    def parameter(self, value: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f"${name}"


def parse_error(query: str, error: UnexpectedInput) -> ValidationError:
    line, column = getattr(error, "line", 1), getattr(error, "column", 1)
    near = query.splitlines()[line - 1][max(column - 1, 0):][:20] if query.strip() else ""
    return ValidationError("bad ADT query", [Problem("/query", f"line {line}, column {column}: unexpected "
                                                                f"{near!r}" if near else "the query is empty")])


def adt_query_read(models: ModelSet, query: str, *, first: int = DEFAULT_ROWS,
                   hidden_models: Sequence[str] = ()) -> Read[list[dict[str, Any]]]:
    """The rows ADT would answer (twin documents, projected properties or ``{"COUNT": n}``), in one read."""
    if not 0 < first <= MAX_ROWS:
        raise ValidationError("bad page size", [Problem("/first", f"first must be between 1 and {MAX_ROWS}")])
    try:
        tree = _PARSER.parse(query)
    except UnexpectedInput as error:
        raise parse_error(query, error) from None
    select, alias, *rest = tree.children
    joins, condition = [c for c in rest if isinstance(c, Tree) and c.data == "join"], rest[-1]
    compiled = _Compiled(models, hidden_models)
    matches = [_from(compiled, alias), *(_join(compiled, join) for join in joins)]
    conditions = [_condition(compiled, condition)] if condition is not None else []
    conditions += [f"NOT {c.variable}:{quote(label_for(models, dtmi))}" for c in compiled.collections.values()
                   if c.twin for dtmi in hidden_models if dtmi in models.interfaces]
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    returned, decode = _select(compiled, select, first)
    return Read(" ".join(matches) + where + returned, compiled.params, decode)


def _from(compiled: _Compiled, alias: Token | None) -> str:
    name = str(alias) if alias is not None else ""
    compiled.collections[name] = _Collection("c0")
    compiled.default = name
    return "MATCH (c0:Twin)"


def _join(compiled: _Compiled, join: Tree) -> str:
    target, source, relationship, relationship_alias = (str(c) if c is not None else None for c in join.children)
    if len([c for c in compiled.collections.values() if c.twin]) > MAX_JOINS:
        raise ValidationError("bad ADT query", [Problem("/query", f"at most {MAX_JOINS} JOINs")])
    if source not in compiled.collections or not compiled.collections[source].twin:
        raise ValidationError("bad ADT query", [Problem("/query", f"JOIN ... RELATED {source}.{relationship}: "
                                                                  f"{source!r} is not a twin collection of the query")])
    types = relationship_names(compiled.models)
    if relationship not in types:
        raise ValidationError("bad ADT query", [Problem("/query", f"{relationship!r} is not a relationship of the "
                                                                  f"models; use one of {', '.join(sorted(types))}")])
    for name in (target, relationship_alias):
        if name is not None and name in compiled.collections:
            raise ValidationError("bad ADT query", [Problem("/query", f"collection name {name!r} is used twice")])
    variable, edge = f"c{len(compiled.collections)}", f"r{len(compiled.collections)}"
    compiled.collections[target] = _Collection(variable)  # type: ignore[index]
    if relationship_alias is not None:
        compiled.collections[relationship_alias] = _Collection(edge, twin=False,
                                                               source_model_of=compiled.collections[source].variable)  # type: ignore[index]
    return (f"MATCH ({compiled.collections[source].variable})-[{edge}:{quote(types[relationship])}]->"  # type: ignore[index]
            f"({variable}:Twin)")


def _path(compiled: _Compiled, path: Tree) -> tuple[_Collection, str, Schema | None]:
    """(collection, stored key, schema) of a path such as ``T.name``, ``location.address`` or ``T.$dtId``."""
    segments = [str(s) for s in path.children]
    if segments[0] and segments[0] in compiled.collections:
        collection, rest = compiled.collections[segments[0]], segments[1:]
    elif compiled.default == "":  # FROM DIGITALTWINS without a name: paths are the twin's own
        collection, rest = compiled.collections[""], segments
    else:
        raise ValidationError("bad ADT query", [Problem("/query", f"{'.'.join(segments)}: name the collection "
                                                                  f"({', '.join(n for n in compiled.collections if n)})")])
    return (collection, *_field(compiled, collection, rest, ".".join(segments)))


def _field(compiled: _Compiled, collection: _Collection, rest: list[str], text: str) -> tuple[str, Schema | None]:
    joined = ".".join(rest)
    if not collection.twin:
        raise ValidationError("bad ADT query", [Problem("/query", f"{text}: conditions on relationship "
                                                                  "collections are not supported")])
    if not rest:
        return "", None
    if joined in _SYSTEM_FIELDS:
        return _SYSTEM_FIELDS[joined], _STRING
    properties = compiled.properties()
    if joined not in properties:
        raise ValidationError("bad ADT query", [Problem("/query", f"{text}: {joined!r} is not a property of any "
                                                                  "model (object fields by dotted path)")])
    return joined, properties[joined]


def _condition(compiled: _Compiled, node: Tree) -> str:
    kind = node.data
    if kind == "disjunction" or kind == "conjunction":
        joiner = " OR " if kind == "disjunction" else " AND "
        return "(" + joiner.join(_condition(compiled, child) for child in node.children) + ")"
    if kind == "not_":
        return f"NOT ({_condition(compiled, node.children[0])})"
    if kind == "call":
        return _call(compiled, node)
    collection, key, schema = _path(compiled, node.children[0])
    subject = _subject(collection, key, node.children[0])
    if kind == "compare":
        operator, value = str(node.children[1]), _literal(node.children[2])
        return f"{subject} {_CYPHER_OPERATORS[operator]} {compiled.parameter(_encoded(schema, value))}"
    values = [_encoded(schema, _literal(v)) for v in node.children[1].children if v is not None]
    membership = f"{subject} IN {compiled.parameter(values)}"
    return membership if kind == "in_" else f"NOT ({membership})"


def _subject(collection: _Collection, key: str, path: Tree) -> str:
    if not key:
        raise ValidationError("bad ADT query", [Problem("/query", f"{'.'.join(map(str, path.children))}: compare a "
                                                                  "property, not a collection")])
    return f"{collection.variable}.{quote_path(key)}"


def _call(compiled: _Compiled, node: Tree) -> str:
    name, *arguments = node.children
    function = str(name).upper()
    arguments = [a for a in arguments if a is not None]
    if function == "IS_OF_MODEL":
        return _is_of_model(compiled, arguments)
    if function == "IS_DEFINED" and len(arguments) == 1 and _is_path(arguments[0]):
        collection, key, _ = _path(compiled, arguments[0])
        return f"{_subject(collection, key, arguments[0])} IS NOT NULL"
    if function in _STRING_FUNCTIONS and len(arguments) == 2 and _is_path(arguments[0]) and \
            isinstance(_literal(arguments[1]), str):
        collection, key, schema = _path(compiled, arguments[0])
        if schema is None or schema.kind not in ("string", "Enum"):
            raise ValidationError("bad ADT query", [Problem("/query", f"{function} needs a string property")])
        return (f"{_subject(collection, key, arguments[0])} {_STRING_FUNCTIONS[function]} "
                f"{compiled.parameter(_literal(arguments[1]))}")
    raise ValidationError("bad ADT query", [Problem("/query", f"{name}(...): not a supported function or wrong "
                                                              "arguments; use IS_OF_MODEL, IS_DEFINED, STARTSWITH, "
                                                              "ENDSWITH or CONTAINS")])


def _is_of_model(compiled: _Compiled, arguments: list[Any]) -> str:
    """ADT's IS_OF_MODEL([collection,] 'dtmi' [, exact]): the model or a model extending it, that version."""
    exact = bool(arguments) and _is_path(arguments[-1]) and [str(s) for s in arguments[-1].children] == ["exact"]
    arguments = arguments[:-1] if exact else arguments
    collection = compiled.collections[compiled.default or ""] if len(arguments) == 1 else None
    if len(arguments) == 2 and _is_path(arguments[0]):
        collection = _path(compiled, arguments[0])[0]
    dtmi = _literal(arguments[-1]) if arguments and not _is_path(arguments[-1]) else None
    if collection is None or not isinstance(dtmi, str):
        raise ValidationError("bad ADT query", [Problem("/query", "IS_OF_MODEL([collection,] 'dtmi' [, exact])")])
    if dtmi not in compiled.models.interfaces:
        raise ValidationError("bad ADT query", [Problem("/query", f"IS_OF_MODEL: {dtmi!r} is not a stored model")])
    dtmis = [dtmi] if exact else [d for d, i in compiled.models.interfaces.items() if d == dtmi or dtmi in i.ancestors]
    label = quote(label_for(compiled.models, dtmi))
    return f"({collection.variable}:{label} AND {collection.variable}.model IN {compiled.parameter(dtmis)})"


def _is_path(node: Any) -> bool:
    return isinstance(node, Tree) and node.data == "path"


def _literal(node: Tree) -> Any:
    kind = node.data
    if kind == "string":
        text = str(node.children[0])[1:-1]
        return text.replace("\\'", "'").replace('\\"', '"').replace("\\\\", "\\")
    if kind == "number":
        text = str(node.children[0])
        return float(text) if any(c in text for c in ".eE") else int(text)
    return kind == "true"


def _encoded(schema: Schema | None, value: Any) -> Any:
    return value if schema is None else encode_compared(schema, value, "/query")


def _select(compiled: _Compiled, select: Tree, first: int) -> tuple[str, Any]:
    top = select.children[0] if select.data != "select_all" else None
    limit = min(first, int(top.children[0])) if isinstance(top, Tree) else first
    compiled.params["limit"] = limit
    if select.data == "select_count":
        return " RETURN count(*) AS count", lambda records: [{"COUNT": int(records[0]["count"])}]
    if select.data == "select_all":
        if len(compiled.collections) > 1:
            raise ValidationError("bad ADT query", [Problem("/query", "SELECT * cannot be used with JOIN (as in "
                                                                      "ADT): name the collections to return")])
        return f" RETURN {read_projection('c0')} AS c0 LIMIT $limit", \
            lambda records: [_twin_document(compiled.models, r["c0"]) for r in records]
    columns = [_column(compiled, path) for path in select.children[1:] if path is not None]
    variables = sorted({c[1] for c in columns})
    returned = ", ".join(_returned(compiled, variable) for variable in variables)
    return f" RETURN {returned} LIMIT $limit", lambda records: [_row(compiled.models, columns, r) for r in records]


def _column(compiled: _Compiled, path: Tree) -> tuple[str, str, str, bool]:
    """(column name, variable, property path or "", twin?) of one projection."""
    segments = [str(s) for s in path.children]
    if segments[0] and segments[0] in compiled.collections:
        collection, rest = compiled.collections[segments[0]], segments[1:]
    elif compiled.default == "":
        collection, rest = compiled.collections[""], segments
    else:
        raise ValidationError("bad ADT query", [Problem("/query", f"{'.'.join(segments)}: not a collection of the "
                                                                  "query")])
    if rest and not collection.twin:
        raise ValidationError("bad ADT query", [Problem("/query", "project a relationship collection whole")])
    if rest:
        _field(compiled, collection, rest, ".".join(segments))
    return (rest[-1] if rest else segments[0]), collection.variable, ".".join(rest), collection.twin


def _returned(compiled: _Compiled, variable: str) -> str:
    collection = next(c for c in compiled.collections.values() if c.variable == variable)
    if collection.twin:
        return f"{read_projection(variable)} AS {variable}"
    source = collection.source_model_of
    return (f"{{rel: {read_projection(variable)}, source: startNode({variable}).id, target: endNode({variable}).id, "
            f"sourceModel: {source}.model}} AS {variable}")


def _row(models: ModelSet, columns: list[tuple[str, str, str, bool]], record: neo4j.Record) -> dict[str, Any]:
    row: dict[str, Any] = {}
    documents: dict[str, dict[str, Any]] = {}
    for name, variable, path, twin in columns:
        if not twin:
            row[name] = _relationship_document(models, record[variable])
            continue
        document = documents.setdefault(variable, _twin_document(models, record[variable]))
        if not path:
            row[name] = document
        else:
            value = _lookup(document, path)
            if value is not None:  # ADT leaves a missing property out of the row
                row[name] = value
    return row


def _twin_document(models: ModelSet, stored: Mapping[str, Any]) -> dict[str, Any]:
    return twin_from_node(models, stored).to_document()


def _relationship_document(models: ModelSet, found: Mapping[str, Any]) -> dict[str, Any]:
    relationship = relationship_from_record(models, found["rel"], found["source"], found["target"],
                                            found["sourceModel"])
    return {"$relationshipId": relationship.id, "$etag": relationship.etag, "$sourceId": relationship.source_id,
            "$targetId": relationship.target_id, "$relationshipName": relationship.name, **relationship.properties}


def _lookup(document: Mapping[str, Any], path: str) -> Any:
    if path == "$metadata.$model":
        return document["$metadata"]["$model"]
    value: Any = document
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


async def adt_query_async(driver: neo4j.AsyncDriver, models: ModelSet, query: str, *, first: int = DEFAULT_ROWS,
                          hidden_models: Sequence[str] = (), database: str | None = None) -> list[dict[str, Any]]:
    """The rows on the async driver (the API's ``adtQuery`` field)."""
    return await send_async(driver, adt_query_read(models, query, first=first, hidden_models=hidden_models),
                            database=database)
