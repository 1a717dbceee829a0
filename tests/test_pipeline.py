"""The real ask pipeline on a small real collection, built with the real default model
(the shipped embedder).

One index is built per module (a user collection of five real laws) and every test
asks through the same `Pipeline`/CLI code users run.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.pipeline import Filters, Pipeline, default_index_dir
from indexer.hits import fuse
from indexer.records import Hit

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
LAWS = [
    "行政法/数据安全法(2021-06-10).md",
    "行政法/个人信息保护法(2021-08-20).md",
    "宪法相关法/国家赔偿法(2012-10-26).md",
    "诉讼与非诉讼程序法/行政复议法(2017-09-01).md",
    "诉讼与非诉讼程序法/行政复议法(2023-09-01).md",
]


@pytest.fixture(scope="module")
def home(indexed_home):
    # Five real laws copied as a user would upload them (no LawRefBook folders around them).
    return indexed_home("mini", LAWS)


@pytest.fixture(scope="module")
def pipeline(home):
    return Pipeline.open("mini")


def refs(answer, origin=None):
    return [f"{h.law}{h.article}" for h in answer.hits if origin is None or h.origin == origin]


def test_fuse_is_weighted_rrf_with_deterministic_ties():
    a = [Hit("p1", "u1", "d", 9.0, 1, "bm25"), Hit("p2", "u2", "d", 8.0, 2, "bm25")]
    b = [Hit("p2", "u2", "d", 0.9, 1, "dense"), Hit("p1", "u1", "d", 0.8, 2, "dense")]
    fused = fuse({"bm25": a, "dense": b}, k=10, c=60)
    assert [u for u, _ in fused] == ["u1", "u2"]  # equal scores: tie broken by id
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 62)
    weighted = fuse({"bm25": a, "dense": b}, k=10, c=60, weights={"dense": 2.0})
    assert [u for u, _ in weighted] == ["u2", "u1"]


def test_pure_lookup_answers_by_lookup_only(pipeline):
    answer = pipeline.ask("数安法第45条")
    assert refs(answer)[0] == "中华人民共和国数据安全法第四十五条"
    assert answer.hits[0].origin == "lookup"
    assert not [h for h in answer.hits if h.origin == "search"]  # never by similarity
    assert answer.hits[0].text.startswith("开展数据处理活动的组织、个人不履行本法第二十七条")


def test_lookup_of_missing_article_says_so(pipeline):
    answer = pipeline.ask("数据安全法第九十九条")
    assert answer.hits == []
    assert any("55" in m or "五十五" in m for m in answer.lookup["messages"]), answer.lookup["messages"]


def test_hybrid_search_finds_the_entrustment_article_and_its_sanction(pipeline):
    answer = pipeline.ask("国家机关委托企业维护电子政务系统，企业泄露了政务数据，谁负责？")
    search = refs(answer, "search")
    assert "中华人民共和国数据安全法第四十条" in search[:5]
    # The duty article brings the article that sanctions it (第四十九条: 国家机关 … 处分).
    assert "中华人民共和国数据安全法第四十九条" in refs(answer)
    bases = {b for p in answer.analysis.parties for b in p.basis}
    assert bases, "the analysis names at least one liable party with a basis"
    assert not answer.analysis.removed_references
    for ref in bases:
        assert pipeline.resolve_ref(ref), ref


def test_current_version_ranks_and_superseded_is_history(pipeline):
    answer = pipeline.ask("申请行政复议的期限是多少日？", k=5)
    statuses = [(h.status, h.origin) for h in answer.hits]
    first_history = next((i for i, (_, o) in enumerate(statuses) if o == "history"), len(statuses))
    assert all(s == "current" for s, _ in statuses[:first_history])
    assert all(o == "history" and s == "superseded" for s, o in statuses[first_history:])
    assert any(o == "history" for _, o in statuses), "the 2017 text appears as history"
    assert any(h.law == "中华人民共和国行政复议法" and h.status == "current" for h in answer.hits[:first_history])


def test_ask_and_lookup_show_the_same_history(pipeline):
    """The ask answer and the lookup tab read one version index, so the history of an
    article is the same list in both (行政复议法 2023 renumbered the 2017 text)."""
    from assistant.lookup import lookup

    question = "行政复议法第九条、第十一条和第九十条"
    answer = pipeline.ask(question, mode="bm25", expand=False)
    looked_up = lookup(question, pipeline.lookup)
    asked = [h.unit_id for h in answer.hits if h.origin == "history"]
    listed = [h.unit.unit_id for m in looked_up.matches for h in m.history if h.unit is not None]
    assert asked == listed and len(asked) == 2  # 第九十条 has no 2017 text
    answer = pipeline.ask("申请行政复议的期限是多少日？", k=10)
    current = [h for h in answer.hits if h.origin != "history" and h.law == "中华人民共和国行政复议法"]
    assert current
    for hit in current:
        doc, unit = pipeline.table.units[hit.unit_id]
        [match] = lookup(f"{hit.law}{hit.article}", pipeline.lookup).matches
        assert [(d.doc_id, u.unit_id) for d, u in pipeline.table.history(doc, unit)] == \
            [(h.doc_id, h.unit.unit_id) for h in match.history if h.unit is not None]


def test_filters_restrict_hits(pipeline):
    answer = pipeline.ask("国家赔偿 赔偿义务机关", filters={"title": "国家赔偿法"})
    searched = [h for h in answer.hits if h.origin == "search"]
    assert searched and all(h.law == "中华人民共和国国家赔偿法" for h in searched)
    assert Filters.from_dict({"doc_type": "法律"}).doc_type == ("法律",)


def test_modes_and_unknown_mode(pipeline):
    q = "个人信息处理者委托处理个人信息"
    for mode in ("bm25", "dense", "hybrid"):
        answer = pipeline.ask(q, mode=mode)
        assert "中华人民共和国个人信息保护法第二十一条" in refs(answer, "search")[:10], mode
    with pytest.raises(ValueError):
        pipeline.ask(q, mode="magic")


def test_resolve_and_fingerprint(pipeline):
    assert pipeline.resolve("中华人民共和国国家赔偿法", "第16条") is not None
    assert pipeline.resolve("中华人民共和国国家赔偿法", "第九百条") is None
    # titles with spaces or book-title marks (as in 最高人民法院 最高人民检察院…) still resolve
    assert pipeline.resolve("《中华人民共和国 国家赔偿法》", "第十六条") == pipeline.resolve("中华人民共和国国家赔偿法", "第16条")
    fp = pipeline.fingerprint()
    assert fp["model"] == "fagui-embed-m3e-small" and len(fp["model_sha256"]) >= 12 and fp["collection_sha256"]


def test_cli_ask_json_shape(home, capsys):
    capsys.readouterr()
    assert main(["ask", "受托方泄露政务数据", "--collection", "mini", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"question", "collection", "hits", "analysis", "timings_ms"}
    hit = out["hits"][0]
    assert set(hit) >= {"rank", "unit_id", "law", "article", "chapter", "text", "doc_type", "status", "source", "page", "scores"}
    assert set(hit["scores"]) == {"bm25", "dense", "fused"}
    assert set(out["analysis"]) >= {"scenario", "parties", "external", "internal", "individual", "fault_principle",
                                    "remedies", "citations", "no_basis"}


def test_cli_ask_without_index_is_a_clear_error(home, capsys):
    assert main(["ask", "x", "--collection", "nothing-here"]) == 2
    assert "fagui index --collection nothing-here" in capsys.readouterr().err


def test_adding_a_pdf_embeds_only_its_text(home, capsys):
    """Issue 3: add one PDF to a built collection; only its passages go through the model."""
    capsys.readouterr()
    pdf = SHARED / "pdfs/07_law_national_development_planning_law_2026_flk.pdf"
    assert main(["ingest", str(pdf), "--collection", "mini", "--quiet"]) == 0
    err = capsys.readouterr().err
    embedded = int(re.search(r"embedded (\d+) new passage", err).group(1))
    manifest = json.loads((default_index_dir("mini") / "manifest.json").read_text(encoding="utf-8"))
    passages = [json.loads(l) for l in (default_index_dir("mini") / "passages.jsonl").read_text(encoding="utf-8").splitlines()]
    new_doc = {p["doc_id"] for p in passages if p["title"] == "中华人民共和国国家发展规划法"}
    assert len(new_doc) == 1
    assert embedded == sum(1 for p in passages if p["doc_id"] in new_doc) > 30
    assert manifest["collection"]["searched_documents"] == 5  # 4 current laws + the PDF
    answer = Pipeline.open("mini").ask("国家发展规划法第一条")
    assert answer.hits and answer.hits[0].source.endswith(".pdf") and answer.hits[0].page == 1


def test_eval_runs_the_real_pipeline_on_a_slice(home, tmp_path, capsys):
    """Issue 6 in CI: the eval command over real questions and the real ask pipeline."""
    out = tmp_path / "run"
    code = main(["eval", str(SHARED / "eval/domain/domain_dev.jsonl"), "--collection", "mini",
                 "--mode", "hybrid", "--k", "20", "--out", str(out), "--quiet"])
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert 0.0 < metrics["retrieval"]["recall@10"] <= 1.0
    assert metrics["citations"]["invalid"] == 0 and metrics["citations"]["checked"] > 0
    # gold articles of laws outside the five-law collection are reported, not dropped
    assert metrics["unresolved_gold"]
    per_question = [json.loads(l) for l in (out / "per_question.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(per_question) == 20
    for name in ("qrels.txt", "run.txt", "report.md", "report.html", "recall_at_k.png"):
        assert (out / name).stat().st_size > 0, name
    second = tmp_path / "run2"
    assert main(["eval", str(SHARED / "eval/domain/domain_dev.jsonl"), "--collection", "mini", "--mode", "bm25",
                 "--k", "20", "--out", str(second), "--limit", "10", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["eval-compare", str(out), str(second)]) == 0
    assert "recall@10" in capsys.readouterr().out


def test_the_recognised_issues_laws_are_searched_once_more(pipeline):
    """With an issue recognised, BM25's and the dense retriever's hits within the laws the
    issue cites are two more lists in the fusion (LAW_SCOPE_WEIGHT): each unit of those laws
    gains fused score, others keep theirs, and the lists are ranked 1… in hit order."""
    from assistant.pipeline import LAW_SCOPE_WEIGHT
    from corpus.versions import title_key

    question = "外包公司给政府做的政务App泄露了公民个人信息，谁来承担责任？"
    understanding = pipeline.understand(question)
    laws = pipeline.scope_laws(understanding)
    assert title_key("中华人民共和国个人信息保护法") in laws and title_key("中华人民共和国数据安全法") in laws
    hits = pipeline.index.search_bm25(question, 40)
    scoped = pipeline.law_scoped(hits, frozenset({title_key("中华人民共和国数据安全法")}))
    assert scoped and [h.rank for h in scoped] == list(range(1, len(scoped) + 1))
    assert {pipeline.table.units[h.unit_id][0].title for h in scoped} == {"中华人民共和国数据安全法"}
    assert [h.unit_id for h in scoped] == [h.unit_id for h in hits
                                           if pipeline.table.units[h.unit_id][0].title == "中华人民共和国数据安全法"]

    scoped_run = dict(pipeline.retrieve(question, k=30, understanding=understanding, rerank=False))
    pipeline.law_scope_weight = 0
    try:
        plain_run = dict(pipeline.retrieve(question, k=30, understanding=understanding, rerank=False))
    finally:
        pipeline.law_scope_weight = LAW_SCOPE_WEIGHT
    in_laws = {u for u in scoped_run if title_key(pipeline.table.units[u][0].title) in laws}
    both = [u for u in in_laws if u in plain_run]
    assert both and all(scoped_run[u]["fused"] > plain_run[u]["fused"] for u in both)
    assert all(scoped_run[u]["fused"] == plain_run[u]["fused"] for u in scoped_run if u in plain_run and u not in in_laws)
    assert pipeline.fingerprint()["law_scope_weight"] == LAW_SCOPE_WEIGHT
