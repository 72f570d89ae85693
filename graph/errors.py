"""Typed errors of the twin graph, so the API can map each to one HTTP/GraphQL error code.

Every refusal carries a list of :class:`Problem` (a JSON pointer into the caller's
document plus a sentence saying what is wrong), because a client fixing a twin
needs all the problems at once, not the first one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One reason a write is refused: ``pointer`` is an RFC 6901 JSON pointer into the input."""

    pointer: str
    message: str

    def __str__(self) -> str:
        return f"{self.pointer or '/'}: {self.message}"


class GraphError(Exception):
    """Base class of every error raised by ``graph``."""

    def __init__(self, message: str, problems: Iterable[Problem] = ()) -> None:
        self.problems: list[Problem] = list(problems)
        detail = "; ".join(str(p) for p in self.problems[:20])
        if len(self.problems) > 20:
            detail += f"; ... ({len(self.problems)} problems)"
        super().__init__(f"{message}: {detail}" if detail else message)
        self.message = message


class ValidationError(GraphError):
    """The document does not conform to its DTDL interface (nothing was written)."""


class NotFoundError(GraphError):
    """A twin, relationship or model does not exist."""


class ConflictError(GraphError):
    """The write contradicts the stored state: duplicate id, twin still related, model in use."""


class PreconditionFailedError(GraphError):
    """``if_match`` named an ETag that is no longer current (nothing was written)."""


class ModelError(GraphError):
    """A DTDL model set is invalid or its interface is unknown."""


class ProtectedError(GraphError):
    """The twin is an account (a User twin): only the user-management operations may change it."""
