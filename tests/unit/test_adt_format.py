"""ADT import files (NDJSON): parsing, every refusal with its line and pointer, and write -> read."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graph.bulk import RelationshipRow, TwinRow
from graph.errors import ValidationError
from loaders.adt import MAX_ISSUES, AdtFileError, read_adt, write_adt

M0 = "dtmi:com:example:model0;1"
M1 = "dtmi:com:example:model1;1"
HEADER = {"fileVersion": "1.0.0", "author": "foobar", "organization": "contoso"}
MODEL0 = {"@id": M0, "@type": "Interface", "@context": "dtmi:dtdl:context;2",
          "contents": [{"@type": "Property", "name": "p", "schema": "integer"},
                       {"@type": "Relationship", "name": "has", "target": M1}]}
MODEL1 = {"@id": M1, "@type": "Interface", "@context": "dtmi:dtdl:context;2",
          "contents": [{"@type": "Property", "name": "q", "schema": "string"}]}


def _lines(*values: object) -> list[str]:
    return [v if isinstance(v, str) else json.dumps(v) for v in values]


def _sample() -> list[str]:
    """The shape of the sample in Microsoft's "Format data" section."""
    return _lines(
        {"Section": "Header"}, HEADER,
        {"Section": "Models"}, MODEL0, MODEL1,
        {"Section": "Twins"},
        {"$dtId": "twin0", "$metadata": {"$model": M0}, "p": 10},
        {"$dtId": "twin1", "$metadata": {"$model": M1}, "q": "v", "m": {"a": "b"}},
        {"Section": "Relationships"},
        {"$dtId": "twin0", "$relationshipId": "rel", "$targetId": "twin1", "$relationshipName": "has", "w": 10},
    )


def _issues(lines: list[str]) -> list[tuple[int, str]]:
    with pytest.raises(AdtFileError) as error:
        read_adt(lines, name="grid.ndjson")
    return [(issue.line, issue.pointer) for issue in error.value.issues]


def _messages(lines: list[str]) -> list[str]:
    with pytest.raises(AdtFileError) as error:
        read_adt(lines, name="grid.ndjson")
    return [issue.message for issue in error.value.issues]


def test_the_documented_layout_parses_with_lines() -> None:
    document = read_adt(_sample())
    assert document.header == HEADER
    assert document.models == (MODEL0, MODEL1) and document.model_lines == (4, 5)
    assert document.twins == (TwinRow("twin0", M0, {"p": 10}), TwinRow("twin1", M1, {"q": "v", "m": {"a": "b"}}))
    assert document.twin_lines == (7, 8)
    assert document.relationships == (RelationshipRow("twin0", "has", "twin1", {"w": 10}, "rel"),)
    assert document.relationship_lines == (10,)


def test_sections_are_optional_but_the_header_is_not() -> None:
    document = read_adt(_lines({"Section": "Header"}, HEADER, {"Section": "Twins"},
                               {"$dtId": "a", "$metadata": {"$model": M0}}))
    assert document.models == () and document.relationships == () and len(document.twins) == 1
    assert _issues(_lines({"Section": "Twins"}, {"$dtId": "a", "$metadata": {"$model": M0}})) == [(1, "/Section")]
    assert _issues(_lines({"$dtId": "a", "$metadata": {"$model": M0}}, {"$dtId": "b"})) == [(1, "")]
    assert _issues([]) == [(1, "")]
    assert _issues(["", "  "]) == [(2, "")]


def test_section_order_unknown_and_repeated_sections() -> None:
    head = [{"Section": "Header"}, HEADER]
    assert _issues(_lines(*head, {"Section": "Twins"}, {"Section": "Models"})) == [(4, "/Section")]
    assert _issues(_lines(*head, {"Section": "Twins"}, {"Section": "Twins"})) == [(4, "/Section")]
    assert _issues(_lines(*head, {"Section": "Header"}, HEADER)) == [(3, "/Section")]
    # the lines of an unknown section are skipped: one message for it
    assert _issues(_lines(*head, {"Section": "Telemetry"}, {"x": 1}, {"y": 2})) == [(3, "/Section")]
    assert "unknown section 'Telemetry'" in _messages(_lines(*head, {"Section": "Telemetry"}))[0]


def test_header_problems() -> None:
    assert _issues(_lines({"Section": "Header"}, {"Section": "Models"})) == [(1, "")]
    assert _issues(_lines({"Section": "Header"})) == [(1, "")]
    assert _issues(_lines({"Section": "Header"}, {"author": "me"})) == [(2, "/fileVersion")]
    assert _issues(_lines({"Section": "Header"}, {"fileVersion": "2.0.0"})) == [(2, "/fileVersion")]
    assert _issues(_lines({"Section": "Header"}, {"fileVersion": "1.0.0", "author": 5})) == [(2, "/author")]
    assert _issues(_lines({"Section": "Header"}, HEADER, HEADER)) == [(3, "")]
    assert _issues(_lines({"Section": "Header"}, [HEADER])) == [(2, "")]


def test_twin_problems_name_line_and_pointer() -> None:
    head = [{"Section": "Header"}, HEADER, {"Section": "Twins"}]
    cases = [
        ({"$metadata": {"$model": M0}}, "/$dtId"),
        ({"$dtId": "", "$metadata": {"$model": M0}}, "/$dtId"),
        ({"$dtId": "x" * 257, "$metadata": {"$model": M0}}, "/$dtId"),
        ({"$dtId": "a\nb", "$metadata": {"$model": M0}}, "/$dtId"),
        ({"$dtId": "a"}, "/$metadata"),
        ({"$dtId": "a", "$metadata": {}}, "/$metadata/$model"),
        ({"$dtId": "a", "$metadata": {"$model": "Line"}}, "/$metadata/$model"),
        ({"$dtId": "a", "$metadata": {"$model": M0}, "$version": 2}, "/$version"),
        ([1, 2], ""),
    ]
    for twin, pointer in cases:
        assert _issues(_lines(*head, twin)) == [(4, pointer)], twin


def test_relationship_problems_name_line_and_pointer() -> None:
    head = [{"Section": "Header"}, HEADER, {"Section": "Relationships"}]
    full = {"$dtId": "a", "$relationshipId": "r", "$targetId": "b", "$relationshipName": "has"}
    for key in full:
        assert _issues(_lines(*head, {k: v for k, v in full.items() if k != key})) == [(4, f"/{key}")]
    assert _issues(_lines(*head, {**full, "$relationshipName": ""})) == [(4, "/$relationshipName")]
    renamed = {("$sourceId" if k == "$dtId" else k): v for k, v in full.items()}
    assert _issues(_lines(*head, renamed)) == [(4, "/$dtId"), (4, "/$sourceId")]
    assert "$dtId" in _messages(_lines(*head, renamed))[1]
    assert _issues(_lines(*head, full, {**full, "$targetId": "c"})) == [(5, "/$relationshipId")]
    assert "first on line 4" in _messages(_lines(*head, full, full))[0]


def test_model_problems() -> None:
    head = [{"Section": "Header"}, HEADER, {"Section": "Models"}]
    assert _issues(_lines(*head, {"@type": "Interface"})) == [(4, "/@id")]
    assert _issues(_lines(*head, [MODEL0, {"@id": "x"}])) == [(4, "/1/@id")]
    assert _issues(_lines(*head, [MODEL0, "text"])) == [(4, "/1")]
    assert _issues(_lines(*head, [])) == [(4, "")]
    assert _issues(_lines(*head, MODEL0, [MODEL1, MODEL0])) == [(5, "/1/@id")]
    document = read_adt(_lines(*head, [MODEL0, MODEL1]))
    assert document.models == ([MODEL0, MODEL1],) and document.model_lines == (4,)


def test_every_problem_is_reported_not_just_the_first() -> None:
    lines = _sample()
    lines[6] = json.dumps({"$dtId": "twin0", "$metadata": {"$model": "nope"}})
    lines[7] = '{"$dtId": "twin1", "$metadata": '
    lines.append(json.dumps({"$dtId": "twin0", "$relationshipId": "rel", "$targetId": "twin1"}))
    lines.append(json.dumps({"$dtId": "twin0", "$relationshipId": "rel", "$targetId": "twin1", "$relationshipName": "has"}))
    assert _issues(lines) == [(7, "/$metadata/$model"), (8, ""), (11, "/$relationshipName"), (12, "/$relationshipId")]
    assert "not valid JSON" in _messages(lines)[1]


def test_duplicate_twins_name_the_first_line() -> None:
    lines = _sample()
    lines.insert(8, lines[6])
    assert _issues(lines) == [(9, "/$dtId")]
    assert "first on line 7" in _messages(lines)[0]


def test_the_error_names_the_file_and_is_a_validation_error() -> None:
    lines = _sample()
    lines[6] = json.dumps({"$dtId": "twin0"})
    with pytest.raises(ValidationError) as error:
        read_adt(lines, name="grid.ndjson")
    assert isinstance(error.value, AdtFileError)
    assert error.value.source == "grid.ndjson" and "grid.ndjson" in str(error.value)
    assert str(error.value.issues[0]).startswith("grid.ndjson:7: /$metadata: ")
    assert str(error.value).splitlines()[1] == str(error.value.issues[0])
    assert error.value.problems[0].pointer == "/$metadata" and error.value.problems[0].message.startswith("line 7:")


def test_problem_count_is_capped_but_counted() -> None:
    lines = _lines({"Section": "Header"}, HEADER, {"Section": "Twins"}, *[{"$dtId": f"t{i}"} for i in range(MAX_ISSUES + 5)])
    messages = _messages(lines)
    assert len(messages) == MAX_ISSUES + 1 and messages[-1] == "... and 5 more problem(s)"


def test_tolerated_text_blank_lines_bom_bytes_and_service_metadata(tmp_path: Path) -> None:
    lines = _sample()
    lines[6] = json.dumps({"$dtId": "twin0", "$etag": 'W/"1"', "p": 10,
                           "$metadata": {"$model": M0, "$lastUpdateTime": "2024-01-01T00:00:00Z", "p": {"lastUpdateTime": "x"}}})
    text = "\ufeff" + "\n\n".join(lines) + "\n\n"
    path = tmp_path / "grid.ndjson"
    path.write_text(text, encoding="utf-8")
    document = read_adt(path)
    assert document.source == str(path)
    assert document.twins[0] == TwinRow("twin0", M0, {"p": 10}) and document.twin_lines == (13, 15)
    assert read_adt([line.encode() for line in lines]).twins == document.twins
    bad = [line.encode() for line in lines]
    bad[7] = b'{"$dtId": "\xff"}'
    assert _issues(bad) == [(8, "")]  # type: ignore[arg-type]


def test_a_path_names_itself_in_errors(tmp_path: Path) -> None:
    path = tmp_path / "broken.ndjson"
    path.write_text('{"Section": "Header"}\n{"fileVersion": 1}\n')
    with pytest.raises(AdtFileError) as error:
        read_adt(path)
    assert str(error.value.issues[0]) == f"{path}:2: /fileVersion: is required, a string such as \"1.0.0\""


def test_write_then_read_is_the_identity_and_write_is_deterministic() -> None:
    document = read_adt(_sample())
    written = list(write_adt(document.models, document.twins, document.relationships, header=document.header))
    assert all(line.endswith("\n") and "\n" not in line[:-1] for line in written)
    again = read_adt(written)
    assert (again.header, again.models, again.twins, again.relationships) == \
        (document.header, document.models, document.twins, document.relationships)
    shuffled_twins = list(document.twins)
    random.Random(7).shuffle(shuffled_twins)
    assert list(write_adt(reversed(document.models), shuffled_twins, document.relationships, header=document.header)) == written
    assert json.loads(written[0]) == {"Section": "Header"} and json.loads(written[1]) == HEADER


def test_write_sorts_and_leaves_out_empty_sections() -> None:
    twins = [TwinRow("b", M0, {"z": 1, "a": 2}), TwinRow("a", M1)]
    lines = list(write_adt([], twins, []))
    assert [json.loads(line).get("Section") for line in lines] == ["Header", None, "Twins", None, None]
    assert json.loads(lines[1])["fileVersion"] == "1.0.0"
    assert lines[3] == '{"$dtId":"a","$metadata":{"$model":"dtmi:com:example:model1;1"}}\n'
    assert list(json.loads(lines[4])) == ["$dtId", "$metadata", "a", "z"]


def test_write_refuses_a_relationship_without_id() -> None:
    with pytest.raises(ValueError, match=r"\$relationshipId"):
        list(write_adt([], [], [RelationshipRow("a", "has", "b")]))


_ids = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FFF, exclude_characters="\x7f"), min_size=1, max_size=20)
_names = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,10}", fullmatch=True)
_scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=10)
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_names, inner, max_size=3), max_leaves=8)
_properties = st.dictionaries(_names, _values, max_size=4)
_models = st.sampled_from([M0, M1])


@st.composite
def _graphs(draw: st.DrawFn) -> tuple[list[TwinRow], list[RelationshipRow]]:
    ids = draw(st.lists(_ids, min_size=1, max_size=6, unique=True))
    twins = [TwinRow(i, draw(_models), draw(_properties)) for i in ids]
    keys = draw(st.lists(st.tuples(st.sampled_from(ids), _ids), max_size=6, unique=True))
    relationships = [RelationshipRow(s, draw(_names), draw(st.sampled_from(ids)), draw(_properties), r) for s, r in keys]
    return twins, relationships


@settings(max_examples=50, deadline=None)
@given(_graphs())
def test_round_trip_property(graph: tuple[list[TwinRow], list[RelationshipRow]]) -> None:
    twins, relationships = graph
    document = read_adt(list(write_adt([MODEL0, MODEL1], twins, relationships)))
    assert document.models == (MODEL0, MODEL1)
    assert sorted(document.twins, key=lambda t: t.id) == sorted(twins, key=lambda t: t.id)
    assert list(document.relationships) == sorted(relationships, key=lambda r: (r.source_id, r.id or ""))
