"""DTDL documents as JSON-LD and RDF, fully offline.

DTDL is JSON-LD: expanding a model with its ``@context`` turns every term ("Interface",
"schema", "volt", ...) into an IRI, which is what makes the models queryable as RDF.  The
DTDL context specifiers (``dtmi:dtdl:context;3``, ...) are not dereferenceable URLs, so the
documents are served from the copies bundled in ``dtdl/contexts/`` (see its ``manifest.json``
for their upstream source).  Nothing here ever touches the network: an unknown context is an
:class:`UnknownContextError`, never a download.
"""
from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import rdflib
from pyld import jsonld
from pyld.context_resolver import ContextResolver

CONTEXTS_DIR = Path(__file__).resolve().parents[1] / "dtdl" / "contexts"
"""Bundled context documents; shipped as package data of ``dtdl``."""

PREFIXES: Mapping[str, str] = {
    "dtdl": "dtmi:dtdl:",
    "qt": "dtmi:dtdl:extension:quantitativeTypes:v1:",
    "gridtwin": "dtmi:gridtwin:",
}
"""Namespace prefixes bound on exported graphs so that Turtle stays readable."""

RdfFormat = Literal["turtle", "json-ld", "nt"]


class UnknownContextError(LookupError):
    """A document names a JSON-LD context that is not bundled (and will not be fetched)."""

    def __init__(self, url: str) -> None:
        known = ", ".join(sorted(bundled_contexts()))
        super().__init__(
            f"unknown JSON-LD context {url!r}: only the bundled DTDL contexts are available "
            f"offline ({known})"
        )
        self.url = url


@functools.lru_cache(maxsize=1)
def bundled_contexts() -> Mapping[str, Mapping[str, Any]]:
    """Context specifier -> context document (``{"@context": {...}}``), read once from disk."""
    manifest = json.loads((CONTEXTS_DIR / "manifest.json").read_text(encoding="utf-8"))
    return {
        specifier: json.loads((CONTEXTS_DIR / entry["file"]).read_text(encoding="utf-8"))
        for specifier, entry in manifest["contexts"].items()
    }


def offline_document_loader(url: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """pyld document loader that serves bundled contexts by their DTMI and refuses anything else.

    Signature and return shape follow pyld's ``documentLoader(url, options)`` contract.
    A deep copy is returned because pyld may mutate what it is given.
    """
    document = bundled_contexts().get(url)
    if document is None:
        raise UnknownContextError(url)
    return {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        "document": copy.deepcopy(dict(document)),
    }


def _options() -> dict[str, Any]:
    # A private resolver cache (a plain dict, at most one entry per bundled context): pyld's
    # default cache is process-wide, so a context fetched elsewhere with a network loader
    # could otherwise slip past the offline rule.
    return {
        "documentLoader": offline_document_loader,
        "contextResolver": ContextResolver({}, offline_document_loader),
    }


def _unknown_context_in(error: BaseException) -> UnknownContextError | None:
    """pyld wraps loader errors (several levels deep); dig out ours for a clear message."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [error]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, UnknownContextError):
            return current
        stack.extend([current.__cause__, current.__context__, getattr(current, "cause", None)])
    return None


def _documents(documents: Mapping[str, Any] | Iterable[Any]) -> list[Any]:
    """Accept one document, or an iterable of documents (each a model or a list of models)."""
    if isinstance(documents, Mapping):
        return [documents]
    return list(documents)


def expand(documents: Mapping[str, Any] | Iterable[Any]) -> list[dict[str, Any]]:
    """JSON-LD-expand DTDL documents with the bundled contexts.

    Raises :class:`UnknownContextError` when a document names a context that is not bundled.
    """
    expanded: list[dict[str, Any]] = []
    for document in _documents(documents):
        try:
            expanded.extend(jsonld.expand(copy.deepcopy(document), _options()))
        except jsonld.JsonLdError as error:
            unknown = _unknown_context_in(error)
            if unknown is not None:
                raise UnknownContextError(unknown.url) from error
            raise
    return expanded


def to_graph(documents: Mapping[str, Any] | Iterable[Any]) -> rdflib.Graph:
    """Load DTDL documents into an rdflib Graph (via expansion and N-Quads, all offline)."""
    graph = rdflib.Graph()
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace)
    expanded = expand(documents)
    if not expanded:
        return graph
    nquads = jsonld.to_rdf(expanded, {**_options(), "format": "application/n-quads"})
    # DTDL has no named graphs, so every line is a plain N-Triples statement.
    graph.parse(data=nquads, format="nt")
    return graph


def serialize(graph: rdflib.Graph, fmt: RdfFormat = "turtle") -> str:
    """Export a graph as Turtle, JSON-LD or N-Triples text."""
    if fmt not in ("turtle", "json-ld", "nt"):
        raise ValueError(f"unsupported RDF format {fmt!r}; use 'turtle', 'json-ld' or 'nt'")
    return graph.serialize(format=fmt)


def load_model_files(directory: Path) -> list[Any]:
    """Read every ``*.json`` DTDL document of a directory, in file-name order."""
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(directory.glob("*.json"))]
