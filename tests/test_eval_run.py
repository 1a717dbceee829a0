"""run_eval / compare_runs end to end on a fake pipeline.

The fake is legitimate here: these tests are about the evaluation, so the pipeline returns
predetermined hits and analyses whose metrics are worked out by hand below.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from assistant.records import Analysis, Answer, Evidence, Party, Remedy, Slot
from eval import compare_runs, format_compare, format_eval, run_eval
from eval.questions import GoldArticle, GoldParty, Question, load_questions

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# the fake collection: (law, article) → unit id
UNITS = {
    ("中华人民共和国数据安全法", "第四十条"): "dsl:article:40",
    ("中华人民共和国数据安全法", "第四十九条"): "dsl:article:49",
    ("中华人民共和国个人信息保护法", "第六十六条"): "pipl:article:66",
    ("中华人民共和国国家赔偿法", "第七条"): "sca:article:7",
    ("中华人民共和国刑法", "第二百五十三条之一"): "crim:article:253-1",
}
LAW_OF = {uid: key for key, uid in UNITS.items()}

QUESTIONS = [
    # gold {dsl40, dsl49}; one more gold article that the collection does not have
    Question(
        id="q1", question="受托企业泄露政务数据，谁负责？", kind="who_is_liable",
        gold=[GoldArticle("中华人民共和国数据安全法", "第四十条"), GoldArticle("中华人民共和国数据安全法", "第四十九条"),
              GoldArticle("不存在的条例", "第三条")],
        liable_parties=[GoldParty("大数据局人员", "中华人民共和国数据安全法第四十九条"),
                        GoldParty("科技公司", "中华人民共和国个人信息保护法第六十六条"),
                        GoldParty("工程师", "中华人民共和国刑法第253条之1")],
    ),
    # gold {sca7}; the question text must be escaped in HTML
    Question(id="q2", question="<script>alert(1)</script> 平台错误处罚能赔偿吗？", kind="lay",
             gold=[GoldArticle("中华人民共和国国家赔偿法", "第七条")]),
    # only unresolvable gold: not scored, reported
    Question(id="q3", question="某条例第九条是什么？", kind="article_lookup", gold=[GoldArticle("不存在的条例", "第九条")]),
]


def _evidence(unit_id: str, rank: int, score: float) -> Evidence:
    law, article = LAW_OF.get(unit_id, ("其他法", "第一条"))
    return Evidence(unit_id=unit_id, doc_id=unit_id.split(":")[0], law=law, article=article, text="…",
                    doc_type="法律", status="current", rank=rank, scores={"bm25": score, "fused": score})


class FakePipeline:
    """Answers each question with a fixed ranking and analysis; resolves via UNITS."""

    collection = "fake"

    def __init__(self, rankings: dict[str, list[str]], analyses: dict[str, Analysis], fail: set[str] = frozenset()):
        self.rankings, self.analyses, self.fail = rankings, analyses, fail
        self.calls: list[tuple[str, str, int]] = []

    def ask(self, question: str, *, mode: str = "hybrid", k: int = 10, filters: dict | None = None) -> Answer:
        self.calls.append((question, mode, k))
        qid = next(q.id for q in QUESTIONS if q.question == question)
        if qid in self.fail:
            raise RuntimeError("index exploded")
        hits = [_evidence(u, i, 10.0 - i) for i, u in enumerate(self.rankings.get(qid, [])[:k], start=1)]
        return Answer(question=question, collection=self.collection, hits=hits,
                      analysis=self.analyses.get(qid, Analysis()))

    def resolve(self, law: str, article: str) -> str | None:
        return UNITS.get((law, article))

    def fingerprint(self) -> dict:
        return {"model": "fake-model", "collection_hash": "c0ffee"}


ANALYSIS_Q1 = Analysis(
    parties=[Party("大数据局人员", "工作人员", "政务处分", "依法给予处分", basis=["中华人民共和国数据安全法第四十九条"]),
             # 刑法第253条之1 in Arabic digits is the same article as 第二百五十三条之一
             Party("工程师", "行为人", "刑事责任", "追究刑事责任", basis=["中华人民共和国刑法第253条之1"])],
    remedies=[Remedy("行政复议", basis=["中华人民共和国行政复议法第九十九条"])],  # not in the collection → invalid
    external=[Slot("对外承担责任", basis=["中华人民共和国数据安全法第四十条"], no_basis=False)],
    citations=[{"law": "中华人民共和国数据安全法", "article": "第四十条"}, {"ref": "江苏省数字政府建设规划（一）"}],
)
# q1: run [other, dsl40, other2, dsl49] → R@1 0, R@5 1, RR 0.5, nDCG@10 = (1/log2 3 + 1/log2 5)/(1 + 1/log2 3)
# q2: run [sca7]                       → every metric 1
RANKINGS_A = {"q1": ["x:article:1", "dsl:article:40", "y:article:2", "dsl:article:49"], "q2": ["sca:article:7"]}
NDCG_Q1 = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))


def _run(tmp_path, name="a", rankings=RANKINGS_A, fail=frozenset(), **kwargs):
    pipeline = FakePipeline(rankings, {"q1": ANALYSIS_Q1}, fail)
    result = run_eval(pipeline, QUESTIONS, mode="hybrid", k=100, out_dir=tmp_path / name, limit=None, progress=False,
                      **kwargs)
    return pipeline, result


def test_metrics_json_holds_hand_worked_values_and_config(tmp_path):
    pipeline, result = _run(tmp_path, questions_source="dev.jsonl")
    assert pipeline.calls[0][1:] == ("hybrid", 100)
    metrics = json.loads((tmp_path / "a" / "metrics.json").read_text(encoding="utf-8"))
    assert metrics == result.metrics
    r = metrics["retrieval"]
    assert r["recall@1"] == pytest.approx((0 + 1) / 2)
    assert r["recall@5"] == pytest.approx(1.0)
    assert r["mrr@10"] == pytest.approx((0.5 + 1) / 2)
    assert r["ndcg@10"] == pytest.approx((NDCG_Q1 + 1) / 2)
    assert metrics["by_kind"]["who_is_liable"]["mrr@10"] == pytest.approx(0.5)
    assert metrics["by_kind"]["article_lookup"]["evaluated"] == 0
    assert metrics["counts"] == {"questions": 3, "evaluated": 2, "without_resolved_gold": ["q3"],
                                 "gold_articles": 5, "gold_units": 3, "errors": 0}
    assert metrics["config"]["collection"] == "fake" and metrics["config"]["questions_source"] == "dev.jsonl"
    assert metrics["pipeline"] == {"model": "fake-model", "collection_hash": "c0ffee"}
    assert isinstance(metrics["git_commit"], str) and metrics["date"]
    assert set(metrics["latency"]) == {"p50_ms", "p95_ms", "mean_ms", "max_ms"}
    assert metrics["latency"]["p50_ms"] <= metrics["latency"]["p95_ms"]


def test_unresolved_gold_is_reported_not_dropped(tmp_path):
    _, result = _run(tmp_path)
    assert result.metrics["unresolved_gold"] == [{"id": "q1", "ref": "不存在的条例第三条"},
                                                 {"id": "q3", "ref": "不存在的条例第九条"}]
    report = (tmp_path / "a" / "report.md").read_text(encoding="utf-8")
    assert "不存在的条例第三条" in report and "不存在的条例第九条" in report
    qrels = (tmp_path / "a" / "qrels.txt").read_text().split()
    assert "q3" not in qrels  # never scored as a question with zero recall


def test_citation_validity_counts_an_unresolvable_ref(tmp_path):
    _, result = _run(tmp_path)
    cit = result.metrics["citations"]
    # refs of q1: dsl49, crim253-1 (Arabic spelling), 行政复议法99 (absent), dsl40 (basis + citation, counted once),
    # and a policy section that cannot be checked by resolve
    assert (cit["checked"], cit["valid"], cit["invalid"], cit["non_article"]) == (4, 3, 1, 1)
    assert cit["validity"] == pytest.approx(3 / 4)
    assert cit["invalid_refs"] == ["中华人民共和国行政复议法第九十九条"]
    assert cit["questions_with_invalid"] == ["q1"]


def test_liable_party_coverage(tmp_path):
    _, result = _run(tmp_path)
    q1 = next(q for q in result.questions if q.id == "q1")
    # covered: 大数据局人员 (dsl49) and 工程师 (刑法第253条之1 on both sides, spelled differently); missing: 科技公司
    assert q1.party_coverage["covered"] == 2 and q1.party_coverage["total"] == 3
    assert [m["party"] for m in q1.party_coverage["missing"]] == ["科技公司"]
    par = result.metrics["liable_parties"]
    assert par["coverage"] == pytest.approx(2 / 3) and par["questions"] == 1
    assert next(q for q in result.questions if q.id == "q2").party_coverage is None


def test_per_question_lines(tmp_path):
    _run(tmp_path)
    rows = [json.loads(line) for line in (tmp_path / "a" / "per_question.jsonl").read_text(encoding="utf-8").splitlines()]
    q1 = rows[0]
    assert [h["unit_id"] for h in q1["retrieved"]] == RANKINGS_A["q1"]
    assert q1["retrieved"][0]["score"] == pytest.approx(9.0)  # the fused score of the hit
    assert q1["gold_ranks"] == {"dsl:article:40": 2, "dsl:article:49": 4}
    assert q1["hits"] == ["dsl:article:40", "dsl:article:49"] and q1["misses"] == []
    assert q1["unresolved_gold"] == ["不存在的条例第三条"]
    assert q1["metrics"]["mrr@10"] == pytest.approx(0.5)
    assert rows[2]["metrics"] is None  # q3: nothing to score


def test_output_files_plots_and_escaped_html(tmp_path):
    _, result = _run(tmp_path)
    out = tmp_path / "a"
    for name in ("metrics.json", "per_question.jsonl", "qrels.txt", "run.txt", "report.md", "report.html"):
        assert (out / name).stat().st_size > 0, name
    pngs = [name for name in result.metrics["files"] if name.endswith(".png")]
    assert len(pngs) == 3
    for name in pngs:
        data = (out / name).read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 2000, name
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; 平台错误处罚能赔偿吗？" in page
    assert all(f'src="{name}"' in page for name in pngs)
    assert "<script>" not in (out / "report.md").read_text(encoding="utf-8")
    assert (out / "run.txt").read_text().splitlines()[0] == "q1 Q0 x:article:1 1 4 fagui"
    assert "recall@10" in format_eval(result)


def test_failing_question_is_recorded_and_scored_zero(tmp_path):
    _, result = _run(tmp_path, fail={"q2"})
    assert result.metrics["counts"]["errors"] == 1
    assert result.metrics["errors"][0]["id"] == "q2" and "index exploded" in result.metrics["errors"][0]["error"]
    q2 = next(q for q in result.questions if q.id == "q2")
    assert q2.metrics["recall@100"] == 0.0 and q2.misses == ["sca:article:7"]


def test_limit_and_bad_arguments(tmp_path):
    pipeline = FakePipeline(RANKINGS_A, {})
    result = run_eval(pipeline, QUESTIONS, mode="bm25", k=5, out_dir=tmp_path / "lim", limit=1, progress=False)
    assert len(pipeline.calls) == 1 and result.metrics["counts"]["questions"] == 1
    assert result.metrics["config"]["score_key"] == "bm25"
    with pytest.raises(ValueError, match="unknown mode"):
        run_eval(pipeline, QUESTIONS, mode="sparse", k=5, out_dir=tmp_path / "x", limit=None, progress=False)
    with pytest.raises(ValueError, match="k must be"):
        run_eval(pipeline, QUESTIONS, mode="bm25", k=0, out_dir=tmp_path / "x", limit=None, progress=False)


def test_compare_runs_deltas_and_changed_questions(tmp_path):
    _run(tmp_path, "a")
    # B: q1 finds dsl49 at rank 1 and loses dsl40; q2 unchanged
    _run(tmp_path, "b", rankings={"q1": ["dsl:article:49", "x:article:1"], "q2": ["sca:article:7"]})
    cmp = compare_runs(tmp_path / "a", tmp_path / "b")
    delta = {d.name: d for d in cmp.metrics}
    # q1 mrr 0.5 → 1, q2 stays 1: mean 0.75 → 1.0
    assert delta["mrr@10"].a == pytest.approx(0.75) and delta["mrr@10"].delta == pytest.approx(0.25)
    # q1 recall@5 1 → 0.5: mean 1.0 → 0.75
    assert delta["recall@5"].delta == pytest.approx(-0.25)
    assert delta["citation_validity"].delta == pytest.approx(0.0)
    assert [c.id for c in cmp.changed] == ["q1"]
    change = cmp.changed[0]
    assert change.gold_ranks_a == {"dsl:article:40": 2, "dsl:article:49": 4}
    assert change.gold_ranks_b == {"dsl:article:40": None, "dsl:article:49": 1}
    assert change.lost == ["中华人民共和国数据安全法第四十条"] and change.found == []
    text = format_compare(cmp)
    assert "mrr@10" in text and "+0.250" in text and "q1" in text and "q2 " not in text
    assert "changed questions: 1" in text
    # paired over the two questions with gold: only q1's mrr moves (+0.5), so the mean is +0.25
    paired = {d.name: d for d in cmp.paired}
    assert paired["mrr@10"].questions == 2 and paired["mrr@10"].difference == pytest.approx(0.25)
    assert (paired["mrr@10"].better, paired["mrr@10"].worse, paired["mrr@10"].low) == (1, 0, 0.0)
    assert paired["recall@10"].difference == pytest.approx(-0.25) and (paired["recall@10"].better, paired["recall@10"].worse) == (0, 1)
    assert "paired over 2 shared questions" in text and "mrr@10 +0.250 [+0.000, +0.500] (1 better, 0 worse)" in text


def test_compare_refuses_a_directory_without_results(tmp_path):
    _run(tmp_path, "a")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="metrics.json: missing"):
        compare_runs(tmp_path / "a", tmp_path / "empty")


def test_party_row_precision_by_hand(tmp_path):
    _, result = _run(tmp_path)
    q1 = next(q for q in result.questions if q.id == "q1")
    # q1's two party rows: 大数据局人员 on 数据安全法第四十九条 (gold) and 工程师 on 刑法第253条之1 (not gold for q1)
    assert (q1.party_rows["rows"], q1.party_rows["correct"], q1.party_rows["share"]) == (2, 1, 0.5)
    assert q1.party_rows["wrong"] == ["工程师 (中华人民共和国刑法第253条之1)"]
    rows = result.metrics["party_rows"]
    # q2 and q3 have no party rows: not averaged in, but counted as questions
    assert rows == {"precision": 0.5, "precision_micro": 0.5, "questions_with_rows": 1, "questions": 3,
                    "rows": 2, "correct": 1}
    kinds = result.metrics["by_kind"]
    assert kinds["who_is_liable"]["party_row_precision"] == 0.5 and kinds["lay"]["party_row_precision"] is None
    assert kinds["who_is_liable"]["liable_party_coverage"] == pytest.approx(2 / 3)
    assert kinds["who_is_liable"]["citation_validity"] == pytest.approx(3 / 4)
    assert "party-row precision 0.500" in format_eval(result)
    report = (tmp_path / "a" / "report.md").read_text(encoding="utf-8")
    assert "party_row_precision" in report and "Per kind: retrieval and analysis" in report


def test_compare_shows_party_row_precision(tmp_path):
    _run(tmp_path, "a")
    pipeline = FakePipeline(RANKINGS_A, {"q1": Analysis(parties=ANALYSIS_Q1.parties[:1])})
    run_eval(pipeline, QUESTIONS, mode="hybrid", k=100, out_dir=tmp_path / "b", progress=False)
    cmp = compare_runs(tmp_path / "a", tmp_path / "b")
    delta = {d.name: d for d in cmp.metrics}
    assert delta["party_row_precision"].a == 0.5 and delta["party_row_precision"].b == 1.0
    kind = {d.name: d for d in cmp.by_kind["who_is_liable"]}
    assert kind["party_row_precision"].delta == pytest.approx(0.5)
    assert "party_row_precision" in format_compare(cmp)


def test_compare_by_issue_and_understanding_summary(tmp_path):
    from assistant.records import RecognisedIssue, Understanding

    class Understood(FakePipeline):
        def ask(self, question, **kwargs):
            answer = super().ask(question, **kwargs)
            if question == QUESTIONS[0].question:
                answer.understanding = Understanding(issues=[RecognisedIssue("contractor-data-leak", "受托企业泄露")])
            return answer

    _run(tmp_path, "a")  # A: nothing recognised, q1 mrr 0.5
    pipeline = Understood({"q1": ["dsl:article:49", "dsl:article:40"], "q2": ["sca:article:7"]}, {"q1": ANALYSIS_Q1})
    result = run_eval(pipeline, QUESTIONS, mode="hybrid", k=100, out_dir=tmp_path / "b", progress=False)
    summary = result.metrics["understanding"]
    assert summary["questions_with_issues"] == 1 and summary["by_issue"]["contractor-data-leak"]["ids"] == ["q1"]
    assert summary["by_issue"]["contractor-data-leak"]["recall@10"] == 1.0
    cmp = compare_runs(tmp_path / "a", tmp_path / "b")
    recall, mrr, count = cmp.by_issue["contractor-data-leak"]
    assert (recall.a, recall.b, mrr.a, mrr.b, count.b) == (1.0, 1.0, 0.5, 1.0, 1)
    assert "contractor-data-leak (n=1)" in format_compare(cmp)


def test_questions_answered_without_analysis_are_counted(tmp_path):
    """A nonsense set (`eval/data/nonsense.jsonl`, gold []) is checked with `fagui eval`:
    every question must be answered with 未找到相关法律依据 and no analysis."""
    from assistant.records import Understanding

    class Refusing(FakePipeline):
        def ask(self, question, **kwargs):
            answer = super().ask(question, **kwargs)
            answer.understanding = Understanding(legal=question != QUESTIONS[1].question)
            if question == QUESTIONS[1].question:
                answer.no_legal_basis = "未找到相关法律依据。"
            return answer

    pipeline = Refusing({"q1": ["dsl:article:49", "dsl:article:40"], "q2": ["sca:article:7"]}, {"q1": ANALYSIS_Q1})
    result = run_eval(pipeline, QUESTIONS, mode="hybrid", k=100, out_dir=tmp_path / "r", progress=False)
    summary = result.metrics["understanding"]
    assert summary["not_legal"] == ["q2"] and summary["not_analysed"] == ["q2"]
    assert "1 without legal content; 2 analysed" in format_eval(result)  # of 3 questions
    assert "answered without analysis (未找到相关法律依据): q2" in (tmp_path / "r" / "report.md").read_text(encoding="utf-8")
    shipped = load_questions(Path(__file__).resolve().parents[1] / "eval/data/nonsense.jsonl")
    assert len(shipped) == 40 and all(q.gold == [] for q in shipped)  # `fagui eval` reads the nonsense set
