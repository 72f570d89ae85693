"""The twin explorer at ``/explorer``: a page for operators and analysts, every asset from this server.

Log in, search twins by model and property, see a grid's topology laid out radially from a twin
(``/explorer?root=demo-sub-riverside``) with measurement points coloured by their latest voltage,
open a twin's properties, relationships and upstream/downstream, and plot a measurement point's
voltage: history from InfluxDB continued live by the ``telemetry`` subscription; beside it, start and
stop a simulation from the point (its ``startSimulation`` command, progress by ``simulationProgress``)
and follow its predictions and alerts (``predictions``, ``alerts``). The page is
static; everything it shows comes from the GraphQL API with the logged-in user's token, so it
can show nothing that user's role may not read. Its scripts (Cytoscape.js, uPlot, graphql-ws)
are npm's files installed by ``gridtwin services build`` (gridtwin/browser_assets.py).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from api.graphiql import LOGIN_FORM, PREFIX, not_installed
from gridtwin.config import Settings

#: The scenario kinds of docs/simulation.md the page offers (a point's startSimulation command takes any).
SCENARIOS = ("normal", "voltageSag", "overload", "outage", "shortCircuit", "pvCloud", "windRamp", "demandResponse",
             "harmonicDistortion", "phaseUnbalance", "generatorLoss")
_SCRIPTS = ("cytoscape.min.js", "uPlot.iife.min.js", "graphql-ws.min.js", "gridtwin-login.js", "gridtwin-explorer.js")

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>GridTwin explorer</title>
<link rel="stylesheet" href="{prefix}/uPlot.min.css">
<style>
body {{ margin: 0; font-family: system-ui, sans-serif; }} [hidden] {{ display: none !important; }}
form#login {{ max-width: 22rem; margin: 4rem auto; display: grid; gap: .6rem; }}
#app {{ display: grid; grid-template-columns: 1fr 26rem; grid-template-rows: auto 1fr; height: 100vh; }}
#toolbar {{ grid-column: 1 / 3; display: flex; gap: .5rem; padding: .5rem; background: #eef2f6; align-items: center;
            flex-wrap: wrap; }}
#topology {{ min-height: 30rem; }}
#side {{ overflow: auto; padding: .5rem; border-left: 1px solid #ccd; font-size: .85rem; }}
#details pre {{ white-space: pre-wrap; background: #f7f8fa; padding: .4rem; }}
#status {{ color: #445; }}
</style></head>
<body>
{login}
<div id="app" hidden>
  <div id="toolbar">
    <label>Topology below <input id="root" placeholder="twin id, e.g. a substation"></label>
    <button id="show" type="button">Show</button>
    <span>|</span>
    <input id="search-model" placeholder="model, e.g. Line">
    <input id="search-property" placeholder="property, e.g. name">
    <input id="search-value" placeholder="starts with">
    <button id="search" type="button">Search</button>
    <label>History <select id="range"><option value="15m">15 min</option><option value="24h">24 h</option>
      <option value="7d">7 days</option></select></label>
    <span id="status" role="status"></span>
  </div>
  <div id="topology"></div>
  <div id="side">
    <ul id="results"></ul>
    <section id="plot-panel" hidden><h3 id="plot-title"></h3><div id="plot" data-points="0" data-live="0"></div>
      <div id="point-panel">
        <h3>Simulation</h3>
        <select id="scenario">{scenarios}</select>
        <button id="sim-start" type="button">Start</button> <button id="sim-stop" type="button">Stop</button>
        <p id="sim-progress" role="status"></p>
        <h3>Predictions</h3><div id="predictions" data-received="0">none yet</div>
        <h3>Alerts</h3><ul id="alerts" data-received="0"></ul>
      </div>
    </section>
    <section id="details">Click a twin in the topology or the search results.</section>
  </div>
</div>
{scripts}
</body></html>
"""


def explorer_route(settings: Settings) -> Route:
    async def explorer(request: Request) -> Response:
        refused = not_installed(settings)
        if refused is not None:
            return refused
        scripts = "\n".join(f'<script src="{PREFIX}/{name}"></script>' for name in _SCRIPTS)
        options = "".join(f'<option value="{kind}">{kind}</option>' for kind in SCENARIOS)
        return HTMLResponse(_PAGE.format(prefix=PREFIX, scripts=scripts, login=LOGIN_FORM, scenarios=options))

    return Route("/explorer", explorer, methods=["GET"])
