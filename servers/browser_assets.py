"""Installing GraphiQL's browser assets from npm into the cache (the list and folder: ``gridtwin.browser_assets``)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from gridtwin.browser_assets import PACKAGES, folder, missing
from gridtwin.config import Settings
from servers.toolchain import NPM, require


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
