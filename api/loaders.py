"""Per-request DataLoaders: nested twin/relationship fields cost one query per level, not per result.

A request that asks for twins, their relationships, the targets and the
targets' relationships runs one batched query per (level, relationship name,
direction), whatever the number of twins returned.

Twins reached through a relationship or a traversal are *lazy*: their id and model
come with the relationship (or trace) query, so ``{ id __typename }`` needs no
further read; the first other field asked for loads all of them in one batched
query (the same DataLoader that serves ``twin(id)``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cached_property
from typing import Any

from strawberry.dataloader import DataLoader

from api.errors import call, guarded
from api.registry import ActiveModels
from api.types import Relationship, Twin
from graph import relationships as graph_relationships
from graph import twins as graph_twins
from graph.records import Relationship as StoredRelationship
from graph.records import Twin as StoredTwin

RelationshipKey = tuple[str, str | None, str]


def twin_record(twin: StoredTwin) -> dict[str, Any]:
    return {"id": twin.id, "model": twin.model, "etag": twin.etag, "properties": twin.properties}


def relationship_object(stored: StoredRelationship) -> Relationship:
    return Relationship(id=stored.id, name=stored.name, source_id=stored.source_id, target_id=stored.target_id,
                        properties=stored.properties)


class Loaders:
    """``hide_accounts``: User twins read as absent (callers without the manage_users permission may not see
    accounts; ``me`` is their view of their own)."""

    def __init__(self, driver: Any, async_driver: Any, active: ActiveModels, hide_accounts: bool = True) -> None:
        self._driver = driver
        self._async_driver = async_driver  # batch reads run on the event loop; see graph.twins.get_twins_async
        self._active = active
        self.hide_accounts = hide_accounts

    # The DataLoaders are made on first use: a request answered from its read plan (api.compiled_reads)
    # needs none, and each one is a small reference cycle (its cache's lambda) that only the garbage
    # collector frees: three per request were ~5,000 such objects a second at 500 requests/s.
    @cached_property
    def _twins(self) -> DataLoader[str, Twin | None]:
        return DataLoader(load_fn=self._load_twins)

    @cached_property
    def _relationships(self) -> DataLoader[RelationshipKey, list[StoredRelationship]]:
        return DataLoader(load_fn=self._load_relationships)

    @cached_property
    def _neighbours(self) -> DataLoader[RelationshipKey, list[tuple[str, str]]]:
        return DataLoader(load_fn=self._load_neighbours)

    @property
    def hidden_models(self) -> tuple[str, ...]:
        """The models whose twins this caller's listings, counts and queries leave out."""
        return (graph_twins.ACCOUNT_MODEL,) if self.hide_accounts else ()

    def typed(self, twin: StoredTwin) -> Twin:
        """A graph-layer twin as its generated GraphQL type (and cached for this request)."""
        instance = self._active.types.instance(twin_record(twin))
        self._twins.prime(twin.id, instance)
        return instance

    def known(self, twin_id: str, model: str) -> Twin:
        """A twin whose existence and model a query just read (a trace, a relationship): its other
        fields are read only if the request asks for them, for all such twins in one query."""
        return self._active.types.lazy(twin_id, model, self._twins.load)

    def steps(self, nodes: Iterable[Any]) -> list[Twin]:
        """Lazy twins of traversal results (``graph.topology.TraceNode``: id and model), in order."""
        known = self.known
        return [known(node.id, node.model) for node in nodes]

    async def twin(self, twin_id: str) -> Twin | None:
        return await self._twins.load(twin_id)

    async def twins(self, twin_ids: Sequence[str]) -> list[Twin | None]:
        """Twins by id, ``None`` for the missing ones; one query for their models, the rest on demand."""
        # one direct call rather than DataLoader.load_many: a trace passes thousands of ids, and a future
        # per id cost more than the query (callers already pass a whole level at once)
        found = await call(graph_twins.get_models, self._driver, twin_ids)
        known = self.known
        return [None if (model := found.get(twin_id)) is None else known(twin_id, model) for twin_id in twin_ids]

    async def relationships(self, twin_id: str, name: str | None, direction: str) -> list[Relationship]:
        stored = await self._relationships.load((twin_id, name, direction))
        return [relationship_object(item) for item in stored]

    async def related(self, twin_id: str, name: str, direction: str) -> list[Twin]:
        """The twins at the other end of ``twin_id``'s ``name`` relationships (ids and models only:
        their fields are read if asked, for all of them at once)."""
        others = await self._neighbours.load((twin_id, name, direction))
        known = self.known
        return [known(other_id, model) for other_id, model in others]

    async def _load_twins(self, twin_ids: list[str]) -> list[Twin | None]:
        models = self._active.models
        found = await guarded(graph_twins.get_twins_async(self._async_driver, models, twin_ids))
        if self.hide_accounts:
            found = {i: t for i, t in found.items() if not graph_twins.is_account_model(models, t.model)}
        instance = self._active.types.instance
        return [instance(twin_record(found[i])) if i in found else None for i in twin_ids]

    async def _load_relationships(self, keys: list[RelationshipKey]) -> list[list[StoredRelationship]]:
        return await self._per_name_and_direction(keys, graph_relationships.list_relationships_many_async)

    async def _load_neighbours(self, keys: list[RelationshipKey]) -> list[list[tuple[str, str]]]:
        return await self._per_name_and_direction(keys, graph_relationships.neighbours_many_async)

    async def _per_name_and_direction(self, keys: list[RelationshipKey], read: Any) -> list[list[Any]]:
        """One batched read per (relationship name, direction) among ``keys``, answers in key order."""
        groups: dict[tuple[str | None, str], list[str]] = {}
        for twin_id, name, direction in keys:
            groups.setdefault((name, direction), []).append(twin_id)
        found: dict[RelationshipKey, list[Any]] = {}
        for (name, direction), twin_ids in groups.items():
            by_twin = await guarded(read(self._async_driver, self._active.models, twin_ids, name=name,
                                         direction=direction))
            found.update({(twin_id, name, direction): items for twin_id, items in by_twin.items()})
        return [found.get(key, []) for key in keys]
