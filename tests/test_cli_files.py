"""`fagui` driven through its CLI on real files, the way issue 11 found the failures:
an absurd article number answered like any missing article (F4)."""
from __future__ import annotations

from pathlib import Path

import pytest

from assistant.cli import main
from corpus.catalog import add_files

REPO = Path(__file__).resolve().parents[1]
LAW = REPO / "data/lawrefbook/行政法/数据安全法(2021-06-10).md"


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("FAGUI_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CI", "true")
    return tmp_path / "home"


@pytest.fixture
def bm25_collection(home):
    """A real law in a collection with a BM25-only index (no model needed)."""
    add_files("mini", [LAW])
    assert main(["index", "--collection", "mini", "--bm25-only", "--quiet"]) == 0
    return "mini"


@pytest.mark.parametrize("question", ["数据安全法第九九九九九九九九九九九九九九九九九九条", "数据安全法第一百万条"])
def test_ask_beyond_any_article_number_says_how_many_articles(bm25_collection, question, capsys):
    assert main(["ask", question, "--collection", bm25_collection, "--mode", "bm25"]) == 0
    out = capsys.readouterr().out
    assert "没有第" in out and "该法共55条（第一条至第五十五条）" in out, out
