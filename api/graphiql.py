"""GraphiQL for browsers, every asset from this server: the page, our login script, npm's files.

Strawberry's own GraphiQL page loads React and GraphiQL from a CDN, which a control-room network
does not reach, and sends subscriptions as HTTP multipart.  This page loads the files that
``gridtwin services build`` installed from npm (``gridtwin/browser_assets.py``; only the names of
its fixed list can be asked for), asks for a login first and sends subscriptions over the WebSocket.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from gridtwin.config import Settings
from gridtwin import browser_assets

PREFIX = "/graphiql-assets"
OWN_SCRIPT = "gridtwin-graphiql.js"
#: Our own scripts in api/static, the only other names the asset route serves.
OWN_SCRIPTS = frozenset({OWN_SCRIPT, "gridtwin-login.js", "gridtwin-explorer.js"})
_STATIC = Path(__file__).parent / "static"
_SCRIPTS = ("react.production.min.js", "react-dom.production.min.js", "graphiql.min.js", "graphql-ws.min.js",
            "gridtwin-login.js", OWN_SCRIPT)

#: The login form both pages show first (api/static/gridtwin-login.js sends it).
LOGIN_FORM = """<form id="login"><h1>GridTwin</h1><p>Log in to query the twin graph; the token is kept for this tab only.</p>
<input name="username" autocomplete="username" placeholder="username" required>
<input name="password" type="password" autocomplete="current-password" placeholder="password" required>
<button type="submit">Log in</button><p id="login-message" role="alert"></p></form>"""

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>GridTwin GraphiQL</title>
<link rel="stylesheet" href="{prefix}/graphiql.min.css">
<style>body {{ margin: 0; font-family: system-ui, sans-serif; }} [hidden] {{ display: none !important; }} #graphiql {{ height: 100vh; }}
form {{ max-width: 22rem; margin: 4rem auto; display: grid; gap: .6rem; }}</style></head>
<body>
{login}
<div id="graphiql"></div>
{scripts}
</body></html>
"""

_NOT_INSTALLED = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>GridTwin GraphiQL</title></head><body>
<h1>GraphiQL's files are not installed on this server</h1>
<p>Missing: {missing}. Run <code>gridtwin services build</code> (it installs them from npm once) and reload.
The API itself works: POST GraphQL to this address.</p></body></html>
"""


def not_installed(settings: Settings) -> HTMLResponse | None:
    """The 503 page when npm's files are missing (both pages need them), else None."""
    missing = browser_assets.missing(settings)
    return HTMLResponse(_NOT_INSTALLED.format(missing=", ".join(missing)), status_code=503) if missing else None


def page(settings: Settings) -> HTMLResponse:
    refused = not_installed(settings)
    if refused is not None:
        return refused
    scripts = "\n".join(f'<script src="{PREFIX}/{name}"></script>' for name in _SCRIPTS)
    return HTMLResponse(_PAGE.format(prefix=PREFIX, scripts=scripts, login=LOGIN_FORM))


def asset_route(settings: Settings) -> Route:
    """``GET /graphiql-assets/<name>``: one of the fixed files, else 404 (no path is ever built from the request)."""
    root = browser_assets.folder(settings) / "node_modules"

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        if name in OWN_SCRIPTS:
            return FileResponse(_STATIC / name, media_type="text/javascript")
        if name not in browser_assets.ASSETS:
            return PlainTextResponse(f"no asset {name!r}", status_code=404)
        relative, media_type = browser_assets.ASSETS[name]
        if not (root / relative).is_file():
            return PlainTextResponse(f"{name} is not installed: run `gridtwin services build`", status_code=503)
        return FileResponse(root / relative, media_type=media_type, headers={"Cache-Control": "max-age=86400"})

    return Route(PREFIX + "/{name}", asset, methods=["GET"])
