"""The interface tables of docs/models.md, rendered from the shipped DTDL documents.

The models folder is the one place a property, its unit and its description are stated; the
documentation's tables are made from it (``python -m ontology.model_docs NAME ...`` prints
them) and a test checks that every table in docs/models.md is still the rendering of its model.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ontology import MODELS_DIR

_PREFIX = "dtmi:gridtwin:"
HEADER = "| Name | Kind | Schema | Unit | Writable | Description |\n| --- | --- | --- | --- | --- | --- |"


def short_name(dtmi: str) -> str:
    """``dtmi:gridtwin:Bus;1`` -> ``Bus``."""
    return dtmi.removeprefix(_PREFIX).split(";", 1)[0]


def _kind(content: Mapping[str, Any]) -> str:
    types = content["@type"] if isinstance(content["@type"], list) else [content["@type"]]
    return next(t for t in types if t in ("Property", "Telemetry", "Relationship", "Command", "Component"))


def schema_text(schema: Any) -> str:
    """A schema as the tables write it: ``Enum: a, b``, ``Array<double>``, ``Object {x, y [unit]}``."""
    if isinstance(schema, str):
        return schema
    kind = schema.get("@type")
    if kind == "Enum":
        return "Enum: " + ", ".join(str(v["enumValue"]) for v in schema["enumValues"])
    if kind == "Array":
        return f"Array<{schema_text(schema['elementSchema'])}>"
    if kind == "Map":
        return f"Map<{schema_text(schema['mapKey']['schema'])}, {schema_text(schema['mapValue']['schema'])}>"
    if kind == "Object":
        fields = [f["name"] + (f" [{f['unit']}]" if "unit" in f else "") for f in schema["fields"]]
        return "Object {" + ", ".join(fields) + "}"
    return str(kind)


def _command_schema(content: Mapping[str, Any]) -> str:
    parts = []
    for side in ("request", "response"):
        if side in content:
            parts.append(f"{side} {content[side]['name']}: {schema_text(content[side]['schema'])}")
    return "; ".join(parts)


def row(content: Mapping[str, Any]) -> str:
    """One table row of a content."""
    kind = _kind(content)
    if kind == "Relationship":
        target = content.get("target")
        schema = "→ " + (short_name(target) if target else "any")
        if "maxMultiplicity" in content:
            schema += f" (max {content['maxMultiplicity']})"
    elif kind == "Command":
        schema = _command_schema(content)
    elif kind == "Component":
        schema = short_name(content["schema"])
    else:
        schema = schema_text(content["schema"])
    writable = ("yes" if content.get("writable") else "no") if kind == "Property" else ""
    description = content.get("description", "")
    return f"| `{content['name']}` | {kind} | {schema} | {content.get('unit', '')} | {writable} | {description} |"


def table(document: Mapping[str, Any]) -> str:
    """The whole table of an interface's own contents."""
    return "\n".join([HEADER, *(row(c) for c in document.get("contents", []))])


def documents(directory: Path = MODELS_DIR) -> dict[str, dict[str, Any]]:
    """Shipped interfaces by DTMI."""
    found = {}
    for path in sorted(directory.glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        found[document["@id"]] = document
    return found


def main(names: list[str]) -> None:
    for dtmi, document in documents().items():
        if not names or short_name(dtmi) in names or dtmi in names:
            print(f"### {dtmi}\n\n{table(document)}\n")


if __name__ == "__main__":
    main(sys.argv[1:])
