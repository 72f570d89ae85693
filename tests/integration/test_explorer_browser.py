"""The twin explorer in headless Chromium with no network but loopback: log in, open the demo feeder's
topology, click a measurement point on the graph's canvas, and watch its plot take live samples.

The API is its own ``gridtwin serve`` process; the live samples are POSTed to its /ingest while the page
listens. Screenshots of the topology and of the plot are left in the test's tmp folder (printed).
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx

from tests.integration.conftest import TEST_ADMIN_PASSWORD, ServedApi

ROOT, POINT = "demo-sub-riverside", "demo-mp-parkstraat-a"


def _ingest(url: str, token: str, volts: float) -> None:
    sample = {"twin": POINT, "time": datetime.now(timezone.utc).isoformat(),
              "values": {"voltage": {"phaseA": volts, "phaseB": volts - 1, "phaseC": volts + 1, "average": volts}}}
    response = httpx.post(f"{url}/ingest", content=json.dumps(sample).encode(),
                          headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert response.status_code == 200 and response.json()["accepted"] == 1, response.text


def test_topology_click_and_live_plot(served_api: ServedApi, browser_page, demo_feeder: None,
                                      tokens: dict[str, str], tmp_path: Path) -> None:
    page, outside, errors = browser_page
    page.goto(f"{served_api.url}/explorer?root={ROOT}")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", TEST_ADMIN_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_function("id => window.gridtwinExplorer.cy && window.gridtwinExplorer.cy.getElementById(id).length"
                           " && window.gridtwinExplorer.cy.nodes().length >= 5", arg=POINT, timeout=30_000)
    page.wait_for_timeout(500)  # the layout's positions are final
    page.screenshot(path=str(tmp_path / "explorer-topology.png"))

    position = page.evaluate("id => window.gridtwinExplorer.cy.getElementById(id).renderedPosition()", POINT)
    canvas = page.locator("#topology").bounding_box()
    page.mouse.click(canvas["x"] + position["x"], canvas["y"] + position["y"])
    page.wait_for_function("id => document.querySelector('#details h2') && "
                           "document.querySelector('#details h2').textContent.startsWith(id)", arg=POINT, timeout=20_000)
    page.wait_for_selector("#plot-panel:not([hidden]) .uplot", timeout=20_000)
    assert "upstream" in page.inner_text("#around")

    deadline = time.monotonic() + 30
    volts = 229.0
    while int(page.get_attribute("#plot", "data-live") or 0) < 3 and time.monotonic() < deadline:
        _ingest(served_api.url, tokens["operator"], volts)  # the subscription was opened by the click
        volts += 0.5
        page.wait_for_timeout(400)
    assert int(page.get_attribute("#plot", "data-live") or 0) >= 3, "the plot took no live samples"
    assert int(page.get_attribute("#plot", "data-points") or 0) >= 3
    page.screenshot(path=str(tmp_path / "explorer-live-plot.png"))
    print(f"screenshots: {tmp_path}")
    assert outside == [] and errors == [], (outside, errors)


def test_the_explorer_page_loads_only_our_own_assets(served_api: ServedApi) -> None:
    page = httpx.get(f"{served_api.url}/explorer", timeout=30)
    assert page.status_code == 200
    assert "http://" not in page.text and "https://" not in page.text and "//cdn" not in page.text
    for script in ("cytoscape.min.js", "uPlot.iife.min.js", "gridtwin-explorer.js"):
        assert httpx.get(f"{served_api.url}/graphiql-assets/{script}", timeout=30).status_code == 200
