"""The ``twins`` connection pages in one round trip: totals, cursors, the end, filters and order."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import neo4j
import pytest

from graph.bulk import TwinRow, bulk_create_twins, bulk_delete_twins
from graph.models_store import load_model_set
from graph.search import encode_cursor
from tests.integration.conftest import GraphQLClient

PAGE = ('query($after: String, $first: Int!, $tag: JSON!) { twins(model: "Load", first: $first, after: $after, '
        'where: [{property: "name", op: startsWith, value: $tag}], orderBy: [{property: "name", descending: true}]) '
        '{ totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } '
        'edges { cursor node { id ... on Load { name } } } } }')


@pytest.fixture()
def loads(neo4j_driver: neo4j.Driver) -> Iterator[tuple[str, list[str]]]:
    models = load_model_set(neo4j_driver)
    tag = f"page-{uuid.uuid4().hex[:8]}"
    rows = [TwinRow(f"{tag}-{i}", "dtmi:gridtwin:Load;1", {"name": f"{tag} {i:02d}"}) for i in range(7)]
    bulk_create_twins(neo4j_driver, models, rows)
    yield tag, [row.id for row in rows]
    bulk_delete_twins(neo4j_driver, [row.id for row in rows])


def test_pages_follow_the_cursor_to_the_end_with_the_total_on_each(gql: GraphQLClient, tokens: dict[str, str],
                                                                    loads: tuple[str, list[str]]) -> None:
    tag, ids = loads
    seen, after, pages = [], None, 0
    while True:
        page = gql.data(PAGE, {"after": after, "first": 3, "tag": tag}, tokens["viewer"])["twins"]
        assert page["totalCount"] == 7
        seen += [edge["node"]["name"] for edge in page["edges"]]
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
        assert after == page["edges"][-1]["cursor"]
        assert page["pageInfo"]["startCursor"] == page["edges"][0]["cursor"]
        assert page["pageInfo"]["hasPreviousPage"] is (pages > 1)
    assert pages == 3 and seen == sorted((f"{tag} {i:02d}" for i in range(7)), reverse=True)


def test_a_cursor_past_the_end_is_an_empty_page_that_still_counts(gql: GraphQLClient, tokens: dict[str, str],
                                                                   loads: tuple[str, list[str]]) -> None:
    tag, _ = loads
    page = gql.data(PAGE, {"after": encode_cursor(50), "first": 3, "tag": tag}, tokens["viewer"])["twins"]
    assert page == {"totalCount": 7, "edges": [], "pageInfo": {"hasNextPage": False, "hasPreviousPage": True,
                                                                "startCursor": None, "endCursor": None}}
    nothing = gql.data(PAGE, {"after": None, "first": 3, "tag": "no-such-" + tag}, tokens["viewer"])["twins"]
    assert nothing["totalCount"] == 0 and nothing["edges"] == []


def test_a_bad_page_request_names_the_argument(gql: GraphQLClient, tokens: dict[str, str]) -> None:
    for variables, pointer in (({"after": "bm9wZQ==", "first": 3, "tag": "x"}, "/after"),
                               ({"after": None, "first": 5000, "tag": "x"}, "/first")):
        errors = gql(PAGE, variables, tokens["viewer"])["errors"]
        assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT", errors
        assert errors[0]["extensions"]["problems"][0]["pointer"] == pointer
