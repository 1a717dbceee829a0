"""`fagui` driven through its CLI on real files, the way issue 11 found the failures:
an absurd article number answered like any missing article (F4); long file names keep
their extension and stay distinct (F6); a .txt starting with `# title` is plain text (F7)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.cli import main
from corpus.catalog import add_files, load_collection, load_spec, user_files

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


def test_long_file_names_keep_their_extension_and_stay_distinct(home, tmp_path, capsys):
    prefix = "Provisions-on-sharing-and-protecting-government-data-" * 4  # 212 characters
    paths = []
    for tail, body in (("甲", "各单位应当登记共享目录。"), ("乙", "各单位应当每年开展安全评估。")):
        path = tmp_path / f"{prefix}{tail}.md"
        path.write_text(f"# 政务数据{tail}规定\n\n第一条 {body}\n\n第二条 违反第一条的，依法处理。\n", encoding="utf-8")
        paths.append(path)
    assert main(["ingest", *map(str, paths), "--collection", "long", "--quiet"]) == 0
    stored = user_files(load_spec("long"))
    assert len(stored) == 2 and all(p.suffix == ".md" and len(p.name.encode()) <= 180 for p in stored), stored
    result = load_collection("long")  # what the next index build reads
    assert not result.failed, result.failed
    assert sorted(d.title for d in result.documents) == ["政务数据乙规定", "政务数据甲规定"]


def test_a_txt_starting_with_a_hash_title_is_plain_text(tmp_path, capsys):
    path = tmp_path / "机房管理须知.txt"
    path.write_text("# 机房管理须知\n\n一、进入机房应当登记。\n\n二、离开机房应当关闭设备。\n", encoding="utf-8")
    assert main(["ingest", str(path), "--json", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "not a LawRefBook document" not in out
    (report,) = json.loads(out)
    assert report["ok"] and report["title"] == "机房管理须知" and report["units"] == 2, report
