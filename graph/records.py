"""Typed results of the graph layer and their construction from Neo4j values.

The API layer gets dataclasses, never driver objects, so it does not depend on how
values are stored (flattened keys, JSON strings, underscore system keys).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dtdl.model import ModelSet
from graph.encoding import datetime_to_native, decode_contents, decode_without_model
from graph.errors import PreconditionFailedError, Problem, ValidationError
from graph.keys import CREATED_KEY, ETAG_KEY, RELATIONSHIP_SYSTEM_KEYS, TWIN_SYSTEM_KEYS, UPDATED_KEY

MAX_ID_LENGTH = 256


def read_projection(variable: str) -> str:
    """``RETURN`` expression for a node or relationship read in bulk: its properties with the
    system timestamps as [epoch seconds, nanoseconds], which the driver decodes far faster than
    temporal values (they dominated the cost of reading 100 twins)."""
    def epoch(key: str) -> str:
        return f"{key}: [{variable}.{key}.epochSeconds, {variable}.{key}.nanosecond]"

    return f"{variable} {{.*, {epoch(CREATED_KEY)}, {epoch(UPDATED_KEY)}}}"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Twin:
    """A digital twin as the API sees it: id, model DTMI, ETag, timestamps, property document."""

    id: str
    model: str
    etag: str
    created_at: datetime | None
    updated_at: datetime | None
    properties: dict[str, Any] = field(default_factory=dict)

    def to_document(self) -> dict[str, Any]:
        """ADT-style JSON document: ``$dtId``, ``$etag``, ``$metadata.$model`` plus properties."""
        return {"$dtId": self.id, "$etag": self.etag, "$metadata": {"$model": self.model}, **self.properties}


@dataclass(frozen=True)
class Relationship:
    """A stored relationship, always in its stored direction (``fedBy`` is shown as the feedsTo it is)."""

    id: str
    name: str
    source_id: str
    target_id: str
    etag: str
    created_at: datetime | None
    updated_at: datetime | None
    properties: dict[str, Any] = field(default_factory=dict)
    #: Models of the endpoints when the query read them (listing does, so the API can type the
    #: twin at the other end without reading it); not part of the relationship's identity.
    source_model: str | None = field(default=None, compare=False, repr=False)
    target_model: str | None = field(default=None, compare=False, repr=False)


def check_etag(stored: Mapping[str, Any], if_match: str | None, what: str) -> None:
    """Refuse a write whose If-Match (``*`` matches anything) is not the stored ETag."""
    if if_match is not None and if_match != "*" and stored.get(ETAG_KEY) != if_match:
        raise PreconditionFailedError(
            f"the {what} was changed since it was read",
            [Problem("/$etag", f"If-Match {if_match} is stale; current ETag is {stored.get(ETAG_KEY)}")],
        )


def new_etag() -> str:
    """A weak ETag that changes on every write (a version counter would repeat after a delete)."""
    return f'W/"{uuid.uuid4()}"'


def check_twin_id(twin_id: object, pointer: str = "/$dtId") -> str:
    """Twin and relationship ids: non-empty strings without control characters, at most 256 long."""
    if not isinstance(twin_id, str) or not twin_id or len(twin_id) > MAX_ID_LENGTH or _CONTROL.search(twin_id):
        raise ValidationError(
            "invalid id", [Problem(pointer, f"an id is a non-empty string of at most {MAX_ID_LENGTH} printable characters")]
        )
    return twin_id


def decoded_properties(models: ModelSet, stored: Mapping[str, Any]) -> dict[str, Any]:
    """The property document of a node's map, decoded by its model (best effort without one)."""
    interface = models.interfaces.get(stored.get("model", ""))
    if interface is not None:
        return decode_contents(models, interface.contents, stored)
    return decode_without_model(stored, TWIN_SYSTEM_KEYS)


def twin_from_node(models: ModelSet, stored: Mapping[str, Any]) -> Twin:
    """Build a :class:`Twin` from a node's property map."""
    return Twin(
        id=stored["id"],
        model=stored.get("model", ""),
        etag=stored.get(ETAG_KEY, ""),
        created_at=datetime_to_native(stored.get(CREATED_KEY)),
        updated_at=datetime_to_native(stored.get(UPDATED_KEY)),
        properties=decoded_properties(models, stored),
    )


def relationship_from_record(
    models: ModelSet,
    stored: Mapping[str, Any],
    source_id: str,
    target_id: str,
    source_model: str | None,
    target_model: str | None = None,
) -> Relationship:
    """Build a :class:`Relationship` from a relationship's property map and its endpoints."""
    name = stored.get("name", "")
    declaration = None
    interface = models.interfaces.get(source_model or "")
    if interface is not None:
        declaration = interface.contents.get(name)
    if declaration is not None and declaration.kind == "Relationship":
        properties = decode_contents(models, declaration.properties, stored)
    else:
        properties = decode_without_model(stored, RELATIONSHIP_SYSTEM_KEYS)
    return Relationship(
        id=stored.get("id", ""),
        name=name,
        source_id=source_id,
        target_id=target_id,
        etag=stored.get(ETAG_KEY, ""),
        created_at=datetime_to_native(stored.get(CREATED_KEY)),
        updated_at=datetime_to_native(stored.get(UPDATED_KEY)),
        properties=properties,
        source_model=source_model,
        target_model=target_model,
    )
