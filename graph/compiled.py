"""Per-interface tables compiled once and memoised: what validating, encoding and decoding a twin reuse.

A load of 46,000 twins validates, encodes and decodes the same few interfaces again and again;
resolving each property's schema per value was most of that work.  :func:`memoised` keeps one
compiled object per (model set, contents, variant); both are frozen, so an entry never goes stale,
and it holds them alive so their ids cannot be reused by other objects. ``contents`` is any frozen
mapping of the model set: an interface's contents, or ``models.interfaces`` for a whole-set table.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from dtdl.model import ModelSet

T = TypeVar("T")

_MAX_ENTRIES = 4096
_lock = threading.Lock()
_cache: dict[tuple[int, int, str, str], tuple[ModelSet, Mapping[str, Any], Any]] = {}
Frozen = TypeVar("Frozen", bound=Mapping[str, Any])


def memoised(kind: str, models: ModelSet, contents: Frozen, variant: str,
             build: Callable[[ModelSet, Frozen, str], T]) -> T:
    """The ``kind`` table of ``contents`` (built by ``build(models, contents, variant)`` on first use)."""
    key = (id(models), id(contents), variant, kind)
    hit = _cache.get(key)
    if hit is not None and hit[0] is models and hit[1] is contents:
        return hit[2]  # type: ignore[no-any-return]
    built = build(models, contents, variant)
    with _lock:
        if len(_cache) > _MAX_ENTRIES:
            _cache.clear()
        _cache[key] = (models, contents, built)
    return built


__all__ = ["memoised"]
