"""GraphiQL in headless Chromium with no network but loopback: log in, run a query, receive a subscription event.

Every request the page makes to any other host is aborted and recorded; the test fails if there is one.
The API is its own ``gridtwin serve`` process (real HTTP and WebSocket); the subscription's event comes from a
twin created through that process while the page listens.  A screenshot of the page is attached to the run (test-artifacts/screenshots/).
"""

from __future__ import annotations

import uuid

import httpx

from tests.integration.conftest import TEST_ADMIN_PASSWORD, ServedApi


def _login(page: object, url: str) -> None:
    page.goto(f"{url}/graphql")  # type: ignore[attr-defined]
    page.fill("input[name=username]", "admin")  # type: ignore[attr-defined]
    page.fill("input[name=password]", TEST_ADMIN_PASSWORD)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_selector(".graphiql-container", timeout=20_000)  # type: ignore[attr-defined]


def _run(page: object, text: str) -> None:
    page.click(".graphiql-query-editor .CodeMirror")  # type: ignore[attr-defined]
    page.keyboard.press("Control+A")  # type: ignore[attr-defined]
    page.keyboard.press("Delete")  # type: ignore[attr-defined]
    page.keyboard.type(text)  # type: ignore[attr-defined]
    page.wait_for_timeout(800)  # GraphiQL parses the editor's text after a pause: it picks the transport from it
    page.click(".graphiql-execute-button")  # type: ignore[attr-defined]


def _result_contains(page: object, text: str) -> None:
    page.wait_for_function(  # type: ignore[attr-defined]
        "text => (document.querySelector('.result-window') || {innerText: ''}).innerText.includes(text)",
        arg=text, timeout=20_000)


def test_graphiql_queries_and_subscribes_with_nothing_but_loopback(served_api: ServedApi, browser_page) -> None:
    page, outside, errors = browser_page
    _login(page, served_api.url)
    _run(page, "{ me { username role } }")
    _result_contains(page, '"username": "admin"')

    _run(page, "subscription { twinChanged { kind twinId } }")
    page.wait_for_timeout(1500)  # the WebSocket is open and subscribed
    twin_id = f"graphiql-{uuid.uuid4().hex[:8]}"
    token = httpx.post(f"{served_api.url}/graphql", json={
        "query": "mutation($p: String!) { login(username: \"admin\", password: $p) { token } }",
        "variables": {"p": TEST_ADMIN_PASSWORD}}, timeout=30).json()["data"]["login"]["token"]
    headers = {"Authorization": f"Bearer {token}"}
    create = 'mutation($id: ID!) { createTwin(id: $id, model: "dtmi:gridtwin:Load;1") { id } }'
    try:
        assert "errors" not in httpx.post(f"{served_api.url}/graphql", json={"query": create, "variables": {"id": twin_id}},
                                          headers=headers, timeout=30).json()
        _result_contains(page, twin_id)
    finally:
        httpx.post(f"{served_api.url}/graphql", json={"query": "mutation($id: ID!) { deleteTwin(id: $id) }",
                                                      "variables": {"id": twin_id}}, headers=headers, timeout=30)
    assert outside == [] and errors == [], (outside, errors)


def test_a_subscription_over_http_is_refused_with_a_reason(served_api: ServedApi) -> None:
    response = httpx.post(f"{served_api.url}/graphql", json={"query": "subscription { twinChanged { kind } }"},
                          timeout=30)
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "SUBSCRIPTION_NEEDS_WEBSOCKET" and "WebSocket" in error["message"]
