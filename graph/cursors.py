"""Keyset cursors for ordered twin pages: a cursor names a place by the sort key of a twin, not a position.

An offset cursor ("the 51st twin") shifts when a twin is inserted or deleted before it, so a client
paging through a changing grid skips or repeats twins.  A keyset cursor holds the values the page is
ordered by, ending with the twin id (unique, so the order is total), and the next page is the twins
strictly after those values in that order: inserts elsewhere do not move it.

Neo4j orders ``null`` (an absent property) after every value ascending and before every value
descending; the conditions below follow that rule, so a page never loses the twins that lack an
ordered property.  A cursor also records the order it was made for: one from another ``orderBy``
is refused rather than silently misread.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from graph.errors import Problem, ValidationError


@dataclass(frozen=True)
class SortKey:
    """One key of the page order: a backtick-quoted node key (or ``id``) and its direction."""

    cypher: str
    descending: bool = False

    def reversed(self) -> SortKey:
        return SortKey(self.cypher, not self.descending)


def order_signature(keys: Sequence[SortKey]) -> list[list[Any]]:
    return [[key.cypher, key.descending] for key in keys]


def encode_cursor(keys: Sequence[SortKey], values: Sequence[Any]) -> str:
    """The cursor of the twin whose sort-key values are ``values`` (JSON: strings, numbers, booleans, null)."""
    payload = json.dumps({"o": order_signature(keys), "k": list(values)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode()


def decode_cursor(cursor: str, keys: Sequence[SortKey], pointer: str) -> list[Any]:
    """The sort-key values of a cursor of this order; a ValidationError at ``pointer`` otherwise."""
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor.encode()).decode())
        values = payload["k"]
        order = payload["o"]
        if not isinstance(values, list) or len(values) != len(keys) or not isinstance(values[-1], str):
            raise ValueError(cursor)
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeDecodeError) as error:
        raise ValidationError("bad cursor", [Problem(pointer, f"{cursor!r} is not a cursor of this connection")]) \
            from error
    if order != order_signature(keys):
        raise ValidationError("bad cursor", [Problem(pointer, "the cursor was made for another orderBy; "
                                                              "page with the order it came from")])
    return values


def beyond(keys: Sequence[SortKey], values: Sequence[Any], prefix: str, params: dict[str, Any]) -> str:
    """A Cypher condition true for twins strictly after ``values`` in the order of ``keys`` (lexicographic:
    after on the first key, or equal on it and after on the rest); the values go into ``params``."""
    alternatives: list[str] = []
    equal_so_far: list[str] = []
    for index, (key, value) in enumerate(zip(keys, values)):
        name = f"{prefix}{index}"
        params[name] = value
        after = _after_one(key, value, name)
        if after is not None:
            alternatives.append(" AND ".join([*equal_so_far, after]))
        equal_so_far.append(f"t.{key.cypher} IS NULL" if value is None else f"t.{key.cypher} = ${name}")
    return "(" + " OR ".join(f"({alternative})" for alternative in alternatives) + ")" if alternatives else "false"


def _after_one(key: SortKey, value: Any, name: str) -> str | None:
    """After ``value`` on one key (None: nothing is, a null ascending is last)."""
    column = f"t.{key.cypher}"
    if value is None:
        return f"{column} IS NOT NULL" if key.descending else None
    if key.descending:
        return f"{column} < ${name}"
    return f"({column} > ${name} OR {column} IS NULL)"


__all__ = ["SortKey", "beyond", "decode_cursor", "encode_cursor"]
