"""Reading @type: the one element class of an element and its co-types.

An @type may be one class name, or an array of exactly one class (the "material" type) plus
co-types from the extensions in scope.  Unknown entries are reported, or tolerated, the way
the reference parser does it per DTDL version (see :mod:`dtdl.vocabulary`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .elements import Scope
from .parse_state import ParseState
from .vocabulary import apocryphal, classify, material_of, supplemental_of

_UNKNOWN_TYPE_RULES = {"irrelevantDtmiOrTerm": "typeIrrelevantDtmiOrTerm", "notDtmiNorTerm": "typeNotDtmiNorTerm",
                       "undefinedTerm": "typeUndefinedTerm"}


@dataclass
class ElementTypes:
    """What @type says: the class (None when there is no usable one) and the co-types."""

    cls: str | None
    cotypes: list[str] = field(default_factory=list)
    #: an entry of @type is unknown, so unknown properties may belong to it (not reported as such)
    open_cotype: bool = False


@dataclass
class _SortedTypes:
    materials: list[str] = field(default_factory=list)
    cotypes: list[str] = field(default_factory=list)
    #: (token, category, path) of every entry that is neither a class nor a co-type
    unknown: list[tuple[str, str, tuple[object, ...]]] = field(default_factory=list)


def read_types(state: ParseState, obj: dict, allowed: tuple[str, ...], scope: Scope, doc: int,
               path: tuple[object, ...], label: str | None, top: bool) -> ElementTypes:
    """The class and co-types of ``obj``, one of ``allowed``; reports what is wrong with @type."""
    if "@type" not in obj:
        return _untyped(state, allowed, doc, path, label, top)
    raw = obj["@type"]
    if isinstance(raw, str) and raw in allowed and raw in scope.spec.classes:
        return ElementTypes(raw)
    types = raw if isinstance(raw, list) else [raw]
    if not types or not all(isinstance(token, str) for token in types):
        state.report("badType", f"@type {raw!r} is not a string or an array of strings",
                     "Give @type as a class name or an array of names", doc, path + ("@type",), element=label,
                     value=raw)
        return ElementTypes(None)
    sorted_types = _sort_types(types, isinstance(raw, list), scope, path)
    open_cotype = bool(sorted_types.unknown)
    irrelevant = _report_unknown_types(state, sorted_types, scope, doc, label, top)
    cls = _material_class(state, sorted_types.materials, allowed, raw, doc, path, label, top)
    if cls is None:
        return ElementTypes(None, sorted_types.cotypes, open_cotype)
    if irrelevant:
        state.report("badType", f"@type {raw!r} includes a term that is not a type of a {cls}",
                     "Remove it from @type", doc, path + ("@type",), element=label, value=raw)
    if any(category == "invalidDtmi" for _, category, _ in sorted_types.unknown):
        return ElementTypes(None, sorted_types.cotypes, open_cotype)
    return ElementTypes(cls, sorted_types.cotypes, open_cotype)


def _untyped(state: ParseState, allowed: tuple[str, ...], doc: int, path: tuple[object, ...], label: str | None,
             top: bool) -> ElementTypes:
    """An element without @type: its class is implied where only one class can stand there."""
    if len(allowed) == 1 and not top and allowed[0] not in ("Interface", "Property"):
        return ElementTypes(allowed[0])
    if top:
        state.report("typeNotRootable", "the top-level element has no @type", "Add \"@type\": \"Interface\"",
                     doc, path, element=label)
    state.report("badType", "the element has no @type",
                 f"Add \"@type\": \"{allowed[0]}\"" if len(allowed) == 1 else
                 f"Add an @type, one of {', '.join(allowed)}", doc, path, element=label)
    return ElementTypes(None)


def _sort_types(types: list[Any], listed: bool, scope: Scope, path: tuple[object, ...]) -> _SortedTypes:
    """Sort the @type entries into classes, co-types and unknown tokens (each once, in order)."""
    sorted_types = _SortedTypes()
    for index, token in enumerate(types):
        material = material_of(token, scope)
        if material is not None:
            if material not in sorted_types.materials:
                sorted_types.materials.append(material)
            continue
        supplemental = supplemental_of(token, scope)
        if supplemental is not None:
            if supplemental[0] not in sorted_types.cotypes:
                sorted_types.cotypes.append(supplemental[0])
            continue
        token_path = path + ("@type",) + ((index,) if listed else ())
        sorted_types.unknown.append((token, classify(token, scope), token_path))
    return sorted_types


def _report_unknown_types(state: ParseState, sorted_types: _SortedTypes, scope: Scope, doc: int,
                          label: str | None, top: bool) -> bool:
    """Report the unknown @type entries not tolerated here; True if one is a known but irrelevant term."""
    irrelevant = False
    materials = sorted_types.materials
    for token, category, token_path in sorted_types.unknown:
        if category == "invalidDtmi":
            state.report("typeInvalidDtmi", f"@type {token!r} is not a valid DTMI", "Correct the DTMI in @type",
                         doc, token_path, element=label, value=token)
        elif not materials or not apocryphal(category, "AsCotype", scope):
            if category == "irrelevantDtmiOrTerm" and not top:
                irrelevant = True
            if materials or category != "irrelevantDtmiOrTerm":
                state.report(_UNKNOWN_TYPE_RULES[category], f"@type {token!r} is not a type that can be used here",
                             "Remove it, or add the extension context that defines it (and allow undefined "
                             "extensions if it is not a standard one)", doc, token_path, element=label, value=token)
    return irrelevant


def _material_class(state: ParseState, materials: list[str], allowed: tuple[str, ...], raw: Any, doc: int,
                    path: tuple[object, ...], label: str | None, top: bool) -> str | None:
    """The one element class of @type, if there is exactly one and it is allowed here."""
    type_path = path + ("@type",)
    if not materials:
        if top:
            state.report("typeNotRootable", f"@type {raw!r} includes no element class",
                         "Use \"@type\": \"Interface\"", doc, type_path, element=label, value=raw)
        state.report("badType", f"@type {raw!r} includes none of {', '.join(allowed)}",
                     f"Add one of {', '.join(allowed)} to @type", doc, type_path, element=label, value=raw)
        return None
    if len(materials) > 1:
        state.report("multipleMaterialTypes", f"@type names several element classes: {', '.join(materials)}",
                     "Keep exactly one element class in @type", doc, type_path, element=label, value=raw)
        return None
    cls = materials[0]
    if cls not in allowed:
        state.report("typeNotRootable" if top else "badType", f"a {cls} is not allowed here",
                     f"Use one of {', '.join(allowed)}", doc, type_path, element=label, value=raw)
        return None
    return cls
