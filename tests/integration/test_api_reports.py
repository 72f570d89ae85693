"""generateReport on the real servers: telemetry ingested through POST /ingest, a PDF and a CSV stored and
downloaded with a token, the DTDL command, and the limits checked before anything is read."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from tests.integration.conftest import GraphQLClient, build_feeder, remove_twins

_NOW = datetime.now(timezone.utc)
START = _NOW.replace(minute=_NOW.minute - _NOW.minute % 10, second=0, microsecond=0) - timedelta(hours=3)  # on a
# 10-minute boundary: EN 50160's intervals (InfluxDB's windows) are clock-aligned
MINUTES = 120
DIP_MINUTE = 47
REPORT = """mutation($id: ID!, $from: DateTime!, $to: DateTime!, $format: ReportFormat!, $subtree: Boolean!) {
  generateReport(twinId: $id, from: $from, to: $to, format: $format, subtree: $subtree) {
    url format bytes events twinIds compliance { twinId phase intervals shareInBand allWithinLimits compliant } } }"""


def _sample(minute: int) -> dict:
    phase_a = 150.0 if minute == DIP_MINUTE else 231.0
    return {"voltage": {"phaseA": phase_a, "phaseB": 229.0, "phaseC": 230.0, "average": (phase_a + 459.0) / 3},
            "activePower": {"phaseA": 1000.0, "phaseB": 1000.0, "phaseC": 1000.0, "total": 3000.0 + 10 * minute}}


@pytest.fixture(scope="module")
def measured(gql: GraphQLClient, tokens: dict[str, str]) -> Iterator[dict[str, str]]:
    """A substation feeding a point with two hours of 1-minute samples (one dip on phase A), stored."""
    ids = build_feeder(gql, tokens["admin"], f"rep-{uuid.uuid4().hex[:8]}-",
                       {"sub": "Substation", "tr": "PowerTransformer", "mp": "GridMeasurementPoint"})
    lines = [json.dumps({"twin": ids["mp"], "time": (START + timedelta(minutes=m)).isoformat(), "values": _sample(m)})
             for m in range(MINUTES)]
    response = gql.http.post("/ingest", content="\n".join(lines).encode(),  # type: ignore[attr-defined]
                             headers={"Authorization": f"Bearer {tokens['operator']}"})
    assert response.status_code == 200 and response.json()["accepted"] == MINUTES
    count = '{ telemetry(twinId: "%s", name: "voltage", from: "%s", first: 1000) { time } }' % (
        ids["mp"], START.isoformat())
    deadline = time.monotonic() + 30
    while len(gql.data(count, None, tokens["viewer"])["telemetry"]) < MINUTES and time.monotonic() < deadline:
        time.sleep(0.3)  # acknowledged samples reach InfluxDB through the spool's writer
    yield ids
    remove_twins(gql, tokens["admin"], ids)


def _variables(ids: dict[str, str], format: str = "pdf", subtree: bool = False, twin: str = "mp") -> dict:
    return {"id": ids[twin], "from": START.isoformat(), "to": (START + timedelta(minutes=MINUTES)).isoformat(),
            "format": format, "subtree": subtree}


def test_a_pdf_report_is_stored_and_downloaded_by_those_who_may_read_telemetry(
        gql: GraphQLClient, tokens: dict[str, str], measured: dict[str, str]) -> None:
    import numpy as np
    import pymupdf

    report = gql.data(REPORT, _variables(measured), tokens["viewer"])["generateReport"]
    assert report["twinIds"] == [measured["mp"]] and report["events"] >= 1
    phase_a = next(c for c in report["compliance"] if c["phase"] == "phaseA")
    assert phase_a["intervals"] == MINUTES // 10 and phase_a["shareInBand"] == 1.0 and phase_a["compliant"]
    http = gql.http
    assert http.get(report["url"]).status_code == 401  # type: ignore[attr-defined]
    download = http.get(report["url"], headers={"Authorization": f"Bearer {tokens['viewer']}"})  # type: ignore[attr-defined]
    assert download.status_code == 200 and download.headers["content-type"] == "application/pdf"
    assert len(download.content) == report["bytes"]
    document = pymupdf.open(stream=download.content, filetype="pdf")
    assert document.page_count == 4
    assert measured["mp"] in document[0].get_text() and "dip" in document[3].get_text()
    pixels = np.frombuffer(document[1].get_pixmap(dpi=40).samples, dtype=np.uint8)
    assert (pixels < 200).mean() > 0.002  # the voltage plot is drawn
    missing = http.get("/reports/" + "0" * 32 + ".pdf", headers={"Authorization": f"Bearer {tokens['viewer']}"})  # type: ignore[attr-defined]
    assert missing.status_code == 404


def test_a_csv_report_of_the_subtree_and_the_dtdl_command(gql: GraphQLClient, tokens: dict[str, str],
                                                          measured: dict[str, str]) -> None:
    report = gql.data(REPORT, _variables(measured, "csv", subtree=True, twin="sub"), tokens["viewer"])["generateReport"]
    assert report["twinIds"] == [measured["mp"]]
    rows = gql.http.get(report["url"], headers={"Authorization": f"Bearer {tokens['viewer']}"}).text.splitlines()  # type: ignore[attr-defined]
    assert rows[0].startswith("twin,window_end,voltage_phaseA_V") and len(rows) == 1 + MINUTES // 10
    url = gql.data('mutation($id: ID!, $p: JSON) { invokeCommand(twinId: $id, command: "generateReport", payload: $p) }',
                   {"id": measured["mp"], "p": {"format": "csv", "from": START.isoformat(),
                                                "to": (START + timedelta(minutes=MINUTES)).isoformat()}},
                   tokens["operator"])["invokeCommand"]
    assert url.startswith("/reports/") and url.endswith(".csv")


def test_limits_are_checked_before_anything_is_read(gql: GraphQLClient, tokens: dict[str, str],
                                                    measured: dict[str, str]) -> None:
    too_long = {**_variables(measured), "from": (START - timedelta(days=40)).isoformat()}
    [error] = gql(REPORT, too_long, tokens["viewer"])["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and "31 days" in error["message"]
    [error] = gql(REPORT, {**_variables(measured), "id": "no-such-twin"}, tokens["viewer"])["errors"]
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert gql(REPORT, _variables(measured))["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
