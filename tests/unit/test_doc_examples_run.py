"""The Python examples of the docs run as written (no servers needed), and every shell example is run by a
test or says why not (tests/doc_examples.py)."""

from __future__ import annotations

import subprocess
import sys

from tests.doc_examples import ROOT, SH_NOT_RUN, examples, where_sh_runs


def test_every_python_example_runs_as_written() -> None:
    found = examples("python")
    assert found, "the docs lost their Python examples"
    for example in found:
        result = subprocess.run([sys.executable, "-c", example.text], cwd=ROOT, capture_output=True, text=True,
                                timeout=600)
        assert result.returncode == 0, f"{example.where}: {result.stderr[-3000:]}"
        assert result.stdout.strip(), f"{example.where} printed nothing"


def test_every_shell_example_is_run_or_says_why_not() -> None:
    unaccounted = [example.where for example in examples("sh")
                   if where_sh_runs(example) is None and not any(example.text.startswith(s) for s in SH_NOT_RUN)]
    assert unaccounted == []
    assert all(any(example.text.startswith(start) for example in examples("sh")) for start in SH_NOT_RUN)
