"""Reading JSON-LD literal values the way DTDL allows them.

DTDL documents are JSON-LD, so a string property may be written as ``"x"``, ``["x"]`` or
``{"@value": "x", "@type": "xsd:string"}``; a localisable string also as a language map or a list
of ``{"@value", "@language"}`` objects.  These helpers turn all of those into plain Python values,
or raise :class:`LiteralProblem` naming the rule the value breaks.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

LANG_RE = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")
XSD = "http://www.w3.org/2001/XMLSchema#"


class LiteralProblem(Exception):
    """A malformed literal: the rule it breaks, what is wrong, and what to do about it.

    Raised by the readers below and caught where the property is read, which knows the
    element and JSON pointer to report it at; it never leaves the parser.
    """

    def __init__(self, rule: str, cause: str, action: str) -> None:
        super().__init__(cause)
        self.rule, self.cause, self.action = rule, cause, action


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


#: Whether a JSON value is a literal of the kind ('string', 'integer', 'boolean'); a JSON
#: boolean is not an integer although Python's bool is an int.
_IS_KIND: dict[str, Callable[[Any], bool]] = {
    "string": lambda value: isinstance(value, str),
    "integer": _is_integer,
    "boolean": lambda value: isinstance(value, bool),
}
_VALUE_OBJECT_KEYWORDS = {"@id": "valueObjectId", "@context": "valueObjectContext", "@graph": "valueObjectGraph",
                          "@language": "valueObjectLanguage"}
_LANG_STRING_ELEMENT_KEYWORDS = {"@id": "langStringElementId", "@context": "langStringElementContext",
                                 "@graph": "langStringElementGraph", "@type": "langStringElementType"}


def _capitalised(kind: str) -> str:
    return kind[0].upper() + kind[1:]


def literal(value: Any, kind: str, version: int = 3) -> Any:
    """Read one literal of ``kind`` ('string', 'integer', 'boolean') from a scalar or value object."""
    if isinstance(value, dict):
        return _value_object(value, kind, version)
    if not _IS_KIND[kind](value):
        raise LiteralProblem(f"{kind}Not{_capitalised(kind)}", f"the value {value!r} is not a {kind}",
                             f"Change the value to a JSON {kind}")
    return value


def _value_object(obj: dict, kind: str, version: int) -> Any:
    """The @value of a value object, which may only hold @value and an @type of the right xsd type."""
    for key in obj:
        if key in ("@value", "@type"):
            continue
        if not isinstance(key, str) or not key.startswith("@"):
            rule = "valueObjectInvalidProp"
        else:
            rule = _VALUE_OBJECT_KEYWORDS.get(key, "valueObjectKeyword")
            if version == 2 and rule in ("valueObjectLanguage", "valueObjectKeyword"):
                continue  # DTDL v2 tolerates these (JSON-LD ignores them)
        raise LiteralProblem(rule, f"the value object has the disallowed member {key!r}",
                             "Use only @value and @type in a value object")
    if "@value" not in obj:
        raise LiteralProblem(f"{kind}ObjectNoValue", "the value object has no @value", "Add an @value member")
    _check_datatype(obj, kind)
    inner = obj["@value"]
    if not _IS_KIND[kind](inner):
        raise LiteralProblem(f"{kind}ValueNot{_capitalised(kind)}", f"the @value {inner!r} is not a {kind}",
                             f"Change @value to a JSON {kind}")
    return inner


def _check_datatype(obj: dict, kind: str) -> None:
    """A value object's @type, if given, must be the one xsd type of ``kind`` (xsd:string, ...)."""
    if "@type" not in obj:
        return
    declared = obj["@type"]
    if isinstance(declared, list) and len(declared) == 1:
        declared = declared[0]
    if isinstance(declared, list):
        raise LiteralProblem("literalTypeNotSingular", "the value object has more than one @type",
                             f"Give a single @type \"xsd:{kind}\"")
    if declared not in (f"xsd:{kind}", XSD + kind):
        raise LiteralProblem(f"{kind}TypeNot{_capitalised(kind)}",
                             f"the @type of the value object is {declared!r}, not xsd:{kind}",
                             f"Change @type to \"xsd:{kind}\" or remove it")


def single_literal(value: Any, kind: str, version: int = 3) -> Any:
    """A singular literal property: at most one value; returns None for an empty list."""
    items = as_list(value)
    if len(items) == 0:
        return None
    if len(items) > 1:
        raise LiteralProblem(f"{kind}MultipleValues", f"the property has {len(items)} values, at most one allowed",
                             "Give a single value")
    return literal(items[0], kind, version)


class _LangTexts:
    """The texts of a localisable string read so far, one per language."""

    def __init__(self, max_length: int | None) -> None:
        self.max_length = max_length
        self.by_language: dict[str, str] = {}
        self.default_seen = False

    def put(self, lang: str | None, text: Any) -> None:
        """Add ``text`` in ``lang``; a text without language is English, and only one may lack it."""
        if not isinstance(text, str):
            raise LiteralProblem("langStringValueNotString", f"the text {text!r} is not a string",
                                 "Give the text as a JSON string")
        if self.max_length is not None and len(text) > self.max_length:
            raise LiteralProblem("langStringValueTooLong",
                                 f"the text is {len(text)} characters long, more than the limit {self.max_length}",
                                 f"Shorten the text to at most {self.max_length} characters")
        if lang is None:
            if self.default_seen:
                raise LiteralProblem("inconsistentLangStringValues", "more than one text has no language",
                                     "Give each text a distinct @language")
            self.default_seen = True
            lang = "en"
        self.check_unique(lang)
        self.by_language[lang] = text

    def check_unique(self, lang: str) -> None:
        if lang in self.by_language:
            raise LiteralProblem("langStringElementCodeNotUnique", f"language {lang!r} is given twice",
                                 "Keep one text per language")


def lang_string(value: Any, max_length: int | None, version: int = 3) -> dict[str, str]:
    """Read a localisable string into {language: text}; a string without language is 'en'."""
    texts = _LangTexts(max_length)
    if isinstance(value, dict):
        _read_language_map(value, texts)
        return texts.by_language
    for item in as_list(value):
        if isinstance(item, str):
            texts.put(None, item)
        elif isinstance(item, dict):
            _read_tagged_string(item, texts, version)
        else:
            raise LiteralProblem("langStringElementNotStringOrObject", f"{item!r} is not a string",
                                 "Give the text as a string or a language map")
    return texts.by_language


def _read_language_map(value: dict, texts: _LangTexts) -> None:
    """A language map: {"en": "text", "de": ["Text"]}."""
    for key, text in value.items():
        if key.startswith("@"):
            raise LiteralProblem("langMapObjKeyword", f"the language map has the keyword {key!r}",
                                 "Use language codes as keys")
        if not LANG_RE.match(key):
            raise LiteralProblem("langStringInvalidCode", f"{key!r} is not a language code",
                                 "Use a language code such as \"en\" or \"de-CH\"")
        if isinstance(text, list):
            if len(text) != 1:
                raise LiteralProblem("langStringValueNotString", "a language map entry must hold one string",
                                     "Give one string per language")
            text = text[0]
        texts.put(key, text)


def _read_tagged_string(item: dict, texts: _LangTexts, version: int) -> None:
    """A language-tagged string: {"@value": "text", "@language": "en"} (the language is optional)."""
    _check_tagged_string_members(item, version)
    if "@value" not in item:
        raise LiteralProblem("langStringElementNoValue", "the language-tagged string has no @value",
                             "Add an @value member")
    lang = item.get("@language")
    if lang is not None:
        if not isinstance(lang, str):
            raise LiteralProblem("langStringElementCodeNotString", f"@language {lang!r} is not a string",
                                 "Give @language as a string")
        if not LANG_RE.match(lang):
            raise LiteralProblem("langStringElementInvalidCode", f"{lang!r} is not a language code",
                                 "Use a language code such as \"en\"")
        texts.check_unique(lang)
    if not isinstance(item["@value"], str):
        raise LiteralProblem("langStringElementValueNotString", "@value is not a string",
                             "Give @value as a string")
    texts.put(lang, item["@value"])


def _check_tagged_string_members(item: dict, version: int) -> None:
    """Only @value and @language; DTDL v2 tolerates other keywords than @id/@context/@graph/@type."""
    for key in item:
        if key in ("@value", "@language"):
            continue
        if version == 2 and isinstance(key, str) and key.startswith("@") and key not in _LANG_STRING_ELEMENT_KEYWORDS:
            continue
        rule = _LANG_STRING_ELEMENT_KEYWORDS.get(
            key, "langStringElementKeyword" if key.startswith("@") else "langStringElementInvalidProp")
        raise LiteralProblem(rule, f"the language-tagged string has the member {key!r}",
                             "Use only @value and @language")
