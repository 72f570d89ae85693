"""Rules an element's co-types impose: which classes they apply to, its schema, and its unit.

Checked once the element's own properties are read, because a co-type's rule is about them
(a semantic type needs a numeric schema and a unit of its unit type, an IoT Central co-type
needs a schema of a certain kind).
"""
from __future__ import annotations

from .elements import Element, Primitive
from .kinds import NUMERIC
from .metamodel import spec
from .parse_state import ParseState
from .units import units_of
from .vocabulary import cotype_source, supplemental_of, usable

_DTDL_VERSIONS = (2, 3, 4)


def check_cotype_rules(state: ParseState, element: Element, label: str | None) -> None:
    """Report every co-type of ``element`` that does not fit it."""
    if not element.cotypes:
        return
    for cotype in element.cotypes:
        _check_cotype_target(state, element, cotype, label)
    for cotype in element.cotypes:
        _check_schema_rule(state, element, cotype, label)
    semantic = [cotype for cotype in element.cotypes if cotype in element.scope.spec.semantic_types]
    if len(semantic) > 1:
        state.report("conflictingSupplementalTypes", f"several semantic types are given: {', '.join(semantic)}",
                     "Keep one semantic type", element.doc, element.path + ("@type",), element=label, value=semantic)
    if semantic:
        _check_semantic_type(state, element, semantic[0], label)


def _check_cotype_target(state: ParseState, element: Element, cotype: str, label: str | None) -> None:
    """A co-type applies to some classes only, and only in the DTDL versions its extension is for."""
    scope = element.scope
    supplemental = supplemental_of(cotype, scope)
    if not supplemental or element.cls in supplemental[1]:
        return
    targets = supplemental[1]
    type_path = element.path + ("@type",)
    state.report("invalidCotype", f"co-type {cotype} cannot be applied to a {element.cls} in DTDL v{scope.version}",
                 f"Remove {cotype} from @type" + (f" (it applies to {', '.join(targets)})" if targets else ""),
                 element.doc, type_path, element=label, value=cotype)
    source = cotype_source(cotype, scope)
    other_versions = [version for version in _DTDL_VERSIONS if version != scope.version and source is not None and
                      _applies_in(version, source.context, cotype, element.cls)]
    if other_versions or (source is not None and not usable(source, scope)):
        state.report("invalidCotypeVersion",
                     f"co-type {cotype} of {source.context if source else '?'} is not usable with a {element.cls} in "
                     f"DTDL v{scope.version}" +
                     (f" (only in v{', v'.join(map(str, other_versions))})" if other_versions else ""),
                     "Use the extension version that matches the DTDL version, or remove the co-type",
                     element.doc, type_path, element=label, value=cotype)


def _applies_in(version: int, context: str, cotype: str, cls: str) -> bool:
    """Whether the extension ``context`` of DTDL ``version`` lets ``cotype`` apply to a ``cls``."""
    extension = spec(version).extensions.get(context)
    return extension is not None and cotype in extension.cotypes and cls in extension.cotypes[cotype][0]


def _check_schema_rule(state: ParseState, element: Element, cotype: str, label: str | None) -> None:
    """Some co-types (IoT Central's) require the element's schema to be of given kinds."""
    source = cotype_source(cotype, element.scope)
    rule = source.schema_rules.get(cotype) if source is not None else None
    schema = element.props.get("schema")
    if rule is None or not schema or schema[0] is None:
        return
    kind, allowed = rule
    item = schema[0]
    got = item.name if isinstance(item, Primitive) else (item.cls if isinstance(item, Element) else None)
    if got is not None and got not in allowed:
        state.report("notRequiredType" if kind == "type" else "notRequiredValue",
                     f"co-type {cotype} needs a schema among {', '.join(allowed)}, not {got}",
                     f"Change schema to one of {', '.join(allowed)}", element.doc,
                     element.prop_paths.get("schema", element.path), element=label, value=got, prop="schema")


def _check_semantic_type(state: ParseState, element: Element, semantic_type: str, label: str | None) -> None:
    """A semantic type needs a unit of its unit type and a numeric schema."""
    unit = element.props.get("unit")
    unit_type = element.scope.spec.semantic_types[semantic_type]
    if unit is None and "unit" not in element.prop_paths:
        state.report("missingSupplementalObjectProperty", f"semantic type {semantic_type} needs a 'unit'",
                     f"Add \"unit\" with a unit of {unit_type}", element.doc, element.path, element=label, prop="unit")
    if isinstance(unit, str) and unit not in units_of(unit_type):
        state.report("incorrectPropertyValue",
                     f"unit {unit!r} is not a {unit_type} as semantic type {semantic_type} requires",
                     f"Change unit to one of {', '.join(sorted(units_of(unit_type)))}", element.doc,
                     element.prop_paths.get("unit", element.path), element=label, value=unit, prop="unit")
    schema = element.props.get("schema")
    if schema and isinstance(schema[0], Primitive) and schema[0].name not in NUMERIC:
        state.report("incompatibleType",
                     f"semantic type {semantic_type} needs a numeric schema, not {schema[0].name}",
                     "Change schema to double, float, integer or long", element.doc,
                     element.prop_paths.get("schema", element.path), element=label, value=schema[0].name)
