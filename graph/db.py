"""Connections to the profile's Neo4j.

One async driver per process (it pools connections); the API opens it at
start-up and closes it at shutdown.
"""

from __future__ import annotations

import neo4j

from gridtwin.config import Settings


def open_async_driver(settings: Settings) -> neo4j.AsyncDriver:
    uri, user, password = settings.resolved_neo4j()
    return neo4j.AsyncGraphDatabase.driver(uri, auth=(user, password), max_connection_pool_size=50)


def open_driver(settings: Settings) -> neo4j.Driver:
    uri, user, password = settings.resolved_neo4j()
    return neo4j.GraphDatabase.driver(uri, auth=(user, password))


async def is_reachable(driver: neo4j.AsyncDriver) -> bool:
    """True when Neo4j answers a query (connectivity alone misses auth problems)."""
    try:
        await driver.execute_query("RETURN 1", routing_=neo4j.RoutingControl.READ)
    except (neo4j.exceptions.Neo4jError, neo4j.exceptions.DriverError, OSError):
        return False
    return True
