"""The state one parse shares between its reading steps and the cross-element rules.

The reading is split over several modules (contexts, types, ids, properties, co-types); each
step takes this object instead of a parser instance, so the steps stay small functions that
depend on what they read and where they report, not on one large class.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .elements import Element, Reference, Scope
from .problems import ProblemSink


@dataclass
class Options:
    allow_undefined_extensions: bool = False
    resolve_relationship_targets: bool = False
    #: legacy reference-parser quirks: DTDL v2 solecisms tolerated in parsed / resolved documents
    tolerate_in_parse: bool = False
    tolerate_in_resolve: bool = False


@dataclass
class ParseState:
    """Options, the problem sink, and every element read so far (by @id and in reading order)."""

    options: Options
    sink: ProblemSink
    by_id: dict[str, Element] = field(default_factory=dict)
    roots: list[Element] = field(default_factory=list)
    elements: list[Element] = field(default_factory=list)
    #: True while reading documents a resolver returned (the "in resolve" quirk applies to them)
    resolving: bool = False

    def report(self, rule: str, cause: str, action: str, doc: int, path: tuple[object, ...],
               element: str | None = None, value: Any = None, prop: str | None = None) -> None:
        self.sink.add(rule, cause=cause, action=action, path=path, document=doc, element=element,
                      value=value, prop=prop)

    def tolerant(self, scope: Scope) -> bool:
        """Whether DTDL v2 solecisms (id references, reserved ids, ...) are tolerated right now."""
        if scope.version != 2:
            return False
        return self.options.tolerate_in_resolve if self.resolving else self.options.tolerate_in_parse

    def missing_references(self) -> list[str]:
        """DTMIs referenced by parsed elements but defined nowhere in the set (yet)."""
        missing: dict[str, None] = {}
        for element in self.elements:
            for value in element.props.values():
                if isinstance(value, list):
                    for item in value:
                        if isinstance(item, Reference) and item.dtmi not in self.by_id:
                            missing[item.dtmi] = None
        return list(missing)

    def target(self, item: Any) -> Any:
        """The element a reference points to (None when undefined); any other item as it is."""
        if isinstance(item, Reference):
            return self.by_id.get(item.dtmi)
        return item

    def ancestors(self, interface: Element) -> list[Element] | None:
        """All Interfaces ``interface`` extends, nearest first; None on a cycle through it."""
        found: list[Element] = []
        seen: set[int] = set()
        frontier = [self.target(item) for item in interface.objects("extends")]
        while frontier:
            next_frontier: list[Element] = []
            for base in frontier:
                if not isinstance(base, Element) or base.cls != "Interface":
                    continue
                if base is interface:
                    return None
                if id(base) in seen:
                    continue
                seen.add(id(base))
                found.append(base)
                next_frontier.extend(self.target(item) for item in base.objects("extends"))
            frontier = next_frontier
        return found
