"""Reading @context: which DTDL version and which extensions are in force for an element.

A top-level @context must name the DTDL version (first, from v3 on) and may add extension
contexts; a nested @context may add extensions or, for an embedded Interface of an older
version, switch the version.  Every entry is checked in order and reported where it is wrong.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .dtmi import Dtmi, parse_dtmi
from .elements import Scope
from .metamodel import DTDL_CONTEXTS, Extension, spec
from .parse_state import ParseState

_EXTENSION_CONTEXT = re.compile(r"^dtmi:dtdl:extension:([A-Za-z]+);(\d+)$")
#: Properties through which an element of an older DTDL version may be embedded (where a
#: reference could stand), as opposed to the inner structure of an element.
_VERSION_SWITCH_PROPS = frozenset({"contents", "extends", "schema", "elementSchema", "properties"})

#: A problem found in a context entry: (rule, cause, action).
EntryProblem = tuple[str, str, str]


@dataclass
class _TopContext:
    """What the entries of a top-level @context add up to, entry by entry."""

    version: int | None = None
    extensions: list[Extension] = field(default_factory=list)
    undefined: bool = False
    limitless: bool = False
    ok: bool = True


@dataclass
class _NestedContext:
    """The scope a nested @context builds on, and what its entries add to it."""

    scope: Scope
    extensions: list[Extension]
    undefined: bool


def read_top_context(state: ParseState, context: Any, doc: int, path: tuple[object, ...]) -> Scope | None:
    """The scope a top-level @context sets up, or None after reporting what is wrong with it."""
    entries = context if isinstance(context, list) else [context]
    reading = _TopContext()
    for index, entry in enumerate(entries):
        entry_path = path + ((index,) if isinstance(context, list) else ())
        if not _read_top_entry(state, reading, entries, index, doc, entry_path):
            reading.ok = False
    if reading.version is None:
        if reading.ok:
            state.report("missingDtdlContext", "@context does not name a DTDL version",
                         "Put \"dtmi:dtdl:context;3\" (or ;2 / ;4) first in @context", doc, path, value=context)
        return None
    if not reading.ok:
        return None
    return Scope(spec(reading.version), tuple(reading.extensions),
                 reading.undefined and state.options.allow_undefined_extensions,
                 tuple(entry for entry in entries if isinstance(entry, str)), reading.limitless)


def _read_top_entry(state: ParseState, reading: _TopContext, entries: list, index: int, doc: int,
                    path: tuple[object, ...]) -> bool:
    """Read one top-level context entry into ``reading``; False when it was reported as wrong."""
    entry = entries[index]
    if not isinstance(entry, str):
        state.report("invalidContext" if not isinstance(entry, dict) else "disallowedLocalContext",
                     f"the context entry {entry!r} is not a context DTMI string",
                     "Use context specifiers such as \"dtmi:dtdl:context;3\"", doc, path, value=entry)
        return False
    if entry.partition("#")[0] in DTDL_CONTEXTS:
        return _read_top_dtdl_entry(state, reading, entry, index, doc, path)
    dtmi = parse_dtmi(entry)
    problems = _top_affiliate_problems(entry, dtmi, reading.version, entries, index)
    if problems or dtmi is None:
        for rule, cause, action in problems:
            state.report(rule, cause, action, doc, path, value=entry)
        return False
    if dtmi.labels[:2] == ("dtdl", "limits"):
        if not reading.limitless:
            state.report("misplacedLimitContext", f"the limits context {entry!r} needs #limitless",
                         "Use \"dtmi:dtdl:context;4#limitless\" before a limits context", doc, path, value=entry)
            return False
        return True
    extension = classify_extension_entry(state, entry, reading.version or 2, doc, path)
    if extension is None:
        return False
    if extension == "undefined":
        reading.undefined = True
    elif isinstance(extension, Extension):
        reading.extensions.append(extension)
    return True


def _read_top_dtdl_entry(state: ParseState, reading: _TopContext, entry: str, index: int, doc: int,
                         path: tuple[object, ...]) -> bool:
    """A DTDL context entry: it sets the version; v3+ want it before every extension context."""
    base, _, fragment = entry.partition("#")
    version = DTDL_CONTEXTS[base]
    ok = True
    if reading.version is None and (reading.extensions or reading.undefined) and index > 0 and version != 2:
        state.report("dtdlContextFollowsAffiliate", "the DTDL context is not the first context entry",
                     f"Move \"{entry}\" to the start of @context", doc, path, value=entry)
        ok = False
    if fragment:
        if fragment == "limitless" and version >= 4:
            reading.limitless = True
        else:
            state.report("invalidContextFragment", f"the context fragment #{fragment} is not recognised",
                         f"Remove \"#{fragment}\"", doc, path, value=entry)
            ok = False
    reading.version = version
    return ok


def _top_affiliate_problems(entry: str, dtmi: Dtmi | None, version: int | None, entries: list,
                            index: int) -> list[EntryProblem]:
    """What is wrong with a top-level context entry that is not a DTDL context (first problem only)."""
    if dtmi is None:
        return [("nonDtmiContextSpecifier" if ":" in entry else "invalidContextSpecifier",
                 f"the context specifier {entry!r} is not a DTMI",
                 "Use a DTMI context specifier such as \"dtmi:dtdl:context;3\"")]
    if not dtmi.has_version:
        return [("missingContextVersion", f"the context specifier {entry!r} has no version",
                 f"Add a version, e.g. \"{entry};1\"")]
    if dtmi.minor_version and (version == 2 or (version is None and _declares_v2(entries))):
        return [("invalidContextSpecifierForVersion",
                 f"the context specifier {entry!r} has a minor version, not allowed in DTDL v2",
                 "Use only a major version in context specifiers")]
    if dtmi.fragment:
        return [("disallowedContextFragment", f"the context specifier {entry!r} has a fragment",
                 "Remove the fragment")]
    if dtmi.labels[:2] == ("dtdl", "context"):
        return [("unrecognizedContextVersion", f"DTDL context version {dtmi.major_version} is not known",
                 "Use dtmi:dtdl:context;2, ;3 or ;4")]
    if version is None and not _declares_v2(entries):
        return [("dtdlContextFollowsAffiliate" if index > 0 else "missingDtdlContext",
                 f"the context {entry!r} comes before the DTDL context",
                 "Put \"dtmi:dtdl:context;3\" first in @context")]
    return []


def classify_extension_entry(state: ParseState, entry: str, version: int, doc: int,
                             path: tuple[object, ...]) -> Extension | str | None:
    """Classify one extension context entry: Extension, 'undefined', or None after an error."""
    version_spec = spec(version)
    if entry in version_spec.extensions:
        return version_spec.extensions[entry]
    for other_version in (4, 3, 2):
        if entry in spec(other_version).extensions:
            return spec(other_version).extensions[entry]
    match = _EXTENSION_CONTEXT.match(entry)
    if match and not state.options.allow_undefined_extensions:
        known = [key for key in version_spec.extensions if key.startswith(f"dtmi:dtdl:extension:{match.group(1)};")]
        if known:
            state.report("unresolvableContextVersion", f"version of extension {entry!r} is not known",
                         f"Use one of {', '.join(known)}", doc, path, value=entry)
            return None
    if entry == "dtmi:iotcentral:context;2" and version != 2:
        state.report("invalidContextSpecifierForVersion", "the IoT Central context needs DTDL v2",
                     "Use dtmi:dtdl:context;2 with it", doc, path, value=entry)
        return None
    if state.options.allow_undefined_extensions:
        return "undefined"
    state.report("unresolvableContextSpecifier", f"the context {entry!r} is not a known extension",
                 "Remove it, or parse with allow_undefined_extensions=True", doc, path, value=entry)
    return None


def read_local_context(state: ParseState, context: Any, scope: Scope, doc: int, path: tuple[object, ...],
                       owner_type: Any = None, parent_prop: str | None = None) -> Scope | None:
    """The scope a nested @context makes of ``scope``, or None after reporting what is wrong."""
    entries = context if isinstance(context, list) else [context]
    nested = _NestedContext(scope, list(scope.extensions), scope.undefined_ext)
    for index, entry in enumerate(entries):
        entry_path = path + ((index,) if isinstance(context, list) else ())
        if not isinstance(entry, str):
            state.report("disallowedLocalContext" if isinstance(entry, dict) else "invalidContext",
                         f"the local context entry {entry!r} is not a context DTMI",
                         "Use only extension context DTMIs in a nested @context", doc, entry_path, value=entry)
            return None
        if entry.partition("#")[0] in DTDL_CONTEXTS:
            read = _read_nested_dtdl_entry(state, nested, entries, index, owner_type, parent_prop, doc, entry_path)
        else:
            read = _read_nested_extension_entry(state, nested, entry, doc, entry_path)
        if not read:
            return None
    final = nested.scope
    return Scope(final.spec, tuple(nested.extensions), nested.undefined and state.options.allow_undefined_extensions,
                 final.contexts + tuple(entry for entry in entries if isinstance(entry, str)), final.limitless)


def _read_nested_dtdl_entry(state: ParseState, nested: _NestedContext, entries: list, index: int, owner_type: Any,
                            parent_prop: str | None, doc: int, path: tuple[object, ...]) -> bool:
    """A DTDL context in a nested @context: first, and a version switch only to embed an Interface."""
    entry = entries[index]
    version = DTDL_CONTEXTS[entry.partition("#")[0]]
    scope = nested.scope
    earlier_dtdl = any(isinstance(other, str) and other.partition("#")[0] in DTDL_CONTEXTS
                       for other in entries[:index])
    if "#" in entry or ((version != 2 or earlier_dtdl) and (
            nested.extensions != list(scope.extensions) or nested.undefined != scope.undefined_ext)):
        state.report("dtdlContextFollowsAffiliate", "a DTDL context follows an extension context",
                     "Put the DTDL context first", doc, path, value=entry)
        return False
    if version == scope.version:
        return True
    # an element of an older DTDL version may be embedded where a reference could stand
    # (contents, extends, schema, ...), not inside the structure of an element
    embeds_interface = owner_type == "Interface" or (isinstance(owner_type, list) and "Interface" in owner_type)
    if version > scope.version or not (embeds_interface or parent_prop in _VERSION_SWITCH_PROPS):
        state.report("inconsistentContext",
                     f"a nested element switches to DTDL v{version} inside DTDL v{scope.version}",
                     "Only an Interface of an older DTDL version may be embedded; remove the nested "
                     "DTDL context", doc, path, value=entry)
        return False
    nested.scope = Scope(spec(version), (), False, scope.contexts, scope.limitless)
    nested.extensions = []
    nested.undefined = False
    return True


def _read_nested_extension_entry(state: ParseState, nested: _NestedContext, entry: str, doc: int,
                                 path: tuple[object, ...]) -> bool:
    """An extension context in a nested @context: added to the extensions in force."""
    problems = _nested_affiliate_problems(entry, parse_dtmi(entry), nested.scope.version)
    for rule, cause, action in problems:
        state.report(rule, cause, action, doc, path, value=entry)
    if problems:
        return False
    extension = classify_extension_entry(state, entry, nested.scope.version, doc, path)
    if extension is None:
        return False
    if extension == "undefined":
        nested.undefined = True
    elif isinstance(extension, Extension) and extension not in nested.extensions:
        nested.extensions.append(extension)
    return True


def _nested_affiliate_problems(entry: str, dtmi: Dtmi | None, version: int) -> list[EntryProblem]:
    """What is wrong with an extension entry of a nested @context (first problem only)."""
    if dtmi is None:
        return [("nonDtmiContextSpecifier" if ":" in entry else "invalidContextSpecifier",
                 f"the context specifier {entry!r} is not a DTMI", "Use an extension context DTMI")]
    if not dtmi.has_version:
        return [("missingContextVersion", f"the context specifier {entry!r} has no version", "Add a version"),
                ("invalidContextSpecifierForVersion",
                 f"the context specifier {entry!r} is not a valid specifier for DTDL v{version}",
                 "Use a versioned context specifier")]
    if dtmi.minor_version and version == 2:
        return [("invalidContextSpecifierForVersion",
                 f"the context specifier {entry!r} has a minor version, not allowed in DTDL v2",
                 "Use only a major version")]
    if dtmi.fragment:
        return [("invalidContextSpecifier", f"the context specifier {entry!r} is not valid here",
                 "Use an extension context DTMI")]
    if dtmi.labels[:2] == ("dtdl", "context"):
        return [("unrecognizedContextVersion", f"DTDL context version {dtmi.major_version} is not known",
                 "Use the DTDL context of the document")]
    return []


def _declares_v2(entries: list) -> bool:
    """DTDL v2 (unlike v3+) does not require its context to precede affiliate contexts."""
    return "dtmi:dtdl:context;2" in entries
