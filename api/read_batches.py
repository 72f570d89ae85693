"""Concurrent one-twin reads of one shape, sent to Neo4j as one query.

Why: ``twin(id)`` is the API's most frequent read, and for one twin the driver's work per query (a
session, a pooled connection, RUN and PULL, the record's hydration) was a third of the API's time
(docs/benchmarks.md, "The read path").  Reads the event loop starts in the same iteration (requests
that arrived together) share one ``UNWIND`` query (``graph.projections.twins_rows_read``): Strawberry's
DataLoader, without its cache (a read now is never answered by an earlier request's row).

A batch only holds reads that would each send the same query text: the key is the model set, the
shape and the models hidden from the caller, so no caller gets a row its own query would not have
returned.  Permissions are asked per request before a read joins a batch.  The batch's transaction
metadata names every request it carries (``requestId``: the first, ``requestIds``: all).  A failed
batch fails each of its reads (the compiled path then answers those requests field by field).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from strawberry.dataloader import DataLoader

from dtdl import ModelSet
from gridtwin.logs import REQUEST_ID
from graph.projections import Row, TwinShape, twins_rows_read
from graph.reads import send_async

MAX_BATCH = 64
MAX_LOADERS = 256  # distinct (model set, shape, hidden models) keys kept; selections are bounded per plan cache

ReadKey = tuple[str, str | None]  # (twin id, the request's id)


class TwinReadBatches:
    """One DataLoader per (model set, shape, hidden models), on the app's event loop."""

    def __init__(self, driver: Callable[[], Any]) -> None:
        self._driver = driver  # the services' async driver, read per batch (tests count its queries)
        self._loaders: dict[tuple[int, TwinShape, tuple[str, ...]], tuple[ModelSet, DataLoader[ReadKey, Row | None]]] = {}

    async def row(self, models: ModelSet, twin_id: str, shape: TwinShape, hidden_models: Sequence[str]) -> Row | None:
        """The twin's row in ``shape`` (None when absent or hidden), read with the others asked meanwhile."""
        hidden = tuple(hidden_models)
        key = (id(models), shape, hidden)
        entry = self._loaders.get(key)
        if entry is None or entry[0] is not models:
            if len(self._loaders) >= MAX_LOADERS:
                self._loaders.clear()
            loader = DataLoader(partial(self._load, models, shape, hidden), max_batch_size=MAX_BATCH, cache=False)
            entry = self._loaders[key] = (models, loader)
        return await entry[1].load((twin_id, REQUEST_ID.get()))

    async def _load(self, models: ModelSet, shape: TwinShape, hidden: tuple[str, ...],
                    keys: list[ReadKey]) -> list[Row | None]:
        read = twins_rows_read(models, [twin_id for twin_id, _ in keys], shape, hidden)
        request_ids = list(dict.fromkeys(request_id for _, request_id in keys if request_id is not None))
        metadata = {"requestId": request_ids[0], "requestIds": request_ids} if request_ids else None
        rows = await send_async(self._driver(), read, metadata=metadata)
        return [rows.get(twin_id) for twin_id, _ in keys]


__all__ = ["MAX_BATCH", "TwinReadBatches"]
