"""Concurrent one-twin reads of one shape share one query; reads that would differ never share one."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import neo4j
import pytest

from api.read_batches import TwinReadBatches
from dtdl import ModelSet
from gridtwin.config import Settings
from gridtwin.logs import REQUEST_ID
from graph import db as graph_db
from graph.bulk import TwinRow, bulk_create_twins, bulk_delete_twins
from graph.projections import DATA, ID, TwinShape
from graph.twins import ACCOUNT_MODEL

LINE = "dtmi:gridtwin:Line;1"


class RecordingDriver:
    """Delegates to the async driver and records each query's transaction metadata."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver
        self.metadata: list[dict[str, Any] | None] = []

    def session(self, **options: Any) -> Any:
        recording, real = self, self.driver.session(**options)

        class Session:
            async def __aenter__(self) -> Session:
                self.inner = await real.__aenter__()
                return self

            async def __aexit__(self, *exc: Any) -> Any:
                return await real.__aexit__(*exc)

            async def run(self, query: neo4j.Query, params: dict[str, Any]) -> Any:
                recording.metadata.append(query.metadata)
                return await self.inner.run(query, params)

        return Session()


@pytest.fixture(scope="module")
def stored(neo4j_driver: neo4j.Driver, models: ModelSet, tokens: dict[str, str]) -> Iterator[tuple[list[str], str]]:
    """Five lines, and an account twin (the tokens fixture's viewer)."""
    tag = uuid.uuid4().hex[:8]
    lines = [f"rb-{tag}-line-{i}" for i in range(5)]
    account = neo4j_driver.execute_query("MATCH (u:Twin) WHERE u.id STARTS WITH 'user:viewer-' RETURN u.id AS id "
                                         "LIMIT 1").records[0]["id"]
    bulk_create_twins(neo4j_driver, models, [TwinRow(line, LINE, {"name": line, "length": float(i)})
                                             for i, line in enumerate(lines)])
    yield lines, account
    bulk_delete_twins(neo4j_driver, lines)


def test_reads_in_one_loop_iteration_share_a_query(settings: Settings, models: ModelSet,
                                                  stored: tuple[list[str], str]) -> None:
    lines, account = stored
    shape = TwinShape(data=True)

    async def read(batches: TwinReadBatches, request_id: str, twin_id: str, hidden: tuple[str, ...] = ()) -> Any:
        REQUEST_ID.set(request_id)  # each gathered read is its own task, as each request is
        return await batches.row(models, twin_id, shape, hidden)

    async def scenario() -> None:
        driver = graph_db.open_async_driver(settings)
        recording = RecordingDriver(driver)
        batches = TwinReadBatches(lambda: recording)
        try:
            asked = [*lines, f"{lines[0]}-absent", lines[2]]
            rows = await asyncio.gather(*(read(batches, f"r{i}", twin_id) for i, twin_id in enumerate(asked)))
            assert [row[ID] if row else None for row in rows] == [*lines, None, lines[2]]
            assert [row[DATA]["length"] for row in rows if row] == [0.0, 1.0, 2.0, 3.0, 4.0, 2.0]
            assert recording.metadata == [{"requestId": "r0", "requestIds": [f"r{i}" for i in range(len(asked))]}]

            # a viewer's read (accounts hidden) never joins an admin's: two queries, two answers
            recording.metadata.clear()
            admin, viewer = await asyncio.gather(read(batches, "admin", account),
                                                 read(batches, "viewer", account, (ACCOUNT_MODEL,)))
            assert admin is not None and admin[ID] == account and viewer is None
            assert len(recording.metadata) == 2

            # one read at a time waits for no company: one query each
            recording.metadata.clear()
            for twin_id in lines[:3]:
                assert (await read(batches, "alone", twin_id))[ID] == twin_id  # type: ignore[index]
            assert len(recording.metadata) == 3
        finally:
            await driver.close()

    asyncio.run(scenario())
