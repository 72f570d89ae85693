"""Reading the literal-valued properties of an element: strings, numbers, choices, enum values, DTMIs.

Each reader returns the plain Python value to store, or raises :class:`LiteralProblem`; the
caller (``element_reading.read_value``) turns that into a located problem.  Object-valued
properties (nested elements and references) are read in ``element_reading``.
"""
from __future__ import annotations

import re
from typing import Any

from .dtmi import parse_dtmi
from .elements import Element
from .metamodel import PropDef
from .parse_state import ParseState
from .units import ALL_UNITS
from .values import LiteralProblem, as_list, lang_string, literal, single_literal

#: The rules of a value object whose @value is not of the kind its @type (or the property) declares.
_VALUE_KIND_RULES = ("ValueNotInteger", "ValueNotString", "ValueNotBoolean")
_PATTERNS: dict[str, re.Pattern[str]] = {}


def read_literal(state: ParseState, element: Element, prop_def: PropDef, value: Any, path: tuple[object, ...],
                 label: str | None) -> Any:
    """The value of a non-object property (``prop_def.kind`` is not 'object')."""
    version = element.scope.version
    if prop_def.kind == "langstring":
        return lang_string(_lenient(value, "@type") if version == 2 else value, prop_def.max_length, version)
    if prop_def.kind in ("string", "integer", "boolean"):
        scalar = single_literal(value, prop_def.kind, version)
        if scalar is not None:
            check_literal(prop_def, scalar)
        return scalar
    if prop_def.kind == "choice":
        chosen = single_literal(value, "string")
        return check_choice(prop_def, chosen) if chosen is not None else None
    if prop_def.kind == "enumvalue":
        return _read_enum_value(state, element, prop_def, value, path, label)
    if prop_def.kind == "identifier":
        return _read_identifier(element, value)
    return value  # kind 'any': an extension property whose value DTDL does not constrain


def _read_enum_value(state: ParseState, element: Element, prop_def: PropDef, value: Any,
                     path: tuple[object, ...], label: str | None) -> Any:
    """An enumValue: one integer or string, plain or as a value object."""
    items = as_list(value)
    if len(items) != 1:
        raise LiteralProblem("objectMultipleValues" if items else "missingLiteralProperty",
                             "enumValue must have exactly one value", "Give one integer or string")
    item = items[0]
    if isinstance(item, dict):
        kind = _declared_kind(item)
        if kind is None:
            kind = "integer" if isinstance(item.get("@value"), int) else "string"
        try:
            item = literal(item, kind, element.scope.version)
        except LiteralProblem as problem:
            if problem.rule.endswith(_VALUE_KIND_RULES):
                state.report("literalNotValid", f"'{prop_def.name}': the value object is not a valid literal",
                             "Make @value match its @type", element.doc, path, element=label, value=value,
                             prop=prop_def.name)
            raise
    if not isinstance(item, (int, str)) or isinstance(item, bool):
        raise LiteralProblem("literalNotValid", f"enumValue {item!r} is not an integer or string",
                             "Give an integer or a string")
    return item


def _read_identifier(element: Element, value: Any) -> str | None:
    """A Relationship 'target': at most one DTMI, given as a plain string."""
    items = as_list(value)
    if len(items) > 1:
        raise LiteralProblem("identifierMultipleValues", "more than one DTMI given", "Give one DTMI")
    target = items[0] if items else None
    if target is None:
        return None
    if not isinstance(target, str):
        raise LiteralProblem("identifierNotString", f"{target!r} is not a DTMI string",
                             "Give the DTMI as a plain JSON string")
    dtmi = parse_dtmi(target)
    if dtmi is None or dtmi.is_reserved or (element.scope.version == 2 and not dtmi.has_version):
        raise LiteralProblem("identifierNotDtmi", f"{target!r} is not a valid DTMI",
                             "Give the DTMI of an Interface, e.g. dtmi:com:example:Pump;1")
    return target


def check_literal(prop_def: PropDef, value: Any) -> None:
    """Raise when a string or integer breaks the length, pattern or value limits of its property."""
    if isinstance(value, str):
        if prop_def.max_length is not None and len(value) > prop_def.max_length:
            raise LiteralProblem("stringTooLong",
                                 f"the value is {len(value)} characters, more than {prop_def.max_length}",
                                 f"Shorten it to at most {prop_def.max_length} characters")
        if prop_def.pattern and not _compiled(prop_def.pattern).match(value):
            raise LiteralProblem("stringInvalid", f"{value!r} does not match {prop_def.pattern}",
                                 "Use letters, digits and underscores, starting with a letter and not "
                                 "ending with an underscore")
    if isinstance(value, int) and not isinstance(value, bool):
        if prop_def.exact_value is not None and value != prop_def.exact_value:
            raise LiteralProblem("valueNotExact", f"the value {value} must be {prop_def.exact_value}",
                                 f"Change it to {prop_def.exact_value}")
        if prop_def.min_value is not None and value < prop_def.min_value:
            raise LiteralProblem("valueBelowMin", f"the value {value} is below the minimum {prop_def.min_value}",
                                 f"Change it to at least {prop_def.min_value}")
        if prop_def.max_value is not None and value > prop_def.max_value:
            raise LiteralProblem("valueAboveMax", f"the value {value} is above the maximum {prop_def.max_value}",
                                 f"Change it to at most {prop_def.max_value}")


def check_choice(prop_def: PropDef, value: str) -> str:
    """The chosen term (a DTMI gives its last label); a unit must be one the unit tables list."""
    name = value
    if value.startswith("dtmi:"):
        dtmi = parse_dtmi(value)
        name = dtmi.labels[-1] if dtmi else value
    if prop_def.name == "unit":
        if name not in ALL_UNITS:
            raise LiteralProblem("incorrectPropertyValue", f"{value!r} is not a unit",
                                 "Use a unit name from the QuantitativeTypes table, e.g. \"volt\"")
        return name
    if name not in prop_def.choices:
        raise LiteralProblem("incorrectPropertyValue", f"{value!r} is not one of {', '.join(prop_def.choices)}",
                             f"Change it to one of {', '.join(prop_def.choices)}")
    return name


def _compiled(pattern: str) -> re.Pattern[str]:
    compiled = _PATTERNS.get(pattern)
    if compiled is None:
        compiled = _PATTERNS[pattern] = re.compile(pattern)
    return compiled


def _lenient(value: Any, drop: str = "@language") -> Any:
    """DTDL v2 tolerates (recommends against) an extra @language/@type in value objects."""
    if isinstance(value, dict) and "@value" in value and drop in value:
        return {key: member for key, member in value.items() if key != drop}
    if isinstance(value, list):
        return [_lenient(item, drop) for item in value]
    return value


def _declared_kind(obj: dict) -> str | None:
    """The literal kind a value object's @type declares (xsd:integer -> 'integer'), if any."""
    declared = obj.get("@type")
    if isinstance(declared, list) and len(declared) == 1:
        declared = declared[0]
    if not isinstance(declared, str):
        return None
    name = declared.rsplit(":", 1)[-1].rsplit("#", 1)[-1]
    return {"integer": "integer", "int": "integer", "string": "string", "boolean": "boolean"}.get(name)
