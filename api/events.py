"""Twin lifecycle and relationship events, fanned out in-process to ``twinChanged`` subscribers.

Mutations publish after their write committed, through the same fan-out as telemetry
(:class:`gridtwin.fanout.FanOut`), keyed by twin id.  A ``twinChanged`` subscriber listens to every
key and is closed with a reason when it falls :data:`MAX_QUEUE` events behind: it must see every
event or know it did not.  Events of the other API replicas arrive here too when a broker joins
them (:mod:`api.replicas`); writes made outside every API process (bulk loaders) do not appear.
Code that only needs to *notice* events uses ``watching``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from gridtwin.fanout import FanOut, FanOutSubscription

MAX_QUEUE = 1_000


@dataclass(frozen=True)
class TwinEvent:
    kind: str  # twinCreated, twinUpdated, twinDeleted, relationshipCreated, relationshipDeleted
    twin_id: str
    model: str | None
    relationship: str | None = None
    other_twin_id: str | None = None
    time: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


def _twin_of(event: TwinEvent) -> str:
    return event.twin_id


class TwinEvents(FanOut[TwinEvent]):
    """The API process's twin events: publish one event per committed change."""

    def __init__(self) -> None:
        super().__init__(_twin_of)

    def subscribe_all(self) -> FanOutSubscription[TwinEvent]:
        """A subscription to every event, closed when it falls MAX_QUEUE events behind."""
        return self.subscribe(None, max_queue=MAX_QUEUE, max_backlog=MAX_QUEUE, policy="disconnect")
