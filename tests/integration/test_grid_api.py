"""Grids through GraphQL: an operator imports a registry grid, lists it, exports it and the power flow of the
export equals the source's; bad sources and files are refused naming what is wrong; nothing reads server files."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.integration.conftest import GraphQLClient

IMPORT = "mutation($s: String!, $g: String) { importGrid(source: $s, gridId: $g) { gridId buses twinsCreated } }"


def _codes(body: dict) -> set[str]:
    return {e.get("extensions", {}).get("code", "MASKED") for e in body.get("errors", [])}


def test_import_list_export_and_delete_a_grid(gql: GraphQLClient, tokens: dict[str, str]) -> None:
    pp = pytest.importorskip("pandapower")
    import pandapower.networks as networks

    grid_id = f"api-case33-{uuid.uuid4().hex[:6]}"
    operator = tokens["operator"]
    imported = gql.data(IMPORT, {"s": "pandapower:case33bw", "g": grid_id}, operator)["importGrid"]
    assert imported["gridId"] == grid_id and imported["buses"] == 33 and imported["twinsCreated"] > 33
    try:
        listed = {g["gridId"]: g for g in gql.data("{ grids { gridId buses twins } }", token=operator)["grids"]}
        assert listed[grid_id]["buses"] == 33
        again = gql.data(IMPORT, {"s": "pandapower:case33bw", "g": grid_id}, operator)["importGrid"]
        assert again["twinsCreated"] == 0  # updated in place, never duplicated
        exported = gql.data('query($g: String!) { exportGrid(gridId: $g, format: pandapowerJson) }', {"g": grid_id},
                            operator)["exportGrid"]
        net, source = pp.from_json_string(exported), networks.case33bw()
        pp.runpp(net)
        pp.runpp(source)
        assert abs(net.res_bus.vm_pu.sort_index().to_numpy() - source.res_bus.vm_pu.to_numpy()).max() < 1e-6
        adt = gql.data('query($g: String!) { exportGrid(gridId: $g, format: adt) }', {"g": grid_id},
                       operator)["exportGrid"]
        assert json.loads(adt.splitlines()[0]) == {"Section": "Header"}
    finally:
        deleted = gql.data("mutation($g: String!) { deleteGrid(gridId: $g) }", {"g": grid_id}, operator)
    assert deleted["deleteGrid"] > 33
    assert grid_id not in {g["gridId"] for g in gql.data("{ grids { gridId } }", token=operator)["grids"]}


@pytest.mark.parametrize("source", ["/etc/passwd", "file:///etc/passwd", "adt:/etc/passwd", "simbench:no-such-code",
                                    "pandapower:no_such_network", "opendss:/etc/passwd", "opendss:../ieee13_dss/x",
                                    "/tmp/feeder.dss"])
def test_bad_or_file_system_sources_are_refused(gql: GraphQLClient, tokens: dict[str, str], source: str) -> None:
    body = gql(IMPORT, {"s": source, "g": None}, tokens["operator"])
    assert _codes(body) == {"BAD_USER_INPUT"}, body
    assert "root:" not in json.dumps(body)


def test_a_bad_uploaded_file_is_refused_naming_the_element(gql: GraphQLClient, tokens: dict[str, str]) -> None:
    body = gql('mutation($c: String!) { importGridFile(format: adt, content: $c) { gridId } }',
               {"c": '{"Section": "Header"}\n{"fileVersion": "1.0.0"}\n{"Section": "Twins"}\n{"$dtId": "x"}\n'},
               tokens["operator"])
    assert _codes(body) == {"BAD_USER_INPUT"}, body
    assert "4" in body["errors"][0]["message"]  # the line of the twin without a model


def test_an_ieee_feeder_imports_and_exports_as_its_opendss_circuit(gql: GraphQLClient, tokens: dict[str, str]) -> None:
    pytest.importorskip("opendssdirect")
    from loaders.grids.dss_engine import node_voltages, solve_file, solve_script, worst_node_differences
    from loaders.grids.sources import opendss_feeder_path

    grid_id = f"api-ieee13-{uuid.uuid4().hex[:6]}"
    operator = tokens["operator"]
    imported = gql.data(IMPORT, {"s": "opendss:ieee13", "g": grid_id}, operator)["importGrid"]
    try:
        assert imported["buses"] == 16
        script = gql.data('query($g: String!) { exportGrid(gridId: $g, format: openDss) }', {"g": grid_id},
                          operator)["exportGrid"]
        source = solve_file(opendss_feeder_path("ieee13"), node_voltages)
        assert worst_node_differences(source, solve_script(script, node_voltages, where="export"))["vm_pu"] < 1e-5
    finally:
        gql.data("mutation($g: String!) { deleteGrid(gridId: $g) }", {"g": grid_id}, operator)


def test_opendss_scripts_cannot_be_uploaded(gql: GraphQLClient, tokens: dict[str, str]) -> None:
    """A DSS script is a program (Redirect reads files, Save writes them): the upload format does not exist."""
    body = gql('mutation($c: String!) { importGridFile(format: openDss, content: $c) { gridId } }',
               {"c": "Redirect /etc/passwd\n"}, tokens["admin"])
    assert body.get("data") is None and "openDss" in body["errors"][0]["message"]
    assert "root:" not in json.dumps(body)


def test_a_cgmes_zip_imports_and_solves_as_powsybl_solved_it(gql: GraphQLClient, tokens: dict[str, str],
                                                             tmp_path: object) -> None:
    """importGridFile(format: cgmesZip): the IEEE 57 bus grid as pypowsybl writes it (tests/cgmes_cases.py);
    the grid's pandapower export solves to the SV profile's voltages."""
    import base64
    import subprocess
    import sys
    from pathlib import Path

    import pandapower as pp

    from loaders.grids.cim_profiles import solved_voltages

    out = Path(str(tmp_path))
    subprocess.run([sys.executable, "-m", "tests.cgmes_cases", str(out)], check=True, timeout=300, capture_output=True)
    grid_id = f"api-cgmes57-{uuid.uuid4().hex[:6]}"
    upload = 'mutation($c: String!, $g: String) { importGridFile(format: cgmesZip, content: $c, gridId: $g) { gridId buses } }'
    content = base64.b64encode((out / "ieee57.zip").read_bytes()).decode()
    assert gql.data(upload, {"c": content, "g": grid_id}, tokens["operator"])["importGridFile"]["buses"] == 57
    try:
        grids = {g["gridId"]: g for g in gql.data("{ grids { gridId sourceFormat } }", token=tokens["operator"])["grids"]}
        assert grids[grid_id]["sourceFormat"] == "cgmes"
        net = pp.from_json_string(gql.data('query($g: String!) { exportGrid(gridId: $g, format: pandapowerJson) }',
                                           {"g": grid_id}, tokens["operator"])["exportGrid"])
        pp.runpp(net, numba=False)
        solved = {name: kv for name, kv, _ in solved_voltages(out / "ieee57")}
        assert max(abs(net.res_bus.vm_pu[i] - solved[name] / net.bus.vn_kv[i]) for i, name in net.bus.name.items()) < 1e-6
    finally:
        gql.data("mutation($g: String!) { deleteGrid(gridId: $g) }", {"g": grid_id}, tokens["operator"])
    refused = gql(upload, {"c": base64.b64encode((out / "ieee14.zip").read_bytes()).decode(), "g": grid_id},
                  tokens["operator"])
    assert _codes(refused) == {"BAD_USER_INPUT"} and "L7-8-1" in refused["errors"][0]["message"]
    assert grid_id not in {g["gridId"] for g in gql.data("{ grids { gridId } }", token=tokens["operator"])["grids"]}
    not_base64 = gql(upload, {"c": "PK not base64 !", "g": grid_id}, tokens["operator"])
    assert not_base64["errors"][0]["extensions"]["problems"][0]["pointer"] == "/content"
