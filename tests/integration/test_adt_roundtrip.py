"""ADT import files against the real Neo4j: import -> export is the identity, re-import updates in
place, a bad file is refused with its line and field and stores nothing."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace

import neo4j
import pytest

from graph.bulk import RelationshipRow, TwinRow, bulk_delete_twins
from graph.errors import NotFoundError
from graph.models_store import delete_model, ensure_builtin_models, get_model, list_models
from graph.twins import get_twin
from loaders.adt import AdtFileError, read_adt, write_adt
from loaders.adt_graph import export_adt, import_adt

G = "dtmi:gridtwin:"


@dataclass
class Run:
    """Unique ids of one test: twin id prefix and a model whose label no other run uses."""

    prefix: str
    probe: str

    def model(self) -> dict:
        return {
            "@context": "dtmi:dtdl:context;3", "@id": self.probe, "@type": "Interface", "displayName": "Probe",
            "contents": [
                {"@type": "Property", "name": "label", "schema": "string", "writable": True},
                {"@type": "Property", "name": "reading", "schema": "double", "writable": True},
                {"@type": "Property", "name": "tags", "writable": True,
                 "schema": {"@type": "Map", "mapKey": {"name": "k", "schema": "string"},
                            "mapValue": {"name": "v", "schema": "string"}}},
                {"@type": "Relationship", "name": "observes", "target": f"{G}Line;1", "maxMultiplicity": 1,
                 "properties": [{"@type": "Property", "name": "since", "schema": "date"},
                                {"@type": "Property", "name": "weight", "schema": "double"}]},
            ],
        }

    def twins(self) -> list[TwinRow]:
        p = self.prefix
        return [
            TwinRow(f"{p}bus", f"{G}Busbar;1", {"name": "Bus A", "ratedCurrent": 1250.0, "busbarArrangement": "single"}),
            *[TwinRow(f"{p}line{i}", f"{G}Line;1", {"name": f"Cable {i}", "length": 1.5 + i, "lineType": "cable",
                                                    "location": {"latitude": 52.1, "longitude": 4.3 + i / 10}})
              for i in range(3)],
            TwinRow(f"{p}mp", f"{G}GridMeasurementPoint;1",
                    {"name": "MP 1", "samplingInterval": 10, "mlEngine": {"$metadata": {}, "modelsPerModule": {"gnn": 2}}}),
            TwinRow(f"{p}probe", self.probe, {"label": "P", "reading": 0.1, "tags": {"zone": "north"}}),
        ]

    def relationships(self) -> list[RelationshipRow]:
        p = self.prefix
        return [
            RelationshipRow(f"{p}bus", "feedsTo", f"{p}line0", {}, "f0"),
            RelationshipRow(f"{p}line0", "feedsTo", f"{p}line1", {}, "f1"),
            RelationshipRow(f"{p}line1", "feedsTo", f"{p}line2", {}, "f2"),
            RelationshipRow(f"{p}line2", "feedsTo", f"{p}mp", {}, "f3"),
            RelationshipRow(f"{p}probe", "observes", f"{p}line2", {"since": "2024-05-01", "weight": 0.5}, "obs"),
        ]

    def file(self, twins: list[TwinRow] | None = None, relationships: list[RelationshipRow] | None = None) -> list[str]:
        return list(write_adt([self.model()], self.twins() if twins is None else twins,
                              self.relationships() if relationships is None else relationships))

    def ids(self) -> list[str]:
        return [row.id for row in self.twins()]


@pytest.fixture
def run(neo4j_driver: neo4j.Driver) -> Iterator[Run]:
    ensure_builtin_models(neo4j_driver)
    tag = uuid.uuid4().hex[:10]
    current = Run(prefix=f"adt-{tag}-", probe=f"dtmi:gridtwintest:adt{tag}:Probe{tag};1")
    yield current
    bulk_delete_twins(neo4j_driver, current.ids() + [f"{current.prefix}extra"])
    try:
        delete_model(neo4j_driver, current.probe)
    except NotFoundError:
        pass


def _counts(driver: neo4j.Driver, prefix: str) -> tuple[int, int]:
    records, _, _ = driver.execute_query("MATCH (t:Twin) WHERE t.id STARTS WITH $p RETURN count(t) AS twins", p=prefix)
    rels, _, _ = driver.execute_query(
        "MATCH (s:Twin)-[r]->(t:Twin) WHERE s.id STARTS WITH $p AND t.id STARTS WITH $p RETURN count(r) AS n", p=prefix)
    return records[0]["twins"], rels[0]["n"]


def _sections(lines: list[str]) -> dict[str, list[str]]:
    """Lines per section (model lines as parsed JSON text, for comparison)."""
    found: dict[str, list[str]] = {}
    current = ""
    for line in lines:
        value = json.loads(line)
        if isinstance(value, dict) and "Section" in value:
            current = value["Section"]
            found[current] = []
        else:
            found[current].append(line)
    return found


def test_import_then_export_gives_the_same_twins_properties_and_relationships(neo4j_driver: neo4j.Driver, run: Run) -> None:
    source = run.file()
    report = import_adt(neo4j_driver, source, name="grid.ndjson")
    assert (report.models_added, report.twins_created, report.twins_updated) == (1, 6, 0)
    assert (report.relationships_created, report.relationships_updated) == (5, 0)
    assert _counts(neo4j_driver, run.prefix) == (6, 5)

    exported = list(export_adt(neo4j_driver, twin_ids=run.ids()))
    # canonical input -> byte-identical twin and relationship sections
    assert _sections(exported)["Twins"] == _sections(source)["Twins"]
    assert _sections(exported)["Relationships"] == _sections(source)["Relationships"]
    document = read_adt(exported)
    assert run.model() in document.models
    assert {m.dtmi for m in list_models(neo4j_driver)} == {m["@id"] for m in document.models}
    # an export imports again (into the same graph: all stored verbatim or updated in place)
    again = import_adt(neo4j_driver, exported)
    assert (again.models_added, again.twins_created, again.relationships_created) == (0, 0, 0)


def test_reimport_updates_in_place_and_never_duplicates(neo4j_driver: neo4j.Driver, run: Run) -> None:
    import_adt(neo4j_driver, run.file())
    created = get_twin(neo4j_driver, _models(neo4j_driver), f"{run.prefix}line0").created_at
    before = _counts(neo4j_driver, run.prefix)

    same = import_adt(neo4j_driver, run.file())
    assert (same.models_added, same.models_unchanged) == (0, 1)
    assert (same.twins_created, same.twins_updated, same.relationships_created, same.relationships_updated) == (0, 6, 0, 5)
    assert _counts(neo4j_driver, run.prefix) == before == (6, 5)

    twins = run.twins()
    twins[1] = replace(twins[1], properties={"name": "Cable 0 (renamed)", "length": 9.0})  # lineType, location dropped
    relationships = run.relationships()
    relationships[3] = replace(relationships[3], target_id=f"{run.prefix}bus", name="connectedTo")  # same id, new edge
    relationships[4] = replace(relationships[4], properties={"weight": 0.75})
    changed = import_adt(neo4j_driver, run.file(twins, relationships))
    assert (changed.twins_created, changed.relationships_created, changed.relationships_updated) == (0, 0, 5)
    assert _counts(neo4j_driver, run.prefix) == (6, 5)
    document = read_adt(list(export_adt(neo4j_driver, twin_ids=run.ids())))
    assert sorted(document.twins, key=lambda t: t.id) == sorted(twins, key=lambda t: t.id)
    assert list(document.relationships) == sorted(relationships, key=lambda r: (r.source_id, r.id or ""))
    line0 = get_twin(neo4j_driver, _models(neo4j_driver), f"{run.prefix}line0")
    assert line0.created_at == created and line0.properties == twins[1].properties


def _models(driver: neo4j.Driver):
    from graph.models_store import load_model_set

    return load_model_set(driver)


def test_a_bad_file_is_refused_with_line_and_field_and_stores_nothing(neo4j_driver: neo4j.Driver, run: Run) -> None:
    twins = run.twins()
    twins[2] = replace(twins[2], properties={"name": "Cable 1", "length": "far"})
    relationships = run.relationships() + [RelationshipRow(f"{run.prefix}bus", "powers", f"{run.prefix}line1", {}, "x")]
    lines = run.file(twins, relationships)
    bad_twin_line = next(i for i, line in enumerate(lines, 1) if '"far"' in line)
    bad_relationship_line = next(i for i, line in enumerate(lines, 1) if '"powers"' in line)
    with pytest.raises(AdtFileError) as error:
        import_adt(neo4j_driver, lines, name="bad-grid.ndjson")
    located = [(i.source, i.line, i.pointer) for i in error.value.issues]
    assert located == [("bad-grid.ndjson", bad_twin_line, "/length"),
                       ("bad-grid.ndjson", bad_relationship_line, "/$relationshipName")]
    assert "bad-grid.ndjson" in str(error.value)
    assert _counts(neo4j_driver, run.prefix) == (0, 0)
    with pytest.raises(NotFoundError):
        get_model(neo4j_driver, run.probe)  # the file's model was not stored either


def test_a_bad_model_is_refused_on_its_line(neo4j_driver: neo4j.Driver, run: Run) -> None:
    model = run.model()
    model["contents"][1]["schema"] = "reel"
    lines = list(write_adt([model], run.twins(), []))
    with pytest.raises(AdtFileError) as error:
        import_adt(neo4j_driver, lines)
    (issue, *_) = error.value.issues
    assert issue.line == 4 and issue.pointer.startswith("/contents/1")
    assert _counts(neo4j_driver, run.prefix) == (0, 0)


def test_changed_stored_models_and_twin_models_are_refused(neo4j_driver: neo4j.Driver, run: Run) -> None:
    import_adt(neo4j_driver, run.file())
    model = run.model()
    model["displayName"] = "Probe, edited"
    with pytest.raises(AdtFileError) as error:
        import_adt(neo4j_driver, list(write_adt([model], [], [])))
    assert [(i.line, i.pointer) for i in error.value.issues] == [(4, "/@id")]

    twins = run.twins()
    twins[0] = TwinRow(twins[0].id, f"{G}Line;1", {"name": "now a line"})
    extra = TwinRow(f"{run.prefix}extra", f"{G}Line;1", {"name": "new"})
    lines = run.file(twins + [extra], [])
    with pytest.raises(AdtFileError) as error:
        import_adt(neo4j_driver, lines)
    bus_line = next(i for i, line in enumerate(lines, 1) if f'"{run.prefix}bus"' in line)
    assert [(i.line, i.pointer) for i in error.value.issues] == [(bus_line, "/$metadata/$model")]
    assert _counts(neo4j_driver, run.prefix) == (6, 5)  # the extra twin was not stored


def test_relationship_to_a_twin_in_neither_file_nor_graph(neo4j_driver: neo4j.Driver, run: Run) -> None:
    relationships = run.relationships() + [RelationshipRow(f"{run.prefix}line0", "feedsTo", f"{run.prefix}ghost", {}, "g")]
    lines = run.file(relationships=relationships)
    with pytest.raises(AdtFileError) as error:
        import_adt(neo4j_driver, lines)
    ghost_line = next(i for i, line in enumerate(lines, 1) if "ghost" in line)
    assert [(i.line, i.pointer) for i in error.value.issues] == [(ghost_line, "/$targetId")]
    assert _counts(neo4j_driver, run.prefix) == (0, 0)


def test_export_by_model_and_unknown_ids(neo4j_driver: neo4j.Driver, run: Run) -> None:
    import_adt(neo4j_driver, run.file())
    document = read_adt(list(export_adt(neo4j_driver, model=run.probe, include_models=False)))
    assert [t.id for t in document.twins] == [f"{run.prefix}probe"] and document.models == ()
    assert document.relationships == ()  # its target (a line) is not exported, so neither is the edge
    with pytest.raises(NotFoundError):
        export_adt(neo4j_driver, twin_ids=[f"{run.prefix}nope"])
