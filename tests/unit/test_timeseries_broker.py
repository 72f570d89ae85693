"""The in-process broker: routing, runtime twin sets, slow-subscriber policies."""

from __future__ import annotations

import asyncio

import pytest

from timeseries.broker import InProcessBroker, SubscriptionClosed
from timeseries.validation import Sample


def s(twin: str, t: int, **values: object) -> Sample:
    return Sample(twin, t, values)


async def test_subscribers_get_only_their_twins_batched_per_publish() -> None:
    broker = InProcessBroker()
    sub = broker.subscribe({"a", "b"})
    broker.publish([s("a", 1, f=1.0), s("c", 1, f=2.0), s("b", 1, f=3.0)])
    update = await asyncio.wait_for(sub.get(), 1)
    assert [x.twin for x in update.items] == ["a", "b"] and not update.coalesced


async def test_twin_set_can_change_at_runtime() -> None:
    broker = InProcessBroker()
    sub = broker.subscribe({"a"})
    sub.set_keys({"b"})
    broker.publish([s("a", 1, f=1.0)])
    broker.publish([s("b", 2, f=2.0)])
    assert (await asyncio.wait_for(sub.get(), 1)).items[0].twin == "b"


async def test_slow_subscriber_gets_latest_per_twin_and_telemetry() -> None:
    broker = InProcessBroker()
    sub = broker.subscribe({"a", "b"}, max_queue=2, policy="coalesce")
    for t in range(10):
        broker.publish([s("a", t, voltage={"phaseA": float(t)}, frequency=50.0 + t), s("b", t, frequency=float(t))])
    first, second = await sub.get(), await sub.get()
    assert [x.time_ns for x in first.items] == [0, 0] and second.items[0].time_ns == 1
    merged = await sub.get()
    assert merged.coalesced
    latest = {(x.twin, next(iter(x.values))): (x.time_ns, x.values) for x in merged.items}
    assert latest == {("a", "voltage"): (9, {"voltage": {"phaseA": 9.0}}),
                      ("a", "frequency"): (9, {"frequency": 59.0}), ("b", "frequency"): (9, {"frequency": 9.0})}
    assert sub.dropped_updates == 8
    broker.publish([s("a", 10, frequency=1.0)])  # caught up: back to normal updates
    assert not (await sub.get()).coalesced


async def test_disconnect_policy_closes_with_a_reason() -> None:
    broker = InProcessBroker()
    sub = broker.subscribe({"a"}, max_queue=3, policy="disconnect")
    for t in range(4):
        broker.publish([s("a", t, f=1.0)])
    with pytest.raises(SubscriptionClosed, match="slow consumer"):
        await sub.get()
    assert sub.closed_reason and "slow consumer" in sub.closed_reason
    broker.publish([s("a", 9, f=1.0)])  # no longer indexed; nothing raises
    assert not broker._by_key


async def test_publish_never_blocks_even_with_a_stuck_subscriber() -> None:
    broker = InProcessBroker()
    broker.subscribe({"a"}, max_queue=1)
    loop = asyncio.get_running_loop()
    started = loop.time()
    for t in range(20_000):
        broker.publish([s("a", t, f=1.0)])
    assert loop.time() - started < 2.0


async def test_iteration_ends_when_closed() -> None:
    broker = InProcessBroker()
    sub = broker.subscribe({"a"})
    broker.publish([s("a", 1, f=1.0)])
    sub.close("bye")
    assert [u async for u in sub] == []


async def test_backlog_is_bounded_in_samples_not_only_in_updates() -> None:
    broker = InProcessBroker()
    sub = broker.subscribe({"a"}, max_queue=100, max_backlog=10)
    broker.publish([s("a", t, f=float(t)) for t in range(8)])
    broker.publish([s("a", 8 + t, f=float(8 + t)) for t in range(5)])  # 13 samples would exceed 10: coalesced
    assert sub.backlog == 8 + 1
    assert len((await sub.get()).items) == 8
    merged = await sub.get()
    assert merged.coalesced and [(x.time_ns, x.values) for x in merged.items] == [(12, {"f": 12.0})]
    assert sub.backlog == 0
    broker.publish([s("a", t, f=1.0) for t in range(50)])  # one publish into an empty queue is taken whole
    whole = await sub.get()
    assert len(whole.items) == 50 and not whole.coalesced


async def test_a_components_samples_reach_only_its_subscribers_and_not_the_twins() -> None:
    from timeseries.broker import component_key

    broker = InProcessBroker()
    own, engine = broker.subscribe(["mp"]), broker.subscribe([component_key("mp", "mlEngine")])
    prediction = Sample("mp", 2, {"monitoringPredictions": {"voltageAnomaly": 0.1}}, "mlEngine")
    broker.publish([s("mp", 1, frequency=50.0), prediction])
    assert [sample.component for sample in (await asyncio.wait_for(own.get(), 1)).items] == [None]
    assert (await asyncio.wait_for(engine.get(), 1)).items == (prediction,)
