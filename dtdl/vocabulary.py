"""What a @type or property token means in a scope: a class, a co-type, or which kind of unknown.

The reference DTDLParser sorts every token it does not know into one of four categories and
decides per DTDL version whether that category is valid, invalid, or "tenable" (valid only
where an undefined extension context is in scope).  These functions answer from the scope
alone; they read nothing else of the parse and report nothing.
"""
from __future__ import annotations

from .dtmi import parse_dtmi
from .elements import Scope
from .metamodel import Extension, PropDef

#: How the reference parser treats unknown things per version: valid / invalid / tenable
#: (tenable = accepted only where an undefined extension context is in scope).
APOCRYPHA: dict[int, dict[str, str]] = {
    2: {"invalidDtmiAsCotype": "invalid", "invalidDtmiAsProperty": "valid",
        "irrelevantDtmiOrTermAsCotype": "tenable", "irrelevantDtmiOrTermAsProperty": "valid",
        "notDtmiNorTermAsCotype": "valid", "notDtmiNorTermAsProperty": "valid",
        "undefinedTermAsCotype": "valid", "undefinedTermAsProperty": "valid"},
    3: {"invalidDtmiAsCotype": "invalid", "invalidDtmiAsProperty": "invalid",
        "irrelevantDtmiOrTermAsCotype": "tenable", "irrelevantDtmiOrTermAsProperty": "tenable",
        "notDtmiNorTermAsCotype": "invalid", "notDtmiNorTermAsProperty": "invalid",
        "undefinedTermAsCotype": "tenable", "undefinedTermAsProperty": "tenable"},
}
APOCRYPHA[4] = APOCRYPHA[3]

#: A supplemental (co-)type: its name, the classes it applies to, and the properties it adds.
Supplemental = tuple[str, tuple[str, ...], dict[str, PropDef]]


def classify(token: str, scope: Scope) -> str:
    """invalidDtmi | irrelevantDtmiOrTerm | notDtmiNorTerm | undefinedTerm."""
    if token.startswith("dtmi:"):
        return "irrelevantDtmiOrTerm" if parse_dtmi(token) else "invalidDtmi"
    if token in scope.terms():
        return "irrelevantDtmiOrTerm"
    if ":" in token:
        return "notDtmiNorTerm"
    return "undefinedTerm"


def apocryphal(category: str, as_what: str, scope: Scope) -> bool:
    """True when an unknown cotype/property of this category is acceptable in ``scope``."""
    verdict = APOCRYPHA[scope.version][category + as_what]
    if verdict == "valid":
        return True
    if verdict == "tenable":
        return scope.undefined_ext
    return False


def material_of(token: str, scope: Scope) -> str | None:
    """The element class ``token`` names (by term or class DTMI), if it names one."""
    version_spec = scope.spec
    if token in version_spec.classes:
        return token
    if token.startswith("dtmi:dtdl:class:"):
        for name in version_spec.classes:
            if token == version_spec.class_dtmi(name):
                return name
    return None


def supplemental_of(token: str, scope: Scope) -> Supplemental | None:
    """The co-type ``token`` names in ``scope`` (an unusable one applies to nothing and adds nothing)."""
    extensions = list(scope.extensions)
    if scope.spec.builtin_extension:
        extensions.insert(0, scope.spec.builtin_extension)
    name = _cotype_name(token, scope)
    if name is None:
        return None
    for extension in extensions:
        if name in extension.cotypes:
            targets, props = extension.cotypes[name]
            if not usable(extension, scope):
                return name, (), {}
            return name, targets, props
    return None


def _cotype_name(token: str, scope: Scope) -> str | None:
    """A co-type's term: ``token`` itself, or the last label of a DTMI that may name a co-type."""
    if not token.startswith("dtmi:"):
        return token
    dtmi = parse_dtmi(token)
    if dtmi is None:
        return None
    if scope.version == 2 and dtmi.labels[:2] == ("standard", "class") and dtmi.major_version == 2:
        return dtmi.labels[-1]
    if dtmi.labels[:2] == ("dtdl", "extension"):
        return dtmi.labels[-1]
    return None


def usable(extension: Extension, scope: Scope) -> bool:
    """Whether an extension (as loaded) belongs to the DTDL version of ``scope``."""
    return extension is scope.spec.builtin_extension or scope.spec.extensions.get(extension.context) is extension


def cotype_source(name: str, scope: Scope) -> Extension | None:
    """The extension in ``scope`` (built-in first) that defines the co-type ``name``."""
    builtin = [scope.spec.builtin_extension] if scope.spec.builtin_extension else []
    for extension in builtin + list(scope.extensions):
        if name in extension.cotypes:
            return extension
    return None


def has_semantics(scope: Scope) -> bool:
    """Whether semantic types and unit-type schemas are defined (v2 built-ins or QuantitativeTypes)."""
    return scope.spec.builtin_extension is not None or any(
        extension.context.startswith("dtmi:dtdl:extension:quantitativeTypes") for extension in scope.extensions)
