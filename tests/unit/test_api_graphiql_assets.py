"""Without its npm files GraphiQL says what to run, and never falls back to a CDN; only listed names are served."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.testclient import TestClient

from api import graphiql
from gridtwin import browser_assets
from gridtwin.config import Settings


def test_a_server_without_the_files_says_how_to_install_them(tmp_path: Path) -> None:
    settings = Settings(cache_dir=tmp_path)
    page = graphiql.page(settings)
    assert page.status_code == 503
    body = page.body.decode()
    assert "gridtwin services build" in body and "http" not in body.lower().replace("post graphql", "")
    with TestClient(Starlette(routes=[graphiql.asset_route(settings)])) as client:
        missing = client.get("/graphiql-assets/graphiql.min.js")
        assert missing.status_code == 503 and "services build" in missing.text
        assert client.get("/graphiql-assets/gridtwin-graphiql.js").status_code == 200  # ours ships in the package
        assert client.get("/graphiql-assets/..%2F..%2Fetc%2Fpasswd").status_code == 404


def test_the_folder_changes_with_the_pinned_versions(tmp_path: Path, monkeypatch) -> None:
    settings = Settings(cache_dir=tmp_path)
    before = browser_assets.folder(settings)
    monkeypatch.setitem(browser_assets.PACKAGES, "graphiql", "9.9.9")
    assert browser_assets.folder(settings) != before
