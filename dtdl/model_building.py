"""Building the frozen ``ModelSet`` from the parsed elements.

Runs after the cross-element rules, and also when they found problems: the model set is always
usable (elements that could not be read are simply absent), so callers can show what parsed.
"""
from __future__ import annotations

from types import MappingProxyType
from typing import Any

from .elements import Element, Primitive, Reference
from .kinds import COMPLEX_SCHEMAS
from .model import Content, Interface, ModelSet, NamedSchema, Schema
from .parse_state import ParseState


class ModelBuilder:
    """Turns the elements of one parse into Interfaces, Contents and Schemas (each schema once)."""

    def __init__(self, state: ParseState) -> None:
        self.state = state
        self._schema_cache: dict[int, Schema | None] = {}

    def build(self) -> ModelSet:
        schemas: dict[str, Schema] = {}
        for dtmi, element in self.identified(COMPLEX_SCHEMAS):
            schema = self.schema_of(element)
            if schema is not None:
                schemas[dtmi] = schema
        interface_elements = self.identified(("Interface",))
        own = {dtmi: self.own_contents(dtmi, element) for dtmi, element in interface_elements}
        interfaces = {dtmi: self.interface_of(dtmi, element, own) for dtmi, element in interface_elements}
        return ModelSet(interfaces=MappingProxyType(interfaces), schemas=MappingProxyType(schemas))

    def identified(self, classes: tuple[str, ...]) -> list[tuple[str, Element]]:
        """(@id, element) of every element of ``classes`` that has an @id, in reading order."""
        return [(element.id, element) for element in self.state.elements if element.cls in classes and element.id]

    def own_contents(self, dtmi: str, interface: Element) -> dict[str, Content]:
        return {name: self.content_of(content, dtmi) for name, content in interface.named_children("contents")}

    def interface_of(self, dtmi: str, element: Element, own: dict[str, dict[str, Content]]) -> Interface:
        """The Interface, its contents merged over those of its ancestors (the nearest wins)."""
        ancestor_ids = tuple(ancestor.id for ancestor in self.state.ancestors(element) or [] if ancestor.id)
        merged: dict[str, Content] = {}
        for ancestor_id in reversed(ancestor_ids):
            merged.update(own.get(ancestor_id, {}))
        merged.update(own[dtmi])
        extends_ids = tuple(dtmi for dtmi in map(_dtmi_of, element.objects("extends")) if dtmi)
        return Interface(
            dtmi=dtmi, extends=extends_ids, ancestors=ancestor_ids,
            own_contents=MappingProxyType(own[dtmi]), contents=MappingProxyType(merged),
            display_name=MappingProxyType(element.props.get("displayName") or {}),
            description=MappingProxyType(element.props.get("description") or {}),
            comment=element.props.get("comment"), source=element.raw, context_version=element.scope.version,
            extensions=tuple(context for context in element.scope.contexts
                             if not context.startswith("dtmi:dtdl:context;")),
            schemas=tuple(item.id for item in element.objects("schemas") if isinstance(item, Element) and item.id),
            document=element.doc,
        )

    def schema_ref(self, items: list[Any]) -> Schema | None:
        """The schema the first usable value of a schema property stands for."""
        for item in items:
            if isinstance(item, Primitive):
                return Schema(kind=item.name)
            target = self.state.target(item)
            if isinstance(target, Element):
                return self.schema_of(target)
        return None

    def schema_of(self, element: Element) -> Schema | None:
        """The Schema of a complex schema element (None for any other element)."""
        if id(element) in self._schema_cache:
            return self._schema_cache[id(element)]
        self._schema_cache[id(element)] = Schema(kind=element.cls, id=element.id)  # placeholder against cycles
        display_name = MappingProxyType(element.props.get("displayName") or {})
        description = MappingProxyType(element.props.get("description") or {})
        result: Schema | None
        if element.cls == "Array":
            result = Schema("Array", element.id, element_schema=self.schema_ref(element.objects("elementSchema")),
                            display_name=display_name, description=description)
        elif element.cls == "Enum":
            values: dict[Any, Any] = {enum_value.props.get("name"): enum_value.props.get("enumValue")
                                      for enum_value in element.objects("enumValues") if isinstance(enum_value, Element)}
            result = Schema("Enum", element.id, value_schema=self.schema_ref(element.objects("valueSchema")),
                            enum_values=MappingProxyType(values), display_name=display_name, description=description)
        elif element.cls == "Map":
            map_key = _first_element(element.objects("mapKey"))
            map_value = _first_element(element.objects("mapValue"))
            result = Schema("Map", element.id, map_key=self.named(map_key) if map_key else None,
                            map_value=self.named(map_value) if map_value else None, display_name=display_name,
                            description=description)
        elif element.cls == "Object":
            fields: dict[Any, Schema | None] = {
                object_field.props.get("name"): self.schema_ref(object_field.objects("schema"))
                for object_field in element.objects("fields") if isinstance(object_field, Element)}
            # a field whose schema could not be read maps to None (its problem is reported)
            result = Schema("Object", element.id, fields=MappingProxyType(fields),  # type: ignore[arg-type]
                            display_name=display_name, description=description)
        else:
            result = None
        self._schema_cache[id(element)] = result
        return result

    def named(self, element: Element) -> NamedSchema:
        """A Map key/value or a Command payload: a name, a schema, and its semantic type and unit."""
        semantic = tuple(cotype for cotype in element.cotypes if cotype in element.scope.spec.semantic_types)
        return NamedSchema(name=str(element.props.get("name")), schema=self.schema_ref(element.objects("schema")),
                           display_name=MappingProxyType(element.props.get("displayName") or {}),
                           description=MappingProxyType(element.props.get("description") or {}),
                           semantic_types=semantic, unit=element.props.get("unit"),
                           nullable=bool(element.props.get("nullable")))

    def content_of(self, content: Element, owner: str | None) -> Content:
        """One content of an Interface (or a Property of a Relationship), defined in ``owner``."""
        semantic = tuple(cotype for cotype in content.cotypes if cotype in content.scope.spec.semantic_types)
        schema = self.schema_ref(content.objects("schema")) if content.cls in ("Property", "Telemetry") else None
        return Content(kind=content.cls, name=str(content.props.get("name")), id=content.id, schema=schema,
                       semantic_types=semantic, unit=content.props.get("unit"),
                       writable=bool(content.props.get("writable")),
                       display_name=MappingProxyType(content.props.get("displayName") or {}),
                       description=MappingProxyType(content.props.get("description") or {}),
                       comment=content.props.get("comment"), co_types=tuple(content.cotypes), defined_in=owner,
                       **self.kind_fields(content, owner))

    def kind_fields(self, content: Element, owner: str | None) -> dict[str, Any]:
        """The fields only a Relationship, a Component or a Command has."""
        if content.cls == "Relationship":
            properties = {name: self.content_of(prop, owner) for name, prop in content.named_children("properties")}
            return {"target": content.props.get("target"), "min_multiplicity": content.props.get("minMultiplicity"),
                    "max_multiplicity": content.props.get("maxMultiplicity"),
                    "properties": MappingProxyType(properties)}
        if content.cls == "Component":
            schema_dtmi = next((_dtmi_of(item) for item in content.objects("schema")
                                if isinstance(item, (Reference, Element))), None)
            return {"schema_dtmi": schema_dtmi}
        if content.cls == "Command":
            request = _first_element(content.objects("request"))
            response = _first_element(content.objects("response"))
            return {"request": self.named(request) if request else None,
                    "response": self.named(response) if response else None,
                    "command_type": content.props.get("commandType")}
        return {}


def _dtmi_of(item: Any) -> str | None:
    """The DTMI a reference names, or the @id of an inline element (None for anything else)."""
    if isinstance(item, Reference):
        return item.dtmi
    return item.id if isinstance(item, Element) else None


def _first_element(items: list[Any]) -> Element | None:
    return next((item for item in items if isinstance(item, Element)), None)
