"""Runs the DTDLParser public conformance cases against ``dtdl`` and tallies the results.

The cases are read from the shared folder (never copied into the repo):
``$GRIDTWIN_DTDL_CONFORMANCE_DIR`` or ``<repo>/../shared/dtdl-conformance``.
"""
from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sys

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import dtdl  # noqa: E402
FOLDERS = ("doc-examples", "dtmis", "generated", "phrases", "solecisms", "specification")
GOALS = {2: 0.99, 3: 0.99, 4: 0.95}


def conformance_dir() -> Path:
    env = os.environ.get("GRIDTWIN_DTDL_CONFORMANCE_DIR")
    return Path(env) if env else (REPO_ROOT / ".." / "shared" / "dtdl-conformance").resolve()


@dataclass
class Tally:
    total: int = 0
    agree: int = 0
    id_total: int = 0
    id_match: int = 0


@dataclass
class Outcome:
    folder: str
    file: str
    index: int
    version: int
    expected_valid: bool
    got_valid: bool
    expected_ids: tuple[str, ...]
    got_ids: tuple[str, ...]
    input: Any = None

    @property
    def agrees(self) -> bool:
        return self.expected_valid == self.got_valid


@dataclass
class Report:
    tallies: dict[tuple[str, int], Tally] = field(default_factory=lambda: defaultdict(Tally))
    outcomes: list[Outcome] = field(default_factory=list)

    def by_version(self) -> dict[int, Tally]:
        out: dict[int, Tally] = defaultdict(Tally)
        for (folder, v), t in self.tallies.items():
            if folder == "dtmis":
                continue
            o = out[v]
            o.total += t.total
            o.agree += t.agree
            o.id_total += t.id_total
            o.id_match += t.id_match
        return out

    def table(self) -> str:
        lines = ["DTDL conformance (valid/invalid agreement; ValidationID match on invalid cases with expected IDs)",
                 f"{'folder':<15}{'ver':>4}{'cases':>8}{'agree':>8}{'rate':>9}{'withID':>8}{'IDmatch':>9}{'rate':>9}"]
        for (folder, v) in sorted(self.tallies):
            t = self.tallies[(folder, v)]
            lines.append(_row(folder, v, t))
        for v, t in sorted(self.by_version().items()):
            lines.append(_row("ALL(no dtmis)", v, t))
        return "\n".join(lines)


def _row(folder: str, v: int, t: Tally) -> str:
    rate = t.agree / t.total if t.total else 1.0
    idr = t.id_match / t.id_total if t.id_total else 1.0
    vs = f"v{v}" if v else "-"
    return f"{folder:<15}{vs:>4}{t.total:>8}{t.agree:>8}{rate:>9.2%}{t.id_total:>8}{t.id_match:>9}{idr:>9.2%}"


def _version_of(name: str) -> int:
    m = re.search(r"V(\d)\.json$", name)
    return int(m.group(1)) if m else 0


def run_dtmi_case(case: dict) -> bool:
    """A dtmis/ case agrees when validity and every expected field match."""
    d = dtdl.parse_dtmi(case.get("idText"))
    if not case.get("valid"):
        return d is None
    if d is None:
        return False
    exp = case.get("expect") or {}
    checks = {
        "MajorVersion": d.major_version or 0, "MinorVersion": d.minor_version or 0,
        "Versionless": d.versionless, "Labels": list(d.labels), "IsReserved": d.is_reserved,
        "Fragment": d.fragment,
    }
    for key, got in checks.items():
        if key in exp and exp[key] != got:
            return False
    if "CompleteVersion" in exp and abs(exp["CompleteVersion"] - d.complete_version) > 1e-9:
        return False
    return True


def _resolver(case: dict):
    """The case's 'resolution' list as a resolver: request DTMIs -> response documents."""
    table = case.get("resolution") or []
    if not table:
        return None

    def resolve(missing: list[str]) -> list:
        out: list = []
        for entry in table:
            if set(entry.get("request") or []) & set(missing):
                out.extend(entry.get("response") or [])
        return out

    return resolve


def run_all(base: Path | None = None, keep_inputs: bool = False) -> Report:
    base = base or conformance_dir()
    report = Report()
    for folder in FOLDERS:
        for path in sorted((base / "cases" / folder).glob("*.json")):
            data = json.loads(path.read_text(encoding="utf-8-sig"))
            cases = data if isinstance(data, list) else [data]
            version = _version_of(path.name)
            for i, case in enumerate(cases):
                if folder == "phrases":
                    continue  # message-phrasing cases of the C# parser; not applicable
                tally = report.tallies[(folder, version)]
                if folder == "dtmis":
                    tally.total += 1
                    tally.agree += run_dtmi_case(case)
                    continue
                if "input" not in case:
                    continue
                result = dtdl.validate(case["input"], options=case.get("options") or [],
                                       quirks=case.get("quirks") or [], resolver=_resolver(case))
                expected_ids = tuple(e.get("ValidationID", "") for e in
                                     (case.get("expect") or {}).get("parsingErrors", []) or [])
                got_ids = tuple(p.rule for p in result.problems)
                got_valid = result.ok
                out = Outcome(folder, path.name, i, version, bool(case["valid"]), got_valid, expected_ids,
                              got_ids, case if keep_inputs else None)
                report.outcomes.append(out)
                tally.total += 1
                tally.agree += out.agrees
                if not case["valid"] and expected_ids:
                    tally.id_total += 1
                    tally.id_match += (not got_valid) and set(expected_ids) <= set(got_ids)
    return report


if __name__ == "__main__":
    print(run_all().table())
