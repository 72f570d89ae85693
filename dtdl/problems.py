"""Problems reported by the parser: actionable, located, never exceptions."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

RULE_PREFIX = "dtmi:dtdl:parsingError:"


def escape_pointer_token(token: object) -> str:
    """RFC 6901 escaping of one JSON-pointer reference token."""
    return str(token).replace("~", "~0").replace("/", "~1")


def pointer_of(path: tuple[object, ...]) -> str:
    """Build a JSON pointer from a path of keys/indexes."""
    return "".join("/" + escape_pointer_token(token) for token in path)


@dataclass(frozen=True)
class Problem:
    """One reason a model set is invalid.

    ``rule`` is the ValidationID-style DTMI of the rule (as the reference parser names it),
    ``pointer`` a JSON pointer into document ``document`` of the input list.
    """

    rule: str
    message: str
    pointer: str = ""
    document: int | None = None
    element: str | None = None
    value: Any = None
    cause: str = ""
    action: str = ""
    property_name: str | None = None

    @property
    def rule_name(self) -> str:
        """Short rule name, e.g. ``typeNotRootable``."""
        return self.rule.rsplit(":", 1)[-1]

    def __str__(self) -> str:
        where = f"doc {self.document} {self.pointer or '/'}" if self.document is not None else self.pointer
        return f"[{self.rule_name}] {where}: {self.message}"


@dataclass
class ProblemSink:
    """Collects problems; de-duplicates identical reports."""

    items: list[Problem] = field(default_factory=list)
    _seen: set[tuple[str, str, int | None, str]] = field(default_factory=set)

    def add(
        self,
        rule: str,
        *,
        cause: str,
        action: str,
        path: tuple[object, ...] = (),
        document: int | None = None,
        element: str | None = None,
        value: Any = None,
        prop: str | None = None,
    ) -> None:
        full_rule = rule if rule.startswith("dtmi:") else RULE_PREFIX + rule
        pointer = pointer_of(path)
        key = (full_rule, pointer, document, str(prop))
        if key in self._seen:
            return
        self._seen.add(key)
        where = f" in {element}" if element else ""
        message = f"{cause}{where}. {action}".strip()
        self.items.append(
            Problem(
                rule=full_rule,
                message=message,
                pointer=pointer,
                document=document,
                element=element,
                value=value,
                cause=cause,
                action=action,
                property_name=prop,
            )
        )
