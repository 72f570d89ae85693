"""Benchmark of the DTDL validator.

Validates (1) our model set in dtdl/models/*.json (if any) and (2) a generated set of 1,000
Interfaces with extends chains, components and relationships across them.
Target: 1,000 interfaces validated and resolved in under 1 s.

Run: .venv/bin/python bench/dtdl_bench.py
"""
from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import dtdl  # noqa: E402


def generated_set(n: int = 1000) -> list[dict]:
    """n Interfaces: chains of extends (depth <= 5), a component and a relationship each."""
    ctx = ["dtmi:dtdl:context;3", "dtmi:dtdl:extension:quantitativeTypes;1"]
    docs: list[dict] = []
    for i in range(n):
        contents: list[dict] = [
            {"@type": ["Telemetry", "Voltage"], "name": f"v{i}", "schema": "double", "unit": "kilovolt"},
            {"@type": ["Property", "Power"], "name": f"p{i}", "schema": "double", "unit": "megawatt",
             "writable": True},
            {"@type": "Property", "name": f"state{i}", "schema": {
                "@type": "Enum", "valueSchema": "string",
                "enumValues": [{"name": "on", "enumValue": "on"}, {"name": "off", "enumValue": "off"}]}},
            {"@type": "Telemetry", "name": f"readings{i}", "schema": {
                "@type": "Object", "fields": [{"name": "a", "schema": "double"},
                                              {"name": "b", "schema": {"@type": "Array", "elementSchema": "long"}}]}},
            {"@type": "Relationship", "name": f"feeds{i}", "target": f"dtmi:bench:I{(i * 7 + 3) % n};1",
             "properties": [{"@type": "Property", "name": "since", "schema": "dateTime"}]},
            {"@type": "Command", "name": f"reset{i}", "request": {"name": "mode", "schema": "string"}},
        ]
        if i % 10 != 0:
            contents.append({"@type": "Component", "name": f"meter{i}", "schema": f"dtmi:bench:Meter{i % 10};1"})
        doc = {"@context": ctx, "@id": f"dtmi:bench:I{i};1", "@type": "Interface",
               "displayName": {"en": f"Interface {i}", "de": f"Schnittstelle {i}"}, "contents": contents}
        if i % 5 != 0:
            doc["extends"] = f"dtmi:bench:I{i - 1};1"
        docs.append(doc)
    for m in range(10):
        docs.append({"@context": ctx, "@id": f"dtmi:bench:Meter{m};1", "@type": "Interface",
                     "contents": [{"@type": ["Telemetry", "Current"], "name": "i", "schema": "double",
                                   "unit": "ampere"}]})
    return docs


def timed(docs: list, repeat: int = 5) -> tuple[float, dtdl.ValidationResult]:
    times = []
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = dtdl.validate(docs, resolve_relationship_targets=True)
        times.append(time.perf_counter() - t0)
    assert result is not None
    return statistics.median(times), result


def main() -> int:
    model_files = sorted((ROOT / "dtdl" / "models").glob("*.json"))
    if model_files:
        docs = [json.loads(p.read_text(encoding="utf-8-sig")) for p in model_files]
        t, r = timed(docs)
        print(f"dtdl/models: {len(model_files)} files, {len(r.models.interfaces)} interfaces, "
              f"{len(r.problems)} problems, {t * 1000:.1f} ms")
        for p in r.problems[:20]:
            print("   ", p)
    else:
        print("dtdl/models: no model files yet")
    docs = generated_set(1000)
    t, r = timed(docs)
    n = len(r.models.interfaces)
    contents = sum(len(i.contents) for i in r.models.interfaces.values())
    print(f"generated: {n} interfaces ({contents} resolved contents), ok={r.ok}, problems={len(r.problems)}, "
          f"median {t * 1000:.1f} ms over 5 runs -> {'PASS' if t < 1.0 else 'FAIL'} (target < 1000 ms)")
    for p in r.problems[:5]:
        print("   ", p)
    return 0 if (t < 1.0 and r.ok) else 1


if __name__ == "__main__":
    raise SystemExit(main())
