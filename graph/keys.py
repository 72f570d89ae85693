"""The keys the graph itself writes on twin nodes and relationships, and the clock it writes.

``id``/``model`` are reserved by the schema compiler; the ETag and timestamps start with ``_``
because a DTDL name never does (User declares a ``createdAt`` property of its own, so a bare
``createdAt`` key would collide).  One clock (:func:`now`) stamps every write, single or bulk.
"""

from __future__ import annotations

from datetime import datetime, timezone

ETAG_KEY = "_etag"
CREATED_KEY = "_createdAt"
UPDATED_KEY = "_updatedAt"
TWIN_SYSTEM_KEYS = frozenset({"id", "model", ETAG_KEY, CREATED_KEY, UPDATED_KEY})
RELATIONSHIP_SYSTEM_KEYS = frozenset({"id", "name", ETAG_KEY, CREATED_KEY, UPDATED_KEY})


def now() -> datetime:
    """The time a write is stamped with: timezone-aware UTC (stored as a native Neo4j DATETIME)."""
    return datetime.now(timezone.utc)


__all__ = ["CREATED_KEY", "ETAG_KEY", "RELATIONSHIP_SYSTEM_KEYS", "TWIN_SYSTEM_KEYS", "UPDATED_KEY", "now"]
