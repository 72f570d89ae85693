"""The examples of README.md and docs/*.md, read from the files, for the tests that check and run them.

A fenced block is one example; a GraphQL block may hold several operations (one per line or
comment-separated), each checked and run on its own with the block's fragments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from graphql import FragmentDefinitionNode, OperationDefinitionNode, OperationType, parse

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))
_FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.DOTALL | re.MULTILINE)


@dataclass(frozen=True)
class Example:
    """One fenced block: its language, text, and where it is (``docs/api.md:237``)."""

    language: str
    text: str
    where: str


@dataclass(frozen=True)
class Operation:
    """One GraphQL operation of an example, with the example's fragments appended."""

    kind: str  # query, mutation or subscription
    text: str
    variables: tuple[str, ...]
    where: str

    @property
    def first_field(self) -> str:
        return re.search(r"\{\s*(?:\w+\s*:\s*)?(\w+)", self.text).group(1)  # type: ignore[union-attr]


def examples(language: str) -> list[Example]:
    found = []
    for path in DOCUMENTS:
        text = path.read_text(encoding="utf-8")
        for match in _FENCE.finditer(text):
            if match.group(1) == language:
                line = text.count("\n", 0, match.start()) + 2
                found.append(Example(language, match.group(2), f"{path.relative_to(ROOT)}:{line}"))
    return found


def operations(example: Example) -> list[Operation]:
    """Each operation of a GraphQL example as its own document (its source text, verbatim)."""
    document = parse(example.text)
    fragments = "".join(f"\n{_source(example.text, d)}" for d in document.definitions
                        if isinstance(d, FragmentDefinitionNode))
    found = []
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            line = example.text.count("\n", 0, definition.loc.start)  # type: ignore[union-attr]
            path, start = example.where.rsplit(":", 1)
            found.append(Operation(
                kind=OperationType(definition.operation).value, text=_source(example.text, definition) + fragments,
                variables=tuple(v.variable.name.value for v in definition.variable_definitions or ()),
                where=f"{path}:{int(start) + line}"))
    return found


def _source(text: str, node: OperationDefinitionNode | FragmentDefinitionNode) -> str:
    return text[node.loc.start:node.loc.end]  # type: ignore[union-attr]


def graphql_operations() -> list[Operation]:
    return [operation for example in examples("graphql") for operation in operations(example)]


#: Where each shell example of the docs runs, by how its first line starts (the rest must be run or said).
SH_RUN_BY = {
    "curl ": "tests/integration/test_doc_examples_on_the_demo.py, against `gridtwin demo`",
    ".venv/bin/python -c": "tests/unit/test_doc_sdl_command.py",
}
SH_NOT_RUN = {
    "make demo": "the README's two commands: `make test` is what runs this suite, `make demo` is run by "
                 "test_doc_examples_on_the_demo.py as `gridtwin demo` (what its recipe calls after the set-up)",
    ".venv/bin/gridtwin services up": "`make test` runs `services up` before the suite and `services down` after "
                                      "it; run inside the suite, `down` would stop the servers under it",
    ".venv/bin/gridtwin ml list": "`ml train` on the full plan takes 11.5 min and replaces the profile's models; "
                                  "the small plan's training runs in tests/integration/test_ml_*.py",
}


def where_sh_runs(example: Example) -> str | None:
    """Which test runs a shell example (None: one of SH_NOT_RUN, or nowhere, which a test refuses)."""
    return next((test for start, test in SH_RUN_BY.items() if example.text.startswith(start)), None)
