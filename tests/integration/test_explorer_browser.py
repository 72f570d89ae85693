"""The twin explorer in headless Chromium with no network but loopback: log in, open the demo feeder's
topology, click a measurement point on the graph's canvas, watch its plot take live samples, and start a
simulation from the point whose progress and physics-made samples arrive on the page.

The API is its own ``gridtwin serve`` process. The point is connected to a bus of a small stored simbench
grid, as `make demo` connects it to the LV grid, so its startSimulation command has physics to run.
Then a click on the feeder's root shows the live voltage band of the points below it.
Screenshots of the topology, the live plot, the running simulation and the band are attached to the run
(test-artifacts/screenshots/, listed at the end of its output).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime, timezone

import httpx
import neo4j
import pytest

from tests.conftest import save_screenshot
from tests.integration.conftest import TEST_ADMIN_PASSWORD, ServedApi, stored_simbench_grid

ROOT, POINT = "demo-sub-riverside", "demo-mp-parkstraat-a"
GRID_CODE = "1-LV-rural1--0-sw"  # 15 buses: a real-time step takes far less than its second


@pytest.fixture(scope="module")
def point_on_a_grid(demo_feeder: None, neo4j_driver: neo4j.Driver, models: object, settings: object) -> Iterator[str]:
    from graph.relationships import create_relationship

    with stored_simbench_grid(neo4j_driver, models, settings, GRID_CODE, "explorer") as grid:  # type: ignore[arg-type]
        create_relationship(neo4j_driver, models, POINT, "connectedTo", f"{grid}/bus/3")  # type: ignore[arg-type]
        yield grid
    neo4j_driver.execute_query("MATCH (r:SimulationRun {gridId: $g}) OPTIONAL MATCH (r)-[:RECORDED]->(e) "
                               "DETACH DELETE r, e", g=grid)


def _ingest(url: str, token: str, volts: float) -> None:
    sample = {"twin": POINT, "time": datetime.now(timezone.utc).isoformat(),
              "values": {"voltage": {"phaseA": volts, "phaseB": volts - 1, "phaseC": volts + 1, "average": volts}}}
    response = httpx.post(f"{url}/ingest", content=json.dumps(sample).encode(),
                          headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert response.status_code == 200 and response.json()["accepted"] == 1, response.text


def test_topology_click_live_plot_and_a_simulation(served_api: ServedApi, browser_page, point_on_a_grid: str,
                                                   tokens: dict[str, str]) -> None:
    page, outside, errors = browser_page
    page.goto(f"{served_api.url}/explorer?root={ROOT}")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", TEST_ADMIN_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_function("id => window.gridtwinExplorer.cy && window.gridtwinExplorer.cy.getElementById(id).length"
                           " && window.gridtwinExplorer.cy.nodes().length >= 5", arg=POINT, timeout=30_000)
    page.wait_for_timeout(500)  # the layout's positions are final
    save_screenshot(page, "explorer", "topology")
    assert _overlapping_labels(page) == []  # the demo feeder is a chain: its labels must not run into each other

    _click_twin(page, POINT)
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
    save_screenshot(page, "explorer", "live-plot")

    live_before = int(page.get_attribute("#plot", "data-live") or 0)
    page.select_option("#scenario", "normal")
    page.click("#sim-start")
    page.wait_for_function("() => Number(document.querySelector('#sim-progress').dataset.steps || 0) >= 3",
                           timeout=60_000)  # progress of the run, from its simulationProgress subscription
    assert "steps" in page.inner_text("#sim-progress")
    page.wait_for_function("n => Number(document.querySelector('#plot').dataset.live) >= n + 3", arg=live_before,
                           timeout=30_000)  # the run's samples reach the plot through ingest and the broker
    save_screenshot(page, "explorer", "simulation")
    page.click("#sim-stop")
    page.wait_for_function("() => document.querySelector('#sim-progress').textContent.includes('stopped')",
                           timeout=20_000)  # the run's last progress says it stopped

    _click_twin(page, ROOT)  # any other twin: the voltage band of the points below it, live
    page.wait_for_function("id => document.querySelector('#plot-title').textContent.startsWith('below ' + id)",
                           arg=ROOT, timeout=20_000)
    assert page.is_hidden("#point-panel")  # simulations and predictions are a point's
    page.wait_for_function("() => document.querySelector('#plot .uplot') && "
                           "document.querySelector('#plot .u-legend').textContent.includes('mean')", timeout=20_000)
    deadline = time.monotonic() + 30
    while int(page.get_attribute("#plot", "data-live") or 0) < 2 and time.monotonic() < deadline:
        _ingest(served_api.url, tokens["operator"], volts)  # the telemetryBelow subscription opened by the click
        page.wait_for_timeout(400)
    assert int(page.get_attribute("#plot", "data-live") or 0) >= 2, "the band below the root took no live samples"
    save_screenshot(page, "explorer", "below-root")
    assert outside == [] and errors == [], (outside, errors)


def _click_twin(page: object, twin_id: str) -> None:
    """A click on the twin's node on the topology canvas, as a user clicks it."""
    position = page.evaluate("id => window.gridtwinExplorer.cy.getElementById(id).renderedPosition()",  # type: ignore[attr-defined]
                             twin_id)
    canvas = page.locator("#topology").bounding_box()  # type: ignore[attr-defined]
    page.mouse.click(canvas["x"] + position["x"], canvas["y"] + position["y"])  # type: ignore[attr-defined]


def _overlapping_labels(page: object) -> list[tuple[str, str]]:
    """Pairs of twins whose drawn boxes (node and label) overlap on the topology canvas."""
    boxes = page.evaluate("() => window.gridtwinExplorer.cy.nodes().map(n => "  # type: ignore[attr-defined]
                          "Object.assign({id: n.id()}, n.renderedBoundingBox({includeLabels: true})))")
    return [(a["id"], b["id"]) for i, a in enumerate(boxes) for b in boxes[i + 1:]
            if a["x1"] < b["x2"] and b["x1"] < a["x2"] and a["y1"] < b["y2"] and b["y1"] < a["y2"]]


def test_the_explorer_page_loads_only_our_own_assets(served_api: ServedApi) -> None:
    page = httpx.get(f"{served_api.url}/explorer", timeout=30)
    assert page.status_code == 200
    assert "http://" not in page.text and "https://" not in page.text and "//cdn" not in page.text
    for script in ("cytoscape.min.js", "uPlot.iife.min.js", "gridtwin-explorer.js"):
        assert httpx.get(f"{served_api.url}/graphiql-assets/{script}", timeout=30).status_code == 200
