"""GraphiQL's browser assets, installed from npm into the cache at build time and served by the API.

A control room has no internet: a page the API serves must load nothing from a CDN.  The npm
packages are pinned here; ``provision`` installs them once per machine (``gridtwin services
build``, which ``make demo`` and ``make test`` run), and :data:`ASSETS` is the fixed list of files
the API serves from them (``api/graphiql.py``), so a request can never name any other file.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

from gridtwin.config import Settings
from servers.toolchain import NPM, require

PACKAGES = {"graphiql": "3.9.0", "react": "18.3.1", "react-dom": "18.3.1", "graphql": "16.15.0",
            "graphql-ws": "5.16.2"}
#: Served name -> (file under node_modules, media type).
ASSETS = {
    "react.production.min.js": ("react/umd/react.production.min.js", "text/javascript"),
    "react-dom.production.min.js": ("react-dom/umd/react-dom.production.min.js", "text/javascript"),
    "graphiql.min.js": ("graphiql/graphiql.min.js", "text/javascript"),
    "graphiql.min.css": ("graphiql/graphiql.min.css", "text/css"),
    "graphql-ws.min.js": ("graphql-ws/umd/graphql-ws.min.js", "text/javascript"),
}


def folder(settings: Settings) -> Path:
    """Where this set of package versions lives in the cache (a new set gets a new folder)."""
    digest = hashlib.sha256(json.dumps(PACKAGES, sort_keys=True).encode()).hexdigest()[:12]
    return settings.cache_dir / f"browser-assets-{digest}"


def missing(settings: Settings) -> list[str]:
    """Served names whose file is not installed."""
    root = folder(settings) / "node_modules"
    return [name for name, (path, _) in ASSETS.items() if not (root / path).is_file()]


def provision(settings: Settings) -> Path:
    """Install the pinned packages with npm unless every served file is there already."""
    target = folder(settings)
    if not missing(settings):
        return target
    require(NPM)
    npm = shutil.which("npm") or "npm"
    target.mkdir(parents=True, exist_ok=True)
    (target / "package.json").write_text(json.dumps({"name": "gridtwin-browser-assets", "private": True}) + "\n")
    subprocess.run([npm, "install", "--no-audit", "--no-fund", "--ignore-scripts",
                    *(f"{name}@{version}" for name, version in PACKAGES.items())],
                   cwd=target, check=True, capture_output=True, text=True)
    if still := missing(settings):
        raise RuntimeError(f"npm installed the packages but not {', '.join(still)}")
    return target
