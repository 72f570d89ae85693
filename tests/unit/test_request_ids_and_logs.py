"""Request ids: taken from the caller when plain, made otherwise, answered, and on every JSON log line."""

from __future__ import annotations

import json
import logging

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from api.request_ids import RequestIds
from gridtwin.logs import REQUEST_ID, configure_logging


def _app() -> Starlette:
    async def echo(_: Request) -> PlainTextResponse:
        logging.getLogger("gridtwin.test").info("inside the request")
        return PlainTextResponse(REQUEST_ID.get() or "-")

    return Starlette(routes=[Route("/", echo)], middleware=[Middleware(RequestIds)])


def test_a_plain_caller_id_is_kept_and_anything_else_replaced() -> None:
    client = TestClient(_app())
    kept = client.get("/", headers={"X-Request-Id": "grafana-7f3a:1"})
    assert kept.text == "grafana-7f3a:1" and kept.headers["x-request-id"] == "grafana-7f3a:1"
    for bad in ("two words", "x" * 65, "semi;colon", "quote\"d"):
        answer = client.get("/", headers={"X-Request-Id": bad})
        assert answer.text != bad and len(answer.text) == 32 and answer.headers["x-request-id"] == answer.text
    fresh = client.get("/")
    assert len(fresh.text) == 32 and fresh.text != client.get("/").text
    assert REQUEST_ID.get() is None  # reset after each request


def test_json_log_lines_carry_the_request_id(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "json")
    try:
        TestClient(_app()).get("/", headers={"X-Request-Id": "req-42"})
        logging.getLogger("gridtwin.test").warning("outside")
    finally:
        configure_logging("INFO")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    inside = next(line for line in lines if line["message"] == "inside the request")
    outside = next(line for line in lines if line["message"] == "outside")
    assert (inside["request_id"], inside["level"], inside["logger"]) == ("req-42", "INFO", "gridtwin.test")
    assert outside["request_id"] is None and "time" in outside
