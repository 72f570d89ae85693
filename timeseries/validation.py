"""Checking telemetry messages against their twins' DTDL interfaces, and encoding them.

A message is ``{"twin": id, "time": epoch-or-RFC3339, "values": {telemetryName: value}}``, or with
``"component": name`` the telemetry of one of the twin's DTDL Components (the measurement point's
``mlEngine`` predictions), checked against the component's interface.
Validation and encoding are one pass (the compiled encoders check types while they
emit line protocol), and the function is pure: given the same messages and twin
infos it returns the same lines, samples and rejections, so it is unit-tested
without servers.  One bad message never fails its batch: it is rejected with its
index and a reason, and the others go on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from timeseries.directory import TwinInfo
from timeseries.lineprotocol import InvalidValue, Precision, encoder_for, timestamp_ns


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why the message at ``index`` of the batch was not accepted."""

    index: int
    twin: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class Sample:
    """An accepted message, as the broker fans it out: one twin, one instant, its values."""

    twin: str
    time_ns: int
    values: Mapping[str, Any]
    component: str | None = None


@dataclass(slots=True)
class ValidatedBatch:
    """The outcome of :func:`validate_batch`: ``lines[i]`` is the line of ``samples[i]``."""

    lines: list[str] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    indexes: list[int] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    #: Some accepted message is a component's telemetry (samples with ``component`` set).
    with_components: bool = False


def twin_ids_of(messages: Sequence[Any]) -> set[str]:
    """The twin ids named by a batch (what to ask the directory for)."""
    ids = set()
    for message in messages:
        if type(message) is dict:
            twin = message.get("twin")
            if type(twin) is str:
                ids.add(twin)
    return ids


def validate_batch(messages: Sequence[Any], twins: Mapping[str, TwinInfo],
                   precision: Precision | None = None) -> ValidatedBatch:
    """Validate and encode ``messages`` against ``twins``; rejects carry index and reason.

    ``precision`` is the unit of integer timestamps (detected per message when None).
    """
    result = ValidatedBatch()
    lines, samples, indexes, rejections = result.lines, result.samples, result.indexes, result.rejections
    for index, message in enumerate(messages):
        if type(message) is not dict:
            rejections.append(Rejection(index, None, "message must be an object"))
            continue
        twin = message.get("twin")
        info = twins.get(twin) if type(twin) is str else None
        if info is None:
            reason = "missing twin id" if twin is None else (
                "twin id must be a string" if type(twin) is not str else f"unknown twin {twin!r}")
            rejections.append(Rejection(index, twin if type(twin) is str else None, reason))
            continue
        component = message.get("component")
        if component is not None:
            info = info.component(component) if type(component) is str else None
            if info is None:
                rejections.append(Rejection(index, twin, f"twin {twin!r} has no component {component!r}"))
                continue
            result.with_components = True
        try:
            time_ns = timestamp_ns(message.get("time"), precision) if "time" in message else _missing_time()
            values = message.get("values")
            fields = encoder_for(info.interface).encode_values(values)
            prefix = info.line_prefix
        except (InvalidValue, ValueError) as error:
            rejections.append(Rejection(index, twin, str(error)))
            continue
        lines.append(f"{prefix}{fields} {time_ns}")
        samples.append(Sample(twin, time_ns, values, component))
        indexes.append(index)
    return result


def _missing_time() -> int:
    raise InvalidValue("missing timestamp")
