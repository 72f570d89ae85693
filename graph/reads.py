"""One read of the twin graph, described once and sent by the sync or the async driver.

A :class:`Read` is the Cypher text, its parameters and a pure function from the records to the
answer; :func:`send` and :func:`send_async` only send it (as httpx builds a request once and its
two clients only send it).  The graph layer's sync functions and the async ones the API's
DataLoaders run on the event loop are then one description each and cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import neo4j

from graph.db import request_metadata

T = TypeVar("T")


@dataclass(frozen=True)
class Read(Generic[T]):
    """A read query and how its records become the answer."""

    text: str
    params: Mapping[str, Any]
    decode: Callable[[Sequence[neo4j.Record]], T]
    needed: bool = True
    """False when the answer is known without asking Neo4j (see :meth:`known`)."""

    @classmethod
    def known(cls, answer: T) -> Read[T]:
        """A read whose answer needs no query (no ids were asked for): nothing is sent."""
        return cls("", {}, lambda _records: answer, needed=False)


def send(driver: neo4j.Driver, read: Read[T], *, database: str | None = None) -> T:
    """Run ``read`` as a managed auto-commit read on the sync driver (which retries transient errors)."""
    if not read.needed:
        return read.decode([])
    records, _, _ = driver.execute_query(
        read.text, dict(read.params), database_=database, routing_=neo4j.RoutingControl.READ
    )
    return read.decode(records)


async def send_async(driver: neo4j.AsyncDriver, read: Read[T], *, database: str | None = None,
                     metadata: Mapping[str, Any] | None = None) -> T:
    """Run ``read`` on the async driver as one auto-commit query on the event loop: no thread hop and
    no GIL hand-over between worker threads, which halves the cost of the API's hottest reads.
    The transaction metadata names the current request unless ``metadata`` is given."""
    if not read.needed:
        return read.decode([])
    async with driver.session(database=database, default_access_mode=neo4j.READ_ACCESS) as session:
        query = neo4j.Query(read.text, metadata=dict(metadata) if metadata is not None else request_metadata())
        result = await session.run(query, dict(read.params))
        records = [record async for record in result]
    return read.decode(records)


__all__ = ["Read", "send", "send_async"]
