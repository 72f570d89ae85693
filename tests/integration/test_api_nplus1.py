"""A nested request runs a bounded number of Cypher queries, whatever the number of results."""

from __future__ import annotations

import contextlib
import itertools
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import neo4j
import pytest

from graph.bulk import RelationshipRow, TwinRow, bulk_create_relationships, bulk_create_twins, bulk_delete_twins
from graph.models_store import load_model_set
from tests.integration.conftest import GraphQLClient



class QueryCounter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.queries = 0

    def hit(self) -> None:
        with self._lock:
            self.queries += 1


class CountingDriver:
    """Delegates to a real driver (sync or async) and counts the queries sent through it."""

    def __init__(self, driver: Any, counter: QueryCounter) -> None:
        self._driver = driver
        self._counter = counter

    def execute_query(self, *args: Any, **kwargs: Any) -> Any:
        self._counter.hit()
        return self._driver.execute_query(*args, **kwargs)

    def session(self, *args: Any, **kwargs: Any) -> Any:
        self._counter.hit()
        return self._driver.session(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._driver, name)


@contextlib.contextmanager
def counted(gql: GraphQLClient) -> Iterator[QueryCounter]:
    """Count every query the app sends to Neo4j, through either of its drivers."""
    services = gql.http.app.state.services.get()  # type: ignore[attr-defined]
    counter = QueryCounter()
    originals = services.neo4j, services.neo4j_async
    services.neo4j, services.neo4j_async = (CountingDriver(driver, counter) for driver in originals)
    try:
        yield counter
    finally:
        services.neo4j, services.neo4j_async = originals


@pytest.fixture()
def feeders(neo4j_driver: neo4j.Driver) -> Iterator[tuple[str, list[str]]]:
    """A unique label-free marker model: 30 lines, each feeding two loads."""
    models = load_model_set(neo4j_driver)
    tag = uuid.uuid4().hex[:8]
    lines = [f"np1-{tag}-line-{i}" for i in range(30)]
    twins = [TwinRow(line, "dtmi:gridtwin:Line;1", {"name": f"np1-{tag}"}) for line in lines]
    relationships = []
    for line in lines:
        for leg in ("a", "b"):
            twins.append(TwinRow(f"{line}-{leg}", "dtmi:gridtwin:Load;1", {}))
            relationships.append(RelationshipRow(line, "feedsTo", f"{line}-{leg}"))
    bulk_create_twins(neo4j_driver, models, twins)
    bulk_create_relationships(neo4j_driver, models, relationships)
    yield tag, lines
    bulk_delete_twins(neo4j_driver, [t.id for t in twins])


def test_nested_request_query_count_does_not_grow_with_results(gql: GraphQLClient, tokens: dict[str, str],
                                                               feeders: tuple[str, list[str]]) -> None:
    tag, _ = feeders
    with counted(gql) as counting:
        counts = {}
        for n in (3, 30):
            counting.queries = 0
            data = gql.data("query($n: Int!) { twins(model: \"Line\", first: $n, where: [{property: \"name\", "
                            "value: \"np1-" + tag + "\"}]) { edges { node { id relationships { target { id "
                            "relationships(direction: incoming) { source { id } } } } "
                            "... on GridNode { feedsTo { id fedBy { id } } } } } } }",
                            {"n": n}, tokens["viewer"])
            edges = data["twins"]["edges"]
            assert len(edges) == n
            assert all(len(edge["node"]["feedsTo"]) == 2 for edge in edges)
            assert all(edge["node"]["feedsTo"][0]["fedBy"][0]["id"] == edge["node"]["id"] for edge in edges)
            counts[n] = counting.queries
    assert counts[3] == counts[30], counts
    assert counts[30] <= 10, counts


def test_related_twins_are_read_only_when_their_fields_are_asked(gql: GraphQLClient, tokens: dict[str, str],
                                                                 feeders: tuple[str, list[str]]) -> None:
    """Twins at the end of a relationship come typed, with their properties when asked, from the page's
    own query (the compiled read path); field by field, asking for their properties adds ONE batched
    read, whatever their number."""
    tag, _ = feeders
    selections = {"ids": "feedsTo { id __typename }",
                  "fields": "feedsTo { id __typename etag properties ... on Load { name } }"}
    settings = gql.http.app.state.services.get().settings  # type: ignore[attr-defined]
    with counted(gql) as counting:
        counts = {}
        for (key, selection), compiled in itertools.product(selections.items(), (True, False)):
            settings.compiled_reads = compiled
            for n in (3, 30):
                counting.queries = 0
                data = gql.data("query($n: Int!) { twins(model: \"Line\", first: $n, where: [{property: \"name\", "
                                "value: \"np1-" + tag + "\"}]) { edges { node { id ... on GridNode { " + selection
                                + " } } } } }", {"n": n}, tokens["viewer"])
                targets = [target for edge in data["twins"]["edges"] for target in edge["node"]["feedsTo"]]
                assert len(targets) == 2 * n
                assert all(target["__typename"] == "LoadTwin" for target in targets)
                if key == "fields":
                    assert all(target["etag"].startswith("W/") and target["name"] is None
                               and target["properties"] == {} for target in targets)
                counts[(key, n, compiled)] = counting.queries
    settings.compiled_reads = True
    assert counts[("ids", 3, False)] == counts[("ids", 30, False)] == 2, counts
    assert counts[("fields", 3, False)] == counts[("fields", 30, False)] == 3, counts
    assert {counts[(key, n, True)] for key in selections for n in (3, 30)} == {1}, counts


def test_trace_twins_are_typed_and_their_fields_read_with_the_trace(gql: GraphQLClient, tokens: dict[str, str],
                                                                  feeders: tuple[str, list[str]]) -> None:
    _, lines = feeders
    with counted(gql) as counting:
        counting.queries = 0
        light = gql.data("query($id: ID!) { downstream(id: $id) { depth twin { id __typename } } }",
                         {"id": lines[0]}, tokens["viewer"])["downstream"]
        light_queries = counting.queries
        counting.queries = 0
        full = gql.data("query($id: ID!) { downstream(id: $id) { depth twin { id etag ... on Load { name } } } }",
                        {"id": lines[0]}, tokens["viewer"])["downstream"]
        full_queries = counting.queries
        settings = gql.http.app.state.services.get().settings  # type: ignore[attr-defined]
        settings.compiled_reads = False
        try:
            counting.queries = 0
            gql.data("query($id: ID!) { downstream(id: $id) { depth twin { id etag ... on Load { name } } } }",
                     {"id": lines[0]}, tokens["viewer"])
            field_by_field = counting.queries
        finally:
            settings.compiled_reads = True
    assert sorted(step["twin"]["id"] for step in light) == [lines[0] + "-a", lines[0] + "-b"]
    assert all(step["twin"]["__typename"] == "LoadTwin" and step["depth"] == 1 for step in light)
    assert all(step["twin"]["etag"].startswith("W/") for step in full)
    assert full_queries == light_queries == 1, (light_queries, full_queries)  # the compiled read path
    assert field_by_field == 2, field_by_field  # the trace, then the traced twins' fields in one batch


#: Cypher round trips per request shape, as docs/api.md ("Cypher per request") documents them.
ROUND_TRIPS = {"one twin by id": 1, "a page of twins with one relationship hop": 1,
               "a downstream traversal with ids": 1}


def test_each_request_shape_needs_its_documented_round_trips(gql: GraphQLClient, tokens: dict[str, str],
                                                             feeders: tuple[str, list[str]]) -> None:
    tag, lines = feeders
    shapes = {
        "one twin by id": ('query($id: ID!) { twin(id: $id) { id etag ... on Line { name length } } }',
                           {"id": lines[0]}),
        "a page of twins with one relationship hop": (
            'query { twins(model: "Line", first: 30, where: [{property: "name", value: "np1-' + tag + '"}]) '
            '{ edges { node { id ... on GridNode { feedsTo { id } } } } } }', {}),
        "a downstream traversal with ids": ('query($id: ID!) { downstream(id: $id) { depth twin { id } } }',
                                            {"id": lines[0]}),
    }
    found = {}
    with counted(gql) as counting:
        for shape, (query, variables) in shapes.items():
            counting.queries = 0
            assert gql.data(query, variables, tokens["viewer"])
            found[shape] = counting.queries
    assert found == ROUND_TRIPS
