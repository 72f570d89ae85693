"""Azure Digital Twins import files (NDJSON), read and written without a database.

The format is the one ADT import jobs take (learn.microsoft.com, "Azure Digital Twins APIs and
SDKs", *Bulk import with the Import Jobs API*, *Format data*): one JSON value per line, in
sections that each start with a marker line ``{"Section": "<name>"}``.  The file starts with
``Header`` (one object: ``fileVersion``, ``author``, ``organization``); the optional sections
``Models``, ``Twins`` and ``Relationships`` follow, each at most once and in that order:

* a model line is one DTDL document (an Interface object, or an array of them);
* a twin line is ``{"$dtId": ..., "$metadata": {"$model": DTMI}, <properties>}``;
* a relationship line is ``{"$dtId": <source>, "$relationshipId": ..., "$targetId": ...,
  "$relationshipName": ..., <properties>}``.

Why pure: a bad file must be refused before anything is stored, with the file, the line and a
JSON pointer into that line's object for *every* problem, and that is a property of the text
alone.  What needs the stored graph (models resolved with the stored ones, twins checked
against their models) is done by :mod:`loaders.adt_graph`, which maps those problems back to
lines through the ``*_lines`` of :class:`AdtDocument`.

Tolerated, because ADT itself produces them: blank lines, a UTF-8 BOM, ``$etag`` on twins and
relationships, and service metadata beside ``$model`` in ``$metadata`` (``$lastUpdateTime``,
per-property timestamps), which are dropped.  Extra keys in a section marker are ignored.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from dtdl.dtmi import is_dtmi
from graph.bulk import RelationshipRow, TwinRow
from graph.errors import GraphError, Problem, ValidationError
from graph.records import check_twin_id

SECTIONS = ("Header", "Models", "Twins", "Relationships")
FILE_VERSION = "1.0.0"
DEFAULT_HEADER: Mapping[str, str] = {"fileVersion": FILE_VERSION, "author": "GridTwin", "organization": "GridTwin"}
#: Reported problems per file; the rest are counted (a file with a systematic error would
#: otherwise produce one message per line).
MAX_ISSUES = 1_000
_TWIN_KEYS = frozenset({"$dtId", "$metadata", "$etag"})
_RELATIONSHIP_KEYS = frozenset({"$dtId", "$relationshipId", "$targetId", "$relationshipName", "$etag"})


@dataclass(frozen=True)
class AdtIssue:
    """One problem of an import file: ``pointer`` is an RFC 6901 pointer into line ``line``'s value."""

    source: str
    line: int
    pointer: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.pointer or '/'}: {self.message}"


class AdtFileError(ValidationError):
    """The file is refused (nothing of it was stored); ``issues`` name line and pointer of each problem."""

    def __init__(self, source: str, issues: Iterable[AdtIssue]) -> None:
        self.source = source
        self.issues: list[AdtIssue] = list(issues)
        problems = [Problem(i.pointer, f"line {i.line}: {i.message}") for i in self.issues]
        super().__init__(f"{source}: {len(self.issues)} problem(s) in the ADT import file; nothing was stored", problems)

    def __str__(self) -> str:
        """One ``file:line: pointer: message`` per problem (the first 20), as compilers print them."""
        shown = "\n".join(str(issue) for issue in self.issues[:20])
        more = f"\n... ({len(self.issues) - 20} more)" if len(self.issues) > 20 else ""
        return f"{self.message}\n{shown}{more}"


@dataclass(frozen=True)
class AdtDocument:
    """A parsed import file; ``*_lines`` give the 1-based line of each model, twin, relationship."""

    source: str
    header: Mapping[str, Any]
    models: tuple[Any, ...] = ()
    twins: tuple[TwinRow, ...] = ()
    relationships: tuple[RelationshipRow, ...] = ()
    model_lines: tuple[int, ...] = field(default=(), compare=False)
    twin_lines: tuple[int, ...] = field(default=(), compare=False)
    relationship_lines: tuple[int, ...] = field(default=(), compare=False)


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(type(value), "a number")


def _id_problem(value: object, what: str) -> str | None:
    """Why ``value`` is not a valid id (the graph layer's rule), as a sentence about ``what``; None if valid."""
    if value is None:
        return f"the {what} is required"
    try:
        check_twin_id(value)
    except GraphError as error:
        return f"invalid {what}: {error.problems[0].message}"
    return None


class _Reader:
    """Line-by-line state machine; collects every problem instead of stopping at the first."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.issues: list[AdtIssue] = []
        self.dropped = 0
        self.section: str | None = None
        self.seen: list[str] = []
        self.header: list[tuple[int, Any]] = []
        self.models: list[tuple[int, Any]] = []
        self.twins: list[tuple[int, TwinRow]] = []
        self.relationships: list[tuple[int, RelationshipRow]] = []
        self.first_line: dict[Any, int] = {}
        self.missing_header_reported = False
        self.header_line = 0
        self.last_line = 0

    def issue(self, line: int, pointer: str, message: str) -> None:
        if len(self.issues) < MAX_ISSUES:
            self.issues.append(AdtIssue(self.source, line, pointer, message))
        else:
            self.dropped += 1

    def feed(self, line: int, raw: str | bytes) -> None:
        self.last_line = line
        text = self._decode(line, raw)
        if text is None or not text.strip():
            return
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as error:
            self.issue(line, "", f"not valid JSON: {error}")
            return
        if isinstance(value, dict) and "Section" in value:
            self._start_section(line, value["Section"])
        elif self.section is None:
            if not self.missing_header_reported:
                self.issue(line, "", 'the file must start with the line {"Section": "Header"}')
                self.missing_header_reported = True
        elif self.section == "Header":
            self._header(line, value)
        elif self.section == "Models":
            self._model(line, value)
        elif self.section == "Twins":
            self._twin(line, value)
        elif self.section == "Relationships":
            self._relationship(line, value)

    def _decode(self, line: int, raw: str | bytes) -> str | None:
        if isinstance(raw, bytes):
            try:
                raw = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                self.issue(line, "", f"not UTF-8 text ({error.reason} at byte {error.start})")
                return None
        return raw.lstrip("\ufeff") if line == 1 else raw

    def _start_section(self, line: int, name: object) -> None:
        if name not in SECTIONS:
            self.issue(line, "/Section", f"unknown section {name!r}; the sections are {', '.join(SECTIONS)}")
            self.section = "?"  # its lines are skipped: one message for the section is enough
            return
        assert isinstance(name, str)
        self._close_header()
        if not self.seen and name != "Header":
            self.issue(line, "/Section", f'the file must start with {{"Section": "Header"}}, not the {name} section')
        elif name in self.seen or (self.seen and SECTIONS.index(name) < SECTIONS.index(self.seen[-1])):
            self.issue(line, "/Section", f"section {name} after {', '.join(self.seen)}: each section appears at "
                                         f"most once, in the order {', '.join(SECTIONS)}")
        repeated_header = name == "Header" and name in self.seen
        self.seen.append(name)
        self.section = "?" if repeated_header else name  # a second header's object is not a second problem
        if name == "Header" and not repeated_header:
            self.header_line = line
        self.missing_header_reported = True

    def _close_header(self) -> None:
        if self.section == "Header" and not self.header:
            self.issue(self.header_line, "", "the Header section needs its header object (fileVersion, author, organization)")

    def _header(self, line: int, value: Any) -> None:
        if self.header:
            self.issue(line, "", f"the Header section holds one object (the first is on line {self.header[0][0]})")
            return
        self.header.append((line, value))
        if not isinstance(value, dict):
            self.issue(line, "", f"the header must be an object, not {_json_type(value)}")
            return
        version = value.get("fileVersion")
        if not isinstance(version, str):
            self.issue(line, "/fileVersion", 'is required, a string such as "1.0.0"')
        elif version.split(".")[0] != FILE_VERSION.split(".")[0]:
            self.issue(line, "/fileVersion", f"version {version!r} is not supported (expected {FILE_VERSION})")
        for key in ("author", "organization"):
            if key in value and not isinstance(value[key], str):
                self.issue(line, f"/{key}", "must be a string")

    def _model(self, line: int, value: Any) -> None:
        items = value if isinstance(value, list) else [value]
        prefix = (lambda i: f"/{i}") if isinstance(value, list) else (lambda i: "")
        if isinstance(value, list) and not value:
            self.issue(line, "", "an empty array of models")
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                self.issue(line, prefix(index), f"a model is a DTDL Interface object, not {_json_type(item)}")
                continue
            dtmi = item.get("@id")
            if not is_dtmi(dtmi):
                self.issue(line, f"{prefix(index)}/@id", "a model needs an @id that is a DTMI (dtmi:...;1)")
            elif ("model", dtmi) in self.first_line:
                self.issue(line, f"{prefix(index)}/@id", f"{dtmi} is defined twice (first on line "
                                                         f"{self.first_line[('model', dtmi)]})")
            else:
                self.first_line[("model", dtmi)] = line
        self.models.append((line, value))

    def _object(self, line: int, value: Any, what: str) -> bool:
        if not isinstance(value, dict):
            self.issue(line, "", f"a {what} is a JSON object, not {_json_type(value)}")
            return False
        return True

    def _unknown_system_keys(self, line: int, value: Mapping[str, Any], known: frozenset[str]) -> None:
        for key in sorted(k for k in value if k.startswith("$") and k not in known):
            hint = " (the source twin of an import-file relationship is $dtId)" if key == "$sourceId" else ""
            self.issue(line, f"/{key.replace('~', '~0').replace('/', '~1')}", f"unknown system key {key!r}{hint}")

    def _twin(self, line: int, value: Any) -> None:
        if not self._object(line, value, "twin"):
            return
        twin_id = value.get("$dtId")
        problem = _id_problem(twin_id, "twin id")
        if problem:
            self.issue(line, "/$dtId", problem)
        elif ("twin", twin_id) in self.first_line:
            self.issue(line, "/$dtId", f"twin {twin_id!r} is listed twice (first on line {self.first_line[('twin', twin_id)]})")
            problem = "listed twice"
        else:
            self.first_line[("twin", twin_id)] = line
        metadata = value.get("$metadata")
        model = metadata.get("$model") if isinstance(metadata, dict) else None
        if not isinstance(metadata, dict):
            self.issue(line, "/$metadata", 'is required: {"$model": "<DTMI of the twin\'s interface>"}')
        elif not is_dtmi(model):
            self.issue(line, "/$metadata/$model", f"the twin's model must be a DTMI (dtmi:...;1), got {model!r}")
        self._unknown_system_keys(line, value, _TWIN_KEYS)
        if problem is None and is_dtmi(model):
            properties = {k: v for k, v in value.items() if k not in _TWIN_KEYS}
            self.twins.append((line, TwinRow(twin_id, model, properties)))

    def _relationship(self, line: int, value: Any) -> None:
        if not self._object(line, value, "relationship"):
            return
        ok = True
        for key, what in (("$dtId", "source twin id"), ("$relationshipId", "relationship id"), ("$targetId", "target twin id")):
            problem = _id_problem(value.get(key), what)
            if problem:
                self.issue(line, f"/{key}", problem)
                ok = False
        name = value.get("$relationshipName")
        if not isinstance(name, str) or not name:
            self.issue(line, "/$relationshipName", "is required: the relationship's name in the source twin's model")
            ok = False
        self._unknown_system_keys(line, value, _RELATIONSHIP_KEYS)
        if not ok:
            return
        key = ("relationship", value["$dtId"], value["$relationshipId"])
        if key in self.first_line:
            self.issue(line, "/$relationshipId", f"twin {key[1]!r} has relationship {key[2]!r} twice "
                                                 f"(first on line {self.first_line[key]})")
            return
        self.first_line[key] = line
        properties = {k: v for k, v in value.items() if k not in _RELATIONSHIP_KEYS}
        self.relationships.append((line, RelationshipRow(value["$dtId"], name, value["$targetId"], properties,
                                                         value["$relationshipId"])))

    def finish(self) -> AdtDocument:
        self._close_header()
        if not self.seen and not self.missing_header_reported:
            self.issue(max(self.last_line, 1), "", 'empty file: an import file starts with {"Section": "Header"}')
        if self.dropped:
            self.issues.append(AdtIssue(self.source, self.last_line, "", f"... and {self.dropped} more problem(s)"))
        if self.issues:
            raise AdtFileError(self.source, self.issues)
        header = self.header[0][1] if self.header else {}
        return AdtDocument(
            source=self.source,
            header=header,
            models=tuple(model for _, model in self.models),
            twins=tuple(row for _, row in self.twins),
            relationships=tuple(row for _, row in self.relationships),
            model_lines=tuple(line for line, _ in self.models),
            twin_lines=tuple(line for line, _ in self.twins),
            relationship_lines=tuple(line for line, _ in self.relationships),
        )


def read_adt(source: str | os.PathLike[str] | Iterable[str | bytes], *, name: str | None = None) -> AdtDocument:
    """Parse an import file: a path (``str`` or ``PathLike``), or an iterable of lines (text or bytes).

    Raises :class:`AdtFileError` listing every problem with its line and pointer; ``name``
    is how messages call the file (default: the path, or ``<input>`` for lines).
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        with path.open("rb") as handle:
            return _read_lines(handle, name or str(path))
    return _read_lines(source, name or "<input>")


def _read_lines(lines: Iterable[str | bytes], source: str) -> AdtDocument:
    reader = _Reader(source)
    for number, raw in enumerate(lines, start=1):
        reader.feed(number, raw)
    return reader.finish()


def _dumps(value: Any, sort: bool = True) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS if sort else 0).decode() + "\n"


def _first_id(document: Any) -> str:
    first = document[0] if isinstance(document, list) and document else document
    return str(first.get("@id", "")) if isinstance(first, dict) else ""


def write_adt(
    models: Iterable[Any],
    twins: Iterable[TwinRow],
    relationships: Iterable[RelationshipRow],
    *,
    header: Mapping[str, Any] | None = None,
) -> Iterator[str]:
    """The import file of these models, twins and relationships, line by line (each ends in ``\\n``).

    Deterministic, so an export can be diffed and a round trip compared line by line: models
    ordered by @id (their documents as given), twins by id, relationships by source and id;
    keys sorted within a twin or relationship line.  Empty sections are left out (they are
    optional).  Every relationship needs its id (ADT requires ``$relationshipId``).
    """
    yield _dumps({"Section": "Header"})
    yield _dumps({**DEFAULT_HEADER, **(header or {})}, sort=False)
    model_list = sorted(models, key=_first_id)
    if model_list:
        yield _dumps({"Section": "Models"})
        yield from (_dumps(model, sort=False) for model in model_list)
    twin_list = sorted(twins, key=lambda row: row.id)
    if twin_list:
        yield _dumps({"Section": "Twins"})
        for twin in twin_list:
            yield _dumps({**twin.properties, "$dtId": twin.id, "$metadata": {"$model": twin.model}})
    relationship_list = sorted(relationships, key=lambda row: (row.source_id, row.id or ""))
    if relationship_list:
        yield _dumps({"Section": "Relationships"})
        for row in relationship_list:
            if not row.id:
                raise ValueError(f"relationship {row.source_id} -[{row.name}]-> {row.target_id} has no id; "
                                 "an import file needs $relationshipId")
            yield _dumps({**row.properties, "$dtId": row.source_id, "$relationshipId": row.id,
                          "$targetId": row.target_id, "$relationshipName": row.name})


__all__ = ["AdtDocument", "AdtFileError", "AdtIssue", "DEFAULT_HEADER", "FILE_VERSION", "read_adt", "write_adt"]
