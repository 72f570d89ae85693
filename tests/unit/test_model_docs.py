"""docs/models.md stays the rendering of the models folder: a property added without its row fails here."""

from __future__ import annotations

from pathlib import Path

import pytest

from ontology.model_docs import documents, row, schema_text, table

DOC = (Path(__file__).resolve().parents[2] / "docs" / "models.md").read_text(encoding="utf-8")
#: Sections that also list what they inherit from GridNode;1 (which has no section of its own).
WITH_INHERITED_ROWS = {"dtmi:gridtwin:GridComponent;1", "dtmi:gridtwin:GridMeasurementPoint;1"}


def _documented_table(dtmi: str) -> str:
    start = DOC.find(f"`{dtmi}`")
    assert start >= 0, f"docs/models.md has no section for {dtmi}"
    begin = DOC.find("| Name | Kind", start)
    end = DOC.find("\n\n", begin)
    return DOC[begin:end if end >= 0 else None].rstrip("\n")


@pytest.mark.parametrize("dtmi", sorted(set(documents()) - {"dtmi:gridtwin:GridNode;1"}))
def test_every_interface_table_is_its_model(dtmi: str) -> None:
    documented, rendered = _documented_table(dtmi), table(documents()[dtmi])
    if dtmi in WITH_INHERITED_ROWS:
        assert set(rendered.splitlines()) <= set(documented.splitlines())
    else:
        assert documented == rendered, f"run: python -m ontology.model_docs {dtmi}"


def test_schemas_and_rows_render_as_the_tables_write_them() -> None:
    assert schema_text({"@type": "Array", "elementSchema": "double"}) == "Array<double>"
    assert schema_text({"@type": "Enum", "valueSchema": "string",
                        "enumValues": [{"name": "a", "enumValue": "wye"}, {"name": "b", "enumValue": "delta"}]}) == (
        "Enum: wye, delta")
    relationship = {"@type": "Relationship", "name": "terminal", "target": "dtmi:gridtwin:Bus;1",
                    "maxMultiplicity": 1, "description": "Bus."}
    assert row(relationship) == "| `terminal` | Relationship | → Bus (max 1) |  |  | Bus. |"
