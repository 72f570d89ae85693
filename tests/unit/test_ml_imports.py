"""torch and xgboost stay out of the API's start-up and the CLI's (they cost seconds and gigabytes)."""

from __future__ import annotations

import subprocess
import sys


def test_api_and_cli_start_without_torch_or_xgboost() -> None:
    probe = ("import sys, api.app, cli.main, ml.jobs, ml.catalogue; "
             "print(sorted(m for m in ('torch', 'torch_geometric', 'xgboost', 'sklearn') if m in sys.modules))")
    imported = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    assert imported == "[]"
