"""Cross-element rules, checked once every document is parsed.

They run after parsing because references (``extends``, schema DTMIs, component schemas) may
point into any document of the set.  Building the ``ModelSet`` is in ``model_building.py``.
"""
from __future__ import annotations

from typing import Any

from .elements import Element, Primitive, Reference
from .kinds import COMPLEX_SCHEMAS, GEOSPATIAL
from .metamodel import PropDef
from .parse_state import ParseState

MISSING_DEPENDENCY = "dtmi:dtdl:resolutionError:missingDependency"
#: Identifier namespaces of extensions: a reference into them is not a missing dependency of the user.
_EXTENSION_NAMESPACES = ("dtmi:iotcentral:", "dtmi:iotoperations:")


class Resolver:
    """Checks the rules that span elements; ``run_checks`` reports into the parse's sink."""

    def __init__(self, state: ParseState) -> None:
        self.state = state
        self.by_id = state.by_id

    def err(self, rule: str, cause: str, action: str, element: Element, path: tuple[object, ...] | None = None,
            value: Any = None, prop: str | None = None) -> None:
        self.state.report(rule, cause, action, element.doc, element.path if path is None else path,
                          element=element.label(), value=value, prop=prop)

    def run_checks(self) -> None:
        self.check_references()
        self.check_unique_names()
        self.check_extends()
        self.check_schema_structure()
        self.check_components()
        self.check_relationship_targets()

    # ------------------------------------------------------------------ references
    def check_references(self) -> None:
        """Every DTMI reference must name an element of the set, of an allowed class, in reach."""
        for element in self.state.elements:
            for name, prop_def in element.scope.spec.classes[element.cls].props.items():
                if prop_def.kind != "object":
                    continue
                for item in element.objects(name):
                    if isinstance(item, Reference):
                        self.check_reference(element, name, prop_def, item)

    def check_reference(self, element: Element, name: str, prop_def: PropDef, item: Reference) -> None:
        target = self.by_id.get(item.dtmi)

        def report(rule: str, cause: str, action: str) -> None:
            self.state.report(rule, cause, action, element.doc, item.path, element=element.label(), value=item.dtmi,
                              prop=name)

        if target is None and item.dtmi.startswith(_EXTENSION_NAMESPACES):
            report("undefinedReservedId", f"'{name}' refers to {item.dtmi}, an identifier reserved for an extension",
                   "Refer to an element of your own namespace")
        elif target is None:
            report(MISSING_DEPENDENCY, f"'{name}' refers to {item.dtmi}, which is not in the model set",
                   f"Add the model defining {item.dtmi} to the documents, or correct the DTMI")
        elif target.cls != "Interface" and target.partition() is not element.partition():
            report("dtmi:dtdl:parsingError:crossPartitionReference",
                   f"'{name}' refers to {item.dtmi}, defined inside another Interface ({target.partition().label()})",
                   f"Define {item.dtmi} in the 'schemas' of this Interface, or inline it")
        elif target.cls not in prop_def.classes:
            classes = "/".join(prop_def.classes)
            report("badType", f"'{name}' refers to {item.dtmi}, a {target.cls}, but needs a {classes}",
                   f"Point '{name}' at a {classes}")
            if prop_def.required and not self.other_valid_values(element, name, prop_def, item):
                self.state.report("propertyCountBelowMin", f"'{name}' has no valid value", f"Give '{name}' a {classes}",
                                  element.doc, element.path, element=element.label(), prop=name)

    def other_valid_values(self, element: Element, name: str, prop_def: PropDef, item: Reference) -> list[Any]:
        """The values of ``name`` besides ``item`` that are inline, or refer to an allowed class."""
        return [other for other in element.objects(name) if other is not item and other is not None and
                (not isinstance(other, Reference) or (self.by_id.get(other.dtmi) is not None and
                                                      self.by_id[other.dtmi].cls in prop_def.classes))]

    # ------------------------------------------------------------------ extends
    def depth(self, interface: Element, memo: dict[int, int], active: set[int]) -> int:
        """Levels of the extends hierarchy above ``interface`` (a cycle counts as no level)."""
        key = id(interface)
        if key in memo:
            return memo[key]
        if key in active:
            return 0
        active.add(key)
        levels = 0
        for item in interface.objects("extends"):
            base = self.state.target(item)
            if isinstance(base, Element) and base.cls == "Interface":
                levels = max(levels, 1 + self.depth(base, memo, active))
        active.discard(key)
        memo[key] = levels
        return levels

    def check_extends(self) -> None:
        """No cycle, and (unless limitless) at most so many ancestors and levels."""
        memo: dict[int, int] = {}
        for interface in self.state.elements:
            if interface.cls != "Interface":
                continue
            version_spec = interface.scope.spec
            extends_path = interface.prop_paths.get("extends")
            ancestors = self.state.ancestors(interface)
            if ancestors is None:
                self.err("recursiveStructureNarrow",
                         f"{interface.label()} extends itself (directly or through other Interfaces)",
                         "Remove the 'extends' entry that closes the cycle", interface, extends_path, prop="extends")
                continue
            limited = not interface.scope.limitless
            total = version_spec.max_extends_total
            if total is not None and len(ancestors) > total and limited:
                self.err("objectCountAboveMax",
                         f"{interface.label()} has {len(ancestors)} Interfaces in its extends hierarchy",
                         f"Reduce the hierarchy to at most {total}", interface, extends_path)
            if limited:
                levels = self.depth(interface, memo, set())
                if levels > version_spec.max_extends_depth:
                    self.err("excessiveDepthNarrow",
                             f"the extends hierarchy of {interface.label()} is {levels} levels deep",
                             f"Reduce it to at most {version_spec.max_extends_depth} levels", interface, extends_path)
            self.check_inherited_names(interface, ancestors)

    def check_inherited_names(self, interface: Element, ancestors: list[Element]) -> None:
        """A content name may not come from two Interfaces of the hierarchy (the first clash is reported)."""
        names: dict[str, Element] = {}
        for owner in [interface] + ancestors:
            for name, content in owner.named_children("contents"):
                first = names.get(name)
                if first is not None and first is not owner and (owner is interface or first.parent is not owner):
                    first_owner = first.parent.label() if first.parent else "?"
                    self.err("nonUniqueImportedPropertyValue" if owner is not interface else "nonUniquePropertyValue",
                             f"content name '{name}' is used both in {first_owner}"
                             f" and in {owner.label()} (inherited through extends)",
                             f"Rename one of the '{name}' contents", interface,
                             content.prop_paths.get("name", content.path), value=name, prop="contents")
                    return
                names.setdefault(name, content)

    # ------------------------------------------------------------------ within-element uniqueness
    def check_unique_names(self) -> None:
        for element in self.state.elements:
            for name, prop_def in element.scope.spec.classes[element.cls].props.items():
                if prop_def.unique_names:
                    self.check_unique_in(element, name)
            if element.cls == "Enum":
                self.check_enum(element)

    def check_unique_in(self, element: Element, prop: str) -> None:
        """The elements of ``prop`` need distinct names (v2 may tolerate repeats without @id)."""
        seen: dict[str, Element] = {}
        for name, child in element.named_children(prop):
            first = seen.get(name)
            if first is not None and child.tolerant and first.tolerant and child.id is None and first.id is None:
                continue  # legacy v2 solecism: duplicate names of elements without @id
            if first is not None:
                self.err("nonUniquePropertyValue", f"name '{name}' is used twice in '{prop}' of {element.label()}",
                         f"Rename one of the '{name}' entries", child, child.prop_paths.get("name", child.path),
                         value=name, prop=prop)
            seen[name] = child

    def check_enum(self, enum: Element) -> None:
        """Enum values must be of the Enum's valueSchema and distinct."""
        value_schema = enum.objects("valueSchema")
        kind = value_schema[0].name if value_schema and isinstance(value_schema[0], Primitive) else None
        seen: set[Any] = set()
        for enum_value in enum.objects("enumValues"):
            if not isinstance(enum_value, Element) or "enumValue" not in enum_value.props:
                continue
            value = enum_value.props["enumValue"]
            value_path = enum_value.prop_paths.get("enumValue")
            if kind == "integer" and not isinstance(value, int) or kind == "string" and not isinstance(value, str):
                self.err("incompatibleType", f"enumValue {value!r} is not of the Enum's valueSchema {kind}",
                         f"Change enumValue to a{'n integer' if kind == 'integer' else ' string'}", enum_value,
                         value_path, value=value, prop="enumValue")
            key = (type(value).__name__, value)
            if key in seen:
                self.err("nonUniquePropertyValue", f"enumValue {value!r} is used twice in {enum.label()}",
                         "Give every enum value a distinct enumValue", enum_value, value_path, value=value,
                         prop="enumValue")
            seen.add(key)

    # ------------------------------------------------------------------ schemas
    def schema_children(self, schema: Element) -> list[Any]:
        """The schemas a complex schema is made of (element schema, map value, field schemas)."""
        children: list[Any] = []
        if schema.cls == "Array":
            children += schema.objects("elementSchema")
        elif schema.cls == "Map":
            for map_value in schema.objects("mapValue"):
                if isinstance(map_value, Element):
                    children += map_value.objects("schema")
        elif schema.cls == "Object":
            for object_field in schema.objects("fields"):
                if isinstance(object_field, Element):
                    children += object_field.objects("schema")
        return children

    def check_schema_structure(self) -> None:
        """A complex schema may not contain itself, nor (unless limitless) nest too deeply."""
        for schema in self.state.elements:
            if schema.cls not in COMPLEX_SCHEMAS:
                continue
            if self.reaches(schema, schema, set()):
                self.err("recursiveStructureWide",
                         f"schema {schema.label()} contains itself", "Break the self-reference", schema)
                continue
            if schema.parent is None or schema.parent.cls not in COMPLEX_SCHEMAS + ("Field", "MapValue"):
                levels = self.schema_depth(schema, 0)
                limit = schema.scope.spec.max_schema_depth
                if levels > limit and not schema.scope.limitless:
                    self.err("excessiveDepthWide", f"schema {schema.label()} nests complex schemas {levels} levels deep",
                             f"Reduce the nesting to at most {limit} levels", schema)

    def reaches(self, start: Element, goal: Element, seen: set[int]) -> bool:
        """Whether ``goal`` is among the schemas ``start`` is made of, at any depth."""
        for child in self.schema_children(start):
            target = self.state.target(child)
            if not isinstance(target, Element):
                continue
            if target is goal:
                return True
            if id(target) in seen:
                continue
            seen.add(id(target))
            if self.reaches(target, goal, seen):
                return True
        return False

    def schema_depth(self, schema: Element, level: int) -> int:
        if level > 64:
            return level
        best = 1
        for child in self.schema_children(schema):
            target = self.state.target(child)
            if isinstance(target, Element) and target.cls in COMPLEX_SCHEMAS:
                best = max(best, 1 + self.schema_depth(target, level + 1))
        return best

    # ------------------------------------------------------------------ components & properties
    def check_components(self) -> None:
        for element in self.state.elements:
            if element.cls == "Component":
                self.check_component_schema(element)
        for element in self.state.elements:
            if element.cls == "Property" and element.scope.version == 2 and (
                    element.parent is None or element.parent.cls == "Interface"):
                self.check_v2_property_schema(element)

    def check_component_schema(self, component: Element) -> None:
        """Up to v3, a Component's Interface may not have Components itself (nor inherit any)."""
        for item in component.objects("schema"):
            interface = self.state.target(item)
            if not isinstance(interface, Element) or interface.cls != "Interface":
                continue
            for owner in [interface] + (self.state.ancestors(interface) or []):
                if any(isinstance(content, Element) and content.cls == "Component"
                       for content in owner.objects("contents")):
                    if component.scope.version <= 3:
                        self.err("excludedType",
                                 f"component '{component.props.get('name')}' uses {interface.label()}, "
                                 "which itself has Components",
                                 "Use an Interface without Components as a component schema", component,
                                 component.prop_paths.get("schema"), prop="schema")
                    break

    def check_v2_property_schema(self, prop: Element) -> None:
        """DTDL v2: the schema of an Interface's Property must not contain an Array (nor be geospatial)."""
        schema = prop.objects("schema")
        if self.contains_class(schema, "Array", set()) or any(
                isinstance(item, Primitive) and item.name in GEOSPATIAL for item in schema):
            self.err("excludedType", f"Property {prop.label()} uses an Array schema, not allowed in DTDL v2",
                     "Use a Telemetry, or a Map/Object instead of an Array", prop, prop.prop_paths.get("schema"),
                     prop="schema")

    def contains_class(self, items: list[Any], cls: str, seen: set[int]) -> bool:
        for item in items:
            target = self.state.target(item)
            if not isinstance(target, Element) or id(target) in seen:
                continue
            seen.add(id(target))
            if target.cls == cls:
                return True
            if self.contains_class(self.schema_children(target), cls, seen):
                return True
        return False

    def check_relationship_targets(self) -> None:
        """Optionally (not a language rule): every Relationship target is an Interface of the set."""
        if not self.state.options.resolve_relationship_targets:
            return
        for relationship in self.state.elements:
            if relationship.cls != "Relationship":
                continue
            target = relationship.props.get("target")
            if not isinstance(target, str):
                continue
            interface = self.by_id.get(target)
            if interface is None or interface.cls != "Interface":
                self.err(MISSING_DEPENDENCY,
                         f"relationship '{relationship.props.get('name')}' targets {target}, "
                         "which is not an Interface of the set",
                         f"Add the Interface {target} to the documents or correct 'target'", relationship,
                         relationship.prop_paths.get("target"), value=target, prop="target")
