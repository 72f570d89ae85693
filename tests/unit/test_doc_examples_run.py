"""The Python examples of the docs run as written and their JSON telemetry message passes the ingest's
validation (no servers needed); every shell example is run by a test or says why not (tests/doc_examples.py)."""

from __future__ import annotations

import subprocess
import sys

from tests.doc_examples import ROOT, SH_NOT_RUN, examples, where_sh_runs


def test_every_python_example_runs_as_written() -> None:
    found = examples("python")
    assert found, "the docs lost their Python examples"
    for example in found:
        result = subprocess.run([sys.executable, "-c", example.text], cwd=ROOT, capture_output=True, text=True,
                                timeout=600)
        assert result.returncode == 0, f"{example.where}: {result.stderr[-3000:]}"
        assert result.stdout.strip(), f"{example.where} printed nothing"


def test_every_shell_example_is_run_or_says_why_not() -> None:
    unaccounted = [example.where for example in examples("sh")
                   if where_sh_runs(example) is None and not any(example.text.startswith(s) for s in SH_NOT_RUN)]
    assert unaccounted == []
    assert all(any(example.text.startswith(start) for example in examples("sh")) for start in SH_NOT_RUN)


def test_the_documented_telemetry_messages_pass_validation() -> None:
    """A JSON example of the docs is a telemetry message of a measurement point, which ingest must accept."""
    import json

    from api.app import _shipped_models
    from timeseries.directory import TwinInfo
    from timeseries.validation import validate_batch

    point = _shipped_models().interfaces["dtmi:gridtwin:GridMeasurementPoint;1"]
    found = examples("json")
    assert found, "the docs lost their message example"
    for example in found:
        message = json.loads(example.text)
        if "specversion" in message:
            continue  # a CloudEvent of an event route: test_the_documented_cloud_event_is_what_a_route_sends
        checked = validate_batch([message], {message["twin"]: TwinInfo(message["twin"], point.dtmi, point)})
        assert checked.rejections == [], f"{example.where}: {checked.rejections}"
        assert len(checked.lines) == 1


def test_the_documented_cloud_event_is_what_a_route_sends() -> None:
    """docs/api.md's CloudEvent, rebuilt from the twin event it describes, with its id, source and time."""
    import json
    from datetime import datetime

    from api.event_router import routed_twin_event
    from api.event_routes import cloud_event
    from api.events import TwinEvent

    documented = [json.loads(e.text) for e in examples("json") if "specversion" in json.loads(e.text)]
    assert documented, "docs/api.md lost its CloudEvent example"
    for event in documented:
        kind = {"gridtwin.twin.updated": "twinUpdated", "gridtwin.twin.created": "twinCreated"}[event["type"]]
        twin_event = TwinEvent(kind, event["subject"], event["data"]["model"],
                               time=datetime.fromisoformat(event["time"].replace("Z", "+00:00")))
        assert json.loads(cloud_event(routed_twin_event(twin_event), event["id"], event["source"])) == event
