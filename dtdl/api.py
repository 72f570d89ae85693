"""Public entry point: ``validate(documents) -> ValidationResult``."""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from .model import ModelSet
from .model_building import ModelBuilder
from .parser import Options, Parser
from .problems import Problem, ProblemSink
from .resolve import MISSING_DEPENDENCY, Resolver


@dataclass(frozen=True)
class ValidationResult:
    """Outcome of a parse: ``ok`` iff there are no problems; ``models`` is always usable."""

    problems: tuple[Problem, ...]
    models: ModelSet = field(default_factory=ModelSet)

    @property
    def ok(self) -> bool:
        return not self.problems

    def __bool__(self) -> bool:
        return self.ok

    @property
    def missing_dependencies(self) -> tuple[str, ...]:
        """DTMIs referenced but not defined in the set (resolution errors; supply these models)."""
        return tuple(dict.fromkeys(str(problem.value) for problem in self.problems if problem.rule == MISSING_DEPENDENCY))

    @property
    def parsing_problems(self) -> tuple[Problem, ...]:
        """Problems in the documents themselves, i.e. all except missing dependencies."""
        return tuple(problem for problem in self.problems if not problem.rule.startswith("dtmi:dtdl:resolutionError:"))


ResolverFn = Callable[[list[str]], Iterable[Any]]


def validate(documents: Iterable[Any] | Any, *, allow_undefined_extensions: bool = False,
             resolve_relationship_targets: bool = False, resolver: ResolverFn | None = None,
             options: Iterable[str] = (), quirks: Iterable[str] = ()) -> ValidationResult:
    """Parse and validate a set of DTDL documents (already-loaded JSON values).

    ``documents`` is a list whose entries are each a model (JSON object) or a list of models.
    ``allow_undefined_extensions`` accepts @context entries naming unknown extensions (and then
    tolerates the terms they might define), as the reference parser's option does.
    ``resolve_relationship_targets`` additionally requires every Relationship target to be an
    Interface of the set (the language itself does not require this).
    ``resolver`` is called with the DTMIs that are referenced but not defined (e.g. a base
    Interface in another repository) and returns more documents; it is called until nothing is
    missing or it returns nothing.  Whatever stays undefined is a ``missingDependency`` problem.
    ``options`` accepts the reference parser's option names ("AllowUndefinedExtensions");
    ``quirks`` its legacy DTDL v2 leniencies ("TolerateSolecismsInParse" for the documents given,
    "TolerateSolecismsInResolve" for documents returned by ``resolver``).
    The function never raises for any input: internal failures become a problem.
    """
    option_set = set(options)
    quirk_set = set(quirks)
    allow = allow_undefined_extensions or "AllowUndefinedExtensions" in option_set
    sink = ProblemSink()
    parser = Parser(Options(allow_undefined_extensions=allow,
                            resolve_relationship_targets=resolve_relationship_targets,
                            tolerate_in_parse="TolerateSolecismsInParse" in quirk_set,
                            tolerate_in_resolve="TolerateSolecismsInResolve" in quirk_set), sink)
    models = ModelSet()
    old_limit = sys.getrecursionlimit()
    try:
        sys.setrecursionlimit(max(old_limit, 20000))
        docs = list(documents) if isinstance(documents, (list, tuple)) else [documents]
        parser.parse_documents(docs)
        _parse_resolved(parser, resolver, len(docs))
        Resolver(parser.state).run_checks()
        models = ModelBuilder(parser.state).build()
    except RecursionError:
        sink.add("excessiveDepthNarrow", cause="the input is nested too deeply to parse",
                 action="Reduce the nesting of the documents")
    except Exception as exc:  # defensive: a parse must never end in a stack trace
        sink.add("dtmi:dtdl:parsingError:internalError", cause=f"internal parser error {type(exc).__name__}: {exc}",
                 action="Report this model to the GridTwin team; meanwhile check the element near the error")
    finally:
        sys.setrecursionlimit(old_limit)
    return ValidationResult(problems=tuple(sink.items), models=models)


def _parse_resolved(parser: Parser, resolver: ResolverFn | None, next_index: int) -> None:
    """Ask ``resolver`` for the DTMIs still missing (each once) and parse what it returns."""
    asked: set[str] = set()
    while resolver is not None:
        missing = [dtmi for dtmi in parser.missing_references() if dtmi not in asked]
        if not missing:
            break
        asked.update(missing)
        extra = list(resolver(missing) or [])
        if not extra:
            break
        parser.parse_documents(extra, next_index, resolved=True)
        next_index += len(extra)
