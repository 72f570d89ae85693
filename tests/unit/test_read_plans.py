"""Read plans of the shipped schema, compiled without a server: what compiles, what does not, and that
one operation text always gives one plan and one Cypher text."""

from __future__ import annotations

import pytest
from graphql import parse

from api.app import _shipped_models
from api.compiled_reads import PlanCache
from api.registry import ActiveModels, ModelRegistry
from api.schema import build_schema
from graph.projections import row_projection


@pytest.fixture(scope="module")
def active() -> ActiveModels:
    return ModelRegistry(build_schema, _shipped_models()).active


PAGE = ('{ twins(model: "Line", first: 5) { totalCount edges { node { id ... on GridNode { feedsTo { id '
        '... on GridNode { fedBy { id } } } } } } } }')


def test_one_text_one_plan_and_one_cypher(active: ActiveModels) -> None:
    cache = PlanCache()
    document = parse(PAGE)
    plan = cache.get(active, document, None)
    assert plan is not None and cache.get(active, document, None) is plan
    shape = plan.fields[0].twin.shape  # type: ignore[union-attr]
    cypher = row_projection(active.models, shape, "t")
    again = cache.get(active, parse(PAGE), None)  # another parse of the same text: compiled again, same Cypher
    assert again is not plan and row_projection(active.models, again.fields[0].twin.shape, "t") == cypher  # type: ignore[union-attr]
    assert cypher.count("COLLECT {") == 2 and "(t)-[r0:`FEEDS_TO`]->(o0:Twin)" in cypher
    assert "(o0)<-[r1:`FEEDS_TO`]-(o1:Twin)" in cypher  # fedBy: the stored edge, reversed
    assert not shape.data and plan.fields[0].counted


def test_a_selection_on_an_interface_reads_each_hop_once(active: ActiveModels) -> None:
    """``... on GridNode { feedsTo }`` applies to every concrete grid type: one hop in the Cypher, not one per type."""
    plan = PlanCache().get(active, parse(PAGE), None)
    twin = plan.fields[0].twin  # type: ignore[union-attr]
    assert len(twin.by_model) > 10 and len(twin.shape.hops) == 1


@pytest.mark.parametrize("query", [
    '{ twin(id: "a") { id @include(if: true) } }',
    '{ twin(id: "a") { relationships { id } } }',
    '{ me { username } }',
    '{ __schema { queryType { name } } }',
    'mutation { deleteTwin(id: "a") }',
    '{ twin(id: "a") { id } twin(id: "a") { model } }',  # a root field twice (merged): field by field
])
def test_what_runs_field_by_field(active: ActiveModels, query: str) -> None:
    assert PlanCache().get(active, parse(query), None) is None


def test_typed_values_and_fragments_compile(active: ActiveModels) -> None:
    query = ('query($id: ID!) { twin(id: $id) { __typename ...F ... on GridComponent { location { latitude } } } }'
             ' fragment F on Substation { status bayCount }')
    plan = PlanCache().get(active, parse(query), None)
    assert plan is not None
    twin = plan.fields[0].twin
    substation = twin.by_model["dtmi:gridtwin:Substation;1"]  # type: ignore[union-attr]
    assert [key for key, _ in substation.entries] == ["__typename", "status", "bayCount", "location"]
    assert twin.shape.data  # type: ignore[union-attr]


def test_a_field_selected_twice_is_merged(active: ActiveModels) -> None:
    plan = PlanCache().get(active, parse('{ twins { edges { node { id } } edges { cursor } } }'), None)
    assert plan is not None and plan.fields[0].twin is not None
    [(key, build_edges)] = plan.fields[0].entries

    class Page:
        sort_values = [["a"]]

        def cursor(self, index: int) -> str:
            return f"cursor {index}"

    assert build_edges(Page(), [{"id": "a"}]) == [{"node": {"id": "a"}, "cursor": "cursor 0"}]
