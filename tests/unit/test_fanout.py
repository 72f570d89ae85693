"""The one fan-out: every-key subscriptions, watchers, and twin events closing slow subscribers."""

from __future__ import annotations

import asyncio

import pytest

from api.events import MAX_QUEUE, TwinEvent, TwinEvents
from gridtwin.fanout import FanOut, SubscriptionClosed


async def test_every_key_and_keyed_subscriptions_share_one_publish() -> None:
    fan_out: FanOut[tuple[str, int]] = FanOut(lambda item: item[0])
    everything = fan_out.subscribe(None, policy="disconnect")
    only_a = fan_out.subscribe({"a"}, policy="disconnect")
    fan_out.publish([("a", 1), ("b", 2)])
    assert (await asyncio.wait_for(everything.get(), 1)).items == (("a", 1), ("b", 2))
    assert (await asyncio.wait_for(only_a.get(), 1)).items == (("a", 1),)
    with pytest.raises(ValueError, match="every key"):
        everything.set_keys({"a"})
    everything.close()
    only_a.close()
    assert fan_out.listener_count == 0 and fan_out.indexed_keys == 0


def test_a_fan_out_without_split_refuses_to_coalesce() -> None:
    with pytest.raises(ValueError, match="cannot coalesce"):
        FanOut(str).subscribe(None, policy="coalesce")


def test_watchers_see_every_item_only_while_inside() -> None:
    seen: list[str] = []
    fan_out: FanOut[str] = FanOut(str)
    with fan_out.watching(seen.append):
        assert fan_out.listener_count == 1
        fan_out.publish(["x", "y"])
    fan_out.publish_one("z")
    assert seen == ["x", "y"] and fan_out.listener_count == 0


async def test_twin_events_close_a_subscriber_that_falls_behind() -> None:
    events = TwinEvents()
    subscriber = events.subscribe_all()
    for number in range(MAX_QUEUE + 1):
        events.publish_one(TwinEvent("twinUpdated", f"t{number}", None))
    with pytest.raises(SubscriptionClosed, match="slow consumer"):
        await asyncio.wait_for(subscriber.get(), 1)
    assert events.listener_count == 0
