"""Live fan-out of accepted telemetry to subscribers (GraphQL subscriptions).

The fan-out itself is :class:`gridtwin.fanout.FanOut`, shared with twin events; this module says
what is telemetry-specific: samples are published under their twin id, and a slow subscriber that
coalesces keeps the latest value per (twin, telemetry name).  :class:`Broker` is the Protocol the
ingest publishes to, so a multi-replica deployment can put an existing engine behind it.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Protocol

from gridtwin.fanout import Delivery, FanOut, FanOutSubscription, SubscriptionClosed
from timeseries.validation import Sample

__all__ = ["Broker", "InProcessBroker", "SampleSubscription", "SubscriptionClosed", "Update", "component_key"]

#: What a telemetry subscriber receives: samples of its twins, in publish order unless coalesced.
Update = Delivery[Sample]
SampleSubscription = FanOutSubscription[Sample]


class Broker(Protocol):
    def publish(self, samples: Sequence[Sample]) -> None:
        """Fan accepted samples out; must never block the caller."""
        ...


#: Between a twin id and a component name in a fan-out key: a control character, which no twin id holds.
COMPONENT_SEPARATOR = "\x1f"


def component_key(twin_id: str, component: str) -> str:
    """The key a component's samples are published under (a ``predictions`` subscriber listens to it)."""
    return f"{twin_id}{COMPONENT_SEPARATOR}{component}"


def _key_of(sample: Sample) -> str:
    """A twin's own samples under its id, its components' under :func:`component_key`: a ``telemetry``
    subscriber of the twin never receives its ML engine's predictions, and needs no filter to skip them."""
    return sample.twin if sample.component is None else component_key(sample.twin, sample.component)


def _values_of(sample: Sample) -> Iterable[tuple[Hashable, Sample]]:
    """One part per telemetry value: a coalesced delivery holds the latest of each (twin, name)."""
    for name, value in sample.values.items():
        yield (sample.twin, sample.component, name), Sample(sample.twin, sample.time_ns, {name: value}, sample.component)


class InProcessBroker(FanOut[Sample]):
    """Telemetry fan-out inside one API process, keyed by twin id (components: :func:`component_key`)."""

    def __init__(self) -> None:
        super().__init__(_key_of, _values_of)
