"""The read path's relationship hops are planned as expansions from each twin, never as scans of a
relationship index (graph.projections: a predicate on the relationship's id had Neo4j scan the whole
``rel_feeds_to_id`` index once per twin of a page).  Planned by the real Neo4j on a ternary feeder.

Whether Neo4j picks the bad plan for the old query depends on the whole database's statistics, so no
test here asserts it; against the previous code (``WHERE r.id IS NOT NULL`` in every hop) each hop
test below failed on this feeder in the test profile's database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import neo4j
import pytest

from dtdl.model import ModelSet
from graph.bulk import RelationshipRow, TwinRow, bulk_create_relationships, bulk_create_twins, bulk_delete_twins
from graph.projections import Hop, TwinShape, search_rows_read, trace_rows_read, twins_rows_read
from graph.reads import Read
from graph.relationships import _many_read, _neighbours_read
from graph.search import Filter, Order, Search

LINES = 2_000
WITH_FEEDS_TO = TwinShape(data=False, hops=(Hop("feedsTo", "outgoing", TwinShape(data=False)),))
WITH_FED_BY = TwinShape(data=True, hops=(Hop("fedBy", "outgoing", WITH_FEEDS_TO),))


@pytest.fixture(scope="module")
def feeder(neo4j_driver: neo4j.Driver, models: ModelSet) -> Iterator[list[str]]:
    tag = uuid.uuid4().hex[:8]
    ids = [f"plan-{tag}-{i}" for i in range(LINES)]
    bulk_create_twins(neo4j_driver, models, [TwinRow(i, "dtmi:gridtwin:Line;1", {"name": f"plan {tag} {n:05d}"})
                                             for n, i in enumerate(ids)])
    bulk_create_relationships(neo4j_driver, models, [RelationshipRow(ids[(n - 1) // 3], "feedsTo", ids[n])
                                                     for n in range(1, LINES)])
    yield ids
    bulk_delete_twins(neo4j_driver, ids)


def operators(plan: Any) -> list[str]:
    """Every operator of a plan (a summary's ``plan`` mapping), depth first."""
    found = [plan["operatorType"].split("@")[0]]  # "Expand(All)@neo4j": the operator, not its database
    for child in plan.get("children", []):
        found += operators(child)
    return found


def planned(driver: neo4j.Driver, read: Read[Any]) -> list[str]:
    summary = driver.execute_query("EXPLAIN " + read.text, read.params, routing_=neo4j.RoutingControl.READ).summary
    return operators(summary.plan)


def reads(models: ModelSet, ids: list[str]) -> dict[str, Read[Any]]:
    tag = ids[0].split("-")[1]
    page = Search(model="Line", filters=[Filter("name", "startsWith", f"plan {tag} ")], order_by=[Order("name")],
                  first=100)
    return {
        "twins page with feedsTo": search_rows_read(models, page, WITH_FEEDS_TO, count=False),
        "twins page with fedBy and their feedsTo": search_rows_read(models, page, WITH_FED_BY),
        "twins by id with feedsTo": twins_rows_read(models, ids[:100], WITH_FEEDS_TO, ()),
        "downstream with feedsTo": trace_rows_read(models, ids[0], WITH_FEEDS_TO, downstream=True, max_depth=5,
                                                   label=None),
        "relationship listing (field by field)": _many_read(models, ids[:100], "feedsTo", "outgoing"),
        "related twins (field by field)": _neighbours_read(models, ids[:100], "feedsTo", "outgoing"),
    }


@pytest.mark.parametrize("shape", ["twins page with feedsTo", "twins page with fedBy and their feedsTo",
                                   "twins by id with feedsTo", "downstream with feedsTo",
                                   "relationship listing (field by field)", "related twins (field by field)"])
def test_hops_expand_from_each_twin(neo4j_driver: neo4j.Driver, models: ModelSet, feeder: list[str],
                                    shape: str) -> None:
    found = planned(neo4j_driver, reads(models, feeder)[shape])
    scans = [operator for operator in found if "RelationshipIndex" in operator or "RelationshipTypeScan" in operator]
    assert not scans, f"{shape}: {scans} in {found}"
    assert any(operator.startswith(("Expand", "VarLengthExpand", "OptionalExpand", "BFSPruningVarExpand"))
               for operator in found), found


@pytest.mark.parametrize("shape", ["twins page with feedsTo", "twins page with fedBy and their feedsTo"])
def test_a_page_by_an_indexed_property_seeks_its_index(neo4j_driver: neo4j.Driver, models: ModelSet,
                                                       feeder: list[str], shape: str) -> None:
    """``name`` is indexed on GridComponent, the interface that declares it (graph.search.matching names
    that label): the page reads that index (a seek by the prefix, or a scan in name order where nearly
    every name has the prefix, as in this test's database), not every Line to filter and sort them."""
    found = planned(neo4j_driver, reads(models, feeder)[shape])
    assert any(op.startswith("NodeIndexS") for op in found) and "NodeByLabelScan" not in found, " ".join(found)
