"""NDJSON parsing for POST /ingest: every line is a message; bad lines keep their index."""

from __future__ import annotations

from api.ingest_http import parse_ndjson


def test_lines_become_messages_with_field_aliases() -> None:
    body = b'{"twin": "a", "time": 1, "values": {}}\n\n{"twinId": "b", "timestamp": 2, "values": {"x": 1.5}}\n'
    messages, bad = parse_ndjson(body)
    assert bad == {}
    assert messages == [{"twin": "a", "time": 1, "values": {}}, {"twin": "b", "time": 2, "values": {"x": 1.5}}]


def test_a_bad_line_is_reported_at_its_index_and_the_rest_parse() -> None:
    messages, bad = parse_ndjson(b'{"twin": "a"}\n{not json\n[1, 2]\n\xff\xfe\n{"twin": "c"}')
    assert len(messages) == 5 and messages[0] == {"twin": "a"} and messages[4] == {"twin": "c"}
    assert set(bad) == {1, 3} and all(reason.startswith("not a JSON object") for reason in bad.values())
    assert messages[2] == [1, 2]  # valid JSON but not an object: the validator rejects it with its reason
