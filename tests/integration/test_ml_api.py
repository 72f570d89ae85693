"""The model set through GraphQL: the catalogue, a day-ahead forecast of a stored grid, reloads, roles.

A simbench LV grid is imported into the test profile (with its profile year); the small plan's load
forecast is trained into the test profile's models folder. The forecast the API returns for a day
must equal the offline forecaster's for the same 14 days of simbench's own demand: the stored grid,
its profile archive and the model file all round-trip.
"""

from __future__ import annotations

from collections.abc import Iterator

import neo4j
import numpy as np
import pytest

from ml.plan import SMALL
from tests.integration.conftest import GraphQLClient, stored_simbench_grid

CODE = SMALL.load_codes[0]
DAY = "2026-07-15"  # day 195 of the profile year (0-based): history days 181..194
FORECAST = ("mutation($g: String!, $d: Date) { forecastLoad(gridId: $g, day: $d) "
            "{ gridId day start intervalMinutes valuesMw modelVersion historyDays } }")


@pytest.fixture(scope="module")
def grid_id(neo4j_driver: neo4j.Driver, models: object, settings: object) -> Iterator[str]:
    with stored_simbench_grid(neo4j_driver, models, settings, CODE, "ml") as grid:  # type: ignore[arg-type]
        yield grid


@pytest.fixture(scope="module")
def trained(settings: object, gql: GraphQLClient, tokens: dict[str, str]) -> int:
    from ml.jobs import load_forecast as job
    from ml.registry import Registry

    artefact = job.train(Registry.of_profile(settings.state_path), SMALL, settings.cache_dir / "ml")  # type: ignore[attr-defined]
    gql.data("mutation { reloadMlModels { name } }", token=tokens["admin"])
    return artefact.version


def test_the_catalogue_lists_every_model_and_the_trained_version(gql: GraphQLClient, tokens: dict[str, str],
                                                                  trained: int) -> None:
    from ml.catalogue import MODELS

    listed = gql.data("{ mlModels { name built version dataSha256 } }", token=tokens["analyst"])["mlModels"]
    assert [m["name"] for m in listed] == [m.name for m in MODELS]
    forecast = next(m for m in listed if m["name"] == "energy_flow.load_forecast")
    assert forecast["built"] and forecast["version"] == trained and len(forecast["dataSha256"]) == 64


def test_the_forecast_of_a_stored_grid_is_the_offline_forecast(gql: GraphQLClient, tokens: dict[str, str],
                                                                grid_id: str, trained: int, settings: object) -> None:
    from ml.data.load_series import grid_series
    from ml.jobs import load_forecast as job
    from ml.registry import Registry

    got = gql.data(FORECAST, {"g": grid_id, "d": DAY}, token=tokens["operator"])["forecastLoad"]
    assert got["day"] == DAY and got["start"].startswith(f"{DAY}T00:00:00") and got["intervalMinutes"] == 15
    assert got["modelVersion"] == trained and got["historyDays"] == 14 and len(got["valuesMw"]) == 96
    days = grid_series(CODE, cache_dir=settings.cache_dir / "ml").days[CODE]  # type: ignore[attr-defined]
    history = days[181:195]
    offline = job.load(Registry.of_profile(settings.state_path)).predict(  # type: ignore[attr-defined]
        np.vstack([history, np.zeros((1, 96))]), [14], float(history.mean()), 181)[0]  # history starts on day 181
    assert np.allclose(got["valuesMw"], offline, rtol=1e-5, atol=1e-9)
    assert abs(np.mean(got["valuesMw"]) - days[195].mean()) < 0.5 * days[195].mean()  # a forecast, not noise


def test_a_grid_that_is_not_stored_is_refused_with_its_field(gql: GraphQLClient, tokens: dict[str, str],
                                                              trained: int) -> None:
    body = gql(FORECAST, {"g": "ml-no-such-grid", "d": DAY}, token=tokens["operator"])
    error = body["errors"][0]
    assert error["extensions"]["code"] in {"NOT_FOUND", "BAD_USER_INPUT"}, error
    assert "ml-no-such-grid" in error["message"]


def test_analysts_read_the_catalogue_but_do_not_run_inference(gql: GraphQLClient, tokens: dict[str, str],
                                                              grid_id: str) -> None:
    body = gql(FORECAST, {"g": grid_id, "d": DAY}, token=tokens["analyst"])
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = gql("mutation { reloadMlModels { name } }", token=tokens["operator"])
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
