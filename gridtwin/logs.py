"""The one logging set-up of GridTwin: rich console output, level from settings."""

from __future__ import annotations

import logging

from rich.logging import RichHandler


def configure_logging(level: str = "INFO") -> None:
    """Route all loggers (ours, uvicorn's, the drivers') through one handler."""
    logging.basicConfig(
        level=level.upper(),
        format="%(name)s: %(message)s",
        datefmt="[%X]",
        handlers=[RichHandler(rich_tracebacks=False, show_path=False)],
        force=True,
    )
    for noisy in ("neo4j", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
