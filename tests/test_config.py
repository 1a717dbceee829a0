"""`corpus.config`: every environment variable documented once, read at call time, and the
README's configuration table is exactly `markdown_table()`."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from corpus import config
from corpus.errors import UsageError

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("corpus", "indexer", "assistant", "eval", "scripts")


def readme_table_names() -> list[str]:
    """The variable column of the README table that starts with `| variable |`."""
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| variable | default | what it does |"))
    names = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        names.append(line.split("|")[1].strip().strip("`"))
    return names


def test_readme_table_is_the_generated_one():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert config.markdown_table() in readme, "regenerate the table with `python -m corpus.config`"
    assert readme_table_names() == [s.name for s in config.SETTINGS]


def test_every_fagui_variable_named_in_the_code_is_documented():
    """A `FAGUI_…` name in any source file (messages, docstrings) must be a documented setting."""
    documented = {s.name for s in config.SETTINGS}
    named = set()
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            named |= set(re.findall(r"\bFAGUI_[A-Z_]+[A-Z]\b", path.read_text(encoding="utf-8")))
    assert named - documented == set()
    assert {n for n in documented if n.startswith("FAGUI_")} - named == set()  # no stale entries


def test_values_are_read_when_asked(monkeypatch, tmp_path):
    monkeypatch.setenv("FAGUI_HOME", str(tmp_path / "a"))
    assert config.fagui_home() == tmp_path / "a"
    monkeypatch.setenv("FAGUI_HOME", str(tmp_path / "b"))
    assert config.fagui_home() == tmp_path / "b"
    monkeypatch.delenv("FAGUI_HOME")
    assert config.fagui_home() == Path.home() / ".fagui"
    monkeypatch.delenv("FAGUI_ISSUE_MAP", raising=False)
    assert config.issue_map_enabled()
    monkeypatch.setenv("FAGUI_ISSUE_MAP", "0")
    assert not config.issue_map_enabled()
    monkeypatch.setenv("CI", "TRUE")
    assert config.progress_hidden_by_ci()


def test_bad_values_are_usage_errors_naming_the_variable(monkeypatch):
    monkeypatch.setenv("FAGUI_TOKENIZE_WORKERS", "two")
    with pytest.raises(UsageError, match="FAGUI_TOKENIZE_WORKERS"):
        config.tokenize_workers()
    monkeypatch.setenv("FAGUI_QUERY_BACKEND", "torch")
    with pytest.raises(UsageError, match="FAGUI_QUERY_BACKEND"):
        config.query_backend()
    with pytest.raises(KeyError, match="not a documented setting"):
        config._read("FAGUI_SOMETHING_NEW")


def test_llm_environment_takes_a_given_mapping_and_only_llm_names():
    given = {"FAGUI_LLM_BASE_URL": "http://127.0.0.1:8000/v1", "FAGUI_HOME": "/x", "FAGUI_LLM_TIMEOUT": "3"}
    assert config.llm_environment(given) == {"FAGUI_LLM_BASE_URL": "http://127.0.0.1:8000/v1", "FAGUI_LLM_TIMEOUT": "3"}


def test_model_runtime_is_offline_and_respects_an_explicit_wait_policy(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)  # restored after the test
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    config.prepare_model_runtime()
    assert config.child_environment()["HF_HUB_OFFLINE"] == "1"
    assert config.omp_wait_policy() == "ACTIVE"
