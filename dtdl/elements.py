"""What the parser builds from the JSON: elements (not yet resolved), references and the scope in force.

Kept apart from the reading code so the cross-element rules (``resolve.py``) and the model
building (``model_building.py``) depend on these shapes only, not on how they were read.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .metamodel import Extension, VersionSpec


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
        terms = self.spec.terms
        for extension in self.extensions:
            terms = terms | extension.terms
        return terms


@dataclass
class Reference:
    """A DTMI reference to another element, resolved in resolve.py."""

    dtmi: str
    path: tuple[object, ...]


@dataclass
class Primitive:
    """A schema given by name (a primitive, geospatial, unit-type or extension schema)."""

    name: str


@dataclass
class Element:
    """A parsed (not yet resolved) DTDL element."""

    cls: str
    id: str | None
    doc: int
    path: tuple[object, ...]
    raw: dict
    scope: Scope
    parent: "Element | None"
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

    def partition(self) -> "Element":
        """The nearest enclosing Interface: references to non-Interface elements must stay inside it."""
        element: Element | None = self
        while element is not None and element.cls != "Interface":
            element = element.parent
        return element or self

    def objects(self, prop: str) -> list[Any]:
        return self.props.get(prop, []) if isinstance(self.props.get(prop), list) else []

    def named_children(self, prop: str) -> list[tuple[str, "Element"]]:
        """(name, element) of the elements of ``prop`` that have a name (the others were reported)."""
        return [(child.props["name"], child) for child in self.objects(prop)
                if isinstance(child, Element) and isinstance(child.props.get("name"), str)]
