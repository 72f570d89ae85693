"""Conformance of the DTDL parser against the DTDLParser public test cases.

Goals (asserted): valid/invalid agreement >= 99% for DTDL v2 and v3, >= 95% for v4, and every
dtmis/ case right.  The ValidationID match rate is reported, not asserted.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from conformance_runner import GOALS, conformance_dir, run_all  # noqa: E402
from conftest import record_table  # noqa: E402

pytestmark = pytest.mark.skipif(not (conformance_dir() / "cases").is_dir(),
                                reason=f"conformance cases not found at {conformance_dir()}")


@pytest.fixture(scope="module")
def report():
    rep = run_all()
    record_table(rep.table())
    return rep


@pytest.mark.parametrize("version", [2, 3, 4])
def test_agreement_goal(report, version: int) -> None:
    t = report.by_version()[version]
    rate = t.agree / t.total
    failing = [f"{o.folder}/{o.file}#{o.index}" for o in report.outcomes if o.version == version and not o.agrees]
    assert rate >= GOALS[version], f"v{version}: {rate:.2%} < {GOALS[version]:.0%}; e.g. {failing[:10]}"


def test_dtmi_cases(report) -> None:
    tallies = [t for (folder, _), t in report.tallies.items() if folder == "dtmis"]
    assert sum(t.agree for t in tallies) == sum(t.total for t in tallies)
