"""Reading one element: its context, @type, @id and properties, and the elements nested in them.

The recursion over nested elements runs ``parse_element`` -> ``read_props`` -> ``read_value`` ->
``read_objects`` -> ``parse_element``.  Checks along the way are leaf calls that return before
the next level starts: the stack used per nesting level decides how deeply a model may nest
before it is reported as ``excessiveDepthNarrow``, so a helper must not be put on that chain.
"""
from __future__ import annotations

from typing import Any

from .context_reading import read_local_context
from .cotype_rules import check_cotype_rules
from .dtmi import parse_dtmi
from .elements import Element, Primitive, Reference, Scope
from .id_reading import read_id
from .literal_reading import read_literal
from .metamodel import ClassDef, PropDef
from .parse_state import ParseState
from .type_reading import read_types
from .units import UNIT_TYPES
from .values import LiteralProblem, as_list
from .vocabulary import apocryphal, classify, has_semantics, supplemental_of

ALLOWED_KEYWORDS = ("@id", "@type", "@context")
_UNKNOWN_PROPERTY_RULES = {"invalidDtmi": "propertyInvalidDtmi", "irrelevantDtmiOrTerm": "propertyIrrelevantDtmiOrTerm",
                           "notDtmiNorTerm": "propertyNotDtmiNorTerm", "undefinedTerm": "propertyUndefinedTerm"}
#: Properties whose elements are told apart by their names (a missing name is a missing key).
_NAME_KEYED = frozenset({"contents", "fields", "enumValues", "properties"})


def parse_element(state: ParseState, obj: dict, allowed: tuple[str, ...], scope: Scope, doc: int,
                  path: tuple[object, ...], parent: Element | None, parent_prop: str | None,
                  top: bool = False, id_required: bool = False) -> Element | None:
    """Read ``obj`` as an element of one of the ``allowed`` classes; None when it has no usable class."""
    label = _id_of(obj) or (f"{parent.label()}/{parent_prop}" if parent else None)
    if not top and "@context" in obj:
        nested_scope = read_local_context(state, obj["@context"], scope, doc, path + ("@context",),
                                          obj.get("@type"), parent_prop)
        if nested_scope is None:
            return None
        scope = nested_scope
    _check_keywords(state, obj, scope, doc, path, label, top)
    types = read_types(state, obj, allowed, scope, doc, path, label, top)
    if types.cls is None:
        return None
    class_def = scope.spec.classes[types.cls]
    element = Element(cls=types.cls, id=None, doc=doc, path=path, raw=obj, scope=scope, parent=parent,
                      parent_prop=parent_prop, cotypes=types.cotypes, open_cotype=types.open_cotype,
                      tolerant=state.tolerant(scope), inferred="@type" not in obj)
    state.elements.append(element)
    read_id(state, obj, element, class_def, top, id_required, label)
    extra_props: dict[str, PropDef] = {}
    for cotype in types.cotypes:
        supplemental = supplemental_of(cotype, scope)
        if supplemental:
            extra_props.update(supplemental[2])
    read_props(state, obj, element, class_def, extra_props, label)
    check_cotype_rules(state, element, label)
    return element


def _check_keywords(state: ParseState, obj: dict, scope: Scope, doc: int, path: tuple[object, ...],
                    label: str | None, top: bool) -> None:
    """JSON-LD keywords other than @id/@type/@context are not DTDL (v2 only rejects @graph)."""
    for key in obj:
        if isinstance(key, str) and key.startswith("@") and key not in ALLOWED_KEYWORDS and (
                scope.version >= 3 or key == "@graph"):
            rule = "graphDisallowed" if key == "@graph" else (
                "topLevelKeywordDisallowed" if top else "keywordDisallowed")
            state.report(rule, f"the JSON-LD keyword {key} is not allowed in a DTDL element",
                         f"Remove {key}", doc, path + (key,), element=label)


def resolve_key(key: str, class_def: ClassDef, extra: dict[str, PropDef], scope: Scope) -> PropDef | None:
    """The property a JSON key names: by term, by property DTMI, or as a co-type's property."""
    if key in class_def.props:
        return class_def.props[key]
    if key in extra:
        return extra[key]
    if key.startswith("dtmi:"):
        for name, prop_def in class_def.props.items():
            if key == scope.spec.property_dtmi(name):
                return prop_def
        dtmi = parse_dtmi(key)
        if dtmi and scope.version == 2 and dtmi.labels[:2] == ("dtdl", "property") and dtmi.major_version == 2:
            if dtmi.labels[-1] in extra:
                return extra[dtmi.labels[-1]]
    return None


def read_props(state: ParseState, obj: dict, element: Element, class_def: ClassDef, extra: dict[str, PropDef],
               label: str | None) -> None:
    """Read every property of ``obj`` into ``element``; then report required ones that are missing."""
    seen: dict[str, str] = {}
    for key, value in obj.items():
        if not isinstance(key, str) or key.startswith("@"):
            continue
        path = element.path + (key,)
        prop_def = resolve_key(key, class_def, extra, element.scope)
        if prop_def is None:
            _report_unknown_property(state, element, class_def, key, path, label)
            continue
        if prop_def.name in seen:
            state.report("duplicatePropertyName",
                         f"property {prop_def.name} is given twice (as {seen[prop_def.name]!r} and {key!r})",
                         f"Keep only \"{prop_def.name}\"", element.doc, path, element=label, value=key,
                         prop=prop_def.name)
            continue
        seen[prop_def.name] = key
        element.prop_paths[prop_def.name] = path
        read_value(state, element, prop_def, value, path, label)
    _check_required(state, element, class_def, extra, seen, label)


def _report_unknown_property(state: ParseState, element: Element, class_def: ClassDef, key: str,
                             path: tuple[object, ...], label: str | None) -> None:
    """A key no type of the element defines: reported unless an unknown co-type may define it."""
    scope, doc = element.scope, element.doc
    category = classify(key, scope)
    if category == "invalidDtmi" and scope.version >= 3:
        state.report("propertyInvalidDtmi", f"property {key!r} is not a valid DTMI",
                     "Correct or remove the property", doc, path, element=label, value=key)
    elif not element.open_cotype:
        state.report(_UNKNOWN_PROPERTY_RULES[category], f"a {element.cls} has no property {key!r}",
                     f"Remove {key!r} or correct its name (properties of {element.cls}: "
                     f"{', '.join(sorted(class_def.props))})", doc, path, element=label, value=key)
        # every type of the element is known, and none of them defines the property
        state.report("inferredTypeDoesNotAllow" if element.inferred else "noTypeThatAllows",
                     f"no type of this {element.cls} allows the property {key!r}",
                     f"Remove {key!r}, or add a co-type that defines it", doc, path, element=label,
                     value=key, prop=key)
    elif not apocryphal(category, "AsProperty", scope):
        state.report(_UNKNOWN_PROPERTY_RULES[category], f"property {key!r} is not defined for a {element.cls}",
                     "Remove it, or add (and allow) the extension context that defines it", doc, path,
                     element=label, value=key)


def _check_required(state: ParseState, element: Element, class_def: ClassDef, extra: dict[str, PropDef],
                    seen: dict[str, str], label: str | None) -> None:
    """Report each required property that is absent, or present with no usable value."""
    for name, prop_def in list(class_def.props.items()) + list(extra.items()):
        value = element.props.get(name)
        present = [item for item in value if item is not None] if isinstance(value, list) else value
        if not prop_def.required or (name in element.props and present not in (None, [])):
            continue
        if name in seen and name not in element.props:
            continue  # value already reported as bad
        if name in seen:
            rule = "objectCountBelowMin" if prop_def.kind == "object" else f"{_kind_word(prop_def)}CountBelowMin"
        elif name in extra:
            rule = ("missingSupplementalObjectProperty" if prop_def.kind == "object"
                    else "missingSupplementalLiteralProperty")
        elif prop_def.kind == "object":
            rule = "missingObjectProperty"
        elif name == "name" and element.id is None and element.parent is not None:
            # the name would have formed the element's generated identifier
            state.report("missingDtmiSegPropertyValue", f"an element of '{element.parent_prop}' has no name",
                         "Add a \"name\"", element.doc, element.path, element=label, prop=element.parent_prop)
            continue
        else:
            rule = "missingLiteralProperty"
            if name == "name" and element.parent is not None and element.parent_prop in _NAME_KEYED:
                state.report("missingDictKeyPropertyValue", f"an element of '{element.parent_prop}' has no name",
                             "Add a \"name\"", element.doc, element.path, element=label, prop=element.parent_prop)
        state.report(rule, f"the {element.cls} has no '{name}'", f"Add \"{name}\" to the {element.cls}",
                     element.doc, element.path, element=label, prop=name)


def read_value(state: ParseState, element: Element, prop_def: PropDef, value: Any, path: tuple[object, ...],
               label: str | None) -> None:
    """Store the value of one property in ``element.props``, or report why it cannot be read."""
    if value is None:
        state.report("propertyValueNull", f"'{prop_def.name}' is null", f"Give '{prop_def.name}' a value or remove it",
                     element.doc, path, element=label, prop=prop_def.name)
        return
    try:
        if prop_def.kind == "object":
            element.props[prop_def.name] = read_objects(state, element, prop_def, value, path, label)
        else:
            element.props[prop_def.name] = read_literal(state, element, prop_def, value, path, label)
    except LiteralProblem as problem:
        state.report(problem.rule, f"'{prop_def.name}': {problem.cause}", problem.action, element.doc, path,
                     element=label, value=value, prop=prop_def.name)
    except RecursionError:
        state.report("excessiveDepthNarrow", "the element is nested too deeply", "Flatten the model", element.doc,
                     path, element=label)


def read_objects(state: ParseState, element: Element, prop_def: PropDef, value: Any, path: tuple[object, ...],
                 label: str | None) -> list[Any]:
    """The values of an object property: nested elements, references and schema names (None: unusable)."""
    items = as_list(value)
    _check_object_count(prop_def, items)
    read: list[Any] = []
    for index, item in enumerate(items):
        item_path = path + ((index,) if isinstance(value, list) else ())
        if isinstance(item, str):
            by_name = _read_object_name(state, element, prop_def, item, item_path, label)
            if by_name is not None:
                read.append(by_name)
        elif isinstance(item, dict) and "@id" in item and all(key == "@id" for key in item):
            reference = _read_id_reference(state, element, prop_def, item["@id"], item_path, label)
            if reference is not None:
                read.append(reference)
        elif isinstance(item, dict):
            if not prop_def.classes:
                state.report("refObjectNotAllowed", f"'{prop_def.name}' must be one of {', '.join(prop_def.instances)}",
                             f"Use one of {', '.join(prop_def.instances)}", element.doc, item_path, element=label,
                             prop=prop_def.name)
                continue
            read.append(parse_element(state, item, prop_def.classes, element.scope, element.doc, item_path, element,
                                      prop_def.name, id_required=prop_def.id_required))
        else:
            state.report("refNotStringOrObject", f"'{prop_def.name}' value {item!r} is not a string or object",
                         "Give an element object or a DTMI string", element.doc, item_path, element=label,
                         value=item, prop=prop_def.name)
    return read


def _check_object_count(prop_def: PropDef, items: list[Any]) -> None:
    if prop_def.max_count == 1 and len(items) > 1:
        raise LiteralProblem("objectMultipleValues", f"{len(items)} values given where one is allowed",
                             "Give a single value")
    if prop_def.max_count is not None and prop_def.max_count > 1 and len(items) > prop_def.max_count:
        raise LiteralProblem("objectCountAboveMax", f"{len(items)} values, more than the limit {prop_def.max_count}",
                             f"Reduce '{prop_def.name}' to at most {prop_def.max_count} entries")


def _read_object_name(state: ParseState, element: Element, prop_def: PropDef, item: str,
                      path: tuple[object, ...], label: str | None) -> Primitive | Reference | None:
    """A string where an object may stand: a schema name or a DTMI reference (None when reported)."""
    primitive = _schema_name(element, prop_def, item)
    if primitive is not None:
        return Primitive(primitive)
    dtmi = parse_dtmi(item)
    if dtmi is None or not prop_def.classes or not prop_def.allow_refs:
        state.report("refNotStringOrObject" if dtmi is None else "badDtmiOrTerm",
                     f"'{prop_def.name}' value {item!r} is not " +
                     ("an allowed schema or a DTMI" if prop_def.instances else "a valid reference"),
                     (f"Use one of {', '.join(prop_def.instances[:12])}" if prop_def.instances else
                      "Give the element inline or as a DTMI") +
                     ("" if not prop_def.classes else " or the DTMI of a " + "/".join(prop_def.classes)),
                     element.doc, path, element=label, value=item, prop=prop_def.name)
        return None
    if element.scope.version == 2 and not dtmi.has_version:
        state.report("badDtmiOrTerm", f"reference {item!r} has no version", "Add a version", element.doc, path,
                     element=label, value=item, prop=prop_def.name)
        return None
    return Reference(item, path)


def _schema_name(element: Element, prop_def: PropDef, item: str) -> str | None:
    """The schema ``item`` names where ``prop_def`` allows schema names (by term or DTMI), if any."""
    scope = element.scope
    if item in prop_def.instances:
        return item
    if prop_def.instances and prop_def.name in ("schema", "elementSchema") and any(
            item in extension.schemas for extension in scope.extensions):
        return item
    if prop_def.name == "schema" and item in UNIT_TYPES and has_semantics(scope):
        return item
    if item.startswith("dtmi:"):
        for candidate in prop_def.instances:
            if item == scope.spec.primitive_dtmi(candidate):
                return candidate
    return None


def _read_id_reference(state: ParseState, element: Element, prop_def: PropDef, reference: Any,
                       path: tuple[object, ...], label: str | None) -> Reference | None:
    """An object holding only an @id: a reference only where DTDL v2 solecisms are tolerated."""
    if not state.tolerant(element.scope):
        state.report("idReference", f"'{prop_def.name}' value is an object holding only an @id",
                     "Give the DTMI as a plain string, or the complete element", element.doc, path,
                     element=label, value=reference, prop=prop_def.name)
    elif not isinstance(reference, str) or parse_dtmi(reference) is None or not prop_def.classes:
        state.report("idRefBadDtmiOrTerm", f"'{prop_def.name}' refers to {reference!r}, which is not a DTMI",
                     "Give a valid DTMI", element.doc, path, element=label, value=reference, prop=prop_def.name)
    else:
        return Reference(reference, path)
    return None


def _kind_word(prop_def: PropDef) -> str:
    return {"langstring": "langString", "choice": "string", "enumvalue": "literal",
            "identifier": "identifier"}.get(prop_def.kind, prop_def.kind)


def _id_of(obj: dict) -> str | None:
    value = obj.get("@id")
    return value if isinstance(value, str) else None
