"""Retrieval metrics over unit ids, computed by ir_measures (pytrec_eval), plus TREC files.

Why a library: recall/RR/nDCG have well-known edge cases (ties, cut-offs, queries with
no retrieved documents) that trec_eval settles once for everybody; the TREC qrels and
run files written here let anyone re-check the numbers with any IR tool.

Conventions:
* documents are unit ids (`Answer.hits[i].unit_id`); qrels are the resolved gold unit
  ids with relevance 1 (several per question);
* the run score of a hit is `n - rank + 1` (n = number of hits): trec_eval sorts by
  score and breaks ties by document id, so writing the pipeline's own (possibly tied,
  possibly differently scaled) scores could reorder its ranking; the synthetic score
  keeps the pipeline's order exactly;
* R@k is recall over the relevant units, Success@10 = at least one gold unit in the top
  10, MRR@10 is RR@10 averaged over questions;
* only questions with at least one resolved gold unit are evaluated (trec_eval's rule);
  the others are reported by the caller, never silently scored.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Mapping, Sequence

import ir_measures
from ir_measures import RR, R, Success, nDCG

#: Reported name → ir_measures measure. Order is the report's column order.
MEASURES = {
    "recall@1": R @ 1,
    "recall@5": R @ 5,
    "recall@10": R @ 10,
    "recall@20": R @ 20,
    "recall@100": R @ 100,
    "mrr@10": RR @ 10,
    "ndcg@10": nDCG @ 10,
    "success@10": Success @ 10,
}
#: Cut-offs of the recall@k curve plot.
CURVE_KS = (1, 2, 3, 5, 10, 20, 30, 50, 100)
_CURVE_MEASURES = {k: R @ k for k in CURVE_KS}

RUN_TAG = "fagui"


def _check_id(value: str, what: str) -> None:
    if not value or any(ch.isspace() for ch in value):
        raise ValueError(f"{what} {value!r} cannot be written to a TREC file (empty or contains whitespace)")


def build_qrels(gold: Mapping[str, Iterable[str]]) -> list[ir_measures.Qrel]:
    """question id → gold unit ids ⇒ qrels with relevance 1, duplicates merged."""
    qrels = []
    for qid, unit_ids in gold.items():
        for unit_id in sorted(set(unit_ids)):
            qrels.append(ir_measures.Qrel(qid, unit_id, 1))
    return qrels


def build_run(ranked: Mapping[str, Sequence[str]]) -> list[ir_measures.ScoredDoc]:
    """question id → unit ids best first ⇒ scored docs whose scores reproduce that order.

    A unit retrieved twice keeps its best rank (trec_eval would otherwise count it twice).
    """
    run = []
    for qid, unit_ids in ranked.items():
        unique = list(dict.fromkeys(unit_ids))
        n = len(unique)
        for rank, unit_id in enumerate(unique, start=1):
            run.append(ir_measures.ScoredDoc(qid, unit_id, float(n - rank + 1)))
    return run


def write_qrels(path: Path, qrels: Sequence[ir_measures.Qrel]) -> None:
    """Standard TREC qrels: `qid 0 docid relevance`."""
    lines = []
    for q in qrels:
        _check_id(q.query_id, "question id")
        _check_id(q.doc_id, "unit id")
        lines.append(f"{q.query_id} 0 {q.doc_id} {q.relevance}\n")
    path.write_text("".join(lines), encoding="utf-8")


def write_run(path: Path, run: Sequence[ir_measures.ScoredDoc], tag: str = RUN_TAG) -> None:
    """Standard TREC run: `qid Q0 docid rank score tag`, ranks from 1 per question."""
    lines = []
    rank_of: dict[str, int] = {}
    for doc in run:
        _check_id(doc.query_id, "question id")
        _check_id(doc.doc_id, "unit id")
        rank = rank_of.get(doc.query_id, 0) + 1
        rank_of[doc.query_id] = rank
        lines.append(f"{doc.query_id} Q0 {doc.doc_id} {rank} {doc.score:g} {tag}\n")
    path.write_text("".join(lines), encoding="utf-8")


def per_question_metrics(
    qrels: Sequence[ir_measures.Qrel], run: Sequence[ir_measures.ScoredDoc]
) -> dict[str, dict[str, float]]:
    """question id → {metric name → value} for every question in the qrels.

    A question with gold but no hits scores 0 everywhere (filled in explicitly rather
    than relying on the provider's handling of absent queries).
    """
    measures = {**MEASURES, **{f"recall@{k}": m for k, m in _CURVE_MEASURES.items()}}
    name_of = {str(m): name for name, m in measures.items()}
    values: dict[str, dict[str, float]] = {q.query_id: {name: 0.0 for name in measures} for q in qrels}
    if qrels and run:
        for metric in ir_measures.iter_calc(list(set(measures.values())), qrels, run):
            if metric.query_id in values:
                values[metric.query_id][name_of[str(metric.measure)]] = float(metric.value)
    return values


def aggregate(
    qrels: Sequence[ir_measures.Qrel], run: Sequence[ir_measures.ScoredDoc], question_ids: Iterable[str] | None = None
) -> dict[str, float]:
    """Mean of every metric (MEASURES and the curve) over the evaluated questions.

    `question_ids` restricts to a subset (per-kind breakdown). Empty dict when no
    question of the subset has resolved gold.
    """
    if question_ids is not None:
        keep = set(question_ids)
        qrels = [q for q in qrels if q.query_id in keep]
        run = [d for d in run if d.query_id in keep]
    if not qrels:
        return {}
    measures = {**MEASURES, **{f"recall@{k}": m for k, m in _CURVE_MEASURES.items()}}
    # calc_aggregate averages over the qrels' questions; absent run queries count as 0.
    # With an empty run there is nothing to compute: every metric is 0.
    if not run:
        return {name: 0.0 for name in measures}
    result = ir_measures.calc_aggregate(list(set(measures.values())), qrels, run)
    by_str = {str(m): float(v) for m, v in result.items()}
    return {name: by_str[str(m)] for name, m in measures.items()}


def recall_curve(metrics: Mapping[str, float], max_k: int | None = None) -> dict[int, float]:
    """The recall@k points of an aggregate, for the curve plot; cut-offs beyond the
    retrieval depth `max_k` are left out (they would only repeat recall@max_k)."""
    return {k: metrics[f"recall@{k}"] for k in CURVE_KS
            if f"recall@{k}" in metrics and (max_k is None or k <= max_k)}


def read_qrels(path: Path) -> list[ir_measures.Qrel]:
    return list(ir_measures.read_trec_qrels(str(path)))


def read_run(path: Path) -> list[ir_measures.ScoredDoc]:
    return list(ir_measures.read_trec_run(str(path)))
