"""Train the GNN fault locator on some grids' simulated faults and score it on a grid it never saw.

Training cases mix sensor densities (10-30 % of buses); evaluation uses its own seeds (sensor
placements, fault positions, kinds, resistances, noise) on the state estimator's test grids.
Baseline: fault passage indicators plus the one-ended impedance method (:func:`indicator_rule`);
the deepest-sag rule is in the note.
"""

from __future__ import annotations

import time
from dataclasses import asdict

import numpy as np

from ml.evaluation import Row
from ml.gnn.fault_cases import FaultCase, FaultSettings, build_fault_case, deepest_sag_rule, indicator_rule
from ml.plan import Plan
from ml.registry import Artefact, Registry, data_sha256

NAME = "gnn.fault_location"
MODEL_FILE = "model.pt"
TRAINING_FRACTIONS = (0.1, 0.2, 0.3)
TEST_FRACTIONS = (0.2, 0.1)


def _cases(codes: tuple[str, ...], seeds: tuple[int, ...], fractions: tuple[float, ...], samples: int) -> list[FaultCase]:
    return [build_fault_case(code, FaultSettings(measured_fraction=fraction, samples=samples, seed=seed))
            for code in codes for seed in seeds for fraction in fractions]


def train(registry: Registry, plan: Plan) -> Artefact:
    import torch

    from ml.gnn import fault_locator

    torch.set_num_threads(plan.threads)
    cases = _cases(plan.se_training_codes, plan.training_seeds, TRAINING_FRACTIONS, plan.fault_training_samples)
    settings = fault_locator.LocatorSettings(epochs=plan.fault_epochs, seed=plan.training_seeds[0])
    model = fault_locator.train(cases, settings)
    return registry.save(NAME, {MODEL_FILE: fault_locator.to_bytes(model)},
                         {"plan": plan.name, "training_grids": list(plan.se_training_codes),
                          "seeds": list(plan.training_seeds), "fractions": list(TRAINING_FRACTIONS),
                          "samples": sum(case.samples for case in cases), "settings": asdict(settings),
                          "case_settings": asdict(FaultSettings()),
                          "node_features": list(fault_locator.FAULT_NODE_FEATURES),
                          "edge_features": list(fault_locator.FAULT_EDGE_FEATURES),
                          "data_sha256": data_sha256(part for case in cases for part in (case.code, case.measured,
                                                                                         case.fault_node, case.u_pu, case.i_a))})


def load(registry: Registry, version: int | None = None):  # -> fault_locator.FaultLocatorNet (imports torch)
    from ml.gnn import fault_locator

    artefact = registry.load(NAME, version)
    return fault_locator.from_bytes(artefact.read(MODEL_FILE),
                                    fault_locator.LocatorSettings(**artefact.metadata["settings"]))


def scores(model: object, case: FaultCase) -> dict[str, float]:
    """Top-1 / top-3 accuracy and the mean branch count between the answer and the faulted bus."""
    from ml.gnn import fault_locator

    start = time.perf_counter()
    ranked = fault_locator.ranked(model, case)
    elapsed_ms = (time.perf_counter() - start) * 1000.0
    truth, hops = case.fault_node, case.tree.hops
    rule, sag = indicator_rule(case), deepest_sag_rule(case)
    return {"gnn": float((ranked[:, 0] == truth).mean()), "gnn_top3": float((ranked == truth[:, None]).any(axis=1).mean()),
            "gnn_hops": float(hops[ranked[:, 0], truth].mean()), "gnn_ms": elapsed_ms,
            "rule": float((rule == truth).mean()), "rule_hops": float(hops[rule, truth].mean()),
            "sag": float((sag == truth).mean()), "sag_hops": float(hops[sag, truth].mean())}


def evaluate(registry: Registry, plan: Plan) -> list[Row]:
    import torch

    torch.set_num_threads(plan.threads)
    model = load(registry)
    rows = []
    for code in plan.se_test_codes:
        for fraction in TEST_FRACTIONS:
            runs = [scores(model, case) for case in _cases((code,), plan.test_seeds, (fraction,), plan.se_test_samples)]
            mean = {key: float(np.mean([run[key] for run in runs])) for key in runs[0]}
            rows.append(Row(NAME, f"{code} (unseen), {fraction:.0%} of buses with a sensor, {plan.se_test_samples} "
                                  f"faults per seed {','.join(map(str, plan.test_seeds))}", "top-1 accuracy",
                            mean["gnn"], "fault indicators + one-ended impedance", mean["rule"],
                            lower_is_better=False,
                            latency=f"{plan.se_test_samples} faults in {mean['gnn_ms']:.1f} ms",
                            note=f"top-3 {mean['gnn_top3']:.3f}; mean distance to the faulted bus "
                                 f"{mean['gnn_hops']:.2f} branches vs the rule's {mean['rule_hops']:.2f}; "
                                 f"deepest-sag bus {mean['sag']:.3f} ({mean['sag_hops']:.2f} branches)"))
    return rows
