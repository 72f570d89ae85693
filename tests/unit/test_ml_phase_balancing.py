"""Phase balancing: VUF from symmetrical components, moves solved by the asymmetric power flow, never worse than no move."""

from __future__ import annotations

import numpy as np

from ml.decision import phase_balancing as pb
from ml.plan import SMALL
from ml.registry import Registry


def test_vuf_is_zero_for_a_balanced_set_and_the_negative_sequence_share_otherwise() -> None:
    angles = np.array([0.0, -2 * np.pi / 3, 2 * np.pi / 3])
    balanced = pb.worst_vuf_percent(np.ones((1, 1, 3)), angles[None, None, :])
    skewed = pb.worst_vuf_percent(np.array([[[1.0, 1.0, 0.9]]]), angles[None, None, :])
    assert balanced[0] < 1e-9 and abs(skewed[0] - 100 * 0.1 / 2.9) < 1e-9  # |V2|/|V1| = (0.1/3)/(2.9/3)


def test_the_chosen_rotations_are_what_the_power_flow_says_and_never_worse() -> None:
    case = pb.build_case(SMALL.balancing_codes[0], seed=10, slot=200 * 96 + 76)
    result = pb.balance(case)
    assert result.vuf_after_pct < result.vuf_before_pct  # this case improves (a real reconnection)
    solved = pb._solve(case, result.rotations[None, :])[0]
    assert abs(solved - result.vuf_after_pct) < 1e-9
    assert abs(pb._solve(case, np.zeros((1, len(case.loads)), dtype=int))[0] - result.vuf_before_pct) < 1e-9


def test_the_optimiser_beats_no_move_on_evening_cases(tmp_path) -> None:
    from ml.jobs import phase_balancing as job

    registry = Registry(tmp_path)
    job.train(registry, SMALL)
    row = job.evaluate(registry, SMALL)[0]
    assert row.beats_baseline is True, row
