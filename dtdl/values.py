"""Reading JSON-LD literal values the way DTDL allows them.

DTDL documents are JSON-LD, so a string property may be written as ``"x"``, ``["x"]`` or
``{"@value": "x", "@type": "xsd:string"}``; a localisable string also as a language map or a list
of ``{"@value", "@language"}`` objects.  These helpers turn all of those into plain Python values
or an error description (never an exception).
"""
from __future__ import annotations

import re
from typing import Any

LANG_RE = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")
XSD = "http://www.w3.org/2001/XMLSchema#"


class ValueError_(Exception):
    """Internal signal for a malformed literal: (rule, cause, action)."""

    def __init__(self, rule: str, cause: str, action: str) -> None:
        super().__init__(cause)
        self.rule, self.cause, self.action = rule, cause, action


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _check_datatype(obj: dict, xsd_name: str, kind: str) -> None:
    t = obj.get("@type")
    if "@type" not in obj:
        return
    if isinstance(t, list) and len(t) == 1:
        t = t[0]
    if isinstance(t, list):
        raise ValueError_("literalTypeNotSingular", "the value object has more than one @type",
                          f"Give a single @type \"xsd:{xsd_name}\"")
    if t not in (f"xsd:{xsd_name}", XSD + xsd_name):
        raise ValueError_(f"{kind}TypeNot{kind[0].upper() + kind[1:]}",
                          f"the @type of the value object is {t!r}, not xsd:{xsd_name}",
                          f"Change @type to \"xsd:{xsd_name}\" or remove it")


_VALUE_OBJECT_KEYWORDS = {"@id": "valueObjectId", "@context": "valueObjectContext", "@graph": "valueObjectGraph",
                          "@language": "valueObjectLanguage"}


def literal(value: Any, kind: str, version: int = 3) -> Any:
    """Read one literal of ``kind`` ('string', 'integer', 'boolean') from a scalar or value object."""
    py_ok = {
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
    }[kind]
    xsd = {"string": "string", "integer": "integer", "boolean": "boolean"}[kind]
    if isinstance(value, dict):
        for key in value:
            if key in ("@value", "@type"):
                continue
            if not isinstance(key, str) or not key.startswith("@"):
                rule = "valueObjectInvalidProp"
            else:
                rule = _VALUE_OBJECT_KEYWORDS.get(key, "valueObjectKeyword")
                if version == 2 and rule in ("valueObjectLanguage", "valueObjectKeyword"):
                    continue  # DTDL v2 tolerates these (JSON-LD ignores them)
            raise ValueError_(rule, f"the value object has the disallowed member {key!r}",
                              "Use only @value and @type in a value object")
        if "@value" not in value:
            raise ValueError_(f"{kind}ObjectNoValue", "the value object has no @value",
                              "Add an @value member")
        _check_datatype(value, xsd, kind)
        inner = value["@value"]
        if not py_ok(inner):
            raise ValueError_(f"{kind}ValueNot{kind[0].upper() + kind[1:]}",
                              f"the @value {inner!r} is not a {kind}", f"Change @value to a JSON {kind}")
        return inner
    if not py_ok(value):
        raise ValueError_(f"{kind}Not{kind[0].upper() + kind[1:]}", f"the value {value!r} is not a {kind}",
                          f"Change the value to a JSON {kind}")
    return value


def single_literal(value: Any, kind: str, version: int = 3) -> Any:
    """A singular literal property: at most one value; returns None for an empty list."""
    items = as_list(value)
    if len(items) == 0:
        return None
    if len(items) > 1:
        raise ValueError_(f"{kind}MultipleValues", f"the property has {len(items)} values, at most one allowed",
                          "Give a single value")
    return literal(items[0], kind, version)


def lang_string(value: Any, max_length: int | None, version: int = 3) -> dict[str, str]:
    """Read a localisable string into {language: text}; a string without language is 'en'."""
    out: dict[str, str] = {}
    default_seen = False

    def put(lang: str | None, text: Any) -> None:
        nonlocal default_seen
        if not isinstance(text, str):
            raise ValueError_("langStringValueNotString", f"the text {text!r} is not a string",
                              "Give the text as a JSON string")
        if max_length is not None and len(text) > max_length:
            raise ValueError_("langStringValueTooLong",
                              f"the text is {len(text)} characters long, more than the limit {max_length}",
                              f"Shorten the text to at most {max_length} characters")
        if lang is None:
            if default_seen:
                raise ValueError_("inconsistentLangStringValues", "more than one text has no language",
                                  "Give each text a distinct @language")
            default_seen = True
            lang = "en"
        if lang in seen_codes:
            raise ValueError_("langStringElementCodeNotUnique", f"language {lang!r} is given twice",
                              "Keep one text per language")
        seen_codes.add(lang)
        out[lang] = text

    seen_codes: set[str] = set()
    if isinstance(value, dict):
        for key, text in value.items():
            if key.startswith("@"):
                raise ValueError_("langMapObjKeyword", f"the language map has the keyword {key!r}",
                                  "Use language codes as keys")
            if not LANG_RE.match(key):
                raise ValueError_("langStringInvalidCode", f"{key!r} is not a language code",
                                  "Use a language code such as \"en\" or \"de-CH\"")
            if isinstance(text, list):
                if len(text) != 1:
                    raise ValueError_("langStringValueNotString", "a language map entry must hold one string",
                                      "Give one string per language")
                text = text[0]
            put(key, text)
        return out
    for item in as_list(value):
        if isinstance(item, str):
            put(None, item)
        elif isinstance(item, dict):
            for key in item:
                if key not in ("@value", "@language"):
                    if version == 2 and isinstance(key, str) and key.startswith("@") and key not in (
                            "@id", "@context", "@graph", "@type"):
                        continue  # DTDL v2 tolerates other keywords
                    rule = {"@id": "langStringElementId", "@context": "langStringElementContext",
                            "@graph": "langStringElementGraph", "@type": "langStringElementType"}.get(
                        key, "langStringElementKeyword" if key.startswith("@") else "langStringElementInvalidProp")
                    raise ValueError_(rule, f"the language-tagged string has the member {key!r}",
                                      "Use only @value and @language")
            if "@value" not in item:
                raise ValueError_("langStringElementNoValue", "the language-tagged string has no @value",
                                  "Add an @value member")
            lang = item.get("@language")
            if lang is not None:
                if not isinstance(lang, str):
                    raise ValueError_("langStringElementCodeNotString", f"@language {lang!r} is not a string",
                                      "Give @language as a string")
                if not LANG_RE.match(lang):
                    raise ValueError_("langStringElementInvalidCode", f"{lang!r} is not a language code",
                                      "Use a language code such as \"en\"")
                if lang in seen_codes:
                    raise ValueError_("langStringElementCodeNotUnique", f"language {lang!r} is given twice",
                                      "Keep one text per language")
            if not isinstance(item["@value"], str):
                raise ValueError_("langStringElementValueNotString", "@value is not a string",
                                  "Give @value as a string")
            put(lang, item["@value"])
        else:
            raise ValueError_("langStringElementNotStringOrObject", f"{item!r} is not a string",
                              "Give the text as a string or a language map")
    return out
