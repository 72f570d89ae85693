"""The storage encoding of twin and relationship documents, and its inverse.

Pure functions over *valid* documents (see :mod:`graph.validation`), so the rules are
unit-testable without a database (see docs/graph-schema.md, "Twins, relationships and topology"):

* primitives and enums -> native node properties (``n.ratedPowerKVA``); dates,
  times, dateTimes and durations as their ISO 8601 strings, ``decimal`` as a
  string (keeps every digit), ``unsignedLong`` above 2^63-1 as a string, GeoJSON
  ``point`` as a native WGS-84 point (so ``point.distance`` works);
* Objects and Components are flattened into dotted keys (``n.`location.city```);
  DTDL names cannot contain a dot, so the flattening is reversible;
* Arrays of primitives -> native lists; Maps, Arrays of complex values and the
  other GeoJSON shapes -> one compact JSON string (their keys are user data and
  must not become property keys).

Decoding runs for every twin read, so each interface's decoder is compiled once and cached.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import partial
from datetime import datetime, timezone
from typing import Any

from neo4j.spatial import CartesianPoint, WGS84Point

from dtdl.model import Content, ModelSet, Schema
from graph.compiled import memoised
from graph.validation import COMPLEX_KINDS, GEO_KINDS, INTEGER_RANGES, component_interface, resolve_schema


def _native_list_ok(models: ModelSet, schema: Schema | None) -> bool:
    schema = resolve_schema(models, schema)
    return schema is not None and (schema.kind == "Enum" or (schema.is_primitive and schema.kind not in GEO_KINDS))


def encode_primitive(kind: str, value: Any) -> Any:
    """The Neo4j property value of a valid primitive (see the module docstring)."""
    if kind in ("double", "float"):
        return float(value)
    if kind == "decimal":
        return value if isinstance(value, str) else repr(value)
    if kind == "unsignedLong" and value > INTEGER_RANGES["long"][1]:
        return str(value)
    if kind == "point":
        coords = value["coordinates"]
        return WGS84Point(tuple(float(c) for c in coords))
    if kind in GEO_KINDS:
        return json.dumps(value, separators=(",", ":"))
    return value


def decode_primitive(kind: str, value: Any) -> Any:
    """Inverse of :func:`encode_primitive`."""
    if kind == "unsignedLong" and isinstance(value, str):
        return int(value)
    if kind == "point" and isinstance(value, (WGS84Point, CartesianPoint)):
        return {"type": "Point", "coordinates": [float(c) for c in value]}
    if kind in GEO_KINDS and isinstance(value, str):
        return json.loads(value)
    return value


def _encode_value(models: ModelSet, schema: Schema | None, value: Any, out: dict[str, Any], *, key: str) -> None:
    schema = resolve_schema(models, schema)
    if schema is None:
        return
    if schema.kind == "Object":
        for name, field_value in value.items():
            _encode_value(models, schema.fields.get(name), field_value, out, key=f"{key}.{name}")
    elif schema.kind == "Array" and _native_list_ok(models, schema.element_schema):
        element = resolve_schema(models, schema.element_schema)
        assert element is not None
        out[key] = [item if element.kind == "Enum" else encode_primitive(element.kind, item) for item in value]
    elif schema.kind in ("Array", "Map"):
        out[key] = json.dumps(value, separators=(",", ":"), sort_keys=True)
    elif schema.kind == "Enum":
        out[key] = value
    else:
        out[key] = encode_primitive(schema.kind, value)


def encode_contents(
    models: ModelSet, contents: Mapping[str, Content], document: Mapping[str, Any], prefix: str = ""
) -> dict[str, Any]:
    """Flat Neo4j properties of a *valid* document (keys are model names joined by dots)."""
    out: dict[str, Any] = {}
    steps = memoised("encoder", models, contents, prefix, _compile_encoder)
    for name, value in document.items():
        step = steps.get(name)
        if step is None:
            continue
        key, convert = step
        if convert is None:
            out[key] = value
        elif convert is float:
            out[key] = float(value)
        else:
            convert(value, out)
    return out


#: How one property is stored: its key and None (as is), ``float``, or a writer ``(value, out)``.
EncodeStep = tuple[str, Callable[..., Any] | None]


def _compile_encoder(models: ModelSet, contents: Mapping[str, Content], prefix: str) -> dict[str, EncodeStep]:
    """Per content name, its storage step; primitives stored as they are skip the schema walk."""
    steps: dict[str, EncodeStep] = {}
    for name, content in contents.items():
        key = f"{prefix}{name}"
        if content.kind == "Component":
            interface = component_interface(models, content)
            if interface is not None:
                steps[name] = (key, partial(_encode_component, models, interface.contents, key + "."))
            continue
        schema = resolve_schema(models, content.schema)
        if schema is not None and (schema.kind == "Enum" or schema.kind in _STORED_AS_IS):
            steps[name] = (key, None)
        elif schema is not None and schema.kind in ("double", "float"):
            steps[name] = (key, float)
        else:
            steps[name] = (key, partial(_encode_value, models, content.schema, key=key))
    return steps


#: Primitive kinds whose document value is the stored value (see :func:`encode_primitive`).
_STORED_AS_IS = frozenset({"string", "boolean", "date", "dateTime", "time", "duration", "uuid", "bytes",
                           *(kind for kind in INTEGER_RANGES if kind != "unsignedLong")})


def _encode_component(models: ModelSet, contents: Mapping[str, Content], prefix: str, value: Any,
                      out: dict[str, Any]) -> None:
    out.update(encode_contents(models, contents, value, prefix))


_MISSING = object()


def _decode_value(models: ModelSet, schema: Schema | None, stored: Mapping[str, Any], key: str) -> Any:
    schema = resolve_schema(models, schema)
    if schema is None:
        return stored.get(key, _MISSING)
    if schema.kind == "Object":
        result = {}
        for name, field_schema in schema.fields.items():
            value = _decode_value(models, field_schema, stored, f"{key}.{name}")
            if value is not _MISSING:
                result[name] = value
        return result if result else _MISSING
    if key not in stored:
        return _MISSING
    value = stored[key]
    if schema.kind in ("Array", "Map"):
        if isinstance(value, str):
            return json.loads(value)
        element = resolve_schema(models, schema.element_schema)
        if element is not None and element.kind != "Enum":
            return [decode_primitive(element.kind, item) for item in value]
        return list(value)
    if schema.kind == "Enum":
        return value
    return decode_primitive(schema.kind, value)


def decode_contents(
    models: ModelSet, contents: Mapping[str, Content], stored: Mapping[str, Any], prefix: str = ""
) -> dict[str, Any]:
    """The client document of stored node/relationship properties (inverse of encode)."""
    return _decoder(models, contents, prefix)(stored)


Decoder = Callable[[Mapping[str, Any]], dict[str, Any]]


def _decoder(models: ModelSet, contents: Mapping[str, Content], prefix: str) -> Decoder:
    """The compiled decoder of ``contents`` (memoised per model set and contents: both are frozen).

    Reading many twins decodes the same interface again and again; the compiled form walks
    only the stored keys of Properties and Components, with the schema lookups done once.
    """
    return memoised("decoder", models, contents, prefix, _compile_decoder)


def _identity_decoded(models: ModelSet, schema: Schema | None) -> bool:
    """True when the stored value of ``schema`` is the document value (the common case)."""
    schema = resolve_schema(models, schema)
    if schema is None or schema.kind == "Enum":
        return True
    return schema.kind not in COMPLEX_KINDS and schema.kind != "unsignedLong" and schema.kind not in GEO_KINDS


def _compile_decoder(models: ModelSet, contents: Mapping[str, Content], prefix: str) -> Decoder:
    steps: list[tuple[str, str, Callable[[Mapping[str, Any]], Any] | None]] = []
    for name, content in contents.items():
        key = f"{prefix}{name}"
        if content.kind == "Component":
            interface = component_interface(models, content)
            if interface is not None:
                steps.append((name, key, _component_step(models, interface.contents, key + ".")))
        elif content.kind == "Property":
            if _identity_decoded(models, content.schema):
                steps.append((name, key, None))
            else:
                steps.append((name, key, _property_step(models, content.schema, key)))
    if all(step is None for _, _, step in steps):
        pairs = tuple((name, key) for name, key, _ in steps)

        def decode_plain(stored: Mapping[str, Any]) -> dict[str, Any]:
            return {name: stored[key] for name, key in pairs if key in stored}

        return decode_plain
    frozen = tuple(steps)

    def decode(stored: Mapping[str, Any]) -> dict[str, Any]:
        document: dict[str, Any] = {}
        for name, key, step in frozen:
            if step is None:
                if key in stored:
                    document[name] = stored[key]
            else:
                value = step(stored)
                if value is not _MISSING:
                    document[name] = value
        return document

    return decode


def _component_step(models: ModelSet, contents: Mapping[str, Content], prefix: str) -> Callable[[Mapping[str, Any]], Any]:
    inner = _compile_decoder(models, contents, prefix)

    def component(stored: Mapping[str, Any]) -> Any:
        value = inner(stored)
        return value if value else _MISSING

    return component


def _property_step(models: ModelSet, schema: Schema | None, key: str) -> Callable[[Mapping[str, Any]], Any]:
    """What :func:`_decode_value` does for one property, with its schema walked once, not per twin: an
    Object becomes its fields' steps, a leaf whose stored value is the document value a dict lookup."""
    resolved = resolve_schema(models, schema)
    if resolved is None or _identity_decoded(models, resolved):
        return lambda stored: stored.get(key, _MISSING)
    if resolved.kind == "Object":
        fields = tuple((name, _property_step(models, field_schema, f"{key}.{name}"))
                       for name, field_schema in resolved.fields.items())

        def object_value(stored: Mapping[str, Any]) -> Any:
            result = {}
            for name, step in fields:
                value = step(stored)
                if value is not _MISSING:
                    result[name] = value
            return result if result else _MISSING

        return object_value

    if resolved.kind in ("Array", "Map"):
        element = resolve_schema(models, resolved.element_schema)
        # elements stored as their document value (strings, numbers, enum values) are copied, not decoded one by one
        element_kind = None if _identity_decoded(models, element) else element.kind  # type: ignore[union-attr]

        def collection_value(stored: Mapping[str, Any]) -> Any:
            if key not in stored:
                return _MISSING
            value = stored[key]
            if isinstance(value, str):
                return json.loads(value)
            if element_kind is None:
                return list(value)
            return [decode_primitive(element_kind, item) for item in value]

        return collection_value

    def property_value(stored: Mapping[str, Any]) -> Any:
        return _decode_value(models, resolved, stored, key)

    return property_value


def decode_without_model(stored: Mapping[str, Any], system_keys: frozenset[str]) -> dict[str, Any]:
    """Best-effort document when the model is not loaded: dotted keys nested back into objects."""
    document: dict[str, Any] = {}
    for key, value in stored.items():
        if key in system_keys:
            continue
        if isinstance(value, (WGS84Point, CartesianPoint)):
            value = decode_primitive("point", value)
        parts = key.split(".")
        target = document
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return document


def datetime_to_native(value: Any) -> Any:
    """Stored timestamp -> datetime: a neo4j.time.DateTime, or [epoch seconds, nanoseconds] from a
    read projection (hydrating neo4j.time values in pure Python costs ~50 us each, see records.py)."""
    if isinstance(value, list) and len(value) == 2 and all(isinstance(part, int) for part in value):
        seconds, nanoseconds = value
        return datetime.fromtimestamp(seconds, tz=timezone.utc).replace(microsecond=nanoseconds // 1000)
    to_native = getattr(value, "to_native", None)
    return to_native() if callable(to_native) else value


__all__ = [
    "Decoder",
    "datetime_to_native",
    "decode_contents",
    "decode_primitive",
    "decode_without_model",
    "encode_contents",
    "encode_primitive",
]
