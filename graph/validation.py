"""Validation of twin and relationship documents against their DTDL interface (pure, no database).

A *document* is the JSON object of a twin's properties (and components) as a client sends it;
the functions return a list of :class:`~graph.errors.Problem`, each naming the JSON pointer of
the offending value, so a client can fix them all at once.  The schema facts shared with the
storage encoding (:mod:`graph.encoding`) live here too: integer ranges, GeoJSON kinds, and how
a schema reference or a Component resolves to its definition.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Callable, Mapping
from datetime import date, time
from typing import Any

from dtdl.kinds import COMPLEX_SCHEMAS, GEOSPATIAL, INTEGER_RANGES
from dtdl.model import Content, Interface, ModelSet, Schema
from graph.compiled import memoised
from graph.errors import Problem
from graph.keys import TWIN_SYSTEM_KEYS

FLOAT_MAX = 3.4028234663852886e38
GEO_KINDS = {kind: kind[0].upper() + kind[1:] for kind in GEOSPATIAL}
"""DTDL geospatial schema -> its GeoJSON ``type`` (``lineString`` -> ``LineString``)."""
COMPLEX_KINDS = frozenset(COMPLEX_SCHEMAS)

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME_BODY = r"(\d{2}):(\d{2}):(\d{2})(\.\d+)?"
_OFFSET = r"([Zz]|[+-](\d{2}):(\d{2}))"
_DATETIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[Tt]" + _TIME_BODY + _OFFSET + "$")
_TIME = re.compile(r"^" + _TIME_BODY + _OFFSET + "?$")
_NUM = r"\d+(?:[.,]\d+)?"
_DURATION = re.compile(
    rf"^P(?!$)(?:{_NUM}Y)?(?:{_NUM}M)?(?:{_NUM}W)?(?:{_NUM}D)?(?:T(?=\d)(?:{_NUM}H)?(?:{_NUM}M)?(?:{_NUM}S)?)?$"
)
_DECIMAL = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


# --------------------------------------------------------------------------- helpers


def pointer_join(base: str, token: object) -> str:
    """Append one RFC 6901 reference token (escaping ``~`` and ``/``)."""
    return base + "/" + str(token).replace("~", "~0").replace("/", "~1")


_JSON_TYPES: tuple[tuple[type, str], ...] = (
    (type(None), "null"), (bool, "boolean"), (int, "integer"), (float, "number"),
    (str, "string"), (list, "array"), (dict, "object"),
)


def _type_name(value: object) -> str:
    """The JSON type of ``value`` for messages (``bool`` first: Python counts it as an int)."""
    return next((name for kind, name in _JSON_TYPES if isinstance(value, kind)), type(value).__name__)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _brief(value: object) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def resolve_schema(models: ModelSet, schema: Schema | None) -> Schema | None:
    """Follow a reference to a reusable schema (``kind`` holding its DTMI) to the schema."""
    seen = 0
    while schema is not None and schema.kind.startswith("dtmi:") and seen < 16:
        schema = models.schemas.get(schema.kind)
        seen += 1
    return schema


# --------------------------------------------------------------------------- primitives


def _check_datetime(value: str) -> str | None:
    m = _DATETIME.match(value)
    if not m:
        return "expected an RFC 3339 date-time such as 2024-05-01T12:00:00Z (a time zone is required)"
    if _check_date(m.group(1)) is not None:
        return "is not a valid calendar date"
    return _check_clock(m.group(2), m.group(3), m.group(4), m.group(7), m.group(8))


def _check_date(value: str) -> str | None:
    if not _DATE.match(value):
        return "expected an RFC 3339 full-date such as 2024-05-01"
    try:
        date.fromisoformat(value)
    except ValueError:
        return "is not a valid calendar date"
    return None


def _check_clock(hh: str, mm: str, ss: str, off_h: str | None, off_m: str | None) -> str | None:
    try:
        time(int(hh), int(mm), int(ss))
    except ValueError:
        return "has an hour, minute or second out of range"
    if off_h is not None and (int(off_h) > 23 or int(off_m or 0) > 59):
        return "has a time-zone offset out of range"
    return None


def _check_time(value: str) -> str | None:
    m = _TIME.match(value)
    if not m:
        return "expected an RFC 3339 time such as 13:45:00 or 13:45:00.5+01:00"
    return _check_clock(m.group(1), m.group(2), m.group(3), m.group(6), m.group(7))


def _check_position(value: object, pointer: str, problems: list[Problem]) -> None:
    if not (isinstance(value, list) and 2 <= len(value) <= 3 and all(_is_number(c) for c in value)):
        problems.append(Problem(pointer, "expected a GeoJSON position [longitude, latitude(, altitude)]"))
        return
    lon, lat = value[0], value[1]
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        problems.append(Problem(pointer, "longitude must be in [-180, 180] and latitude in [-90, 90] (WGS-84)"))


def _check_positions(value: object, pointer: str, problems: list[Problem], minimum: int, ring: bool = False) -> None:
    if not isinstance(value, list) or len(value) < minimum:
        problems.append(Problem(pointer, f"expected an array of at least {minimum} GeoJSON positions"))
        return
    for i, position in enumerate(value):
        _check_position(position, pointer_join(pointer, i), problems)
    if ring and value[0] != value[-1]:
        problems.append(Problem(pointer, "a polygon ring must end at its first position"))


def _check_geo(kind: str, value: object, pointer: str, problems: list[Problem]) -> None:
    expected = GEO_KINDS[kind]
    if not isinstance(value, dict):
        problems.append(Problem(pointer, f"expected a GeoJSON {expected} object, got {_type_name(value)}"))
        return
    extra = set(value) - {"type", "coordinates"}
    for key in sorted(extra):
        problems.append(Problem(pointer_join(pointer, key), f"unknown GeoJSON member for {expected}"))
    if value.get("type") != expected:
        problems.append(Problem(pointer_join(pointer, "type"), f'must be "{expected}"'))
    coords = value.get("coordinates")
    at = pointer_join(pointer, "coordinates")
    if kind == "point":
        _check_position(coords, at, problems)
    elif kind in ("lineString", "multiPoint"):
        _check_positions(coords, at, problems, 2 if kind == "lineString" else 1)
    elif kind in ("polygon", "multiLineString"):
        if not isinstance(coords, list) or not coords:
            problems.append(Problem(at, "expected a non-empty array of position arrays"))
            return
        for i, part in enumerate(coords):
            if kind == "polygon":
                _check_positions(part, pointer_join(at, i), problems, 4, ring=True)
            else:
                _check_positions(part, pointer_join(at, i), problems, 2)
    else:  # multiPolygon
        if not isinstance(coords, list) or not coords:
            problems.append(Problem(at, "expected a non-empty array of polygons"))
            return
        for i, polygon in enumerate(coords):
            if not isinstance(polygon, list) or not polygon:
                problems.append(Problem(pointer_join(at, i), "expected a non-empty array of rings"))
                continue
            for j, ring in enumerate(polygon):
                _check_positions(ring, pointer_join(pointer_join(at, i), j), problems, 4, ring=True)


def check_primitive(kind: str, value: object, pointer: str) -> list[Problem]:
    """Problems of ``value`` as a DTDL primitive (or GeoJSON) of schema ``kind``."""
    problems: list[Problem] = []

    def bad(message: str) -> list[Problem]:
        problems.append(Problem(pointer, message))
        return problems

    if kind == "boolean":
        return problems if isinstance(value, bool) else bad(f"expected a boolean, got {_type_name(value)}")
    if kind in INTEGER_RANGES:
        low, high = INTEGER_RANGES[kind]
        if not isinstance(value, int) or isinstance(value, bool):
            return bad(f"expected an integer ({kind}), got {_type_name(value)} {_brief(value)}")
        if not low <= value <= high:
            return bad(f"{value} is out of the {kind} range [{low}, {high}]")
        return problems
    if kind in ("double", "float"):
        if not _is_number(value):
            return bad(f"expected a number ({kind}), got {_type_name(value)} {_brief(value)}")
        if not math.isfinite(value):
            return bad("must be a finite number")
        if kind == "float" and abs(value) > FLOAT_MAX:
            return bad(f"{value} is out of the float range")
        return problems
    if kind == "decimal":
        if _is_number(value):
            return problems if math.isfinite(value) else bad("must be a finite number")
        if isinstance(value, str) and _DECIMAL.match(value):
            return problems
        return bad(f"expected a decimal number or decimal string, got {_type_name(value)} {_brief(value)}")
    if kind in GEO_KINDS:
        _check_geo(kind, value, pointer, problems)
        return problems
    if not isinstance(value, str):
        return bad(f"expected a string ({kind}), got {_type_name(value)} {_brief(value)}")
    message: str | None = None
    if kind == "string":
        message = None
    elif kind == "date":
        message = _check_date(value)
    elif kind == "dateTime":
        message = _check_datetime(value)
    elif kind == "time":
        message = _check_time(value)
    elif kind == "duration":
        message = None if _DURATION.match(value) else "expected an ISO 8601 duration such as PT15M or P1DT2H"
    elif kind == "uuid":
        message = None if _UUID.match(value) else "expected a UUID such as 123e4567-e89b-12d3-a456-426614174000"
    elif kind == "bytes":
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            message = "expected base64-encoded bytes"
    else:
        message = f"unsupported schema {kind!r}"
    return bad(f"{_brief(value)} {message}") if message else problems


# --------------------------------------------------------------------------- schemas


def validate_value(models: ModelSet, schema: Schema | None, value: object, pointer: str) -> list[Problem]:
    """Problems of ``value`` against a DTDL schema (recursive for complex schemas)."""
    schema = resolve_schema(models, schema)
    if schema is None:
        return [Problem(pointer, "the model gives no resolvable schema for this value")]
    if value is None:
        return [Problem(pointer, "null is not a value; remove the property to unset it")]
    kind = schema.kind
    if kind not in COMPLEX_KINDS:
        return check_primitive(kind, value, pointer)
    if kind == "Enum":
        return _validate_enum(schema, value, pointer)
    if kind == "Object":
        return _validate_object(models, schema, value, pointer)
    if kind == "Map":
        return _validate_map(models, schema, value, pointer)
    return _validate_array(models, schema, value, pointer)


def _same_json(a: object, b: object) -> bool:
    """Equality that keeps ``True`` and ``1`` apart (Python equates them, JSON does not)."""
    return type(a) is type(b) and a == b or (_is_number(a) and _is_number(b) and a == b)


def _validate_enum(schema: Schema, value: object, pointer: str) -> list[Problem]:
    allowed = list(schema.enum_values.values())
    if any(_same_json(value, option) for option in allowed):
        return []
    shown = ", ".join(_brief(v) for v in allowed[:20])
    return [Problem(pointer, f"{_brief(value)} is not one of the enum values [{shown}]")]


def _validate_object(models: ModelSet, schema: Schema, value: object, pointer: str) -> list[Problem]:
    if not isinstance(value, dict):
        return [Problem(pointer, f"expected an object, got {_type_name(value)}")]
    problems: list[Problem] = []
    for name, field_value in value.items():
        at = pointer_join(pointer, name)
        if name not in schema.fields:
            known = ", ".join(schema.fields) or "none"
            problems.append(Problem(at, f"unknown field {name!r} (fields: {known})"))
            continue
        problems.extend(validate_value(models, schema.fields[name], field_value, at))
    return problems


def _validate_map(models: ModelSet, schema: Schema, value: object, pointer: str) -> list[Problem]:
    if not isinstance(value, dict):
        return [Problem(pointer, f"expected an object (a DTDL Map), got {_type_name(value)}")]
    problems: list[Problem] = []
    value_schema = schema.map_value.schema if schema.map_value else schema.value_schema
    nullable = bool(schema.map_value and schema.map_value.nullable)
    for key, item in value.items():
        at = pointer_join(pointer, key)
        if not key:
            problems.append(Problem(at, "a map key must be a non-empty string"))
        if item is None and nullable:
            continue
        problems.extend(validate_value(models, value_schema, item, at))
    return problems


def _validate_array(models: ModelSet, schema: Schema, value: object, pointer: str) -> list[Problem]:
    if not isinstance(value, list):
        return [Problem(pointer, f"expected an array, got {_type_name(value)}")]
    problems: list[Problem] = []
    for i, item in enumerate(value):
        problems.extend(validate_value(models, schema.element_schema, item, pointer_join(pointer, i)))
    return problems


# --------------------------------------------------------------------------- documents


def validate_contents(
    models: ModelSet,
    contents: Mapping[str, Content],
    document: object,
    pointer: str = "",
    *,
    system_keys: frozenset[str] = TWIN_SYSTEM_KEYS,
    what: str = "the model",
) -> list[Problem]:
    """Problems of a twin (or relationship / component) document against ``contents``.

    Only Properties and Components may be written; Telemetry and Commands are not
    state, Relationships are written with the relationship functions.
    """
    if not isinstance(document, dict):
        return [Problem(pointer, f"expected an object of properties, got {_type_name(document)}")]
    problems: list[Problem] = []
    plainly_valid = memoised("plain checks", models, contents, "", _plain_checks)
    for name, value in document.items():
        accepts = plainly_valid.get(name)
        if accepts is not None and accepts(value) and name not in system_keys:
            continue
        at = pointer_join(pointer, name)
        if name in system_keys or name.startswith("$"):
            problems.append(Problem(at, f"{name!r} is a reserved key of the graph, not a property"))
            continue
        content = contents.get(name)
        if content is None:
            problems.append(Problem(at, f"unknown property {name!r} for {what}"))
        elif content.kind == "Property":
            problems.extend(validate_value(models, content.schema, value, at))
        elif content.kind == "Component":
            problems.extend(_validate_component(models, content, value, at))
        else:
            problems.append(Problem(at, f"{name!r} is a {content.kind}, not a Property; it cannot be written here"))
    return problems


def _plain_checks(models: ModelSet, contents: Mapping[str, Content], _: str) -> dict[str, Callable[[object], bool]]:
    """Per Property, a predicate true only for values the full check accepts: the common cases (a finite
    float for a double, a str for a string, an enum's own value ...), decided without building a
    pointer or walking the schema.  Other values take the full check, which names their problem."""
    checks: dict[str, Callable[[object], bool]] = {}
    for name, content in contents.items():
        schema = resolve_schema(models, content.schema) if content.kind == "Property" else None
        check = _plain_check(schema) if schema is not None and not name.startswith("$") else None
        if check is not None:
            checks[name] = check
    return checks


def _plain_check(schema: Schema) -> Callable[[object], bool] | None:
    kind = schema.kind
    if kind == "double":
        return lambda value: type(value) is float and math.isfinite(value)
    if kind == "float":
        return lambda value: type(value) is float and math.isfinite(value) and abs(value) <= FLOAT_MAX
    if kind == "string":
        return lambda value: type(value) is str
    if kind == "boolean":
        return lambda value: type(value) is bool
    if kind in INTEGER_RANGES:
        low, high = INTEGER_RANGES[kind]
        return lambda value: type(value) is int and low <= value <= high
    if kind == "Enum":
        allowed = frozenset((type(option), option) for option in schema.enum_values.values()
                            if type(option) in (str, int))
        return lambda value: type(value) in (str, int) and (type(value), value) in allowed
    return None


def component_interface(models: ModelSet, content: Content) -> Interface | None:
    """The Interface a Component's schema names (None when the models do not hold it)."""
    dtmi = content.schema_dtmi or (content.schema.kind if content.schema else None)
    return models.interfaces.get(dtmi) if dtmi else None


def _validate_component(models: ModelSet, content: Content, value: object, pointer: str) -> list[Problem]:
    interface = component_interface(models, content)
    if interface is None:
        return [Problem(pointer, f"component {content.name!r} refers to an unknown interface")]
    if isinstance(value, dict):
        value = {k: v for k, v in value.items() if k != "$metadata"}
    return validate_contents(
        models, interface.contents, value, pointer, system_keys=frozenset(), what=f"component {content.name!r}"
    )


def validate_twin(models: ModelSet, model: str, document: object) -> list[Problem]:
    """Problems of a twin's whole property document against interface ``model``."""
    interface = models.interfaces.get(model)
    if interface is None:
        return [Problem("/$metadata/$model", f"unknown model {model!r}")]
    return validate_contents(models, interface.contents, document, what=model)


def check_writable(
    models: ModelSet, contents: Mapping[str, Content], old: Mapping[str, Any], new: Mapping[str, Any], pointer: str = ""
) -> list[Problem]:
    """Problems for each non-writable Property whose value differs between ``old`` and ``new``.

    DTDL ``writable: false`` marks state reported by the device or a service, so a
    user's replace/patch may not change it (see the rule in docs/graph-schema.md).
    """
    problems: list[Problem] = []
    for name in sorted(set(old) | set(new)):
        content = contents.get(name)
        if content is None:
            continue
        at = pointer_join(pointer, name)
        if content.kind == "Property" and not content.writable and old.get(name) != new.get(name):
            problems.append(Problem(at, f"{name!r} is not writable (DTDL writable=false); only a service may change it"))
        elif content.kind == "Component":
            interface = component_interface(models, content)
            old_value, new_value = old.get(name), new.get(name)
            if interface is not None and isinstance(old_value or {}, dict) and isinstance(new_value or {}, dict):
                problems.extend(check_writable(models, interface.contents, old_value or {}, new_value or {}, at))
    return problems
