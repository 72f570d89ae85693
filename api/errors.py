"""Errors a client may see, and the masking of every other error.

Resolvers raise domain errors (graph.errors, api.auth); ``client_error`` turns
them into a ``ClientError`` whose message and ``extensions`` (a code and the
list of problems with JSON pointers) reach the client.  Anything else is masked
by ``should_mask`` to "Unexpected error." so no stack trace, Cypher text or
server detail leaks.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

from graphql import GraphQLError
from starlette.concurrency import run_in_threadpool

from api.auth import AuthError, Forbidden
from api.metrics import awaited_label, observe_awaited, observe_call
from graph.errors import (
    ConflictError, GraphError, ModelError, NotFoundError, PreconditionFailedError, ProtectedError, ValidationError,
)

P = ParamSpec("P")
T = TypeVar("T")

_CODES: tuple[tuple[type[Exception], str], ...] = (
    (AuthError, "UNAUTHENTICATED"),
    (Forbidden, "FORBIDDEN"),
    (ProtectedError, "FORBIDDEN"),
    (ValidationError, "BAD_USER_INPUT"),
    (NotFoundError, "NOT_FOUND"),
    (ConflictError, "CONFLICT"),
    (PreconditionFailedError, "PRECONDITION_FAILED"),
    (ModelError, "BAD_MODEL"),
)


class ClientError(Exception):
    """An error meant for the client: message, code and problems (pointer + message)."""

    def __init__(self, message: str, code: str, problems: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.extensions: dict[str, Any] = {"code": code}
        if problems:
            self.extensions["problems"] = problems


def client_error(error: Exception) -> ClientError:
    code = next((code for kind, code in _CODES if isinstance(error, kind)), "BAD_REQUEST")
    problems = [{"pointer": p.pointer, "message": p.message} for p in getattr(error, "problems", None) or []]
    return ClientError(str(error), code, problems)


def should_mask(error: GraphQLError) -> bool:
    """Mask everything but our client errors and GraphQL's own parse/validation errors."""
    original = error.original_error
    return original is not None and not isinstance(original, ClientError)


async def call(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a blocking graph-layer call off the event loop, its domain errors made client errors (timed for /metrics)."""
    started = time.perf_counter()
    try:
        return await run_in_threadpool(function, *args, **kwargs)
    except (GraphError, AuthError, Forbidden) as error:
        raise client_error(error) from error
    finally:
        observe_call(function, time.perf_counter() - started)


async def guarded(awaitable: Awaitable[T]) -> T:
    """``call`` for coroutines: domain errors made client errors (timed for /metrics by coroutine name)."""
    label, started = awaited_label(awaitable), time.perf_counter()
    try:
        return await awaitable
    except (GraphError, AuthError, Forbidden) as error:
        raise client_error(error) from error
    finally:
        observe_awaited(label, time.perf_counter() - started)
