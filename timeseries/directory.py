"""Which model a twin has, and the tags its telemetry is stored under.

The ingest path codes against the small :class:`TwinDirectory` protocol so the
twin graph (Neo4j) can answer it in production while unit tests use
:class:`InMemoryTwinDirectory`.  :class:`CachingTwinDirectory` sits in front of
the real one because the hot path asks for the same few thousand twins many
times per second; a short TTL keeps changes (a twin deleted or re-created with another model)
visible within seconds.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Protocol

from dtdl.model import Interface

#: The tags every series carries (docs/timeseries.md); a directory may add others through ``TwinInfo.tags``.
TAG_TWIN = "twin"
TAG_MODEL = "model"
#: The tag of a component's telemetry (the measurement point's ``mlEngine`` predictions): its name in the twin.
TAG_COMPONENT = "component"


@dataclass(frozen=True, eq=False)
class TwinInfo:
    """What the ingest needs to know about one twin.

    ``tags`` are *extra* tags a directory may add (none are set by the API: docs/timeseries.md); ``twin`` and
    ``model`` tags are always added from ``twin_id`` and ``model``.  ``components`` are the interfaces of
    the twin's DTDL Components by name: a message naming one (``"component": "mlEngine"``) is that
    component's telemetry, stored under the component's model with a ``component`` tag.
    """

    twin_id: str
    model: str
    interface: Interface
    tags: Mapping[str, str] = field(default_factory=dict)
    components: Mapping[str, Interface] = field(default_factory=dict)

    def component(self, name: str) -> TwinInfo | None:
        """The info of this twin's component ``name`` (its telemetry's series), or None if it has none."""
        found = self._component_infos.get(name)
        if found is None and name in self.components:
            interface = self.components[name]
            found = self._component_infos[name] = TwinInfo(self.twin_id, interface.dtmi, interface,
                                                           {**self.tags, TAG_COMPONENT: name})
        return found

    @cached_property
    def _component_infos(self) -> dict[str, TwinInfo]:
        return {}

    @cached_property
    def line_prefix(self) -> str:
        """``measurement,tag=value,... `` of this twin's lines, built once per twin.

        Raises ``ValueError`` when the twin id or a tag cannot be represented in line protocol.
        """
        from timeseries.lineprotocol import line_prefix

        return line_prefix(measurement_of(self.model), self.all_tags())

    def all_tags(self) -> dict[str, str]:
        tags = {k: v for k, v in self.tags.items() if v}
        tags[TAG_TWIN] = self.twin_id
        tags[TAG_MODEL] = self.model
        return tags


def measurement_of(model_dtmi: str) -> str:
    """The measurement of a model: its DTMI without the version, so a version bump keeps one series."""
    return model_dtmi.split(";", 1)[0]


class TwinDirectory(Protocol):
    """Resolves twin ids to their model, interface and tags (the Neo4j twin graph in production)."""

    async def describe(self, twin_ids: Collection[str]) -> Mapping[str, TwinInfo]:
        """Info of the known twins among ``twin_ids``; unknown ids are simply absent."""
        ...


class InMemoryTwinDirectory:
    """A dict-backed directory for unit tests, benchmarks and tools."""

    def __init__(self, twins: Mapping[str, TwinInfo] | None = None) -> None:
        self._twins: dict[str, TwinInfo] = dict(twins or {})

    def add(self, info: TwinInfo) -> None:
        self._twins[info.twin_id] = info

    def remove(self, twin_id: str) -> None:
        self._twins.pop(twin_id, None)

    async def describe(self, twin_ids: Collection[str]) -> Mapping[str, TwinInfo]:
        twins = self._twins
        return {twin_id: twins[twin_id] for twin_id in twin_ids if twin_id in twins}


class CachingTwinDirectory:
    """A TTL cache in front of a slower directory; unknown twins are cached too (briefly).

    Why: one Neo4j round trip per ingest batch would cap the ingest rate; twins and
    their topology change rarely, and a few seconds of staleness only delays when a
    changed twin's new model is seen.
    """

    def __init__(self, inner: TwinDirectory, ttl_s: float = 30.0, negative_ttl_s: float = 5.0,
                 max_entries: int = 200_000) -> None:
        self._inner = inner
        self._ttl = ttl_s
        self._negative_ttl = negative_ttl_s
        self._max = max_entries
        self._entries: dict[str, tuple[float, TwinInfo | None]] = {}

    def invalidate(self, twin_ids: Collection[str] | None = None) -> None:
        """Forget cached twins (all when ``twin_ids`` is None), e.g. after a topology change."""
        if twin_ids is None:
            self._entries.clear()
        else:
            for twin_id in twin_ids:
                self._entries.pop(twin_id, None)

    async def describe(self, twin_ids: Collection[str]) -> Mapping[str, TwinInfo]:
        now = time.monotonic()
        found: dict[str, TwinInfo] = {}
        missing: list[str] = []
        entries = self._entries
        for twin_id in twin_ids:
            entry = entries.get(twin_id)
            if entry is None or entry[0] < now:
                missing.append(twin_id)
            elif entry[1] is not None:
                found[twin_id] = entry[1]
        if missing:
            fetched = await self._inner.describe(missing)
            if len(entries) + len(missing) > self._max:
                entries.clear()
            for twin_id in missing:
                info = fetched.get(twin_id)
                entries[twin_id] = (now + (self._ttl if info else self._negative_ttl), info)
                if info is not None:
                    found[twin_id] = info
        return found
