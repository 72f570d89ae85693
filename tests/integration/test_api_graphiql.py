"""GraphiQL loads every asset from this server (a control room has no internet) and subscribes over the WebSocket."""

from __future__ import annotations

import re

from api.graphiql import OWN_SCRIPT, OWN_SCRIPTS
from gridtwin import browser_assets
from tests.integration.conftest import GraphQLClient


def _page(gql: GraphQLClient) -> str:
    response = gql.http.get("/graphql", headers={"Accept": "text/html"})  # type: ignore[attr-defined]
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    return response.text


def test_the_page_names_no_other_server(gql: GraphQLClient) -> None:
    page = _page(gql)
    assert not re.search(r"(https?:)?//[a-z0-9.-]+", page, re.I), "the page must not name another server"
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources and all(source.startswith("/graphiql-assets/") for source in sources), sources
    names = {source.removeprefix("/graphiql-assets/") for source in sources}
    assert names <= set(browser_assets.ASSETS) | OWN_SCRIPTS, names  # npm's files and our own scripts only
    assert {"graphiql.min.js", "graphiql.min.css", "graphql-ws.min.js", "gridtwin-login.js", OWN_SCRIPT} <= names


def test_every_asset_the_page_names_is_served_with_its_type(gql: GraphQLClient) -> None:
    for source in re.findall(r'(?:src|href)="([^"]+)"', _page(gql)):
        response = gql.http.get(source)  # type: ignore[attr-defined]
        assert response.status_code == 200, source
        expected = "text/css" if source.endswith(".css") else "text/javascript"
        assert response.headers["content-type"].startswith(expected), (source, response.headers["content-type"])
        assert len(response.content) > (300 if source.rsplit("/", 1)[1] in OWN_SCRIPTS else 1000), source
        assert not re.search(rb"https?://(unpkg|cdn\.jsdelivr|esm\.sh)", response.content), source


def test_the_login_script_subscribes_over_the_websocket(gql: GraphQLClient) -> None:
    script = gql.http.get("/graphiql-assets/gridtwin-graphiql.js").text  # type: ignore[attr-defined]
    assert "graphqlWs.createClient" in script and "wsClient" in script and "Bearer " in script
    login = gql.http.get("/graphiql-assets/gridtwin-login.js").text  # type: ignore[attr-defined]
    assert "login(username: $u, password: $p)" in login and "sessionStorage" in login


def test_only_the_listed_files_can_be_asked_for(gql: GraphQLClient) -> None:
    for name in ("package.json", "..%2F..%2Fpackage.json", "graphiql.js", "react%2Fpackage.json"):
        assert gql.http.get(f"/graphiql-assets/{name}").status_code == 404, name  # type: ignore[attr-defined]
