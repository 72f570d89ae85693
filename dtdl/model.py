"""The parsed model set: the typed, frozen contract other GridTwin components code against."""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

from .kinds import COMPLEX_SCHEMAS

_EMPTY_PROXY: Mapping[str, Any] = MappingProxyType({})


def _empty() -> Mapping[str, Any]:
    """Shared immutable empty mapping (default for mapping fields)."""
    return _EMPTY_PROXY


@dataclass(frozen=True)
class Schema:
    """A DTDL schema: a primitive (``kind`` is its name) or a complex schema.

    ``kind`` is one of the primitive names ("double", "dateTime", ...), a geospatial name
    ("point", ...) or "Array" / "Enum" / "Map" / "Object".
    """

    kind: str
    id: str | None = None
    element_schema: "Schema | None" = None
    value_schema: "Schema | None" = None
    enum_values: Mapping[str, Any] = field(default_factory=_empty)
    map_key: "NamedSchema | None" = None
    map_value: "NamedSchema | None" = None
    fields: Mapping[str, "Schema"] = field(default_factory=_empty)
    display_name: Mapping[str, str] = field(default_factory=_empty)
    description: Mapping[str, str] = field(default_factory=_empty)

    @property
    def is_primitive(self) -> bool:
        return self.kind not in COMPLEX_SCHEMAS


@dataclass(frozen=True)
class NamedSchema:
    """A name plus schema: Map keys/values and Command request/response payloads."""

    name: str
    schema: Schema | None
    display_name: Mapping[str, str] = field(default_factory=_empty)
    description: Mapping[str, str] = field(default_factory=_empty)
    semantic_types: tuple[str, ...] = ()
    unit: str | None = None
    nullable: bool = False


@dataclass(frozen=True)
class Content:
    """One entry of an Interface's ``contents`` (or of a Relationship's ``properties``)."""

    kind: str
    name: str
    id: str | None = None
    schema: Schema | None = None
    semantic_types: tuple[str, ...] = ()
    unit: str | None = None
    writable: bool = False
    display_name: Mapping[str, str] = field(default_factory=_empty)
    description: Mapping[str, str] = field(default_factory=_empty)
    comment: str | None = None
    co_types: tuple[str, ...] = ()
    # Relationship
    target: str | None = None
    min_multiplicity: int | None = None
    max_multiplicity: int | None = None
    properties: Mapping[str, "Content"] = field(default_factory=_empty)
    # Component
    schema_dtmi: str | None = None
    # Command
    request: NamedSchema | None = None
    response: NamedSchema | None = None
    command_type: str | None = None
    defined_in: str | None = None


@dataclass(frozen=True)
class Interface:
    """A resolved Interface; ``contents`` includes everything inherited through ``extends``."""

    dtmi: str
    extends: tuple[str, ...] = ()
    ancestors: tuple[str, ...] = ()
    own_contents: Mapping[str, Content] = field(default_factory=_empty)
    contents: Mapping[str, Content] = field(default_factory=_empty)
    display_name: Mapping[str, str] = field(default_factory=_empty)
    description: Mapping[str, str] = field(default_factory=_empty)
    comment: str | None = None
    source: dict = field(default_factory=dict, compare=False, hash=False)
    context_version: int = 3
    extensions: tuple[str, ...] = ()
    schemas: tuple[str, ...] = ()
    document: int | None = None


@dataclass(frozen=True)
class ModelSet:
    """All Interfaces and reusable schemas of a parsed set of documents, keyed by DTMI."""

    interfaces: Mapping[str, Interface] = field(default_factory=_empty)
    schemas: Mapping[str, Schema] = field(default_factory=_empty)

    def is_a(self, dtmi: str, ancestor_dtmi: str) -> bool:
        """True when ``dtmi`` is ``ancestor_dtmi`` or extends it (transitively)."""
        if dtmi == ancestor_dtmi:
            return True
        iface = self.interfaces.get(dtmi)
        return iface is not None and ancestor_dtmi in iface.ancestors

    def __len__(self) -> int:
        return len(self.interfaces)
