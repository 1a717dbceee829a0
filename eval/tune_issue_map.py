"""Choose the issue map's recognition threshold and fusion weight on a split of the dev sets.

The questions with an even numeric id suffix (dg-004, dl-012 …) choose the setting;
the odd ones are only reported, as held-out. Every setting is run through the real
`Pipeline.ask` (the map joins the fusion exactly as in the product). Usage (needs a
built index):

    python -m eval.tune_issue_map ../shared/eval/domain/domain_dev.jsonl \
        ../shared/eval/domain/domain_lay_dev.jsonl --collection default
"""
from __future__ import annotations

import argparse
import itertools

from assistant.pipeline import Pipeline
from assistant.protocol import DEFAULT_MODE, MODES
from eval.questions import Question, load_questions
from eval.splits import half_of

THRESHOLDS = (2.0, 3.0)  # 1.0 was better on the dev split but cost 4.7 points of STARD BM25 R@10 (see pipeline)
WEIGHTS = (0.25, 0.5, 1.0, 1.5)  # per text retriever (Pipeline.map_weight)


def scores(pipeline: Pipeline, questions: list[Question], mode: str = "hybrid") -> dict[str, float]:
    """Mean recall@10 and MRR@10 over the questions with resolved gold."""
    recall, rr, n = 0.0, 0.0, 0
    for question in questions:
        gold = {pipeline.resolve(g.law, g.article) for g in question.gold} - {None}
        if not gold:
            continue
        ranked = [h.unit_id for h in pipeline.ask(question.question, mode=mode, k=10).hits if h.origin in ("search", "lookup")][:10]
        recall += len(gold & set(ranked)) / len(gold)
        rr += next((1 / i for i, unit in enumerate(ranked, start=1) if unit in gold), 0.0)
        n += 1
    return {"recall@10": recall / max(n, 1), "mrr@10": rr / max(n, 1), "n": n}


#: Why a gold article is missed (not in the top 10), in the order they are tested.
MISS_KINDS = ("unresolved", "no_issue", "cue_gap", "map_gap", "below_10")


def miss_kind(pipeline: Pipeline, unit_id: str | None, answer, recognised: set[str]) -> str:
    """Why one gold article is not among the top 10 (see `MISS_KINDS`):

    `unresolved` — not in the index; `no_issue` — the question recognised no issue;
    `cue_gap` — an issue of the map names it but that issue was not recognised;
    `map_gap` — issues were recognised but no issue of the map names it;
    `below_10` — a recognised issue names it, the fusion ranked it below 10."""
    if unit_id is None:
        return "unresolved"
    in_recognised = any(pipeline.resolve(p.law, p.article) == unit_id
                        for issue in answer.understanding.issues for p in issue.provisions)
    if in_recognised:
        return "below_10"
    if not recognised:
        return "no_issue"
    in_map = any(pipeline.resolve(p.law, p.article) == unit_id
                 for issue in pipeline.issue_map.issues for p in issue.provisions)
    return "cue_gap" if in_map else "map_gap"


def misses(pipeline: Pipeline, questions: list[Question], mode: str = "hybrid") -> dict[str, int]:
    """Count the missed gold articles of `questions` by `MISS_KINDS`; print one line per miss."""
    counts = dict.fromkeys(("gold", "found", *MISS_KINDS), 0)
    for question in questions:
        answer = pipeline.ask(question.question, mode=mode, k=10)
        ranked = [h.unit_id for h in answer.hits if h.origin in ("search", "lookup")][:10]
        recognised = {issue.issue_id for issue in (answer.understanding.issues if answer.understanding else [])}
        for gold in question.gold:
            unit_id = pipeline.resolve(gold.law, gold.article)
            counts["gold"] += 1
            if unit_id is not None and unit_id in ranked:
                counts["found"] += 1
                continue
            kind = miss_kind(pipeline, unit_id, answer, recognised) if answer.understanding else "no_issue"
            counts[kind] += 1
            print(f"{question.id}\t{question.kind}\t{kind}\t{gold.law}{gold.article}\t{','.join(sorted(recognised))}")
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", nargs="+")
    parser.add_argument("--collection", default="default")
    parser.add_argument("--mode", default=DEFAULT_MODE, choices=MODES)
    parser.add_argument("--misses", choices=("even", "odd"),
                        help="only list why each gold article of that half is missed (no tuning)")
    args = parser.parse_args(argv)
    questions = [q for path in args.questions for q in load_questions(path)]
    halves = {half: [q for q in questions if half_of(q.id) == half] for half in ("even", "odd")}
    pipeline = Pipeline.open(args.collection)
    if args.misses:
        print(misses(pipeline, halves[args.misses], args.mode))
        return
    pipeline.use_issue_map = False
    off = {half: scores(pipeline, qs, args.mode) for half, qs in halves.items()}
    print(f"map off: even {off['even']}  odd {off['odd']}")
    pipeline.use_issue_map = True
    pipeline._issue_map = None  # reload with the map switched on
    print("threshold weight | even R@10 MRR@10 | odd R@10 MRR@10")
    for threshold, weight in itertools.product(THRESHOLDS, WEIGHTS):
        pipeline.issue_threshold, pipeline.map_weight = threshold, weight
        even, odd = scores(pipeline, halves["even"], args.mode), scores(pipeline, halves["odd"], args.mode)
        print(f"{threshold} {weight} | {even['recall@10']:.3f} {even['mrr@10']:.3f} | "
              f"{odd['recall@10']:.3f} {odd['mrr@10']:.3f}")


if __name__ == "__main__":
    main()
