"""Parsing DTDL JSON documents into raw elements, checking each element against the metamodel.

The parser works directly on the JSON (no JSON-LD expansion): contexts are read to decide the
DTDL version and the extensions in scope, and every key/type is classified the way the reference
DTDLParser does (material class, known co-type, defined-but-irrelevant term, undefined term,
invalid DTMI, neither DTMI nor term).  Cross-element rules live in ``resolve.py``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .dtmi import has_reserved_prefix, parse_dtmi
from .metamodel import DTDL_CONTEXTS, ClassDef, Extension, PropDef, VersionSpec, spec
from .problems import ProblemSink
from .units import UNIT_TYPES
from .values import ValueError_, as_list, lang_string, literal, single_literal

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

ALLOWED_KEYWORDS = ("@id", "@type", "@context")
_EXT_RE = re.compile(r"^dtmi:dtdl:extension:([A-Za-z]+);(\d+)$")


@dataclass(frozen=True)
class Scope:
    """What is in force for an element: DTDL version, extensions, undefined-extension tolerance."""

    spec: VersionSpec
    extensions: tuple[Extension, ...]
    undefined_ext: bool
    contexts: tuple[str, ...]
    limitless: bool = False

    @property
    def version(self) -> int:
        return self.spec.version

    def terms(self) -> frozenset[str]:
        t = self.spec.terms
        for e in self.extensions:
            t = t | e.terms
        return t


@dataclass
class Ref:
    """A DTMI reference to another element, resolved in resolve.py."""

    dtmi: str
    path: tuple[object, ...]


@dataclass
class Prim:
    name: str


@dataclass
class Elem:
    """A parsed (not yet resolved) DTDL element."""

    cls: str
    id: str | None
    doc: int
    path: tuple[object, ...]
    raw: dict
    scope: Scope
    parent: "Elem | None"
    parent_prop: str | None
    cotypes: list[str] = field(default_factory=list)
    props: dict[str, Any] = field(default_factory=dict)
    prop_paths: dict[str, tuple[object, ...]] = field(default_factory=dict)
    open_cotype: bool = False
    tolerant: bool = False
    inferred: bool = False

    def label(self) -> str:
        if self.id:
            return self.id
        name = self.props.get("name")
        base = self.parent.label() if self.parent else "?"
        return f"{base}/{self.parent_prop}/{name}" if name else f"{base}/{self.parent_prop}"

    def partition(self) -> "Elem":
        """The nearest enclosing Interface: references to non-Interface elements must stay inside it."""
        e: Elem | None = self
        while e is not None and e.cls != "Interface":
            e = e.parent
        return e or self

    def objects(self, prop: str) -> list[Any]:
        return self.props.get(prop, []) if isinstance(self.props.get(prop), list) else []


@dataclass
class Options:
    allow_undefined_extensions: bool = False
    resolve_relationship_targets: bool = False
    #: legacy reference-parser quirks: DTDL v2 solecisms tolerated in parsed / resolved documents
    tolerate_in_parse: bool = False
    tolerate_in_resolve: bool = False


class Parser:
    """Parses documents into ``Elem`` trees and reports problems into ``sink``."""

    def __init__(self, options: Options, sink: ProblemSink) -> None:
        self.opt = options
        self.sink = sink
        self.by_id: dict[str, Elem] = {}
        self.roots: list[Elem] = []
        self.all: list[Elem] = []
        self.resolving = False

    # ------------------------------------------------------------------ helpers
    def err(self, rule: str, cause: str, action: str, doc: int, path: tuple[object, ...],
            element: str | None = None, value: Any = None, prop: str | None = None) -> None:
        self.sink.add(rule, cause=cause, action=action, path=path, document=doc, element=element,
                      value=value, prop=prop)

    # ------------------------------------------------------------------ documents
    def missing_references(self) -> list[str]:
        """DTMIs referenced by parsed elements but defined nowhere in the set (yet)."""
        out: dict[str, None] = {}
        for e in self.all:
            for value in e.props.values():
                if isinstance(value, list):
                    for item in value:
                        if isinstance(item, Ref) and item.dtmi not in self.by_id:
                            out[item.dtmi] = None
        return list(out)

    def tolerant(self, scope: Scope) -> bool:
        """Whether DTDL v2 solecisms (id references, reserved ids, ...) are tolerated right now."""
        if scope.version != 2:
            return False
        return self.opt.tolerate_in_resolve if self.resolving else self.opt.tolerate_in_parse

    def parse_documents(self, documents: Any, start: int = 0, resolved: bool = False) -> None:
        self.resolving = resolved
        if not isinstance(documents, (list, tuple)):
            documents = [documents]
        for di, doc in enumerate(documents, start):
            if isinstance(doc, list):
                for i, item in enumerate(doc):
                    self.parse_top(item, di, (i,))
            elif isinstance(doc, dict):
                self.parse_top(doc, di, ())
            else:
                self.err("notJsonObject", f"document {di} is a JSON {type(doc).__name__}, not an object or array",
                         "Give each document as a JSON object (a model) or an array of models", di, ())

    def parse_top(self, obj: Any, doc: int, path: tuple[object, ...]) -> None:
        if not isinstance(obj, dict):
            self.err("notJsonObject", "a top-level value is not a JSON object",
                     "Make each top-level entry a JSON object with @context, @id and @type", doc, path, value=obj)
            return
        if "@context" not in obj:
            self.err("missingContext", "the top-level element has no @context",
                     "Add \"@context\": \"dtmi:dtdl:context;3\"", doc, path, element=_id_of(obj))
            return
        scope = self.top_context(obj["@context"], doc, path + ("@context",))
        if scope is None:
            return
        if "@graph" in obj:
            self.err("graphDisallowed", "the top-level element uses @graph", "Remove @graph", doc,
                     path + ("@graph",))
        raw_id = obj.get("@id")
        d = parse_dtmi(raw_id)
        if d is not None and d.fragment:
            # a fragment identifies a layer of an element, which a top-level element cannot be
            self.err("invalidId", f"top-level @id {raw_id!r} has a fragment",
                     f"Use an @id without fragment, e.g. {raw_id.partition('#')[0]}", doc, path + ("@id",),
                     element=raw_id, value=raw_id)
            return
        elem = self.parse_element(obj, ("Interface",), scope, doc, path, None, None, top=True)
        if elem is not None:
            self.roots.append(elem)

    # ------------------------------------------------------------------ contexts
    def top_context(self, ctx: Any, doc: int, path: tuple[object, ...]) -> Scope | None:
        entries = ctx if isinstance(ctx, list) else [ctx]
        version: int | None = None
        exts: list[Extension] = []
        undefined = False
        ok = True
        limitless = False
        seen_affiliate = False
        for i, entry in enumerate(entries):
            p = path + ((i,) if isinstance(ctx, list) else ())
            if not isinstance(entry, str):
                self.err("invalidContext" if not isinstance(entry, dict) else "disallowedLocalContext",
                         f"the context entry {entry!r} is not a context DTMI string",
                         "Use context specifiers such as \"dtmi:dtdl:context;3\"", doc, p, value=entry)
                ok = False
                continue
            base, _, frag = entry.partition("#")
            if base in DTDL_CONTEXTS:
                if version is None and (exts or undefined or seen_affiliate) and i > 0 and DTDL_CONTEXTS[base] != 2:
                    self.err("dtdlContextFollowsAffiliate", "the DTDL context is not the first context entry",
                             f"Move \"{entry}\" to the start of @context", doc, p, value=entry)
                    ok = False
                if frag:
                    if frag == "limitless" and DTDL_CONTEXTS[base] >= 4:
                        limitless = True
                    else:
                        self.err("invalidContextFragment", f"the context fragment #{frag} is not recognised",
                                 f"Remove \"#{frag}\"", doc, p, value=entry)
                        ok = False
                version = DTDL_CONTEXTS[base]
                continue
            d = parse_dtmi(entry)
            if d is None:
                self.err("nonDtmiContextSpecifier" if ":" in entry else "invalidContextSpecifier",
                         f"the context specifier {entry!r} is not a DTMI",
                         "Use a DTMI context specifier such as \"dtmi:dtdl:context;3\"", doc, p, value=entry)
                ok = False
                continue
            if not d.has_version:
                self.err("missingContextVersion", f"the context specifier {entry!r} has no version",
                         f"Add a version, e.g. \"{entry};1\"", doc, p, value=entry)
                ok = False
                continue
            if d.minor_version and (version == 2 or (version is None and _declares_v2(entries))):
                self.err("invalidContextSpecifierForVersion",
                         f"the context specifier {entry!r} has a minor version, not allowed in DTDL v2",
                         "Use only a major version in context specifiers", doc, p, value=entry)
                ok = False
                continue
            if d.fragment:
                self.err("disallowedContextFragment", f"the context specifier {entry!r} has a fragment",
                         "Remove the fragment", doc, p, value=entry)
                ok = False
                continue
            if d.labels[:2] == ("dtdl", "context"):
                self.err("unrecognizedContextVersion", f"DTDL context version {d.major_version} is not known",
                         "Use dtmi:dtdl:context;2, ;3 or ;4", doc, p, value=entry)
                ok = False
                continue
            if version is None and not seen_affiliate and not _declares_v2(entries):
                self.err("dtdlContextFollowsAffiliate" if i > 0 else "missingDtdlContext",
                         f"the context {entry!r} comes before the DTDL context",
                         "Put \"dtmi:dtdl:context;3\" first in @context", doc, p, value=entry)
                ok = False
                continue
            if d.labels[:2] == ("dtdl", "limits"):
                if not limitless:
                    self.err("misplacedLimitContext", f"the limits context {entry!r} needs #limitless",
                             "Use \"dtmi:dtdl:context;4#limitless\" before a limits context", doc, p, value=entry)
                    ok = False
                continue
            r = self.extension_entry(entry, version or 2, doc, p)
            if r is None:
                ok = False
            elif r == "undefined":
                undefined = True
            elif isinstance(r, Extension):
                exts.append(r)
        if version is None:
            if ok:
                self.err("missingDtdlContext", "@context does not name a DTDL version",
                         "Put \"dtmi:dtdl:context;3\" (or ;2 / ;4) first in @context", doc, path, value=ctx)
            return None
        if not ok:
            return None
        s = spec(version)
        return Scope(s, tuple(exts), undefined and self.opt.allow_undefined_extensions,
                     tuple(e for e in entries if isinstance(e, str)), limitless)

    def extension_entry(self, entry: str, version: int, doc: int, p: tuple[object, ...]) -> Any:
        """Classify one extension context entry: Extension, 'undefined', or None after an error."""
        s = spec(version)
        if entry in s.extensions:
            return s.extensions[entry]
        for v in (4, 3, 2):
            if entry in spec(v).extensions:
                return spec(v).extensions[entry]
        m = _EXT_RE.match(entry)
        if m and not self.opt.allow_undefined_extensions:
            known = [k for k in s.extensions if k.startswith(f"dtmi:dtdl:extension:{m.group(1)};")]
            if known:
                self.err("unresolvableContextVersion", f"version of extension {entry!r} is not known",
                         f"Use one of {', '.join(known)}", doc, p, value=entry)
                return None
        if entry == "dtmi:iotcentral:context;2" and version != 2:
            self.err("invalidContextSpecifierForVersion", "the IoT Central context needs DTDL v2",
                     "Use dtmi:dtdl:context;2 with it", doc, p, value=entry)
            return None
        if self.opt.allow_undefined_extensions:
            return "undefined"
        self.err("unresolvableContextSpecifier", f"the context {entry!r} is not a known extension",
                 "Remove it, or parse with allow_undefined_extensions=True", doc, p, value=entry)
        return None

    def local_context(self, ctx: Any, scope: Scope, doc: int, path: tuple[object, ...],
                      ctx_owner_type: Any = None, parent_prop: str | None = None) -> Scope | None:
        entries = ctx if isinstance(ctx, list) else [ctx]
        exts = list(scope.extensions)
        undefined = scope.undefined_ext
        for i, entry in enumerate(entries):
            p = path + ((i,) if isinstance(ctx, list) else ())
            if not isinstance(entry, str):
                self.err("disallowedLocalContext" if isinstance(entry, dict) else "invalidContext",
                         f"the local context entry {entry!r} is not a context DTMI",
                         "Use only extension context DTMIs in a nested @context", doc, p, value=entry)
                return None
            base = entry.partition("#")[0]
            if base in DTDL_CONTEXTS:
                earlier_dtdl = any(isinstance(x, str) and x.partition("#")[0] in DTDL_CONTEXTS for x in entries[:i])
                if "#" in entry or ((DTDL_CONTEXTS[base] != 2 or earlier_dtdl) and (
                        exts != list(scope.extensions) or undefined != scope.undefined_ext)):
                    self.err("dtdlContextFollowsAffiliate", "a DTDL context follows an extension context",
                             "Put the DTDL context first", doc, p, value=entry)
                    return None
                if DTDL_CONTEXTS[base] != scope.version:
                    raw_t = ctx_owner_type
                    # an element of an older DTDL version may be embedded where a reference could stand
                    # (contents, extends, schema, ...), not inside the structure of an element
                    if DTDL_CONTEXTS[base] > scope.version or not (
                            raw_t == "Interface" or (isinstance(raw_t, list) and "Interface" in raw_t) or
                            parent_prop in _VERSION_SWITCH_PROPS):
                        self.err("inconsistentContext",
                                 f"a nested element switches to DTDL v{DTDL_CONTEXTS[base]} inside DTDL v{scope.version}",
                                 "Only an Interface of an older DTDL version may be embedded; remove the nested "
                                 "DTDL context", doc, p, value=entry)
                        return None
                    scope = Scope(spec(DTDL_CONTEXTS[base]), (), False, scope.contexts, scope.limitless)
                    exts = []
                    undefined = False
                continue
            d = parse_dtmi(entry)
            if d is None:
                self.err("nonDtmiContextSpecifier" if ":" in entry else "invalidContextSpecifier",
                         f"the context specifier {entry!r} is not a DTMI", "Use an extension context DTMI",
                         doc, p, value=entry)
                return None
            if not d.has_version:
                self.err("missingContextVersion", f"the context specifier {entry!r} has no version",
                         "Add a version", doc, p, value=entry)
                self.err("invalidContextSpecifierForVersion",
                         f"the context specifier {entry!r} is not a valid specifier for DTDL v{scope.version}",
                         "Use a versioned context specifier", doc, p, value=entry)
                return None
            if d.minor_version and scope.version == 2:
                self.err("invalidContextSpecifierForVersion",
                         f"the context specifier {entry!r} has a minor version, not allowed in DTDL v2",
                         "Use only a major version", doc, p, value=entry)
                return None
            if d.fragment:
                self.err("invalidContextSpecifier", f"the context specifier {entry!r} is not valid here",
                         "Use an extension context DTMI", doc, p, value=entry)
                return None
            if d.labels[:2] == ("dtdl", "context"):
                self.err("unrecognizedContextVersion", f"DTDL context version {d.major_version} is not known",
                         "Use the DTDL context of the document", doc, p, value=entry)
                return None
            r = self.extension_entry(entry, scope.version, doc, p)
            if r is None:
                return None
            if r == "undefined":
                undefined = True
            elif isinstance(r, Extension) and r not in exts:
                exts.append(r)
        return Scope(scope.spec, tuple(exts), undefined and self.opt.allow_undefined_extensions,
                     scope.contexts + tuple(e for e in entries if isinstance(e, str)), scope.limitless)



    # ------------------------------------------------------------------ classification
    def classify(self, token: str, scope: Scope) -> str:
        """invalidDtmi | irrelevantDtmiOrTerm | notDtmiNorTerm | undefinedTerm."""
        if token.startswith("dtmi:"):
            return "irrelevantDtmiOrTerm" if parse_dtmi(token) else "invalidDtmi"
        if token in scope.terms():
            return "irrelevantDtmiOrTerm"
        if ":" in token:
            return "notDtmiNorTerm"
        return "undefinedTerm"

    def apocryphal(self, category: str, as_what: str, scope: Scope) -> bool:
        """True when an unknown cotype/property of this category is acceptable in ``scope``."""
        verdict = APOCRYPHA[scope.version][category + as_what]
        if verdict == "valid":
            return True
        if verdict == "tenable":
            return scope.undefined_ext
        return False

    def material_of(self, token: str, scope: Scope) -> str | None:
        s = scope.spec
        if token in s.classes:
            return token
        if token.startswith("dtmi:dtdl:class:"):
            for name in s.classes:
                if token == s.class_dtmi(name):
                    return name
        return None

    def supplemental_of(self, token: str, scope: Scope) -> tuple[str, tuple[str, ...], dict[str, PropDef]] | None:
        exts = list(scope.extensions)
        if scope.spec.builtin_extension:
            exts.insert(0, scope.spec.builtin_extension)
        name = token
        if token.startswith("dtmi:"):
            d = parse_dtmi(token)
            if d is None:
                return None
            if scope.version == 2 and d.labels[:2] == ("standard", "class") and d.major_version == 2:
                name = d.labels[-1]
            elif d.labels[:2] == ("dtdl", "extension"):
                name = d.labels[-1]
            else:
                return None
        for e in exts:
            if name in e.cotypes:
                targets, props = e.cotypes[name]
                if not self.usable(e, scope):
                    return name, (), {}
                return name, targets, props
        return None

    def usable(self, ext: Extension, scope: Scope) -> bool:
        """Whether an extension (as loaded) belongs to the DTDL version of ``scope``."""
        return ext is scope.spec.builtin_extension or scope.spec.extensions.get(ext.context) is ext

    def cotype_source(self, name: str, scope: Scope) -> Extension | None:
        exts = ([scope.spec.builtin_extension] if scope.spec.builtin_extension else []) + list(scope.extensions)
        for e in exts:
            if name in e.cotypes:
                return e
        return None

    # ------------------------------------------------------------------ elements
    def parse_element(self, obj: dict, allowed: tuple[str, ...], scope: Scope, doc: int,
                      path: tuple[object, ...], parent: Elem | None, parent_prop: str | None,
                      top: bool = False, id_required: bool = False) -> Elem | None:
        label = _id_of(obj) or (f"{parent.label()}/{parent_prop}" if parent else None)
        if not top and "@context" in obj:
            new_scope = self.local_context(obj["@context"], scope, doc, path + ("@context",), obj.get("@type"),
                                           parent_prop)
            if new_scope is None:
                return None
            scope = new_scope
        for key in obj:
            if isinstance(key, str) and key.startswith("@") and key not in ALLOWED_KEYWORDS and (
                    scope.version >= 3 or key == "@graph"):
                rule = "graphDisallowed" if key == "@graph" else (
                    "topLevelKeywordDisallowed" if top else "keywordDisallowed")
                self.err(rule, f"the JSON-LD keyword {key} is not allowed in a DTDL element",
                         f"Remove {key}", doc, path + (key,), element=label)
        cls, cotypes, open_cotype, bad = self.read_types(obj, allowed, scope, doc, path, label, top)
        if cls is None:
            return None
        cdef = scope.spec.classes[cls]
        elem = Elem(cls=cls, id=None, doc=doc, path=path, raw=obj, scope=scope, parent=parent,
                    parent_prop=parent_prop, cotypes=cotypes, open_cotype=open_cotype,
                    tolerant=self.tolerant(scope), inferred="@type" not in obj)
        self.all.append(elem)
        self.read_id(obj, elem, cdef, top, id_required, label)
        extra_props: dict[str, PropDef] = {}
        for ct in cotypes:
            sup = self.supplemental_of(ct, scope)
            if sup:
                extra_props.update(sup[2])
        self.read_props(obj, elem, cdef, extra_props, label)
        self.check_cotype_rules(elem, extra_props, label)
        return elem

    def read_types(self, obj: dict, allowed: tuple[str, ...], scope: Scope, doc: int, path: tuple[object, ...],
                   label: str | None, top: bool) -> tuple[str | None, list[str], bool, bool]:
        if "@type" not in obj:
            if len(allowed) == 1 and not top and allowed[0] not in ("Interface", "Property"):
                return allowed[0], [], False, False
            if top:
                self.err("typeNotRootable", "the top-level element has no @type", "Add \"@type\": \"Interface\"",
                         doc, path, element=label)
            self.err("badType", "the element has no @type",
                     f"Add \"@type\": \"{allowed[0]}\"" if len(allowed) == 1 else
                     f"Add an @type, one of {', '.join(allowed)}", doc, path, element=label)
            return None, [], False, True
        raw = obj["@type"]
        if isinstance(raw, str) and raw in allowed and raw in scope.spec.classes:
            return raw, [], False, False
        types = raw if isinstance(raw, list) else [raw]
        if not types or not all(isinstance(t, str) for t in types):
            self.err("badType", f"@type {raw!r} is not a string or an array of strings",
                     "Give @type as a class name or an array of names", doc, path + ("@type",), element=label,
                     value=raw)
            return None, [], False, True
        materials: list[str] = []
        cotypes: list[str] = []
        unknown: list[tuple[str, str, tuple[object, ...]]] = []
        for i, t in enumerate(types):
            p = path + ("@type",) + ((i,) if isinstance(raw, list) else ())
            m = self.material_of(t, scope)
            if m is not None:
                if m not in materials:
                    materials.append(m)
                continue
            sup = self.supplemental_of(t, scope)
            if sup is not None:
                if sup[0] not in cotypes:
                    cotypes.append(sup[0])
                continue
            unknown.append((t, self.classify(t, scope), p))
        open_cotype = bool(unknown)
        bad = False
        irrelevant = False
        for t, cat, p in unknown:
            if cat == "invalidDtmi":
                self.err("typeInvalidDtmi", f"@type {t!r} is not a valid DTMI", "Correct the DTMI in @type",
                         doc, p, element=label, value=t)
                bad = True
            elif not materials or not self.apocryphal(cat, "AsCotype", scope):
                rule = {"irrelevantDtmiOrTerm": "typeIrrelevantDtmiOrTerm", "notDtmiNorTerm": "typeNotDtmiNorTerm",
                        "undefinedTerm": "typeUndefinedTerm"}[cat]
                if cat == "irrelevantDtmiOrTerm" and not top:
                    irrelevant = True
                if materials or cat != "irrelevantDtmiOrTerm":
                    self.err(rule, f"@type {t!r} is not a type that can be used here",
                             "Remove it, or add the extension context that defines it (and allow undefined "
                             "extensions if it is not a standard one)", doc, p, element=label, value=t)
                bad = True
        if not materials:
            if top:
                self.err("typeNotRootable", f"@type {raw!r} includes no element class",
                         "Use \"@type\": \"Interface\"", doc, path + ("@type",), element=label, value=raw)
            self.err("badType", f"@type {raw!r} includes none of {', '.join(allowed)}",
                     f"Add one of {', '.join(allowed)} to @type", doc, path + ("@type",), element=label, value=raw)
            return None, cotypes, open_cotype, True
        if len(materials) > 1:
            self.err("multipleMaterialTypes", f"@type names several element classes: {', '.join(materials)}",
                     "Keep exactly one element class in @type", doc, path + ("@type",), element=label, value=raw)
            return None, cotypes, open_cotype, True
        cls = materials[0]
        if cls not in allowed:
            rule = "typeNotRootable" if top else "badType"
            self.err(rule, f"a {cls} is not allowed here", f"Use one of {', '.join(allowed)}",
                     doc, path + ("@type",), element=label, value=raw)
            return None, cotypes, open_cotype, True
        if irrelevant:
            self.err("badType", f"@type {raw!r} includes a term that is not a type of a {cls}",
                     "Remove it from @type", doc, path + ("@type",), element=label, value=raw)
        if bad and any(c == "invalidDtmi" for _, c, _ in unknown):
            return None, cotypes, open_cotype, True
        return cls, cotypes, open_cotype, False

    def read_id(self, obj: dict, elem: Elem, cdef: ClassDef, top: bool, id_required: bool,
                label: str | None) -> None:
        doc, path, s = elem.doc, elem.path, elem.scope.spec
        if "@id" not in obj:
            if cdef.id_required_top or id_required:
                rule = "missingTopLevelId" if top else "missingRequiredId"
                self.err(rule, f"the {elem.cls} has no @id", "Add an @id such as \"dtmi:com:example:Thing;1\"",
                         doc, path, element=label)
            return
        raw = obj["@id"]
        p = path + ("@id",)
        if not isinstance(raw, str):
            self.err("idNotString", f"@id {raw!r} is not a string", "Give @id as a DTMI string", doc, p,
                     element=label, value=raw)
            return
        d = parse_dtmi(raw)
        if d is None:
            self.err("invalidId", f"@id {raw!r} is not a valid DTMI",
                     "Use the form dtmi:<segment>(:<segment>)*;<version>, segments start with a letter",
                     doc, p, element=label, value=raw)
            return
        if s.version == 2 and (not d.has_version or d.minor_version):
            self.err("invalidId", f"@id {raw!r} needs a major version only in DTDL v2",
                     f"Change @id to {d.versionless};1", doc, p, element=label, value=raw)
            return
        if d.fragment and "Layer" in elem.cotypes:
            # a layer of the element with the unfragmented @id (layering extension); layers are only
            # valid inside layers, and a top-level layer was already rejected, so this one is misplaced
            self.err("mismatchedLayers", f"layer {raw!r} is nested in an element that is not a layer",
                     "Put layers only inside layers of the same name", doc, p, element=label, value=raw)
            self.err("invalidId", f"@id {raw!r} has a fragment", f"Remove the fragment: {raw.partition('#')[0]}",
                     doc, p, element=label, value=raw)
            return
        if d.fragment:
            self.err("disallowedIdFragment", f"@id {raw!r} has a fragment",
                     f"Remove the fragment: {raw.partition('#')[0]}", doc, p, element=label, value=raw)
            return
        if any(e.reserved_prefix and raw.startswith(e.reserved_prefix) for e in elem.scope.extensions):
            self.err("reservedId", f"@id {raw!r} uses a prefix reserved for an extension in @context",
                     "Choose an @id outside the extension's namespace", doc, p, element=label, value=raw)
            return
        if has_reserved_prefix(raw) and not self.tolerant(elem.scope):
            self.err("reservedId", f"@id {raw!r} uses a prefix reserved for DTDL",
                     "Choose an @id outside dtmi:dtdl: and dtmi:standard:", doc, p, element=label, value=raw)
            return
        if d.is_reserved:
            self.err("reservedId", f"@id {raw!r} has a segment starting with '_', reserved for generated IDs",
                     "Remove the leading underscore", doc, p, element=label, value=raw)
            return
        limit = s.max_interface_id_length if elem.cls == "Interface" and s.version >= 3 else s.max_id_length
        if s.version == 2 and elem.cls == "Interface":
            limit = s.max_interface_id_length
        if len(raw) > limit:
            self.err("idTooLong", f"@id is {len(raw)} characters, more than {limit}",
                     f"Shorten the @id to at most {limit} characters", doc, p, element=label, value=raw)
            return
        if raw in self.by_id:
            other = self.by_id[raw]
            self.err("duplicateDefinition", f"@id {raw} is defined more than once",
                     f"Give one of the elements (the other is in document {other.doc} at "
                     f"{'/'.join(map(str, other.path)) or '/'}) a different @id", doc, p, element=raw, value=raw)
            return
        elem.id = raw
        self.by_id[raw] = elem

    def resolve_key(self, key: str, cdef: ClassDef, extra: dict[str, PropDef], scope: Scope) -> PropDef | None:
        if key in cdef.props:
            return cdef.props[key]
        if key in extra:
            return extra[key]
        if key.startswith("dtmi:"):
            for name, pd in cdef.props.items():
                if key == scope.spec.property_dtmi(name):
                    return pd
            d = parse_dtmi(key)
            if d and scope.version == 2 and d.labels[:2] == ("dtdl", "property") and d.major_version == 2:
                if d.labels[-1] in extra:
                    return extra[d.labels[-1]]
        return None

    def read_props(self, obj: dict, elem: Elem, cdef: ClassDef, extra: dict[str, PropDef],
                   label: str | None) -> None:
        scope, doc = elem.scope, elem.doc
        seen: dict[str, str] = {}
        for key, value in obj.items():
            if not isinstance(key, str) or key.startswith("@"):
                continue
            p = elem.path + (key,)
            pd = self.resolve_key(key, cdef, extra, scope)
            if pd is None:
                cat = self.classify(key, scope)
                if cat == "invalidDtmi" and scope.version >= 3:
                    self.err("propertyInvalidDtmi", f"property {key!r} is not a valid DTMI",
                             "Correct or remove the property", doc, p, element=label, value=key)
                elif not elem.open_cotype:
                    rule = {"invalidDtmi": "propertyInvalidDtmi",
                            "irrelevantDtmiOrTerm": "propertyIrrelevantDtmiOrTerm",
                            "notDtmiNorTerm": "propertyNotDtmiNorTerm",
                            "undefinedTerm": "propertyUndefinedTerm"}[cat]
                    self.err(rule, f"a {elem.cls} has no property {key!r}",
                             f"Remove {key!r} or correct its name (properties of {elem.cls}: "
                             f"{', '.join(sorted(cdef.props))})", doc, p, element=label, value=key)
                    # every type of the element is known, and none of them defines the property
                    self.err("inferredTypeDoesNotAllow" if elem.inferred else "noTypeThatAllows",
                             f"no type of this {elem.cls} allows the property {key!r}",
                             f"Remove {key!r}, or add a co-type that defines it", doc, p, element=label,
                             value=key, prop=key)
                elif not self.apocryphal(cat, "AsProperty", scope):
                    rule = {"invalidDtmi": "propertyInvalidDtmi",
                            "irrelevantDtmiOrTerm": "propertyIrrelevantDtmiOrTerm",
                            "notDtmiNorTerm": "propertyNotDtmiNorTerm",
                            "undefinedTerm": "propertyUndefinedTerm"}[cat]
                    self.err(rule, f"property {key!r} is not defined for a {elem.cls}",
                             "Remove it, or add (and allow) the extension context that defines it", doc, p,
                             element=label, value=key)
                continue
            if pd.name in seen:
                self.err("duplicatePropertyName", f"property {pd.name} is given twice (as {seen[pd.name]!r} and {key!r})",
                         f"Keep only \"{pd.name}\"", doc, p, element=label, value=key, prop=pd.name)
                continue
            seen[pd.name] = key
            elem.prop_paths[pd.name] = p
            self.read_value(elem, pd, value, p, label)
        for name, pd in list(cdef.props.items()) + list(extra.items()):
            val = elem.props.get(name)
            present = [x for x in val if x is not None] if isinstance(val, list) else val
            if pd.required and (name not in elem.props or present in (None, [])):
                if name in seen and name not in elem.props:
                    continue  # value already reported as bad
                if name in seen:
                    rule = "objectCountBelowMin" if pd.kind == "object" else f"{_kind_word(pd)}CountBelowMin"
                elif name in extra:
                    rule = ("missingSupplementalObjectProperty" if pd.kind == "object"
                            else "missingSupplementalLiteralProperty")
                elif pd.kind == "object":
                    rule = "missingObjectProperty"
                elif name == "name" and elem.id is None and elem.parent is not None:
                    # the name would have formed the element's generated identifier
                    self.err("missingDtmiSegPropertyValue", f"an element of '{elem.parent_prop}' has no name",
                             "Add a \"name\"", elem.doc, elem.path, element=label, prop=elem.parent_prop)
                    continue
                else:
                    rule = "missingLiteralProperty"
                    if name == "name" and elem.parent is not None and elem.parent_prop in _NAME_KEYED:
                        self.err("missingDictKeyPropertyValue", f"an element of '{elem.parent_prop}' has no name",
                                 "Add a \"name\"", elem.doc, elem.path, element=label, prop=elem.parent_prop)
                self.err(rule, f"the {elem.cls} has no '{name}'", f"Add \"{name}\" to the {elem.cls}", elem.doc,
                         elem.path, element=label, prop=name)

    def read_value(self, elem: Elem, pd: PropDef, value: Any, p: tuple[object, ...], label: str | None) -> None:
        doc = elem.doc
        if value is None:
            self.err("propertyValueNull", f"'{pd.name}' is null", f"Give '{pd.name}' a value or remove it",
                     doc, p, element=label, prop=pd.name)
            return
        try:
            if pd.kind == "langstring":
                elem.props[pd.name] = lang_string(_lenient(value, "@type") if elem.scope.version == 2 else value,
                                                  pd.max_length, elem.scope.version)
            elif pd.kind in ("string", "integer", "boolean"):
                v = single_literal(value, pd.kind, elem.scope.version)
                if v is not None:
                    self.check_literal(pd, v)
                elem.props[pd.name] = v
            elif pd.kind == "choice":
                v = single_literal(value, "string")
                if v is not None:
                    v = self.check_choice(pd, v, elem)
                elem.props[pd.name] = v
            elif pd.kind == "enumvalue":
                items = as_list(value)
                if len(items) != 1:
                    raise ValueError_("objectMultipleValues" if items else "missingLiteralProperty",
                                      "enumValue must have exactly one value", "Give one integer or string")
                item = items[0]
                if isinstance(item, dict):
                    kind = _declared_kind(item)
                    if kind is None:
                        kind = "integer" if isinstance(item.get("@value"), int) else "string"
                    try:
                        item = literal(item, kind, elem.scope.version)
                    except ValueError_ as e:
                        if e.rule.endswith(("ValueNotInteger", "ValueNotString", "ValueNotBoolean")):
                            self.err("literalNotValid", f"'{pd.name}': the value object is not a valid literal",
                                     "Make @value match its @type", doc, p, element=label, value=value,
                                     prop=pd.name)
                        raise
                if not isinstance(item, (int, str)) or isinstance(item, bool):
                    raise ValueError_("literalNotValid", f"enumValue {item!r} is not an integer or string",
                                      "Give an integer or a string")
                elem.props[pd.name] = item
            elif pd.kind == "identifier":
                items = as_list(value)
                if len(items) > 1:
                    raise ValueError_("identifierMultipleValues", "more than one DTMI given", "Give one DTMI")
                v = items[0] if items else None
                if v is not None and not isinstance(v, str):
                    raise ValueError_("identifierNotString", f"{v!r} is not a DTMI string",
                                      "Give the DTMI as a plain JSON string")
                d = parse_dtmi(v) if v is not None else None
                if v is not None and (d is None or d.is_reserved or (elem.scope.version == 2 and not d.has_version)):
                    raise ValueError_("identifierNotDtmi", f"{v!r} is not a valid DTMI",
                                      "Give the DTMI of an Interface, e.g. dtmi:com:example:Pump;1")
                elem.props[pd.name] = v
            elif pd.kind == "object":
                elem.props[pd.name] = self.read_objects(elem, pd, value, p, label)
            elif pd.kind == "any":
                elem.props[pd.name] = value
        except ValueError_ as e:
            self.err(e.rule, f"'{pd.name}': {e.cause}", e.action, doc, p, element=label, value=value, prop=pd.name)
        except RecursionError:
            self.err("excessiveDepthNarrow", "the element is nested too deeply", "Flatten the model", doc, p,
                     element=label)

    def has_semantics(self, scope: Scope) -> bool:
        return scope.spec.builtin_extension is not None or any(
            e.context.startswith("dtmi:dtdl:extension:quantitativeTypes") for e in scope.extensions)

    def check_literal(self, pd: PropDef, v: Any) -> None:
        if isinstance(v, str):
            if pd.max_length is not None and len(v) > pd.max_length:
                raise ValueError_("stringTooLong", f"the value is {len(v)} characters, more than {pd.max_length}",
                                  f"Shorten it to at most {pd.max_length} characters")
            if pd.pattern and not _compiled(pd.pattern).match(v):
                raise ValueError_("stringInvalid", f"{v!r} does not match {pd.pattern}",
                                  "Use letters, digits and underscores, starting with a letter and not "
                                  "ending with an underscore")
        if isinstance(v, int) and not isinstance(v, bool):
            if pd.exact_value is not None and v != pd.exact_value:
                raise ValueError_("valueNotExact", f"the value {v} must be {pd.exact_value}",
                                  f"Change it to {pd.exact_value}")
            if pd.min_value is not None and v < pd.min_value:
                raise ValueError_("valueBelowMin", f"the value {v} is below the minimum {pd.min_value}",
                                  f"Change it to at least {pd.min_value}")
            if pd.max_value is not None and v > pd.max_value:
                raise ValueError_("valueAboveMax", f"the value {v} is above the maximum {pd.max_value}",
                                  f"Change it to at most {pd.max_value}")

    def check_choice(self, pd: PropDef, v: str, elem: Elem) -> str:
        name = v
        if v.startswith("dtmi:"):
            d = parse_dtmi(v)
            name = d.labels[-1] if d else v
        if pd.name == "unit":
            from .units import ALL_UNITS
            if name not in ALL_UNITS:
                raise ValueError_("incorrectPropertyValue", f"{v!r} is not a unit",
                                  "Use a unit name from the QuantitativeTypes table, e.g. \"volt\"")
            return name
        if name not in pd.choices:
            raise ValueError_("incorrectPropertyValue", f"{v!r} is not one of {', '.join(pd.choices)}",
                              f"Change it to one of {', '.join(pd.choices)}")
        return name

    def read_objects(self, elem: Elem, pd: PropDef, value: Any, p: tuple[object, ...], label: str | None) -> list[Any]:
        items = as_list(value)
        if pd.max_count == 1 and len(items) > 1:
            raise ValueError_("objectMultipleValues", f"{len(items)} values given where one is allowed",
                              "Give a single value")
        if pd.max_count is not None and pd.max_count > 1 and len(items) > pd.max_count:
            raise ValueError_("objectCountAboveMax", f"{len(items)} values, more than the limit {pd.max_count}",
                              f"Reduce '{pd.name}' to at most {pd.max_count} entries")
        out: list[Any] = []
        s = elem.scope.spec
        for i, item in enumerate(items):
            ip = p + ((i,) if isinstance(value, list) else ())
            if isinstance(item, str):
                prim = None
                if item in pd.instances:
                    prim = item
                elif pd.instances and pd.name in ("schema", "elementSchema") and any(
                        item in e.schemas for e in elem.scope.extensions):
                    prim = item
                elif pd.name == "schema" and item in UNIT_TYPES and self.has_semantics(elem.scope):
                    prim = item
                elif item.startswith("dtmi:"):
                    for cand in pd.instances:
                        if item == s.primitive_dtmi(cand):
                            prim = cand
                if prim is not None:
                    out.append(Prim(prim))
                    continue
                d = parse_dtmi(item)
                if d is None or not pd.classes or not pd.allow_refs:
                    self.err("refNotStringOrObject" if d is None else "badDtmiOrTerm",
                             f"'{pd.name}' value {item!r} is not " +
                             ("an allowed schema or a DTMI" if pd.instances else "a valid reference"),
                             (f"Use one of {', '.join(pd.instances[:12])}" if pd.instances else
                              "Give the element inline or as a DTMI") +
                             ("" if not pd.classes else " or the DTMI of a " + "/".join(pd.classes)),
                             elem.doc, ip, element=label, value=item, prop=pd.name)
                    continue
                if s.version == 2 and not d.has_version:
                    self.err("badDtmiOrTerm", f"reference {item!r} has no version", "Add a version", elem.doc, ip,
                             element=label, value=item, prop=pd.name)
                    continue
                out.append(Ref(item, ip))
            elif isinstance(item, dict) and "@id" in item and all(k == "@id" for k in item):
                ref = item["@id"]
                if not self.tolerant(elem.scope):
                    self.err("idReference", f"'{pd.name}' value is an object holding only an @id",
                             "Give the DTMI as a plain string, or the complete element", elem.doc, ip,
                             element=label, value=ref, prop=pd.name)
                elif not isinstance(ref, str) or parse_dtmi(ref) is None or not pd.classes:
                    self.err("idRefBadDtmiOrTerm", f"'{pd.name}' refers to {ref!r}, which is not a DTMI",
                             "Give a valid DTMI", elem.doc, ip, element=label, value=ref, prop=pd.name)
                else:
                    out.append(Ref(ref, ip))
            elif isinstance(item, dict):
                if not pd.classes:
                    self.err("refObjectNotAllowed", f"'{pd.name}' must be one of {', '.join(pd.instances)}",
                             f"Use one of {', '.join(pd.instances)}", elem.doc, ip, element=label, prop=pd.name)
                    continue
                child = self.parse_element(item, pd.classes, elem.scope, elem.doc, ip, elem, pd.name,
                                           id_required=pd.id_required)
                if child is not None:
                    out.append(child)
                else:
                    out.append(None)
            else:
                self.err("refNotStringOrObject", f"'{pd.name}' value {item!r} is not a string or object",
                         "Give an element object or a DTMI string", elem.doc, ip, element=label, value=item,
                         prop=pd.name)
        return out

    def check_cotype_rules(self, elem: Elem, extra: dict[str, PropDef], label: str | None) -> None:
        if not elem.cotypes:
            return
        scope = elem.scope
        sem = [c for c in elem.cotypes if c in scope.spec.semantic_types]
        for ct in elem.cotypes:
            sup = self.supplemental_of(ct, scope)
            if sup and elem.cls not in sup[1]:
                self.err("invalidCotype", f"co-type {ct} cannot be applied to a {elem.cls} in DTDL v{scope.version}",
                         f"Remove {ct} from @type" + (f" (it applies to {', '.join(sup[1])})" if sup[1] else ""),
                         elem.doc, elem.path + ("@type",), element=label, value=ct)
                src = self.cotype_source(ct, scope)
                other = [v for v in (2, 3, 4) if v != scope.version and src is not None and
                         src.context in spec(v).extensions and
                         ct in spec(v).extensions[src.context].cotypes and
                         elem.cls in spec(v).extensions[src.context].cotypes[ct][0]]
                if other or (src is not None and not self.usable(src, scope)):
                    self.err("invalidCotypeVersion",
                             f"co-type {ct} of {src.context if src else '?'} is not usable with a {elem.cls} in "
                             f"DTDL v{scope.version}" + (f" (only in v{', v'.join(map(str, other))})" if other else ""),
                             "Use the extension version that matches the DTDL version, or remove the co-type",
                             elem.doc, elem.path + ("@type",), element=label, value=ct)
        for ct in elem.cotypes:
            src = self.cotype_source(ct, scope)
            rule = src.schema_rules.get(ct) if src is not None else None
            schema = elem.props.get("schema")
            if rule is None or not schema or schema[0] is None:
                continue
            kind, allowed = rule
            item = schema[0]
            got = item.name if isinstance(item, Prim) else (item.cls if isinstance(item, Elem) else None)
            if got is not None and got not in allowed:
                self.err("notRequiredType" if kind == "type" else "notRequiredValue",
                         f"co-type {ct} needs a schema among {', '.join(allowed)}, not {got}",
                         f"Change schema to one of {', '.join(allowed)}", elem.doc,
                         elem.prop_paths.get("schema", elem.path), element=label, value=got, prop="schema")
        if len(sem) > 1:
            self.err("multipleSemanticTypes" if False else "conflictingSupplementalTypes",
                     f"several semantic types are given: {', '.join(sem)}", "Keep one semantic type", elem.doc,
                     elem.path + ("@type",), element=label, value=sem)
        if sem:
            unit = elem.props.get("unit")
            if unit is None and "unit" not in elem.prop_paths:
                self.err("missingSupplementalObjectProperty", f"semantic type {sem[0]} needs a 'unit'",
                         f"Add \"unit\" with a unit of {scope.spec.semantic_types[sem[0]]}", elem.doc, elem.path,
                         element=label, prop="unit")
            unit_type = scope.spec.semantic_types[sem[0]]
            from .units import units_of
            if isinstance(unit, str) and unit not in units_of(unit_type):
                self.err("incorrectPropertyValue",
                         f"unit {unit!r} is not a {unit_type} as semantic type {sem[0]} requires",
                         f"Change unit to one of {', '.join(sorted(units_of(unit_type)))}", elem.doc,
                         elem.prop_paths.get("unit", elem.path), element=label, value=unit, prop="unit")
            schema = elem.props.get("schema")
            if schema and isinstance(schema[0], Prim) and schema[0].name not in _numeric():
                self.err("notRequiredType" if False else "incompatibleType",
                         f"semantic type {sem[0]} needs a numeric schema, not {schema[0].name}",
                         "Change schema to double, float, integer or long", elem.doc,
                         elem.prop_paths.get("schema", elem.path), element=label, value=schema[0].name)


_PATTERNS: dict[str, re.Pattern[str]] = {}


def _compiled(pattern: str) -> re.Pattern[str]:
    rx = _PATTERNS.get(pattern)
    if rx is None:
        rx = _PATTERNS[pattern] = re.compile(pattern)
    return rx


def _lenient(value: Any, drop: str = "@language") -> Any:
    """DTDL v2 tolerates (recommends against) an extra @language/@type in value objects."""
    if isinstance(value, dict) and "@value" in value and drop in value:
        return {k: v for k, v in value.items() if k != drop}
    if isinstance(value, list):
        return [_lenient(v, drop) for v in value]
    return value


_VERSION_SWITCH_PROPS = frozenset({"contents", "extends", "schema", "elementSchema", "properties"})
_NAME_KEYED = frozenset({"contents", "fields", "enumValues", "properties"})


def _kind_word(pd: PropDef) -> str:
    return {"langstring": "langString", "choice": "string", "enumvalue": "literal",
            "identifier": "identifier"}.get(pd.kind, pd.kind)


def _declares_v2(entries: list) -> bool:
    """DTDL v2 (unlike v3+) does not require its context to precede affiliate contexts."""
    return "dtmi:dtdl:context;2" in entries


def _declared_kind(obj: dict) -> str | None:
    """The literal kind a value object's @type declares (xsd:integer -> 'integer'), if any."""
    t = obj.get("@type")
    if isinstance(t, list) and len(t) == 1:
        t = t[0]
    if not isinstance(t, str):
        return None
    name = t.rsplit(":", 1)[-1].rsplit("#", 1)[-1]
    return {"integer": "integer", "int": "integer", "string": "string", "boolean": "boolean"}.get(name)


def _numeric() -> frozenset[str]:
    from .metamodel import NUMERIC
    return NUMERIC


def _id_of(obj: dict) -> str | None:
    v = obj.get("@id")
    return v if isinstance(v, str) else None
