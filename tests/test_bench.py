"""`fagui bench` on a tiny real index: the JSON has every measurement and the Markdown
table is generated from it. No timing assertions — only structure and consistency."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.cli import main
from eval.bench import STAGES, median_of_passes, render_markdown, summarize

REPO = Path(__file__).resolve().parents[1]
LAWS = ["行政法/数据安全法(2021-06-10).md", "宪法相关法/国家赔偿法(2012-10-26).md"]


@pytest.fixture(scope="module")
def home(indexed_home):
    return indexed_home("tiny", LAWS)


@pytest.fixture(scope="module")
def questions(tmp_path_factory):
    path = tmp_path_factory.mktemp("q") / "questions.jsonl"
    rows = [
        {"id": f"q{i}", "question": q, "gold": [{"law": "中华人民共和国数据安全法", "article": "第四十五条"}]}
        for i, q in enumerate(["数据处理者不履行数据安全保护义务怎么处罚？", "国家机关违法造成损害要赔偿吗？",
                               "数安法第45条", "重要数据目录由谁制定？", "行政赔偿的请求时效是多久？", "第六个问题不应被读到"])
    ]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def bench(home, questions, tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    assert main(["bench", "--collection", "tiny", "--queries", str(questions), "--out", str(out),
                 "--n", "5", "--repeat", "1", "--quiet"]) == 0
    return out


def test_bench_json_has_every_measurement(bench, home):
    result = json.loads((bench / "bench.json").read_text(encoding="utf-8"))
    assert result["questions"]["n"] == 5  # first N, not the whole file
    assert result["parameters"] == {"collections": ["tiny"], "n": 5, "repeat": 1, "cold": True,
                                    "serve_seconds": 0.0, "faiss_scale": 0}
    coll = result["collections"]["tiny"]
    warm = coll["warm"]
    assert warm["mode"] == "hybrid" and warm["repeat"] == 1 and warm["questions"] == 5
    for stage in (*STAGES, "end_to_end"):
        stats = warm["stages_ms"][stage]
        assert set(stats) >= {"p50", "p95", "p99", "mean", "n"}, stage
        assert 0 <= stats["p50"] <= stats["p95"] <= stats["p99"], stage
    # bm25/dense/fusion do not run for the pure lookup question (数安法第45条).
    assert warm["stages_ms"]["total"]["n"] == 5 and warm["stages_ms"]["dense"]["n"] == 4
    cold = coll["cold_start_subprocess"]
    assert cold["returncode"] == 0 and cold["hits"] > 0
    assert cold["wall_s"] > 0 and cold["peak_rss_mb"] > 0
    assert "--index-dir" not in cold["command"]  # the user's command, default index location
    assert set(coll["cold_start_in_process"]) == {"open_s", "first_ask_s"}
    size = coll["index_size"]
    on_disk = sum(p.stat().st_size for p in (home / "indexes" / "tiny").rglob("*") if p.is_file())
    assert size["total_bytes"] == on_disk == sum(e["bytes"] for e in size["entries"].values())
    assert {"manifest.json", "passages.jsonl", "faiss.index"} <= set(size["entries"])
    assert coll["index"]["collection"] == "tiny"
    assert "serve" not in coll and "faiss_scale" not in result  # both are opt-in


def test_bench_markdown_is_generated_from_the_json(bench):
    result = json.loads((bench / "bench.json").read_text(encoding="utf-8"))
    markdown = (bench / "bench.md").read_text(encoding="utf-8")
    assert markdown == render_markdown(result)
    assert result["created"] in markdown  # dated
    assert "| stage | p50 ms | p95 ms | p99 ms | mean ms |" in markdown
    total = result["collections"]["tiny"]["warm"]["stages_ms"]["total"]
    assert f"| total | {total['p50']:.1f} | {total['p95']:.1f} | {total['p99']:.1f} |" in markdown
    assert "## Collection `tiny`" in markdown and "### Cold start" in markdown and "`faiss.index`" in markdown


def test_summaries_and_median_of_passes():
    stats = summarize([float(v) for v in range(1, 101)])
    assert stats["p50"] == pytest.approx(50.5) and stats["p99"] == pytest.approx(99.01) and stats["n"] == 100
    assert summarize([]) == {}
    merged = median_of_passes([{"p50": 1.0, "n": 3}, {"p50": 9.0, "n": 3}, {"p50": 2.0, "n": 3}])
    assert merged == {"p50": 2.0, "n": 3}


def test_faiss_scale_small():
    from eval.bench import faiss_scale

    result = faiss_scale(2000, dim=64, queries=10)
    kinds = {row["kind"]: row for row in result["indexes"]}
    assert set(kinds) == {"flat", "hnsw", "ivf", "ivfpq"}
    assert kinds["flat"]["recall@10_vs_flat"] == 1.0
    assert kinds["ivfpq"]["index_bytes"] < kinds["flat"]["index_bytes"]  # PQ codes are smaller than raw vectors
    assert all(0.0 <= row["recall@10_vs_flat"] <= 1.0 for row in kinds.values())
    markdown = render_markdown({"created": "2026-01-01", "machine": {"machine": "x", "cpus": 1, "python": "3"},
                                "questions": {"path": "q.jsonl", "n": 0}, "collections": {}, "faiss_scale": result})
    assert "## FAISS at scale: 2,000 × 64-d vectors" in markdown and "| ivfpq |" in markdown
