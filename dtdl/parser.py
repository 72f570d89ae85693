"""Parsing DTDL JSON documents into raw elements, checking each element against the metamodel.

The parser works directly on the JSON (no JSON-LD expansion): contexts are read to decide the
DTDL version and the extensions in scope, and every key/type is classified the way the reference
DTDLParser does (material class, known co-type, defined-but-irrelevant term, undefined term,
invalid DTMI, neither DTMI nor term).  The reading steps live in their own modules
(``context_reading``, ``type_reading``, ``id_reading``, ``element_reading``, ``literal_reading``,
``cotype_rules``); cross-element rules live in ``resolve.py``.
"""
from __future__ import annotations

from typing import Any

from .context_reading import read_top_context
from .dtmi import parse_dtmi
from .element_reading import parse_element
from .parse_state import Options, ParseState
from .problems import ProblemSink

__all__ = ["Options", "Parser"]


class Parser:
    """Parses documents into ``Element`` trees and reports problems into ``sink``."""

    def __init__(self, options: Options, sink: ProblemSink) -> None:
        self.state = ParseState(options, sink)

    def missing_references(self) -> list[str]:
        """DTMIs referenced by parsed elements but defined nowhere in the set (yet)."""
        return self.state.missing_references()

    def parse_documents(self, documents: Any, start: int = 0, resolved: bool = False) -> None:
        """Parse ``documents`` (numbered from ``start``); ``resolved`` marks a resolver's answer."""
        self.state.resolving = resolved
        if not isinstance(documents, (list, tuple)):
            documents = [documents]
        for doc_index, document in enumerate(documents, start):
            if isinstance(document, list):
                for index, item in enumerate(document):
                    self.parse_top(item, doc_index, (index,))
            elif isinstance(document, dict):
                self.parse_top(document, doc_index, ())
            else:
                self.state.report("notJsonObject",
                                  f"document {doc_index} is a JSON {type(document).__name__}, not an object or array",
                                  "Give each document as a JSON object (a model) or an array of models", doc_index, ())

    def parse_top(self, obj: Any, doc: int, path: tuple[object, ...]) -> None:
        """Parse one top-level element: it needs a @context, and it must be an Interface."""
        state = self.state
        if not isinstance(obj, dict):
            state.report("notJsonObject", "a top-level value is not a JSON object",
                         "Make each top-level entry a JSON object with @context, @id and @type", doc, path, value=obj)
            return
        if "@context" not in obj:
            raw_id = obj.get("@id")
            state.report("missingContext", "the top-level element has no @context",
                         "Add \"@context\": \"dtmi:dtdl:context;3\"", doc, path,
                         element=raw_id if isinstance(raw_id, str) else None)
            return
        scope = read_top_context(state, obj["@context"], doc, path + ("@context",))
        if scope is None:
            return
        if "@graph" in obj:
            state.report("graphDisallowed", "the top-level element uses @graph", "Remove @graph", doc,
                         path + ("@graph",))
        raw_id = obj.get("@id")
        dtmi = parse_dtmi(raw_id)
        if dtmi is not None and dtmi.fragment:
            # a fragment identifies a layer of an element, which a top-level element cannot be
            state.report("invalidId", f"top-level @id {raw_id!r} has a fragment",
                         f"Use an @id without fragment, e.g. {dtmi.text.partition('#')[0]}", doc, path + ("@id",),
                         element=raw_id, value=raw_id)
            return
        element = parse_element(state, obj, ("Interface",), scope, doc, path, None, None, top=True)
        if element is not None:
            state.roots.append(element)
