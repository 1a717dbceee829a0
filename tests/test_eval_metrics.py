"""Retrieval metrics of eval.retrieval pinned to values worked out by hand.

The numbers come from ir_measures; these tests pin our conventions around it (unit ids,
rank-preserving run scores, duplicates, questions without hits, averaging).
"""
from __future__ import annotations

import math

import pytest

from eval import retrieval

# q1: gold {a, b}, run [x, a, y, b]
#   R@1 = 0/2 = 0; R@5 = 2/2 = 1; RR@10 = 1/2 (first gold at rank 2); success@10 = 1
#   DCG@10  = 1/log2(2+1) + 1/log2(4+1) = 0.630930 + 0.430677 = 1.061606
#   IDCG@10 = 1/log2(1+1) + 1/log2(2+1) = 1 + 0.630930        = 1.630930
#   nDCG@10 = 1.061606 / 1.630930 = 0.650921
# q2: gold {c}, run [c]                      → every metric 1
# q3: gold {d}, run [p1 … p10, d] (d at 11)  → R@10 = 0, R@20 = 1, RR@10 = 0, nDCG@10 = 0, success@10 = 0
# q4: gold {z}, no hits at all               → every metric 0 (still counted in the mean)
GOLD = {"q1": ["a", "b"], "q2": ["c"], "q3": ["d"], "q4": ["z"]}
RANKED = {"q1": ["x", "a", "y", "b"], "q2": ["c"], "q3": [f"p{i}" for i in range(1, 11)] + ["d"]}
NDCG_Q1 = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))


def _metrics():
    qrels, run = retrieval.build_qrels(GOLD), retrieval.build_run(RANKED)
    return retrieval.per_question_metrics(qrels, run), retrieval.aggregate(qrels, run)


def test_hand_worked_per_question_values():
    per_q, _ = _metrics()
    q1 = per_q["q1"]
    assert q1["recall@1"] == 0.0
    assert q1["recall@5"] == 1.0
    assert q1["mrr@10"] == pytest.approx(0.5)
    assert q1["ndcg@10"] == pytest.approx(NDCG_Q1) == pytest.approx(0.650921, abs=1e-6)
    assert q1["success@10"] == 1.0
    assert all(v == pytest.approx(1.0) for v in per_q["q2"].values())
    q3 = per_q["q3"]
    assert (q3["recall@10"], q3["recall@20"], q3["mrr@10"], q3["ndcg@10"], q3["success@10"]) == (0, 1, 0, 0, 0)
    assert all(v == 0.0 for v in per_q["q4"].values())


def test_aggregate_is_mean_over_all_questions_with_gold():
    _, agg = _metrics()
    assert agg["recall@1"] == pytest.approx((0 + 1 + 0 + 0) / 4)
    assert agg["recall@5"] == pytest.approx((1 + 1 + 0 + 0) / 4)
    assert agg["recall@20"] == pytest.approx((1 + 1 + 1 + 0) / 4)
    assert agg["mrr@10"] == pytest.approx((0.5 + 1 + 0 + 0) / 4)
    assert agg["ndcg@10"] == pytest.approx((NDCG_Q1 + 1) / 4)
    assert agg["success@10"] == pytest.approx(2 / 4)
    assert retrieval.recall_curve(agg)[100] == pytest.approx(3 / 4)


def test_subset_aggregate_for_per_kind_breakdown():
    qrels, run = retrieval.build_qrels(GOLD), retrieval.build_run(RANKED)
    assert retrieval.aggregate(qrels, run, ["q1", "q3"])["mrr@10"] == pytest.approx(0.25)
    assert retrieval.aggregate(qrels, run, ["not-there"]) == {}


def test_pipeline_order_survives_ties_in_doc_id_order():
    # trec_eval breaks score ties by doc id; the run scores must keep the pipeline's order
    # even when the gold id sorts before the distractor ("a" < "b").
    qrels = retrieval.build_qrels({"q": ["a"]})
    per_q = retrieval.per_question_metrics(qrels, retrieval.build_run({"q": ["b", "a"]}))
    assert per_q["q"]["mrr@10"] == pytest.approx(0.5)


def test_duplicate_hits_and_duplicate_gold_count_once():
    qrels = retrieval.build_qrels({"q": ["b", "b"]})
    assert len(qrels) == 1
    per_q = retrieval.per_question_metrics(qrels, retrieval.build_run({"q": ["a", "a", "b"]}))
    assert per_q["q"]["mrr@10"] == pytest.approx(0.5)


def test_trec_files_round_trip_and_format(tmp_path):
    qrels, run = retrieval.build_qrels(GOLD), retrieval.build_run(RANKED)
    retrieval.write_qrels(tmp_path / "qrels.txt", qrels)
    retrieval.write_run(tmp_path / "run.txt", run)
    run_lines = (tmp_path / "run.txt").read_text().splitlines()
    assert run_lines[:2] == ["q1 Q0 x 1 4 fagui", "q1 Q0 a 2 3 fagui"]
    assert "q1 0 a 1" in (tmp_path / "qrels.txt").read_text().splitlines()
    again = retrieval.per_question_metrics(retrieval.read_qrels(tmp_path / "qrels.txt"), retrieval.read_run(tmp_path / "run.txt"))
    assert again == retrieval.per_question_metrics(qrels, run)


def test_ids_with_whitespace_are_refused(tmp_path):
    with pytest.raises(ValueError, match="whitespace"):
        retrieval.write_run(tmp_path / "run.txt", retrieval.build_run({"q 1": ["a"]}))
