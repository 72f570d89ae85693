"""The API's collector tuning: a threshold of 0 keeps Python's collector, a positive one freezes start-up's objects."""

from __future__ import annotations

import gc

from api.app import tune_garbage_collector
from gridtwin.config import Settings


def test_zero_keeps_pythons_collector_and_a_threshold_freezes_what_start_up_built() -> None:
    before = gc.get_threshold()
    gc.unfreeze()  # an app created earlier in this test process froze its own start-up
    try:
        tune_garbage_collector(0)
        assert gc.get_threshold() == before and gc.get_freeze_count() == 0
        tune_garbage_collector(12_345)
        assert gc.get_threshold()[0] == 12_345 and gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_the_setting_is_on_by_default_and_can_be_switched_off(monkeypatch) -> None:
    assert Settings().api_gc_threshold > 700
    monkeypatch.setenv("GRIDTWIN_API_GC_THRESHOLD", "0")
    assert Settings().api_gc_threshold == 0
