"""Connections to the profile's Neo4j.

One driver per process (it pools connections); the API opens it at
start-up and closes it at shutdown.  Every transaction the graph layer opens carries the current
API request's id as transaction metadata (``requestId``, from :data:`gridtwin.logs.REQUEST_ID`), so
``SHOW TRANSACTIONS`` and Neo4j's logs name the request a query belongs to: ``execute_query``
through :func:`with_request_metadata`, managed transactions through :func:`in_transaction`, and
the two explicit sessions (``graph.reads.send_async``, the Cypher console) through
:func:`request_metadata`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import neo4j

from gridtwin.config import Settings
from gridtwin.logs import REQUEST_ID

Call = TypeVar("Call", bound=Callable[..., Any])
T = TypeVar("T")


def request_metadata() -> dict[str, str] | None:
    """The transaction metadata naming the current request (None outside a request)."""
    request_id = REQUEST_ID.get()
    return None if request_id is None else {"requestId": request_id}


def with_request_metadata(execute_query: Call) -> Call:
    """``execute_query`` (sync or async) sending a text query as a ``neo4j.Query`` with the request id."""
    @functools.wraps(execute_query)
    def send(query_: Any, *args: Any, **kwargs: Any) -> Any:
        metadata = request_metadata()
        if metadata is not None and isinstance(query_, str):
            query_ = neo4j.Query(query_, metadata=metadata)
        return execute_query(query_, *args, **kwargs)  # an awaitable for the async driver: returned as is

    return send  # type: ignore[return-value]


def in_transaction(driver: neo4j.Driver, work: Callable[[neo4j.ManagedTransaction], T], *,
                   database: str | None = None, write: bool = True) -> T:
    """``work`` as one managed transaction (retried by the driver on transient errors), carrying the
    request id like ``execute_query`` does."""
    metadata = request_metadata()
    unit = neo4j.unit_of_work(metadata=metadata)(work) if metadata is not None else work
    with driver.session(database=database) as session:
        return session.execute_write(unit) if write else session.execute_read(unit)


def open_driver(settings: Settings) -> neo4j.Driver:
    uri, user, password = settings.resolved_neo4j()
    driver = neo4j.GraphDatabase.driver(uri, auth=(user, password), max_connection_pool_size=64,
                                        notifications_min_severity="OFF")
    driver.execute_query = with_request_metadata(driver.execute_query)  # type: ignore[method-assign]
    return driver


def open_async_driver(settings: Settings) -> neo4j.AsyncDriver:
    """The async driver for the API's hot reads on the event loop (see graph.twins.get_twins_async)."""
    uri, user, password = settings.resolved_neo4j()
    driver = neo4j.AsyncGraphDatabase.driver(uri, auth=(user, password), max_connection_pool_size=64,
                                             notifications_min_severity="OFF")
    driver.execute_query = with_request_metadata(driver.execute_query)  # type: ignore[method-assign]
    return driver


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
