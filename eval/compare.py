"""`fagui eval-compare DIR_A DIR_B`: metric deltas and the questions whose results changed.

Reads only the files `run_eval` wrote (metrics.json, per_question.jsonl), so two runs
made on different days, commits or machines can be compared. A question "changed"
when any of its retrieval metrics or the rank of any of its gold units differs; those
are what a reviewer needs to look at to see why an aggregate moved.

Both runs usually answer the same questions, so each headline measure also gets its
paired difference (B − A per question) with a 95 % bootstrap interval
(`scipy.stats.bootstrap`, percentile, seeded): on a few dozen questions a gain of two
points of Recall@10 is often inside what resampling the questions moves, and a
configuration should not be chosen on it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from corpus.errors import UsageError
from eval import retrieval
from eval.runner import METRICS_FILE, PER_QUESTION_FILE

#: Non-retrieval numbers compared as well: (label, section, key).
_EXTRA = (
    ("citation_validity", "citations", "validity"),
    ("liable_party_coverage", "liable_parties", "coverage"),
    ("party_row_precision", "party_rows", "precision"),
    ("latency_p50_ms", "latency", "p50_ms"),
    ("latency_p95_ms", "latency", "p95_ms"),
    ("latency_mean_ms", "latency", "mean_ms"),
)
#: Per-kind analysis numbers compared next to the retrieval measures (see eval.runner).
_KIND_EXTRA = ("liable_party_coverage", "party_row_precision", "citation_validity")
#: Per-question metrics shown for a changed question.
_QUESTION_METRICS = ("recall@10", "mrr@10", "ndcg@10", "recall@100")
#: Per-question metrics whose paired difference gets a bootstrap interval, and the resampling.
PAIRED_METRICS = ("recall@10", "mrr@10", "ndcg@10", "recall@100")
BOOTSTRAP_RESAMPLES = 5000
BOOTSTRAP_SEED = 0


@dataclass(frozen=True)
class MetricDelta:
    name: str
    a: float | None
    b: float | None

    @property
    def delta(self) -> float | None:
        return None if self.a is None or self.b is None else self.b - self.a


@dataclass(frozen=True)
class PairedDifference:
    """B − A of one per-question metric over the same questions: the mean, its 95 %
    percentile bootstrap interval, and how many questions got better or worse."""
    name: str
    questions: int
    difference: float
    low: float
    high: float
    better: int
    worse: int

    def text(self) -> str:
        return (f"{self.name} {self.difference:+.3f} [{self.low:+.3f}, {self.high:+.3f}] "
                f"({self.better} better, {self.worse} worse)")


def paired_difference(name: str, a: Sequence[float], b: Sequence[float]) -> PairedDifference:
    """Mean of b − a over paired values and its 95 % percentile bootstrap interval
    (BOOTSTRAP_RESAMPLES resamples of the questions, seeded, so a report is reproducible)."""
    from scipy.stats import bootstrap  # scipy.stats takes ~0.5 s to import: only when runs are compared

    diff = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    if len(diff) == 0:
        raise ValueError(f"{name}: no paired questions")
    if len(diff) == 1:  # nothing to resample
        low = high = float(diff[0])
    else:
        ci = bootstrap((diff,), np.mean, n_resamples=BOOTSTRAP_RESAMPLES, method="percentile",
                       random_state=BOOTSTRAP_SEED).confidence_interval
        low, high = float(ci.low), float(ci.high)
    return PairedDifference(name, len(diff), float(diff.mean()), low, high, int((diff > 0).sum()), int((diff < 0).sum()))


def paired_differences(metrics_a: dict[str, dict], metrics_b: dict[str, dict],
                       names: Sequence[str] = PAIRED_METRICS) -> list[PairedDifference]:
    """One PairedDifference per metric over the question ids both {id: per-question
    metrics} maps hold with that metric."""
    out = []
    for name in names:
        ids = sorted(q for q in set(metrics_a) & set(metrics_b)
                     if metrics_a[q].get(name) is not None and metrics_b[q].get(name) is not None)
        if ids:
            out.append(paired_difference(name, [metrics_a[q][name] for q in ids], [metrics_b[q][name] for q in ids]))
    return out


@dataclass
class QuestionChange:
    id: str
    question: str
    kind: str
    metrics: list[MetricDelta]  # only the metrics that differ
    gold_ranks_a: dict[str, int | None]
    gold_ranks_b: dict[str, int | None]
    found: list[str] = field(default_factory=list)  # gold refs retrieved in B but not in A
    lost: list[str] = field(default_factory=list)  # gold refs retrieved in A but not in B

    @property
    def direction(self) -> int:
        """+1 improved, -1 regressed, 0 mixed/unchanged — judged by nDCG@10, then recall@100."""
        for name in ("ndcg@10", "recall@100"):
            for d in self.metrics:
                if d.name == name and d.delta:
                    return 1 if d.delta > 0 else -1
        return 0


@dataclass
class CompareResult:
    dir_a: Path
    dir_b: Path
    config_a: dict[str, Any]
    config_b: dict[str, Any]
    metrics: list[MetricDelta]
    by_kind: dict[str, list[MetricDelta]]
    changed: list[QuestionChange]
    only_in_a: list[str]
    only_in_b: list[str]
    by_issue: dict[str, list[MetricDelta]] = field(default_factory=dict)  # issue id → recall@10 / mrr@10 A → B
    paired: list[PairedDifference] = field(default_factory=list)  # B − A over the shared questions

    @property
    def improved(self) -> list[QuestionChange]:
        return [c for c in self.changed if c.direction > 0]

    @property
    def regressed(self) -> list[QuestionChange]:
        return [c for c in self.changed if c.direction < 0]


def read_per_question(path: Path) -> dict[str, dict[str, Any]]:
    """{question id: row} of one run's per_question.jsonl — the one reader of that file
    (eval-compare and eval/embedder_report.py). Raises ValueError/KeyError on a bad line."""
    questions = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            questions[row["id"]] = row
    return questions


def _load(run_dir: Path) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    metrics_path, per_question_path = run_dir / METRICS_FILE, run_dir / PER_QUESTION_FILE
    for path in (metrics_path, per_question_path):
        if not path.is_file():
            raise UsageError(f"{path}: missing — is {run_dir} an output directory of `fagui eval`?")
    try:
        metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
        questions = read_per_question(per_question_path)
    except (json.JSONDecodeError, KeyError) as exc:
        raise UsageError(f"{run_dir}: unreadable evaluation output ({exc})") from exc
    return metrics, questions


def _refs_by_unit(row: dict[str, Any]) -> dict[str, str]:
    return {g["unit_id"]: g["law"] + g["article"] for g in row["gold"] if g.get("unit_id")}


def _question_change(a: dict[str, Any], b: dict[str, Any]) -> QuestionChange | None:
    ma, mb = a.get("metrics") or {}, b.get("metrics") or {}
    names = [n for n in _QUESTION_METRICS if n in ma or n in mb]
    deltas = [MetricDelta(n, ma.get(n), mb.get(n)) for n in names if ma.get(n) != mb.get(n)]
    other_metrics_differ = any(ma.get(n) != mb.get(n) for n in set(ma) | set(mb))
    if not deltas and not other_metrics_differ and a["gold_ranks"] == b["gold_ranks"]:
        return None
    refs = {**_refs_by_unit(a), **_refs_by_unit(b)}
    found_a = {u for u, r in a["gold_ranks"].items() if r is not None}
    found_b = {u for u, r in b["gold_ranks"].items() if r is not None}
    return QuestionChange(
        id=b["id"],
        question=b["question"],
        kind=b.get("kind", ""),
        metrics=deltas,
        gold_ranks_a=a["gold_ranks"],
        gold_ranks_b=b["gold_ranks"],
        found=sorted(refs.get(u, u) for u in found_b - found_a),
        lost=sorted(refs.get(u, u) for u in found_a - found_b),
    )


def compare_runs(dir_a: str | Path, dir_b: str | Path) -> CompareResult:
    """Compare two evaluation output directories (B relative to A)."""
    dir_a, dir_b = Path(dir_a), Path(dir_b)
    metrics_a, questions_a = _load(dir_a)
    metrics_b, questions_b = _load(dir_b)
    deltas = [MetricDelta(n, metrics_a["retrieval"].get(n), metrics_b["retrieval"].get(n)) for n in retrieval.MEASURES]
    deltas += [MetricDelta(label, (metrics_a.get(sec) or {}).get(key), (metrics_b.get(sec) or {}).get(key))
               for label, sec, key in _EXTRA]
    by_kind = {
        kind: [MetricDelta(n, metrics_a["by_kind"][kind].get(n), metrics_b["by_kind"][kind].get(n))
               for n in (*retrieval.MEASURES, *_KIND_EXTRA)]
        for kind in metrics_a["by_kind"] if kind in metrics_b["by_kind"]
    }
    changed = []
    for qid in questions_a:
        if qid in questions_b:
            change = _question_change(questions_a[qid], questions_b[qid])
            if change is not None:
                changed.append(change)
    # Biggest movements first (largest |Δ| of a shown metric, then id) so the list reads like a triage queue.
    def magnitude(c: QuestionChange) -> float:
        return max((abs(d.delta) for d in c.metrics if d.delta is not None), default=0.0)

    changed.sort(key=lambda c: (-magnitude(c), c.id))
    return CompareResult(
        dir_a=dir_a,
        dir_b=dir_b,
        config_a={**metrics_a.get("config", {}), "git_commit": metrics_a.get("git_commit", ""),
                  "pipeline": metrics_a.get("pipeline", {})},
        config_b={**metrics_b.get("config", {}), "git_commit": metrics_b.get("git_commit", ""),
                  "pipeline": metrics_b.get("pipeline", {})},
        metrics=deltas,
        by_kind=by_kind,
        changed=changed,
        only_in_a=sorted(set(questions_a) - set(questions_b)),
        only_in_b=sorted(set(questions_b) - set(questions_a)),
        by_issue=_by_issue(questions_a, questions_b),
        paired=paired_differences({q: row.get("metrics") or {} for q, row in questions_a.items()},
                                  {q: row.get("metrics") or {} for q, row in questions_b.items()}),
    )


def _by_issue(questions_a: dict[str, dict[str, Any]], questions_b: dict[str, dict[str, Any]]) -> dict[str, list[MetricDelta]]:
    """Does the issue map help, issue by issue: for each issue recognised in either run,
    the mean recall@10 and MRR@10 of its questions (those recognised with it) in A and in B
    — e.g. A = map off, B = map on."""
    members: dict[str, set[str]] = {}
    for questions in (questions_a, questions_b):
        for qid, row in questions.items():
            for issue_id in (row.get("understanding") or {}).get("issues", []):
                members.setdefault(issue_id, set()).add(qid)

    def mean(questions: dict[str, dict[str, Any]], ids: set[str], name: str) -> float | None:
        values = [(questions[q].get("metrics") or {}).get(name) for q in ids if q in questions]
        values = [v for v in values if v is not None]
        return sum(values) / len(values) if values else None

    shared = set(questions_a) & set(questions_b)
    return {
        issue_id: [MetricDelta(name, mean(questions_a, ids & shared, name), mean(questions_b, ids & shared, name))
                   for name in ("recall@10", "mrr@10")] + [MetricDelta("questions", len(ids & shared), len(ids & shared))]
        for issue_id, ids in sorted(members.items())
    }


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _signed(value: float | None) -> str:
    return "—" if value is None else f"{value:+.3f}"


def _ranks(ranks: dict[str, int | None]) -> str:
    return "[" + ", ".join("✗" if r is None else str(r) for r in ranks.values()) + "]"


def format_compare(result: CompareResult, max_questions: int = 50) -> str:
    """Text for the terminal: config differences, metric deltas, changed questions."""
    lines = [f"A: {result.dir_a}", f"B: {result.dir_b}"]
    for key in sorted(set(result.config_a) | set(result.config_b)):
        va, vb = result.config_a.get(key), result.config_b.get(key)
        if va != vb:
            lines.append(f"  {key}: {va!r} → {vb!r}")
    lines += ["", f"{'metric':<24}{'A':>10}{'B':>10}{'Δ':>10}"]
    for d in result.metrics:
        lines.append(f"{d.name:<24}{_num(d.a):>10}{_num(d.b):>10}{_signed(d.delta):>10}")
    for kind, deltas in result.by_kind.items():
        shown = [d for d in deltas if d.name in ("recall@10", "mrr@10", "ndcg@10", *_KIND_EXTRA)]
        lines.append(f"  [{kind}] " + "  ".join(f"{d.name} {_num(d.a)}→{_num(d.b)} ({_signed(d.delta)})" for d in shown))
    if result.paired:
        lines += ["", f"paired over {result.paired[0].questions} shared questions (B − A, 95 % bootstrap interval):"]
        lines += [f"  {d.text()}" for d in result.paired]
    lines += ["", f"changed questions: {len(result.changed)} "
                  f"({len(result.improved)} improved, {len(result.regressed)} regressed)"]
    for c in result.changed[:max_questions]:
        mark = {1: "+", -1: "-", 0: "~"}[c.direction]
        metrics = ", ".join(f"{d.name} {_num(d.a)}→{_num(d.b)}" for d in c.metrics) or "ranks only"
        lines.append(f" {mark} {c.id} [{c.kind or '-'}] {c.question[:60]}")
        lines.append(f"     {metrics}; gold ranks {_ranks(c.gold_ranks_a)} → {_ranks(c.gold_ranks_b)}")
        if c.found:
            lines.append(f"     found: {'; '.join(c.found)}")
        if c.lost:
            lines.append(f"     lost: {'; '.join(c.lost)}")
    if len(result.changed) > max_questions:
        lines.append(f" … {len(result.changed) - max_questions} more")
    if result.by_issue:
        lines += ["", "by issue (questions recognised with it; recall@10 and mrr@10 A → B):"]
        for issue_id, (recall, mrr, count) in result.by_issue.items():
            lines.append(f"  {issue_id} (n={count.b:.0f}): recall@10 {_num(recall.a)}→{_num(recall.b)} ({_signed(recall.delta)}), "
                         f"mrr@10 {_num(mrr.a)}→{_num(mrr.b)}")
    if result.only_in_a or result.only_in_b:
        lines.append(f"questions only in A: {len(result.only_in_a)}, only in B: {len(result.only_in_b)}")
    return "\n".join(lines)
