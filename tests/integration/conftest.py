"""Connections to the test profile's real Neo4j and InfluxDB; never fakes.

Every test in this folder is marked ``integration``.  When a server is not
reachable the test fails with the command that starts it, rather than skipping
and hiding that the suite did not run.
"""

from __future__ import annotations

from collections.abc import Iterator

import neo4j
import pytest
from influxdb_client import InfluxDBClient

from gridtwin.config import Settings


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


START_HINT = "start the test servers: GRIDTWIN_PROFILE=test .venv/bin/gridtwin services up"


@pytest.fixture(scope="session")
def neo4j_driver(settings: Settings) -> Iterator[neo4j.Driver]:
    uri, user, password = settings.resolved_neo4j()
    driver = neo4j.GraphDatabase.driver(uri, auth=(user, password))
    try:
        driver.verify_connectivity()
    except Exception as error:  # noqa: BLE001
        pytest.fail(f"Neo4j at {uri} is not reachable ({error}); {START_HINT}")
    yield driver
    driver.close()


@pytest.fixture(scope="session")
def influx_client(settings: Settings) -> Iterator[InfluxDBClient]:
    url, token = settings.resolved_influxdb()
    client = InfluxDBClient(url=url, token=token, org=settings.influxdb_org, timeout=10_000)
    if not client.ping():
        pytest.fail(f"InfluxDB at {url} is not reachable; {START_HINT}")
    yield client
    client.close()
