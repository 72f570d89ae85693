"""The one logging set-up of GridTwin: rich console output, or JSON lines for log collectors.

``GRIDTWIN_LOG_FORMAT=json`` writes one JSON object per record (python-json-logger) with the
time, level, logger, message and the request id of the API request the record belongs to
(:data:`REQUEST_ID`, set by ``api.request_ids``), so a log collector joins everything one
request did; the console format stays the default for people.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar

from rich.logging import RichHandler

#: The id of the API request the current task or thread works for (None outside a request).
REQUEST_ID: ContextVar[str | None] = ContextVar("gridtwin_request_id", default=None)


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every record (``request_id``), for the JSON lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


def _json_handler() -> logging.Handler:
    from pythonjsonlogger.json import JsonFormatter

    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
                                       rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                                       timestamp=False))
    return handler


def configure_logging(level: str = "INFO", log_format: str = "console") -> None:
    """Route all loggers (ours, uvicorn's, the drivers') through one handler."""
    handler = _json_handler() if log_format == "json" else RichHandler(rich_tracebacks=False, show_path=False)
    logging.basicConfig(level=level.upper(), format="%(name)s: %(message)s", datefmt="[%X]", handlers=[handler],
                        force=True)
    for noisy in ("neo4j", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
