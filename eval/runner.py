"""Batch evaluation: run the real answer pipeline over annotated questions and score it.

`run_eval` asks every question through `AnswerPipeline.ask` (the same code path as
`fagui ask`, never a copy), resolves gold articles to unit ids with
`pipeline.resolve`, and writes into `out_dir`:

* `qrels.txt`, `run.txt` — TREC files (unit ids), re-checkable with any IR tool;
* `metrics.json` — aggregate and per-kind metrics, citation validity, liable-party
  coverage, party-row precision, what the question understanding recognised (issue map
  used and its hash, questions per issue), latency, unresolved gold, config, pipeline
  fingerprint, git commit, date;
* `per_question.jsonl` — retrieved ids, gold, hits/misses, gold ranks, metrics;
* `report.md`, `report.html` and PNG plots (see `eval.report`).

Metrics are computed from the qrels/run written to disk, so the files and the numbers
can never disagree. A question whose `ask` raises is recorded with its error and an
empty ranking (one bad question never aborts a 1,000-question batch); the count of
such errors is reported.
"""
from __future__ import annotations

import json
import subprocess
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from tqdm import tqdm

from assistant.protocol import MODES, AnswerPipeline
from corpus.errors import UsageError
from assistant.records import Answer
from eval import retrieval
from eval.analysis_checks import (
    CachedResolver,
    CitationCheck,
    PartyCoverage,
    PartyPrecision,
    check_citations,
    party_coverage,
    party_row_precision,
)
from eval.llm_checks import format_llm, summarise_llm
from eval.questions import Question
from eval.report import write_reports

FORMAT_VERSION = 1
METRICS_FILE, PER_QUESTION_FILE = "metrics.json", "per_question.jsonl"
QRELS_FILE, RUN_FILE = "qrels.txt", "run.txt"
NO_KIND = "(none)"


@dataclass
class RetrievedHit:
    rank: int
    unit_id: str
    law: str
    article: str
    score: float | None  # the mode's own score (fused for hybrid), None if absent


@dataclass
class QuestionResult:
    """Everything measured for one question; one line of per_question.jsonl."""

    id: str
    question: str
    kind: str
    gold: list[dict[str, Any]]  # {law, article, unit_id|None}
    retrieved: list[RetrievedHit]
    gold_ranks: dict[str, int | None]  # resolved gold unit id → rank in `retrieved` (1-based)
    hits: list[str]  # gold unit ids retrieved
    misses: list[str]  # gold unit ids not retrieved
    unresolved_gold: list[str]  # gold refs that do not exist in the collection
    metrics: dict[str, float] | None  # None: no resolved gold, not evaluated
    latency_ms: float  # wall time of `ask`, measured here
    timings_ms: dict[str, float]  # the pipeline's own stage timings (Answer.timings_ms)
    citations: dict[str, Any]
    party_coverage: dict[str, Any] | None  # None: no liable_parties annotated
    error: str = ""
    party_rows: dict[str, Any] | None = None  # party-row precision (None: the answer failed)
    understanding: dict[str, Any] | None = None  # legal, issue ids, intents (None: pure lookup)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class EvalResult:
    out_dir: Path
    metrics: dict[str, Any]  # the content of metrics.json
    questions: list[QuestionResult] = field(default_factory=list)

    @property
    def files(self) -> dict[str, Path]:
        return {name: self.out_dir / name for name in self.metrics.get("files", [])}


def primary_score_key(mode: str) -> str:
    """Which `Evidence.scores` entry ranks the hits of a mode (plots score distributions)."""
    return "fused" if mode == "hybrid" else mode


def git_commit(repo_dir: Path | None = None) -> str:
    """HEAD of the repository holding this package, "" when git or the repo is missing."""
    cwd = repo_dir or Path(__file__).resolve().parents[1]
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def latency_stats(latencies_ms: Sequence[float]) -> dict[str, float | None]:
    if not latencies_ms:
        return {"p50_ms": None, "p95_ms": None, "mean_ms": None, "max_ms": None}
    arr = np.asarray(latencies_ms, dtype=float)
    return {
        "p50_ms": round(float(np.percentile(arr, 50)), 2),
        "p95_ms": round(float(np.percentile(arr, 95)), 2),
        "mean_ms": round(float(arr.mean()), 2),
        "max_ms": round(float(arr.max()), 2),
    }


def _retrieved(answer: Answer, score_key: str) -> list[RetrievedHit]:
    return [
        RetrievedHit(rank=i, unit_id=h.unit_id, law=h.law, article=h.article, score=h.scores.get(score_key))
        for i, h in enumerate(answer.hits, start=1)
    ]


def _ask(pipeline: AnswerPipeline, question: Question, mode: str, k: int, llm=None) -> tuple[Answer | None, float, str]:
    started = time.perf_counter()
    try:
        answer = pipeline.ask(question.question, mode=mode, k=k, **({"llm": llm} if llm is not None else {}))
        error = ""
    except Exception as exc:  # noqa: BLE001 — recorded per question and reported, see module doc
        answer, error = None, f"{type(exc).__name__}: {exc}"
    return answer, (time.perf_counter() - started) * 1000.0, error


def _summarise_citations(results: Sequence[QuestionResult]) -> dict[str, Any]:
    checked = sum(r.citations["checked"] for r in results)
    valid = sum(r.citations["valid"] for r in results)
    return {
        "validity": valid / checked if checked else None,
        "checked": checked,
        "valid": valid,
        "invalid": checked - valid,
        "non_article": sum(len(r.citations["non_article"]) for r in results),
        "questions_with_invalid": sorted(r.id for r in results if r.citations["invalid"]),
        "invalid_refs": sorted({ref for r in results for ref in r.citations["invalid"]}),
    }


def _summarise_parties(results: Sequence[QuestionResult]) -> dict[str, Any]:
    annotated = [r for r in results if r.party_coverage is not None and r.party_coverage["total"]]
    total = sum(r.party_coverage["total"] for r in annotated)
    covered = sum(r.party_coverage["covered"] for r in annotated)
    shares = [r.party_coverage["share"] for r in annotated]
    return {
        "coverage": covered / total if total else None,  # micro: over all gold party rows
        "coverage_macro": float(np.mean(shares)) if shares else None,  # mean over questions
        "parties": total,
        "covered": covered,
        "questions": len(annotated),
    }


def _summarise_party_rows(results: Sequence[QuestionResult]) -> dict[str, Any]:
    """Party-row precision: per question, then averaged over the questions with ≥ 1 row."""
    with_rows = [r for r in results if r.party_rows is not None and r.party_rows["rows"]]
    rows = sum(r.party_rows["rows"] for r in with_rows)
    correct = sum(r.party_rows["correct"] for r in with_rows)
    return {
        "precision": float(np.mean([r.party_rows["share"] for r in with_rows])) if with_rows else None,
        "precision_micro": correct / rows if rows else None,
        "questions_with_rows": len(with_rows),
        "questions": len(results),
        "rows": rows,
        "correct": correct,
    }


def _summarise_understanding(results: Sequence[QuestionResult], pipeline: AnswerPipeline) -> dict[str, Any]:
    """Whether the issue map was used (and which), and what it recognised, issue by issue."""
    fingerprint = pipeline.fingerprint()
    understood = [r for r in results if r.understanding is not None]
    by_issue: dict[str, dict[str, Any]] = {}
    for r in understood:
        for issue_id in r.understanding["issues"]:
            entry = by_issue.setdefault(issue_id, {"questions": [], "recall@10": []})
            entry["questions"].append(r.id)
            if r.metrics is not None:
                entry["recall@10"].append(r.metrics.get("recall@10", 0.0))
    return {
        "used": bool(fingerprint.get("issue_map")),
        "sha256": fingerprint.get("issue_map_sha256", ""),
        "issues_in_map": fingerprint.get("issue_map_issues"),
        "questions_understood": len(understood),
        "questions_with_issues": sum(1 for r in understood if r.understanding["issues"]),
        "not_legal": sorted(r.id for r in understood if not r.understanding["legal"]),
        # answered with 未找到相关法律依据 and no analysis (no legal content, or nothing grounded):
        # a nonsense set (`eval/data/nonsense.jsonl`) must have every question here
        "not_analysed": sorted(r.id for r in understood if r.understanding["no_legal_basis"]),
        "by_issue": {
            issue_id: {"questions": len(v["questions"]), "ids": v["questions"],
                       "recall@10": float(np.mean(v["recall@10"])) if v["recall@10"] else None}
            for issue_id, v in sorted(by_issue.items())
        },
    }


def _kind_analysis(results: Sequence[QuestionResult]) -> dict[str, Any]:
    """Analysis checks of one kind's questions (the by-kind table next to its retrieval)."""
    rows = _summarise_party_rows(results)
    return {
        "liable_party_coverage": _summarise_parties(results)["coverage"],
        "party_row_precision": rows["precision"],
        "questions_with_rows": rows["questions_with_rows"],
        "citation_validity": _summarise_citations(results)["validity"],
    }


@dataclass
class AskedQuestion:
    """One question asked and its answer checked, before retrieval scoring: the
    per-question metrics come later, from the TREC files written to disk."""

    question: Question
    gold: list[dict[str, Any]]  # {law, article, unit_id|None}
    resolved: list[str]  # gold unit ids that exist in the collection, in gold order
    retrieved: list[RetrievedHit]
    latency_ms: float
    timings_ms: dict[str, float]
    citations: CitationCheck
    coverage: PartyCoverage | None
    precision: PartyPrecision | None
    understanding: dict[str, Any] | None
    error: str
    answer: Answer | None  # None when `ask` raised

    @property
    def ranked(self) -> list[str]:
        return [h.unit_id for h in self.retrieved]

    def result(self, metrics: dict[str, float] | None) -> QuestionResult:
        """The per_question.jsonl record, with this question's metrics from the run file."""
        q = self.question
        first_rank: dict[str, int] = {}
        for hit in self.retrieved:
            first_rank.setdefault(hit.unit_id, hit.rank)
        gold_ranks = {uid: first_rank.get(uid) for uid in self.resolved}
        return QuestionResult(
            id=q.id,
            question=q.question,
            kind=q.kind,
            gold=self.gold,
            retrieved=self.retrieved,
            gold_ranks=gold_ranks,
            hits=[u for u, r in gold_ranks.items() if r is not None],
            misses=[u for u, r in gold_ranks.items() if r is None],
            unresolved_gold=[g["law"] + g["article"] for g in self.gold if g["unit_id"] is None],
            metrics=metrics,
            latency_ms=round(self.latency_ms, 2),
            timings_ms=self.timings_ms,
            citations=self.citations.to_dict(),
            party_coverage=self.coverage.to_dict() if self.coverage is not None else None,
            error=self.error,
            party_rows=self.precision.to_dict() if self.precision is not None else None,
            understanding=self.understanding,
        )


def _ask_and_check(pipeline: AnswerPipeline, question: Question, *, mode: str, k: int, llm, resolve,
                   score_key: str) -> AskedQuestion:
    """Resolve the question's gold, ask it, and run the analysis checks on the answer
    (citations, party coverage, party-row precision); a failed `ask` checks as empty."""
    gold = [{"law": g.law, "article": g.article, "unit_id": resolve(g.law, g.article)} for g in question.gold]
    answer, latency_ms, error = _ask(pipeline, question, mode, k, llm)
    citations = check_citations(answer.analysis, resolve) if answer is not None else CitationCheck()
    precision = party_row_precision(question.gold, answer.analysis, resolve) if answer is not None else None
    coverage: PartyCoverage | None = None
    if question.liable_parties:
        coverage = party_coverage(question.liable_parties, answer.analysis, resolve) if answer is not None \
            else PartyCoverage(missing=list(question.liable_parties))
    return AskedQuestion(
        question=question,
        gold=gold,
        resolved=list(dict.fromkeys(g["unit_id"] for g in gold if g["unit_id"] is not None)),
        retrieved=_retrieved(answer, score_key) if answer is not None else [],
        latency_ms=latency_ms,
        timings_ms=dict(answer.timings_ms) if answer is not None else {},
        citations=citations,
        coverage=coverage,
        precision=precision,
        understanding=_understanding_summary(answer),
        error=error,
        answer=answer,
    )


def _write_and_read_trec(out: Path, gold_units: dict[str, list[str]], ranked: dict[str, list[str]]):
    """Write qrels.txt and run.txt, then read them back: the metrics are computed from
    the published files, so the files and the numbers cannot drift apart."""
    retrieval.write_qrels(out / QRELS_FILE, retrieval.build_qrels(gold_units))
    retrieval.write_run(out / RUN_FILE, retrieval.build_run({qid: ids for qid, ids in ranked.items() if ids}))
    return retrieval.read_qrels(out / QRELS_FILE), retrieval.read_run(out / RUN_FILE)


def _by_kind(results: Sequence[QuestionResult], gold_units: dict[str, list[str]], qrels, run) -> dict[str, Any]:
    """Retrieval metrics and analysis checks of each question kind (`NO_KIND` for none)."""
    out = {}
    for kind in sorted({r.kind or NO_KIND for r in results}):
        of_kind = [r for r in results if (r.kind or NO_KIND) == kind]
        evaluated = [r.id for r in of_kind if r.id in gold_units]
        metrics = retrieval.aggregate(qrels, run, evaluated)
        out[kind] = {"questions": len(of_kind), "evaluated": len(evaluated),
                     **{name: metrics.get(name) for name in retrieval.MEASURES},
                     **_kind_analysis(of_kind)}
    return out


def _metrics(pipeline: AnswerPipeline, results: Sequence[QuestionResult], gold_units: dict[str, list[str]],
             qrels, run, *, config: dict[str, Any]) -> dict[str, Any]:
    """The content of metrics.json (without `files`, added once the reports exist)."""
    overall = retrieval.aggregate(qrels, run)
    return {
        "format_version": FORMAT_VERSION,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "config": config,
        "pipeline": pipeline.fingerprint(),
        "counts": {
            "questions": len(results),
            "evaluated": len(gold_units),
            "without_resolved_gold": sorted(r.id for r in results if r.id not in gold_units),
            "gold_articles": sum(len(r.gold) for r in results),
            "gold_units": sum(len(v) for v in gold_units.values()),
            "errors": sum(1 for r in results if r.error),
        },
        "retrieval": {name: overall.get(name) for name in retrieval.MEASURES},
        "recall_curve": {str(kk): v for kk, v in retrieval.recall_curve(overall, max_k=config["k"]).items()},
        "by_kind": _by_kind(results, gold_units, qrels, run),
        "unresolved_gold": [{"id": r.id, "ref": ref} for r in results for ref in r.unresolved_gold],
        "citations": _summarise_citations(results),
        "liable_parties": _summarise_parties(results),
        "party_rows": _summarise_party_rows(results),
        "understanding": _summarise_understanding(results, pipeline),
        "latency": latency_stats([r.latency_ms for r in results]),
        "errors": [{"id": r.id, "error": r.error} for r in results if r.error],
    }


def _write_outputs(out: Path, metrics: dict[str, Any], results: Sequence[QuestionResult]) -> None:
    """per_question.jsonl, the reports and plots, then metrics.json with the file list."""
    with (out / PER_QUESTION_FILE).open("w", encoding="utf-8") as fh:
        for r in results:
            fh.write(json.dumps(r.to_dict(), ensure_ascii=False) + "\n")


    files = [METRICS_FILE, PER_QUESTION_FILE, QRELS_FILE, RUN_FILE]
    files += write_reports(out, metrics, results)
    metrics["files"] = files
    (out / METRICS_FILE).write_text(json.dumps(metrics, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def run_eval(
    pipeline: AnswerPipeline,
    questions: Sequence[Question],
    *,
    mode: str = "hybrid",
    k: int = 100,
    out_dir: str | Path,
    limit: int | None = None,
    progress: bool = True,
    questions_source: str = "",
    llm=None,
    split: str = "all",
) -> EvalResult:
    """Evaluate `pipeline` on `questions` (the first `limit`) and write the report files.

    `k` is passed to `ask` and is the depth of the run file; recall@100 needs k ≥ 100.
    `llm` (`assistant.llm.LLMSettings`) asks with the model steps on (`fagui eval --llm`):
    the same metrics, plus `metrics["llm"]` (`eval.llm_checks.summarise_llm`).
    """
    if mode not in MODES:
        raise UsageError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
    if k < 1:
        raise UsageError(f"k must be at least 1, got {k}")
    if limit is not None and limit < 1:
        raise UsageError(f"limit must be at least 1, got {limit}")
    selected = list(questions)[:limit] if limit is not None else list(questions)
    if not selected:
        raise UsageError("no questions to evaluate")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    resolve = CachedResolver(pipeline.resolve)
    score_key = primary_score_key(mode)

    used = RetrievalUsed(mode)
    asked: list[AskedQuestion] = []
    for question in tqdm(selected, desc="eval", unit="q", disable=not progress):
        item = _ask_and_check(pipeline, question, mode=mode, k=k, llm=llm, resolve=resolve, score_key=score_key)
        used.count(item.answer)
        asked.append(item)
    gold_units = {item.question.id: item.resolved for item in asked if item.resolved}

    qrels, run = _write_and_read_trec(out, gold_units, {item.question.id: item.ranked for item in asked})
    per_question = retrieval.per_question_metrics(qrels, run)
    results = [item.result(per_question.get(item.question.id)) for item in asked]

    metrics = _metrics(pipeline, results, gold_units, qrels, run,
                       config={"collection": getattr(pipeline, "collection", ""), "mode": mode, "k": k, "limit": limit,
                               "questions_source": questions_source, "split": split, "score_key": score_key,
                               "modes_used": used.modes, "fallback_reason": used.reason})
    if llm is not None:
        metrics["llm"] = summarise_llm(llm, {item.question.id: item.answer for item in asked if item.answer is not None})
    _write_outputs(out, metrics, results)
    return EvalResult(out_dir=out, metrics=metrics, questions=results)


class RetrievalUsed:
    """Which retrieval answered the questions: an index whose vectors are not built yet
    answers hybrid and dense questions by BM25 (`Answer.retrieval`), and a run must say
    so rather than report BM25 figures as hybrid ones."""

    def __init__(self, requested: str):
        self.requested = requested
        self.modes: dict[str, int] = {}
        self.reason = ""

    def count(self, answer: Answer | None) -> None:
        if answer is None:
            return
        retrieval = answer.retrieval or {}
        mode = retrieval.get("used") or self.requested
        self.modes[mode] = self.modes.get(mode, 0) + 1
        self.reason = self.reason or retrieval.get("reason", "")


def _understanding_summary(answer: Answer | None) -> dict[str, Any] | None:
    if answer is None or answer.understanding is None:
        return None
    u = answer.understanding
    return {"legal": u.legal, "issues": [i.issue_id for i in u.issues], "intents": list(u.intents),
            "no_legal_basis": bool(answer.no_legal_basis)}


def _fmt(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def format_eval(result: EvalResult) -> str:
    """Short text summary for the terminal (the full report is in the files)."""
    m = result.metrics
    c, lat, cit, par = m["config"], m["latency"], m["citations"], m["liable_parties"]
    rows, und = m.get("party_rows") or {}, m.get("understanding") or {}
    lines = [
        f"collection {c['collection']!r}, mode {c['mode']}, k={c['k']}: "
        f"{m['counts']['questions']} questions, {m['counts']['evaluated']} with resolved gold",
        "  ".join(f"{name} {_fmt(v)}" for name, v in m["retrieval"].items()),
    ]
    fallback = {mode: n for mode, n in c.get("modes_used", {}).items() if mode != c["mode"]}
    if fallback:
        lines.insert(1, "NOTE: " + ", ".join(f"{n} questions answered by {mode}" for mode, n in fallback.items())
                     + f" — {c.get('fallback_reason', '')}")
    for kind, info in m["by_kind"].items():
        lines.append(f"  [{kind}] n={info['evaluated']}  recall@10 {_fmt(info.get('recall@10'))}  "
                     f"mrr@10 {_fmt(info.get('mrr@10'))}  ndcg@10 {_fmt(info.get('ndcg@10'))}  "
                     f"party coverage {_fmt(info.get('liable_party_coverage'))}  "
                     f"row precision {_fmt(info.get('party_row_precision'))}  "
                     f"citations {_fmt(info.get('citation_validity'))}")
    lines.append(f"citation validity {_fmt(cit['validity'])} ({cit['valid']}/{cit['checked']}, "
                 f"{cit['non_article']} non-article refs not checked)")
    lines.append(f"liable-party coverage {_fmt(par['coverage'])} ({par['covered']}/{par['parties']} parties "
                 f"in {par['questions']} questions)")
    lines.append(f"party-row precision {_fmt(rows.get('precision'))} (mean over {rows.get('questions_with_rows', 0)} "
                 f"questions with party rows; {rows.get('correct', 0)}/{rows.get('rows', 0)} rows rest on a gold article)")
    if und:
        lines.append(f"issue map {'used' if und.get('used') else 'not used'}"
                     f"{' (sha256 ' + und['sha256'][:12] + ')' if und.get('sha256') else ''}: issues recognised in "
                     f"{und.get('questions_with_issues', 0)}/{und.get('questions_understood', 0)} questions, "
                     f"{len(und.get('not_legal', []))} without legal content; "
                     f"{und.get('questions_understood', 0) - len(und.get('not_analysed', []))} analysed")
    if m.get("llm"):
        lines.append(format_llm(m["llm"]))
    lines.append(f"latency p50 {_fmt(lat['p50_ms'], 1)} ms, p95 {_fmt(lat['p95_ms'], 1)} ms, "
                 f"mean {_fmt(lat['mean_ms'], 1)} ms")
    if m["unresolved_gold"]:
        lines.append(f"unresolved gold articles: {len(m['unresolved_gold'])} (listed in metrics.json and report.md)")
    if m["counts"]["errors"]:
        lines.append(f"questions that failed: {m['counts']['errors']} (see metrics.json `errors`)")
    lines.append(f"report: {result.out_dir / 'report.html'}")
    return "\n".join(lines)
