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
import re

from assistant.pipeline import Pipeline
from eval.questions import Question, load_questions

THRESHOLDS = (2.0, 3.0)  # 1.0 was better on the dev split but cost 4.7 points of STARD BM25 R@10 (see pipeline)
WEIGHTS = (0.25, 0.5, 1.0, 1.5)  # per text retriever (Pipeline.map_weight)


def half_of(question_id: str) -> str:
    """`even` / `odd` by the id's trailing number (`dl-012` → even); ids without one are odd."""
    match = re.search(r"(\d+)$", question_id)
    return "even" if match and int(match.group(1)) % 2 == 0 else "odd"


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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", nargs="+")
    parser.add_argument("--collection", default="default")
    parser.add_argument("--mode", default="hybrid", choices=("bm25", "dense", "hybrid"))
    args = parser.parse_args(argv)
    questions = [q for path in args.questions for q in load_questions(path)]
    halves = {half: [q for q in questions if half_of(q.id) == half] for half in ("even", "odd")}
    pipeline = Pipeline.open(args.collection)
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
