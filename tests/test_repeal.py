"""An instrument another one repealed, end to end through the CLI on real files: 促进个体工商户
发展条例 (2022) 第三十九条 says 《个体工商户条例》同时废止. The old regulation must not be
searched or shown as in force; asked for by name it is still found, marked 已废止 with the
article that repealed it (`corpus.versions.apply_repeals`)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.cli import main
from corpus.catalog import add_files

REPO = Path(__file__).resolve().parents[1]
OLD = REPO / "data/lawrefbook/行政法规/个体工商户条例(2016-02-06).md"
NEW = REPO / "data/lawrefbook/行政法规/促进个体工商户发展条例(2022-10-01).md"
REPEALED_BY = "《促进个体工商户发展条例》第三十九条"


@pytest.fixture
def collection(tmp_path, monkeypatch):
    monkeypatch.setenv("FAGUI_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CI", "true")
    add_files("gth", [OLD, NEW])
    assert main(["index", "--collection", "gth", "--bm25-only", "--quiet"]) == 0
    return "gth"


def ask_json(question: str, collection: str, capsys) -> dict:
    assert main(["ask", question, "--collection", collection, "--mode", "bm25", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_repealed_regulation_is_listed_as_repealed(collection, capsys):
    assert main(["collection", collection, "--verbose"]) == 0
    out = capsys.readouterr().out
    assert "2 documents (current 1, superseded 1; 1 of them repealed by a later instrument)" in out, out
    assert f"《个体工商户条例》 [superseded: repealed by {REPEALED_BY}]" in out, out
    assert "《促进个体工商户发展条例》: " in out, out


def test_a_search_never_returns_the_repealed_text(collection, capsys):
    answer = ask_json("个体工商户可以个人经营，也可以家庭经营吗", collection, capsys)
    laws = {hit["law"] for hit in answer["hits"] if hit["origin"] == "search"}
    assert laws == {"促进个体工商户发展条例"}, laws


def test_asked_by_name_it_is_found_and_marked_repealed(collection, capsys):
    answer = ask_json("个体工商户条例第二条", collection, capsys)
    hit = answer["hits"][0]
    assert (hit["law"], hit["article"], hit["status"], hit["repealed_by"]) == (
        "个体工商户条例", "第二条", "superseded", REPEALED_BY)
    assert main(["ask", "个体工商户条例第二条", "--collection", collection, "--mode", "bm25"]) == 0
    assert f"[已废止 2016-02-06: repealed by {REPEALED_BY}]" in capsys.readouterr().out
