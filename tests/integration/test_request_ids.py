"""A request's id reaches Neo4j as transaction metadata, through both drivers (issue 13, Operations)."""

from __future__ import annotations

import asyncio

from gridtwin.config import Settings
from gridtwin.logs import REQUEST_ID
from graph.db import in_transaction, open_async_driver, open_driver
from graph.reads import Read, send_async

METADATA = "CALL tx.getMetaData() YIELD metadata RETURN metadata"


def test_the_sync_driver_sends_the_request_id(settings: Settings) -> None:
    with open_driver(settings) as driver:
        token = REQUEST_ID.set("req-sync-1")
        try:
            records, _, _ = driver.execute_query(METADATA)
        finally:
            REQUEST_ID.reset(token)
        assert records[0]["metadata"] == {"requestId": "req-sync-1"}
        outside, _, _ = driver.execute_query(METADATA)
        assert outside[0]["metadata"] == {}


def test_the_async_driver_sends_the_request_id(settings: Settings) -> None:
    async def read() -> dict:
        driver = open_async_driver(settings)
        try:
            REQUEST_ID.set("req-async-2")  # this task's context only
            records, _, _ = await driver.execute_query(METADATA)
            return dict(records[0]["metadata"])
        finally:
            await driver.close()

    assert asyncio.run(read()) == {"requestId": "req-async-2"}


def _metadata_of(tx) -> dict:
    return dict(tx.run(METADATA).single()["metadata"])


def test_managed_transactions_send_the_request_id(settings: Settings) -> None:
    """Writes of the graph layer (updateTwin, relationships, model uploads ...) run through in_transaction."""
    with open_driver(settings) as driver:
        token = REQUEST_ID.set("req-tx-3")
        try:
            assert in_transaction(driver, _metadata_of) == {"requestId": "req-tx-3"}
            assert in_transaction(driver, _metadata_of, write=False) == {"requestId": "req-tx-3"}
        finally:
            REQUEST_ID.reset(token)
        assert in_transaction(driver, _metadata_of) == {}


def test_the_async_session_read_sends_the_request_id(settings: Settings) -> None:
    async def read() -> dict:
        driver = open_async_driver(settings)
        try:
            REQUEST_ID.set("req-async-4")
            return await send_async(driver, Read(METADATA, {}, lambda records: dict(records[0]["metadata"])))
        finally:
            await driver.close()

    assert asyncio.run(read()) == {"requestId": "req-async-4"}
