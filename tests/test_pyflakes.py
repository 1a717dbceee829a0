"""pyflakes over every package, the scripts and the tests: no undefined names, unused
imports or variables, or imports shadowed by a later definition (issue 15: `np` was once
undefined in indexer/store.py and nothing noticed)."""
from __future__ import annotations

from pathlib import Path

from pyflakes.api import checkPath
from pyflakes.reporter import Reporter

REPO = Path(__file__).resolve().parents[1]
CHECKED = ("corpus", "indexer", "assistant", "eval", "tests", "scripts")


class Collected(Reporter):
    """A pyflakes reporter that keeps the messages instead of printing them."""

    def __init__(self):
        self.messages: list[str] = []

    def unexpectedError(self, filename, message):
        self.messages.append(f"{filename}: {message}")

    def syntaxError(self, filename, message, lineno, offset, text):
        self.messages.append(f"{filename}:{lineno}: {message}")

    def flake(self, message):
        self.messages.append(str(message))


def flakes(paths) -> list[str]:
    reporter = Collected()
    for path in paths:
        checkPath(str(path), reporter)
    return reporter.messages


def test_pyflakes_reports_an_unused_import_and_an_undefined_name(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import os\n\ndef f():\n    return np.zeros(3)\n", encoding="utf-8")
    found = flakes([bad])
    assert len(found) == 2 and "'os' imported but unused" in found[0] and "undefined name 'np'" in found[1]


def test_the_code_is_pyflakes_clean():
    files = [p for name in CHECKED for p in sorted((REPO / name).rglob("*.py"))]
    assert len(files) > 100
    assert flakes(files) == []
