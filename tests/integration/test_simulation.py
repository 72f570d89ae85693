"""The simulator on a stored simbench grid: physics checked by pandapower, ground truth, determinism, GraphQL.

One simbench grid (1-LV-rural1--0-sw, 15 buses, with PV and a year of profiles) is imported once per
module into the test profile's Neo4j.  The physics check is the issue's: with the sensor layer off,
the loads' and generators' telemetry holds the P/Q the step applied, and the buses' voltages and
the lines' currents equal what pandapower's own power flow gives for the *exported* network with
those P/Q; the energy balance holds.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import neo4j
import numpy as np
import pytest

from tests.integration.conftest import GraphQLClient, stored_simbench_grid

pp = pytest.importorskip("pandapower")

CODE = "1-LV-rural1--0-sw"
START = datetime(2026, 6, 21, 10, 0, tzinfo=timezone.utc)  # a summer morning: the PV feeds in


@pytest.fixture(scope="module")
def grid_id(neo4j_driver: neo4j.Driver, models: object, settings: object) -> Iterator[str]:
    from graph.relationships import create_relationship
    from graph.twins import create_twin

    with stored_simbench_grid(neo4j_driver, models, settings, CODE, "sim") as grid:  # type: ignore[arg-type]
        create_twin(neo4j_driver, models, f"{grid}-mp", "dtmi:gridtwin:GridMeasurementPoint;1", {"name": "MP at bus 3"})  # type: ignore[arg-type]
        create_relationship(neo4j_driver, models, f"{grid}-mp", "connectedTo", f"{grid}/bus/3")  # type: ignore[arg-type]
        yield grid
    neo4j_driver.execute_query("MATCH (t:Twin {id: $id}) DETACH DELETE t", id=f"{grid}-mp")
    neo4j_driver.execute_query("MATCH (r:SimulationRun {gridId: $g}) OPTIONAL MATCH (r)-[:RECORDED]->(e) "
                               "DETACH DELETE r, e", g=grid)


def _request(grid: str, *, seed: int = 1, exact: bool = True, scenarios: tuple = (), steps: int = 8) -> object:
    from loaders.simulation.run import ScenarioRequest, SimulationRequest

    return SimulationRequest(grid, (ScenarioRequest("normal"), *scenarios), START, steps, 900.0, seed, exact)


def _prepared(neo4j_driver: neo4j.Driver, models: object, settings: object, request: object) -> object:
    from loaders.simulation.run import prepare

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return prepare(neo4j_driver, models, settings, request)


def _exported(neo4j_driver: neo4j.Driver, models: object, grid: str) -> object:
    """The grid exported from the twin graph as pandapower JSON and read back: the independent side."""
    from loaders.grids.export import export_grid

    return pp.from_json_string("".join(export_grid(neo4j_driver, models, grid, "pandapower")))  # type: ignore[arg-type]


def test_telemetry_equals_pandapower_on_the_exported_network(neo4j_driver: neo4j.Driver, models: object,
                                                             settings: object, grid_id: str) -> None:
    run = _prepared(neo4j_driver, models, settings, _request(grid_id))
    series, _, errors = run.chunk(0, 8)  # type: ignore[attr-defined]
    assert errors == []
    net = _exported(neo4j_driver, models, grid_id)
    by_twin = {table: {twin: index for index, twin in net[table]["twin_id"].items()} for table in
               ("bus", "line", "load", "sgen", "trafo")}
    loads = [twin for twin in series if twin in by_twin["load"]]
    sgens = [twin for twin in series if twin in by_twin["sgen"]]
    assert loads and sgens and any(series[t].values["measuredActivePower"].max() > 0 for t in sgens)
    worst = {"voltage": 0.0, "current": 0.0, "applied": 0.0, "balance": 0.0}
    for step in (0, 3, 7):
        for twin in loads + sgens:
            table = "load" if twin in by_twin["load"] else "sgen"
            index = by_twin[table][twin]
            p_kw, q_kvar = (series[twin].values[name][step] for name in ("measuredActivePower", "measuredReactivePower"))
            net[table].at[index, "p_mw"], net[table].at[index, "q_mvar"] = p_kw / 1e3, q_kvar / 1e3
            net[table].at[index, "scaling"] = 1.0
        _applied_match(run, series, step, worst)
        pp.runpp(net, tolerance_mva=1e-10)
        for twin, index in by_twin["bus"].items():
            worst["voltage"] = max(worst["voltage"], abs(series[twin].values["voltagePu"][step] - net.res_bus.vm_pu[index]))
        for twin, index in by_twin["line"].items():
            worst["current"] = max(worst["current"], abs(series[twin].values["current"][step] / 1e3
                                                         - max(net.res_line.i_from_ka[index], net.res_line.i_to_ka[index])))
        grid = series[grid_id].values
        losses_pp_kw = (net.res_line.pl_mw.sum() + net.res_trafo.pl_mw.sum()) * 1e3
        injection_kw = net.res_ext_grid.p_mw.sum() * 1e3 + net.res_sgen.p_mw.sum() * 1e3
        worst["balance"] = max(worst["balance"], abs(grid["losses"][step] - losses_pp_kw) / injection_kw)
        point, bus = series[f"{grid_id}-mp"].values, series[f"{grid_id}/bus/3"].values
        worst["point"] = max(worst.get("point", 0.0), abs(point["voltage.phaseA"][step] * 3 ** 0.5 / 1e3
                                                          - bus["voltage"][step]) / bus["voltage"][step])
    assert worst["voltage"] < 1e-3, worst
    assert worst["point"] < 1e-12, worst  # the measurement point reports its bus's voltage, phase to neutral
    assert worst["current"] < 1e-3 * max(net.res_line.i_from_ka.max(), 1e-3), worst  # 0.1 % of the largest current
    assert worst["balance"] < 1e-3, worst
    assert worst["applied"] < 1e-9, worst


def _applied_match(run: object, series: dict, step: int, worst: dict) -> None:
    """The loads' and generators' telemetry is the P the step applied (constant-power appliances)."""
    network, inputs = run.network, run.inputs  # type: ignore[attr-defined]
    for component in ("sym_load", "sym_gen"):
        if component not in network.input_data:
            continue
        specified = inputs.values(component, "p_specified")[step]
        status = inputs.values(component, "status")[step]
        totals: dict[str, float] = {}
        for position, pgm_id in enumerate(network.input_data[component]["id"]):
            twin = network.twin_ids.get(network.keys[int(pgm_id)])
            if twin is not None:
                totals[twin] = totals.get(twin, 0.0) + specified[position] * status[position] / 1e3
        for twin, kw in totals.items():
            reported = series[twin].values["measuredActivePower"][step]
            worst["applied"] = max(worst["applied"], abs(reported - kw) / max(abs(kw), 1.0))


def test_same_seed_same_telemetry_bit_for_bit_and_another_seed_other_noise(
        neo4j_driver: neo4j.Driver, models: object, settings: object, grid_id: str) -> None:
    from loaders.simulation.telemetry import messages

    def sent(seed: int) -> list[dict]:
        request = _request(grid_id, seed=seed, exact=False)
        run = _prepared(neo4j_driver, models, settings, request)
        series, clocks, _ = run.chunk(0, 8)  # type: ignore[attr-defined]
        return list(messages(series, range(8), request.times_ns(range(8)), clocks))  # type: ignore[attr-defined]

    first, again, other = sent(5), sent(5), sent(6)
    assert first == again and len(first) > 100
    assert first != other
    exact = _prepared(neo4j_driver, models, settings, _request(grid_id, seed=5)).chunk(0, 8)[0]  # type: ignore[attr-defined]
    bus = next(t for t in exact if "/bus/" in t)
    noisy = [m["values"]["voltagePu"] for m in first if m["twin"] == bus and "voltagePu" in m["values"]]
    assert 0 < np.max(np.abs(np.array(noisy) - exact[bus].values["voltagePu"][:len(noisy)])) < 0.01


def test_an_outage_is_labelled_with_twins_and_darkens_what_outage_impact_says(
        neo4j_driver: neo4j.Driver, models: object, settings: object, grid_id: str, gql: GraphQLClient,
        tokens: dict[str, str]) -> None:
    from loaders.simulation.run import ScenarioRequest

    outage = ScenarioRequest("outage", {"start_step": 2, "duration_steps": 3})
    run = _prepared(neo4j_driver, models, settings, _request(grid_id, scenarios=(outage,)))
    events = {e.label: e for e in run.events()}  # type: ignore[attr-defined]
    line_twin = run.twins_of(events["outage"].elements)[0]  # type: ignore[attr-defined]
    dark = {twin for e in run.events() if e.label == "deenergised" for twin in run.twins_of(e.elements)}  # type: ignore[attr-defined]
    series, _, _ = run.chunk(0, 8)  # type: ignore[attr-defined]
    for bus in dark:
        assert list(series[bus].values["energized"][[1, 2, 4, 5]]) == [1.0, 0.0, 0.0, 1.0]
    impact = gql.data("query($id: [ID!]!) { outageImpact(id: $id) { deEnergised { twin { id } } } }", {"id": [line_twin]},
                      tokens["operator"])["outageImpact"]
    affected_buses = {s["twin"]["id"] for s in impact["deEnergised"] if "/bus/" in s["twin"]["id"]}
    assert dark == affected_buses


START_RUN = """mutation($g: String!, $s: [ScenarioInput!]!, $start: DateTime) {
  startSimulation(gridId: $g, scenarios: $s, steps: 4, start: $start, seed: 3) { id status steps } }"""
RUN = """query($id: ID!) { simulation(id: $id) { status stepsDone messagesSent progress errors
  events { label twinIds startTime endTime } } }"""


def test_a_run_through_graphql_ingests_telemetry_and_stores_its_ground_truth(
        gql: GraphQLClient, tokens: dict[str, str], grid_id: str) -> None:
    operator = tokens["operator"]
    scenarios = [{"kind": "normal"}, {"kind": "outage", "parameters": {"start_step": 1, "duration_steps": 2}}]
    start = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    started = gql.data(START_RUN, {"g": grid_id, "s": scenarios, "start": start.isoformat()}, operator)["startSimulation"]
    assert started["status"] == "running" and started["steps"] == 4
    deadline = time.monotonic() + 120
    while (run := gql.data(RUN, {"id": started["id"]}, operator)["simulation"])["status"] == "running":
        assert time.monotonic() < deadline, run
        time.sleep(0.5)
    assert run["status"] == "completed" and run["stepsDone"] == 4 and run["progress"] == 1.0, run
    assert run["messagesSent"] > 50 and run["errors"] == []
    labels = {e["label"] for e in run["events"]}
    assert {"normal", "outage", "deenergised"} <= labels
    assert all(twin.startswith(grid_id) for e in run["events"] for twin in e["twinIds"])
    bus = f"{grid_id}/bus/1"
    latest = gql.data('query($t: [ID!]!) { latestTelemetry(twinIds: $t) { name time value } }', {"t": [bus]},
                      operator)["latestTelemetry"]
    voltage = next(v for v in latest if v["name"] == "voltagePu")
    reported = datetime.fromisoformat(voltage["time"])
    assert 0.9 < voltage["value"] < 1.1  # the last of 4 steps, on the instrument's jittering clock:
    assert abs((reported - (start + timedelta(minutes=45))).total_seconds()) < 1.0
    point = gql.data('query($t: [ID!]!) { latestTelemetry(twinIds: $t) { name value } }', {"t": [f"{grid_id}-mp"]},
                     operator)["latestTelemetry"]
    voltages = next(v["value"] for v in point if v["name"] == "voltage")
    assert 200 < voltages["phaseA"] < 260 and set(voltages) <= {"phaseA", "phaseB", "phaseC", "average"}
    listed = gql.data("query($g: String) { simulations(gridId: $g) { id } }", {"g": grid_id}, operator)["simulations"]
    assert started["id"] in {r["id"] for r in listed}


@pytest.mark.parametrize(("scenarios", "grid", "pointer"), [
    ([{"kind": "voltageSag", "parameters": {"depth": 5}}], None, "/scenarios/0/voltageSag/depth"),
    ([{"kind": "meteorStrike"}], None, "/scenarios/0/scenario/kind"),
    ([{"kind": "normal"}], "no-such-grid", "/gridId"),
])
def test_bad_requests_name_the_field(gql: GraphQLClient, tokens: dict[str, str], grid_id: str, scenarios: list,
                                     grid: str | None, pointer: str) -> None:
    body = gql(START_RUN, {"g": grid or grid_id, "s": scenarios}, tokens["operator"])
    errors = body.get("errors") or []
    assert errors and errors[0]["extensions"]["code"] in {"BAD_USER_INPUT", "NOT_FOUND"}, body
    problems = errors[0]["extensions"].get("problems") or [{"pointer": "/gridId"}]
    assert problems[0]["pointer"] == pointer, body


def test_viewers_and_analysts_cannot_run_or_read_simulations(gql: GraphQLClient, tokens: dict[str, str],
                                                             grid_id: str) -> None:
    for role in ("viewer", "analyst"):
        body = gql(START_RUN, {"g": grid_id, "s": [{"kind": "normal"}]}, tokens[role])
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        body = gql("{ simulations { id } }", token=tokens[role])
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_a_fault_trips_breakers_whose_outage_impact_is_the_darkened_set(
        neo4j_driver: neo4j.Driver, models: object, settings: object, grid_id: str, gql: GraphQLClient,
        tokens: dict[str, str]) -> None:
    from loaders.simulation.run import ScenarioRequest

    fault = ScenarioRequest("shortCircuit", {"start_step": 2, "duration_steps": 3, "bus": f"{grid_id}/bus/10"})
    run = _prepared(neo4j_driver, models, settings, _request(grid_id, scenarios=(fault,)))
    events = run.events()  # type: ignore[attr-defined]
    trip = next(e for e in events if e.label == "protectionTrip")
    breakers = [t for k, t in zip(trip.elements, run.twins_of(trip.elements)) if k.startswith("switch/")]  # type: ignore[attr-defined]
    assert breakers and all(t.startswith(f"{grid_id}/switch/") for t in breakers)
    dark = {t for e in events if e.label == "deenergised" for t in run.twins_of(e.elements)}  # type: ignore[attr-defined]
    impact = gql.data("query($id: [ID!]!) { outageImpact(id: $id) { deEnergised { twin { id } } } }", {"id": breakers},
                      tokens["operator"])["outageImpact"]
    assert dark and dark == {s["twin"]["id"] for s in impact["deEnergised"] if "/bus/" in s["twin"]["id"]}
    assert run.switchings(2) == [(b, "open") for b in breakers] and run.switchings(5) == [(b, "closed") for b in breakers]  # type: ignore[attr-defined]


REALTIME = """mutation($g: String!, $s: [ScenarioInput!]!, $start: DateTime) {
  startSimulation(gridId: $g, scenarios: $s, steps: 8, stepSeconds: 900, start: $start, speed: 1800, seed: 4,
                  exact: true) { id mode } }"""
SWITCH = 'query($id: ID!) { twin(id: $id) { properties } }'
HISTORY = """query($t: ID!, $from: DateTime!, $to: DateTime!) {
  telemetry(twinId: $t, name: "measuredActivePower", from: $from, to: $to) { time values } }"""


def _wait(gql: GraphQLClient, token: str, run_id: str, condition: object, seconds: float = 60) -> dict:
    deadline = time.monotonic() + seconds
    while not condition(run := gql.data(RUN, {"id": run_id}, token)["simulation"]):  # type: ignore[operator]
        assert time.monotonic() < deadline, run
        time.sleep(0.05)
    return run


def test_real_time_runs_open_the_tripped_breaker_and_see_edits_in_the_next_step(
        neo4j_driver: neo4j.Driver, models: object, settings: object, grid_id: str, gql: GraphQLClient,
        tokens: dict[str, str]) -> None:
    from loaders.simulation.run import ScenarioRequest

    operator = tokens["operator"]
    # each test of this module simulates its own hours, so no test reads another's telemetry
    start = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(hours=6)
    fault = {"kind": "shortCircuit", "parameters": {"start_step": 2, "duration_steps": 3, "bus": f"{grid_id}/bus/10"}}
    plan = _prepared(neo4j_driver, models, settings, _request(grid_id, scenarios=(ScenarioRequest(**fault),)))
    breaker = plan.switchings(2)[0][0]  # type: ignore[attr-defined]
    load = next(t for t in plan.declared if "/load/" in t)  # type: ignore[attr-defined]
    started = gql.data(REALTIME, {"g": grid_id, "s": [{"kind": "normal"}, fault], "start": start.isoformat()},
                       operator)["startSimulation"]
    assert started["mode"] == "realtime"
    _wait(gql, operator, started["id"], lambda r: r["stepsDone"] >= 3)
    switch_state = gql.data(SWITCH, {"id": breaker}, operator)["twin"]["properties"]["switchState"]
    gql.data('mutation($id: ID!) { updateTwin(id: $id, patch: [{op: "replace", path: "/status", '
             'value: "outOfService"}]) { id } }', {"id": load}, operator)
    edited_at = _wait(gql, operator, started["id"], lambda r: True)["stepsDone"]
    try:
        run = _wait(gql, operator, started["id"], lambda r: r["status"] != "running")
    finally:
        gql.data('mutation($id: ID!) { updateTwin(id: $id, patch: [{op: "replace", path: "/status", '
                 'value: "inService"}]) { id } }', {"id": load}, operator)
    assert run["status"] == "completed" and run["errors"] == [], run
    assert switch_state == "open"  # tripped at step 2, reclosed at step 5:
    assert gql.data(SWITCH, {"id": breaker}, operator)["twin"]["properties"]["switchState"] == "closed"
    end = start + timedelta(hours=2)
    points = gql.data(HISTORY, {"t": load, "from": start.isoformat(), "to": end.isoformat()}, operator)["telemetry"]
    by_step = {int((datetime.fromisoformat(p["time"]) - start).total_seconds() // 900): p["values"] for p in points}
    assert by_step[0] != 0 and all(by_step[step] == 0 for step in range(edited_at + 1, 8)), (edited_at, by_step)


def test_simulation_progress_streams_until_the_run_completes(gql: GraphQLClient, tokens: dict[str, str],
                                                             grid_id: str) -> None:
    operator = tokens["operator"]
    start = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(hours=9)
    started = gql.data(REALTIME, {"g": grid_id, "s": [{"kind": "normal"}], "start": start.isoformat()},
                       operator)["startSimulation"]
    seen: list[dict] = []
    with gql.http.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[attr-defined]
        ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {operator}"}})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json({"id": "p", "type": "subscribe", "payload": {
            "query": "subscription($id: ID!) { simulationProgress(id: $id) { status stepsDone progress } }",
            "variables": {"id": started["id"]}}})
        while (message := ws.receive_json())["type"] == "next":
            seen.append(message["payload"]["data"]["simulationProgress"])
        assert message["type"] == "complete", message
    done = [update["stepsDone"] for update in seen]
    assert done == sorted(done) and seen[-1] == {"status": "completed", "stepsDone": 8, "progress": 1.0}, seen


INVOKE = "mutation($t: ID!, $c: String!, $p: JSON) { invokeCommand(twinId: $t, command: $c, payload: $p) }"


def _code_and_pointer(body: dict) -> tuple[str, str | None]:
    error = body["errors"][0]["extensions"]
    return error["code"], (error.get("problems") or [{}])[0].get("pointer")


def test_dtdl_commands_are_validated_against_their_schemas_and_run(gql: GraphQLClient, tokens: dict[str, str],
                                                                   grid_id: str) -> None:
    operator = tokens["operator"]
    switch = f"{grid_id}/switch/14"
    assert gql.data(INVOKE, {"t": switch, "c": "operate", "p": "open"}, operator)["invokeCommand"] is True
    assert gql.data(SWITCH, {"id": switch}, operator)["twin"]["properties"]["switchState"] == "open"
    assert gql.data(INVOKE, {"t": switch, "c": "operate", "p": "closed"}, operator)["invokeCommand"] is True
    assert _code_and_pointer(gql(INVOKE, {"t": switch, "c": "operate", "p": "sideways"}, operator)) == (
        "BAD_USER_INPUT", "/payload")
    assert _code_and_pointer(gql(INVOKE, {"t": switch, "c": "explode", "p": None}, operator)) == (
        "BAD_USER_INPUT", "/command")
    assert _code_and_pointer(gql(INVOKE, {"t": switch, "c": "operate", "p": "open"}, tokens["viewer"]))[0] == "FORBIDDEN"
    point = f"{grid_id}-mp"
    report = {"format": "csv", "from": "2026-01-01T00:00:00Z", "to": "2026-01-02T00:00:00Z"}
    url = gql.data(INVOKE, {"t": point, "c": "generateReport", "p": report}, operator)["invokeCommand"]
    assert url.startswith("/reports/") and url.endswith(".csv")  # tests/integration/test_api_reports.py downloads one
    assert _code_and_pointer(gql(INVOKE, {"t": point, "c": "generateReport", "p": {**report, "format": "docx"}},
                                 operator))[0] == "BAD_USER_INPUT"
    run_id = gql.data(INVOKE, {"t": point, "c": "startSimulation", "p": {"scenarioType": "normal",
                                                                        "durationSeconds": 600}},
                      operator)["invokeCommand"]
    assert run_id.startswith("sim-")
    assert gql.data(INVOKE, {"t": point, "c": "stopSimulation", "p": None}, operator)["invokeCommand"] is None
    run = _wait(gql, operator, run_id, lambda r: r["status"] != "running", seconds=30)
    assert run["status"] == "stopped" and run["stepsDone"] < 600


def test_a_run_too_large_for_memory_is_refused_before_anything_is_allocated(
        neo4j_driver: neo4j.Driver, models: object, settings: object, grid_id: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from loaders.simulation import run as simulation_run

    monkeypatch.setattr(simulation_run, "MAX_STEP_VALUES", 100)
    with pytest.raises(simulation_run.SimulationRequestError) as refused:
        _prepared(neo4j_driver, models, settings, _request(grid_id, steps=50))
    assert refused.value.pointer() == "/steps"


def test_commands_do_not_reveal_accounts_to_non_admins(gql: GraphQLClient, tokens: dict[str, str],
                                                        api_settings: object) -> None:
    account = f"user:{api_settings.admin_username}"  # type: ignore[attr-defined]
    body = gql(INVOKE, {"t": account, "c": "operate", "p": "open"}, tokens["operator"])
    assert _code_and_pointer(body)[0] == "NOT_FOUND" and "User" not in str(body), body
