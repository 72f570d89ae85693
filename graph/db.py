"""Connections to the profile's Neo4j.

One driver per process (it pools connections); the API opens it at
start-up and closes it at shutdown.
"""

from __future__ import annotations

import neo4j

from gridtwin.config import Settings


def open_driver(settings: Settings) -> neo4j.Driver:
    uri, user, password = settings.resolved_neo4j()
    return neo4j.GraphDatabase.driver(uri, auth=(user, password), max_connection_pool_size=64,
                                      notifications_min_severity="OFF")


def open_async_driver(settings: Settings) -> neo4j.AsyncDriver:
    """The async driver for the API's hot reads on the event loop (see graph.twins.get_twins_async)."""
    uri, user, password = settings.resolved_neo4j()
    return neo4j.AsyncGraphDatabase.driver(uri, auth=(user, password), max_connection_pool_size=64,
                                           notifications_min_severity="OFF")


def ping(driver: neo4j.Driver) -> bool:
    """True when Neo4j answers a query (connectivity alone misses auth problems).

    A plain session, not ``execute_query``: that one retries for up to 30 s, and a health
    check must answer at once."""
    try:
        with driver.session(default_access_mode=neo4j.READ_ACCESS) as session:
            session.run("RETURN 1").consume()
    except (neo4j.exceptions.Neo4jError, neo4j.exceptions.DriverError, OSError):
        return False
    return True
