"""Metric labels come from the server's own finite sets, never from request text (api.metrics)."""

from __future__ import annotations

from starlette.requests import Request

from api.metrics import authorised, route_of


def _request(authorization: str | None) -> Request:
    headers = [(b"authorization", authorization.encode())] if authorization is not None else []
    return Request({"type": "http", "method": "GET", "path": "/metrics", "headers": headers})


def test_unknown_paths_share_one_route_label() -> None:
    assert route_of("/graphql") == "/graphql" and route_of("/metrics") == "/metrics"
    assert route_of("/graphiql-assets/graphiql.min.js") == "/graphiql-assets"
    assert {route_of(f"/probe/{i}") for i in range(100)} == {"other"}


def test_only_the_bearer_of_the_metrics_token_is_authorised() -> None:
    assert authorised(_request("Bearer s3cret"), "s3cret")
    assert authorised(_request("bearer s3cret "), "s3cret")
    for header in (None, "", "Bearer", "Bearer s3cre", "Basic s3cret", "Bearer s3cret2", "s3cret"):
        assert not authorised(_request(header), "s3cret"), header
