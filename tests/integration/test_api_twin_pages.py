"""The ``twins`` connection pages in one round trip: totals, keyset cursors both ways, the end, filters and order."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import neo4j
import pytest

from graph.bulk import TwinRow, bulk_create_twins, bulk_delete_twins
from graph.models_store import load_model_set
from graph.cursors import SortKey, encode_cursor
from tests.integration.conftest import GraphQLClient

PAGE = ('query($after: String, $first: Int, $before: String, $last: Int, $tag: JSON!) { twins(model: "Load", '
        'first: $first, after: $after, last: $last, before: $before, '
        'where: [{property: "name", op: startsWith, value: $tag}], orderBy: [{property: "name", descending: true}]) '
        '{ totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } '
        'edges { cursor node { id ... on Load { name } } } } }')
#: The order of PAGE as the cursors record it (name descending, then the id).
PAGE_ORDER = [SortKey("`name`", True), SortKey("id")]


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
    page = gql.data(PAGE, {"after": encode_cursor(PAGE_ORDER, [f"{tag} 00", f"{tag}-0"]), "first": 3, "tag": tag},
                    tokens["viewer"])["twins"]
    assert page == {"totalCount": 7, "edges": [], "pageInfo": {"hasNextPage": False, "hasPreviousPage": True,
                                                                "startCursor": None, "endCursor": None}}
    nothing = gql.data(PAGE, {"after": None, "first": 3, "tag": "no-such-" + tag}, tokens["viewer"])["twins"]
    assert nothing["totalCount"] == 0 and nothing["edges"] == []


def test_a_bad_page_request_names_the_argument(gql: GraphQLClient, tokens: dict[str, str]) -> None:
    other_order = encode_cursor([SortKey("`name`"), SortKey("id")], ["x", "y"])
    for variables, pointer in (({"after": "bm9wZQ==", "first": 3, "tag": "x"}, "/after"),
                               ({"after": other_order, "first": 3, "tag": "x"}, "/after"),
                               ({"before": "bm9wZQ==", "last": 3, "tag": "x"}, "/before"),
                               ({"first": 3, "last": 3, "tag": "x"}, "/last"),
                               ({"last": 0, "tag": "x"}, "/last"),
                               ({"after": None, "first": 5000, "tag": "x"}, "/first")):
        errors = gql(PAGE, variables, tokens["viewer"])["errors"]
        assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT", errors
        assert errors[0]["extensions"]["problems"][0]["pointer"] == pointer


def _names(page: dict) -> list[str]:
    return [edge["node"]["name"] for edge in page["edges"]]


def test_pages_go_backward_from_the_end_with_last_and_before(gql: GraphQLClient, tokens: dict[str, str],
                                                              loads: tuple[str, list[str]]) -> None:
    tag, _ = loads
    expected = sorted((f"{tag} {i:02d}" for i in range(7)), reverse=True)
    tail = gql.data(PAGE, {"last": 3, "tag": tag}, tokens["viewer"])["twins"]
    assert _names(tail) == expected[-3:]
    assert tail["pageInfo"]["hasPreviousPage"] is True and tail["pageInfo"]["hasNextPage"] is False
    middle = gql.data(PAGE, {"last": 3, "before": tail["pageInfo"]["startCursor"], "tag": tag}, tokens["viewer"])["twins"]
    assert _names(middle) == expected[1:4] and middle["pageInfo"]["hasNextPage"] is True
    head = gql.data(PAGE, {"last": 3, "before": middle["pageInfo"]["startCursor"], "tag": tag}, tokens["viewer"])["twins"]
    assert _names(head) == expected[:1] and head["pageInfo"]["hasPreviousPage"] is False
    window = gql.data(PAGE, {"first": 10, "after": head["pageInfo"]["endCursor"], "before": tail["pageInfo"]["startCursor"],
                             "tag": tag}, tokens["viewer"])["twins"]
    assert _names(window) == expected[1:4]  # both cursors bound the page


def test_keyset_pages_neither_skip_nor_repeat_when_twins_arrive_and_leave(
        gql: GraphQLClient, tokens: dict[str, str], neo4j_driver: neo4j.Driver, loads: tuple[str, list[str]]) -> None:
    """Offset cursors shifted under an insert before the page (a twin seen twice) or a delete (one skipped)."""
    tag, ids = loads
    models = load_model_set(neo4j_driver)
    first = gql.data(PAGE, {"first": 3, "tag": tag}, tokens["viewer"])["twins"]
    assert _names(first) == [f"{tag} 06", f"{tag} 05", f"{tag} 04"]
    arrived = [TwinRow(f"{tag}-new-{i}", "dtmi:gridtwin:Load;1", {"name": f"{tag} 99-{i}"}) for i in range(3)]
    try:
        bulk_create_twins(neo4j_driver, models, arrived)  # all sort before the page the client is on
        bulk_delete_twins(neo4j_driver, [ids[6]])  # and one it has seen leaves
        rest, after = [], first["pageInfo"]["endCursor"]
        while after is not None:
            page = gql.data(PAGE, {"first": 2, "after": after, "tag": tag}, tokens["viewer"])["twins"]
            rest += _names(page)
            after = page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None
        assert rest == [f"{tag} 03", f"{tag} 02", f"{tag} 01", f"{tag} 00"]
    finally:
        bulk_delete_twins(neo4j_driver, [row.id for row in arrived])


def test_twins_without_the_ordered_property_are_paged_too(gql: GraphQLClient, tokens: dict[str, str],
                                                          neo4j_driver: neo4j.Driver) -> None:
    """Absent values sort last ascending and first descending (as Neo4j orders null); no page loses them,
    forward or backward, and the pages in both directions agree."""
    models = load_model_set(neo4j_driver)
    tag = f"nulls-{uuid.uuid4().hex[:8]}"
    with_power = {1: 30.0, 3: 10.0, 5: 20.0}  # twins 0, 2, 4 have no contractedPower
    rows = [TwinRow(f"{tag}-{i}", "dtmi:gridtwin:Load;1",
                    {"name": tag, **({"contractedPower": with_power[i]} if i in with_power else {})}) for i in range(6)]
    query = ('query($after: String, $before: String, $last: Int, $first: Int, $tag: JSON!, $desc: Boolean!) { '
             'twins(model: "Load", first: $first, after: $after, last: $last, before: $before, '
             'where: [{property: "name", op: eq, value: $tag}], orderBy: [{property: "contractedPower", descending: $desc}]) '
             '{ pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { node { id } } } }')
    ascending = [f"{tag}-{i}" for i in (3, 5, 1, 0, 2, 4)]  # 10, 20, 30, then the absent ones by id
    descending = [f"{tag}-{i}" for i in (0, 2, 4, 1, 5, 3)]  # absent first (by id), then 30, 20, 10
    bulk_create_twins(neo4j_driver, models, rows)
    try:
        for desc, expected in ((False, ascending), (True, descending)):
            forward, after = [], None
            while True:
                page = gql.data(query, {"first": 2, "after": after, "tag": tag, "desc": desc}, tokens["viewer"])["twins"]
                forward += [edge["node"]["id"] for edge in page["edges"]]
                if not page["pageInfo"]["hasNextPage"]:
                    break
                after = page["pageInfo"]["endCursor"]
            backward, before = [], None
            while True:
                page = gql.data(query, {"last": 2, "before": before, "tag": tag, "desc": desc}, tokens["viewer"])["twins"]
                backward = [edge["node"]["id"] for edge in page["edges"]] + backward
                if not page["pageInfo"]["hasPreviousPage"]:
                    break
                before = page["pageInfo"]["startCursor"]
            assert forward == expected and backward == expected, (desc, forward, backward)
    finally:
        bulk_delete_twins(neo4j_driver, [row.id for row in rows])
