"""GraphiQL's and the twin explorer's browser assets: which npm packages, where in the cache, and the only files the API serves.

A control room has no internet: a page the API serves must load nothing from a CDN.  The npm
packages are pinned here; ``servers.browser_assets.provision`` installs them once per machine
(``gridtwin services build``, which ``make demo`` and ``make test`` run), and :data:`ASSETS` is the
fixed list of files the API serves from them (``api/graphiql.py``), so a request can never name any
other file.  Here in the ground room because both the API and the provisioning read it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from gridtwin.config import Settings

PACKAGES = {"graphiql": "3.9.0", "react": "18.3.1", "react-dom": "18.3.1", "graphql": "16.15.0",
            "graphql-ws": "5.16.2", "cytoscape": "3.35.0", "uplot": "1.6.32"}
#: Served name -> (file under node_modules, media type).
ASSETS = {
    "react.production.min.js": ("react/umd/react.production.min.js", "text/javascript"),
    "react-dom.production.min.js": ("react-dom/umd/react-dom.production.min.js", "text/javascript"),
    "graphiql.min.js": ("graphiql/graphiql.min.js", "text/javascript"),
    "graphiql.min.css": ("graphiql/graphiql.min.css", "text/css"),
    "graphql-ws.min.js": ("graphql-ws/umd/graphql-ws.min.js", "text/javascript"),
    # the twin explorer (api/explorer.py): the topology graph and the live plots
    "cytoscape.min.js": ("cytoscape/dist/cytoscape.min.js", "text/javascript"),
    "uPlot.iife.min.js": ("uplot/dist/uPlot.iife.min.js", "text/javascript"),
    "uPlot.min.css": ("uplot/dist/uPlot.min.css", "text/css"),
}


def folder(settings: Settings) -> Path:
    """Where this set of package versions lives in the cache (a new set gets a new folder)."""
    digest = hashlib.sha256(json.dumps(PACKAGES, sort_keys=True).encode()).hexdigest()[:12]
    return settings.cache_dir / f"browser-assets-{digest}"


def missing(settings: Settings) -> list[str]:
    """Served names whose file is not installed."""
    root = folder(settings) / "node_modules"
    return [name for name, (path, _) in ASSETS.items() if not (root / path).is_file()]
