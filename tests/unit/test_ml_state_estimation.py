"""GNN state estimation on a grid it never trained on, against power-grid-model's WLS on the same measurements."""

from __future__ import annotations

import numpy as np
import pytest

from ml.gnn import estimators
from ml.data.grids import substation_node
from ml.gnn.cases import CaseSettings, build_case
from ml.gnn.graph import batch, topology
from ml.plan import SMALL
from ml.registry import Registry

UNSEEN = SMALL.se_test_codes[0]


@pytest.fixture(scope="module")
def case():
    return build_case(UNSEEN, CaseSettings(samples=SMALL.se_test_samples, seed=SMALL.test_seeds[0]))


def test_training_and_test_grids_do_not_overlap() -> None:
    assert not set(SMALL.se_training_codes) & set(SMALL.se_test_codes)


def test_measured_buses_start_at_the_substation_and_stay_below_it(case) -> None:
    rated = case.network.input_data["node"]["u_rated"]
    assert case.measured[0] == substation_node(case.network)
    assert (rated[case.measured] <= rated[case.measured[0]]).all()
    assert len(set(case.measured.tolist())) == len(case.measured)


def test_the_linear_prior_is_powergridmodels_own_linear_current_flow(case) -> None:
    prior = estimators.LinearPrior(case)
    by_superposition = prior.voltages(*estimators.node_demand(case))
    assert np.abs(by_superposition - estimators.pseudo_load_flow(case)).max() < 1e-5  # single precision


def test_wls_recovers_the_state_better_than_the_naive_guesses(case) -> None:
    wls = estimators.mean_absolute_error_percent(estimators.wls_estimate(case), case)
    naive = estimators.mean_absolute_error_percent(estimators.substation_everywhere(case), case)
    assert wls < naive


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    pytest.importorskip("torch")
    from ml.jobs import state_estimation as job

    registry = Registry(tmp_path_factory.mktemp("models"))
    job.train(registry, SMALL)
    return registry, job


def test_untrained_network_is_exactly_the_physics_start(case) -> None:
    pytest.importorskip("torch")
    from ml.gnn import state_estimator

    graph = batch(case, estimators.LinearPrior(case), topology(case.network))
    assert np.allclose(state_estimator.estimate(state_estimator.StateEstimatorNet(), graph), graph.base_pu)


def test_gnn_on_an_unseen_grid_matches_wls_and_beats_nominal_widely(trained, case) -> None:
    registry, job = trained
    scores = job.scores(job.load(registry), case)
    assert scores["gnn"] < scores["nominal"] / 5, scores
    assert scores["gnn"] < scores["naive"], scores
    assert scores["gnn"] <= 1.2 * scores["wls"], scores


def test_the_stored_weights_give_the_same_estimates(trained, case) -> None:
    registry, job = trained
    from ml.gnn import state_estimator

    graph = batch(case, estimators.LinearPrior(case), topology(case.network))
    first, second = job.load(registry), job.load(registry)
    assert np.array_equal(state_estimator.estimate(first, graph), state_estimator.estimate(second, graph))
    assert not np.allclose(state_estimator.estimate(first, graph), graph.base_pu)  # it learned something
