"""`fagui bench` on a tiny real index: the JSON has every measurement and the Markdown
table is generated from it. No timing assertions — only structure and consistency."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from assistant.cli import main
from eval.bench import (
    BUILD_STAGES,
    STAGES,
    BuildSpec,
    goal_rows,
    median_of_passes,
    parse_clients,
    render_markdown,
    sample_documents,
    summarize,
)

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
                               "数安法第45条", "重要数据目录由谁制定？违反了承担什么法律责任？", "行政赔偿的请求时效是多久？", "第六个问题不应被读到"])
    ]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def bench(home, questions, tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    assert main(["bench", "--collection", "tiny", "--queries", str(questions), "--out", str(out),
                 "--n", "5", "--repeat", "1", "--cold-runs", "2", "--build", "fp32", "--build", "auto:40", "--quiet"]) == 0
    return out


def test_bench_json_has_every_measurement(bench, home):
    result = json.loads((bench / "bench.json").read_text(encoding="utf-8"))
    assert result["questions"]["n"] == 5  # first N, not the whole file
    assert result["parameters"] == {"collections": ["tiny"], "n": 5, "repeat": 1, "cold": True, "cold_runs": 2,
                                    "serve_seconds": 0.0, "clients": [1, 4, 16], "builds": ["fp32", "auto:40"],
                                    "faiss_scale": 0, "rerank": None}
    coll = result["collections"]["tiny"]
    warm = coll["warm"]
    assert warm["mode"] == "hybrid" and warm["repeat"] == 1 and warm["questions"] == 5
    for stage in (*STAGES, "retrieval", "end_to_end"):
        stats = warm["stages_ms"][stage]
        assert set(stats) >= {"p50", "p95", "p99", "mean", "n"}, stage
        assert 0 <= stats["p50"] <= stats["p95"] <= stats["p99"], stage
    # retrieval stages do not run for the pure lookup question (数安法第45条).
    stages = warm["stages_ms"]
    assert stages["total"]["n"] == 5
    assert all(stages[s]["n"] == 4 for s in ("segment", "bm25", "embed", "faiss", "fusion", "retrieval"))
    cold = coll["cold_start_subprocess"]
    assert cold["returncode"] == 0 and cold["hits"] > 0
    assert cold["wall_s"] > 0 and cold["peak_rss_mb"] > 0
    assert len(cold["runs_s"]) == 2 and cold["wall_s"] == min(cold["runs_s"])  # median of 2: the lower one
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
    host = result["machine"]
    assert len(host["load_average_start"]) == len(host["load_average_end"]) == 3  # the load explains wall times
    assert f"(load average 1/5/15 min: {host['load_average_start'][0]:.1f}/" in markdown


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


def test_build_benchmark_times_every_stage_without_touching_the_index(bench, home):
    result = json.loads((bench / "bench.json").read_text(encoding="utf-8"))
    build = result["collections"]["tiny"]["build"]
    parsed = build["parsed"]
    assert parsed["files"] == len(LAWS) and parsed["documents"] == 2 and parsed["bytes"] > 0
    full, sample = build["builds"]
    assert full["precision"] == "fp32" and not full["sampled"] and full["units"] == full["embedded"] > 40
    # auto:40 builds only the first document of a fixed order: fewer units, at least 40.
    assert sample["requested"] == "auto" and sample["sampled"] and 40 <= sample["units"] < full["units"]
    assert sample["documents"] == 1 and sample["embedded"] == sample["passages"]
    for row in (full, sample):
        assert list(row["stages"]) == list(BUILD_STAGES)
        for stage, st in row["stages"].items():
            assert st["seconds"] >= 0, stage
            expected_units = parsed["units"] if stage in ("read", "clean") else row["units"]
            assert st["units"] == expected_units, stage
        assert row["stages"]["embedding"]["seconds"] > 0
    # The user's index is untouched (builds go to a temporary directory).
    manifest = json.loads((home / "indexes" / "tiny" / "manifest.json").read_text(encoding="utf-8"))
    assert result["collections"]["tiny"]["index"]["index_created"] == manifest["created"]
    markdown = (bench / "bench.md").read_text(encoding="utf-8")
    assert "### Index build from scratch, per stage (2 files, 2 documents" in markdown
    assert "| embedding |" in markdown and "fp32 s | units/s |" in markdown and "(sample) s" in markdown


def test_goals_are_checked_against_the_data(bench):
    result = json.loads((bench / "bench.json").read_text(encoding="utf-8"))
    rows = {row["goal"]: row for row in goal_rows(result)}
    warm = result["collections"]["tiny"]["warm"]["stages_ms"]
    assert rows["hybrid retrieval p95 (before reranking)"]["value"] == warm["retrieval"]["p95"]
    assert rows["full answer p95"]["met"] == (warm["end_to_end"]["p95"] <= 300)
    assert rows["peak RSS of a fresh `fagui ask`"]["limit"] == 1500
    assert "peak RSS of `fagui serve` after the load test" not in rows  # no serve run in this test
    assert "## Goals (issue 7)" in render_markdown(result)


def test_build_spec_and_clients_parsing():
    assert BuildSpec.parse("fp32") == BuildSpec("fp32", 0)
    assert BuildSpec.parse("bf16:8000") == BuildSpec("bf16", 8000)
    for bad in ("fp64", "fp32:many", "fp32:-1"):
        with pytest.raises(ValueError, match="--build"):
            BuildSpec.parse(bad)
    assert parse_clients("1,4,16") == (1, 4, 16)
    for bad in ("", "0,4", "one"):
        with pytest.raises(ValueError, match="--clients"):
            parse_clients(bad)


class _Doc:
    def __init__(self, doc_id: str, units: int):
        self.doc_id, self.units = doc_id, [None] * units


def test_sample_documents_is_deterministic_and_stops_at_the_cap():
    docs = [_Doc(f"d{i}", 10) for i in range(20)]
    assert sample_documents(docs, 0) == docs and sample_documents(docs, 500) == docs
    chosen = sample_documents(docs, 35)
    assert len(chosen) == 4  # 10 + 10 + 10 < 35 ≤ 40
    assert [d.doc_id for d in chosen] == [d.doc_id for d in sample_documents(list(reversed(docs)), 35)]


def test_readme_block_is_regenerated_from_a_saved_run(bench, tmp_path):
    from eval.bench_readme import END, ReadmeError, readme_source, render_readme_section

    readme = tmp_path / "README.md"
    readme.write_text("# title\n\nbefore\n\n<!-- bench:begin source=old.json whatever -->\nstale numbers\n"
                      f"{END}\n\nafter\n", encoding="utf-8")
    assert main(["bench", "--from", str(bench / "bench.json"), "--readme", str(readme)]) == 0
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("# title\n\nbefore\n\n") and text.endswith(f"{END}\n\nafter\n") and "stale" not in text
    source = readme_source(readme)
    assert (tmp_path / source).resolve() == (bench / "bench.json").resolve()
    result = json.loads((bench / "bench.json").read_text(encoding="utf-8"))
    assert render_readme_section(result, source).rstrip("\n") in text
    assert "| `tiny` | hybrid retrieval p95 (before reranking) |" in text and "#### Scale plan" in text
    assert "| embedding |" in text  # the build table
    plain = tmp_path / "PLAIN.md"
    plain.write_text("# no markers\n", encoding="utf-8")
    with pytest.raises(ReadmeError, match="PLAIN.md: no generated block"):
        from eval.bench_readme import update_readme

        update_readme(plain, "x")
    assert main(["bench", "--from", str(bench / "bench.json")]) == 2  # --from needs --readme


def test_committed_readme_block_matches_its_committed_run():
    """The README's performance numbers are generated, never typed: re-rendering the
    committed JSON the block names must give exactly the committed block."""
    from eval.bench_readme import BEGIN, END, readme_source, render_readme_section

    readme = REPO / "README.md"
    source = readme_source(readme)
    assert source and source.startswith("eval/"), "README has no generated block naming a run under eval/"
    result = json.loads((REPO / source).read_text(encoding="utf-8"))
    text = readme.read_text(encoding="utf-8")
    start = text.index(BEGIN.format(source=source))
    block = text[start : text.index(END, start) + len(END)]
    assert block + "\n" == render_readme_section(result, source)
    assert (REPO / source).with_name("bench.md").is_file()


def test_peak_rss_of_a_live_process():
    from eval.bench import peak_rss_mb

    assert peak_rss_mb(os.getpid()) > 10
    assert peak_rss_mb(2 ** 22 + 12345) is None  # no such process
