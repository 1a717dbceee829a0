"""Grid search of the hybrid fusion settings on annotated questions, split in halves.

Runs BM25 and dense retrieval once per question through the real pipeline's index, then
scores reciprocal-rank fusion for every (dense weight, c, depth) on the even- and the
odd-numbered questions separately, so a setting chosen on one half is checked on the
other. Usage (needs a built index):

    python -m eval.tune_fusion ../shared/eval/stard/stard_train.jsonl --collection national
"""
from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

from assistant.pipeline import Pipeline
from indexer.hits import fuse


def recall_at_10(runs, weight: float, c: int, depth: int, half: int) -> float:
    """Mean share of gold units in the fused top 10, over questions with index % 2 == half."""
    total, count = 0.0, 0
    for i, (gold, bm25, dense) in enumerate(runs):
        if i % 2 != half:
            continue
        top = {u for u, _ in fuse({"bm25": bm25[:depth], "dense": dense[:depth]}, k=10, c=c, weights={"dense": weight})}
        total += len(gold & top) / len(gold)
        count += 1
    return total / max(count, 1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions")
    parser.add_argument("--collection", default="national")
    args = parser.parse_args(argv)
    pipeline = Pipeline.open(args.collection)
    runs = []
    for line in Path(args.questions).read_text(encoding="utf-8").splitlines():
        question = json.loads(line)
        gold = {pipeline.resolve(g["law"], g["article"]) for g in question["gold"]} - {None}
        if gold:
            runs.append((gold, pipeline.index.search_bm25(question["question"], 200),
                         pipeline.index.search_dense(question["question"], 200)))
    print("dense_weight c depth recall@10(even) recall@10(odd)")
    for weight, c, depth in itertools.product([0.7, 1.0, 1.3, 1.6, 2.0], [10, 30, 60], [50, 100, 200]):
        print(weight, c, depth, round(recall_at_10(runs, weight, c, depth, 0), 4), round(recall_at_10(runs, weight, c, depth, 1), 4))


if __name__ == "__main__":
    main()
