"""``gridtwin models validate|compile|export`` on our model set and on broken models."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.main import app
from ontology import MODELS_DIR

runner = CliRunner()


def _model(name: str) -> dict[str, Any]:
    return json.loads((MODELS_DIR / f"{name}.json").read_text())


def _write_set(folder: Path, documents: dict[str, Any]) -> Path:
    for name, document in documents.items():
        (folder / f"{name}.json").write_text(json.dumps(document))
    return folder


def test_our_model_set_is_valid() -> None:
    result = runner.invoke(app, ["models", "validate", str(MODELS_DIR)])
    assert result.exit_code == 0, result.output
    assert "36 interfaces valid" in result.output


def _broken_unit(models: dict[str, Any]) -> str:
    contents = models["Substation"]["contents"]
    index = next(i for i, c in enumerate(contents) if c["name"] == "highestVoltage")
    contents[index]["unit"] = "ampere"  # a Voltage in amperes
    return f"/contents/{index}/unit"


def _unknown_target(models: dict[str, Any]) -> str:
    contents = models["Substation"]["contents"]
    index = next(i for i, c in enumerate(contents) if c["@type"] == "Relationship")
    contents[index]["target"] = "dtmi:gridtwin:NoSuchThing;1"
    return "dtmi:gridtwin:NoSuchThing;1"


def _extends_cycle(models: dict[str, Any]) -> str:
    models["GridComponent"]["extends"] = "dtmi:gridtwin:Substation;1"
    return "dtmi:gridtwin:"


def _malformed_dtmi(models: dict[str, Any]) -> str:
    models["Substation"]["@id"] = "dtmi:gridtwin:Sub station;1"
    return "/@id"


@pytest.mark.parametrize("breakage", [_broken_unit, _unknown_target, _extends_cycle, _malformed_dtmi])
def test_broken_models_exit_1_naming_element_and_pointer(tmp_path: Path, breakage: Any) -> None:
    models = {path.stem: json.loads(path.read_text()) for path in MODELS_DIR.glob("*.json")}
    broken = copy.deepcopy(models)
    expected_text = breakage(broken)
    result = runner.invoke(app, ["models", "validate", str(_write_set(tmp_path, broken))])
    assert result.exit_code == 1, result.output
    assert "pointer: /" in result.output and "element:" in result.output
    assert expected_text in result.output


def test_compile_prints_idempotent_cypher() -> None:
    result = runner.invoke(app, ["models", "compile", str(MODELS_DIR)])
    assert result.exit_code == 0, result.output
    assert "CREATE CONSTRAINT twin_id IF NOT EXISTS" in result.output
    assert "MERGE (m:Model {dtmi: 'dtmi:gridtwin:Substation;1'})" in result.output
    assert "CREATE INDEX `rel_feeds_to_id` IF NOT EXISTS FOR ()-[r:`FEEDS_TO`]-() ON (r.id)" in result.output


@pytest.mark.parametrize("fmt, marker", [("ttl", "@prefix"), ("nt", "<dtmi:gridtwin:Substation;1>"),
                                         ("owl", "owl:Class")])
def test_export_formats(fmt: str, marker: str) -> None:
    result = runner.invoke(app, ["models", "export", "--format", fmt, str(MODELS_DIR)])
    assert result.exit_code == 0, result.output
    assert marker in result.output


def test_unreadable_json_is_named(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{ not json")
    result = runner.invoke(app, ["models", "validate", str(tmp_path)])
    assert result.exit_code == 1
    assert "bad.json" in result.output


def test_problems_print_as_plain_text_without_markup_or_emoji(tmp_path: Path) -> None:
    """DTMIs hold ':x:' (an emoji code to Rich) and problem texts hold brackets: both must print as they are."""
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"@context": "dtmi:dtdl:context;3", "@id": "dtmi:x:Y;1", "@type": "Interface",
                               "contents": [{"@type": "Property", "name": "a", "schema": "[red]nope"}]}))
    result = runner.invoke(app, ["models", "validate", str(bad)])
    assert result.exit_code == 1
    assert "dtmi:x:Y;1/contents" in result.output and "\N{CROSS MARK}" not in result.output
    assert "[red]" not in result.output.replace("'[red]nope'", "")  # only the value itself has brackets
    assert "'[red]nope'" in result.output
