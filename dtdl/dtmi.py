"""DTMI (Digital Twin Model Identifier) parsing.

DTDL identifiers follow https://github.com/Azure/digital-twin-model-identifier: a ``dtmi:``
scheme, ``:``-separated path segments, an optional ``;major[.minor]`` version and an optional
``#fragment``.  The parser needs the pieces separately (version rules differ per DTDL
version, reserved prefixes, length limits), so parsing is done once into a small value object.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_SEGMENT = r"(?:[A-Za-z](?:[A-Za-z0-9_]*[A-Za-z0-9])?|_+[A-Za-z0-9](?:[A-Za-z0-9_]*[A-Za-z0-9])?)"
_DTMI_RE = re.compile(
    r"^dtmi:(?P<path>" + _SEGMENT + r"(?::" + _SEGMENT + r")*)"
    r"(?:;(?P<major>[1-9][0-9]{0,8})(?:\.(?P<minor>[1-9][0-9]{0,5}))?)?"
    r"(?P<fragment>#(?:" + _SEGMENT + r")?)?$"
)

#: Path prefixes that only the DTDL language itself may use.
RESERVED_PREFIXES = ("dtmi:dtdl:", "dtmi:standard:")


@dataclass(frozen=True)
class Dtmi:
    """A parsed DTMI; ``text`` is the original string."""

    text: str
    labels: tuple[str, ...]
    major_version: int | None
    minor_version: int | None
    fragment: str

    @property
    def versionless(self) -> str:
        """The DTMI without its version, keeping any fragment (used to compare model lineages)."""
        return "dtmi:" + ":".join(self.labels) + self.fragment

    @property
    def complete_version(self) -> float:
        """Major plus minor/1e6, the reference parser's single-number version."""
        return float(self.major_version or 0) + (self.minor_version or 0) / 1_000_000

    @property
    def is_reserved(self) -> bool:
        """True when a label or the fragment starts with '_' (IDs the parser generates itself)."""
        return any(label.startswith("_") for label in self.labels) or self.fragment.startswith("#_")

    @property
    def has_version(self) -> bool:
        return self.major_version is not None

    def __str__(self) -> str:
        return self.text


def parse_dtmi(text: object) -> Dtmi | None:
    """Parse ``text`` as a DTMI; return None when it is not one (never raises)."""
    if not isinstance(text, str):
        return None
    match = _DTMI_RE.match(text)
    if match is None:
        return None
    major = match.group("major")
    minor = match.group("minor")
    return Dtmi(
        text=text,
        labels=tuple(match.group("path").split(":")),
        major_version=int(major) if major else None,
        minor_version=int(minor) if minor else (0 if major else None),
        fragment=match.group("fragment") or "",
    )


def is_dtmi(text: object) -> bool:
    """Cheap syntactic check."""
    return isinstance(text, str) and _DTMI_RE.match(text) is not None


def has_reserved_prefix(text: str) -> bool:
    """IDs under dtmi:dtdl: and dtmi:standard: belong to the language, not to users."""
    return text.startswith(RESERVED_PREFIXES)
