"""Shared fixtures. Integration tests run against the *test* profile's real servers
(``GRIDTWIN_PROFILE=test gridtwin services up``, done by ``make test``)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("GRIDTWIN_PROFILE", "test")

from gridtwin.config import Settings  # noqa: E402  (the profile must be set first)


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()
