"""Passage scores → unit-level hits, and rank fusion of several hit lists.

Every retriever scores passages (windows); users cite units. A unit's score is the
best score of its windows. Ties are broken by unit id so rankings are deterministic.
Fusion lives here as a separate small function (reciprocal rank fusion) so retrievers
stay independent of each other; this module is the one owner of fusion and of its
constant `RRF_C` (the pipeline imports both).
"""
from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import numpy as np

from indexer.records import Hit, Passage


def unit_level_hits(
    scores: np.ndarray, passages: Sequence[Passage], k: int, retriever: str, candidates: Iterable[int] | None = None
) -> list[Hit]:
    """Top-k units by their best window. `candidates` limits which passage indices
    count (default: those with a positive score, i.e. BM25 matches).

    A common query word matches most of a large collection, so the positive-score
    passages are first cut to the best ones (`top_passages`): exact, and it keeps the
    Python loop over a few hundred passages instead of tens of thousands."""
    indices = top_passages(scores, passages, k) if candidates is None else candidates
    best: dict[str, tuple[float, int]] = {}
    for index in indices:
        score, unit_id = float(scores[index]), passages[index].unit_id
        if unit_id not in best or score > best[unit_id][0]:
            best[unit_id] = (score, int(index))
    ranked = sorted(best.items(), key=lambda item: (-item[1][0], item[0]))[:k]
    return [
        Hit(
            passage_id=passages[index].passage_id,
            unit_id=unit_id,
            doc_id=passages[index].doc_id,
            score=score,
            rank=rank,
            retriever=retriever,
        )
        for rank, (unit_id, (score, index)) in enumerate(ranked, start=1)
    ]


def top_passages(scores: np.ndarray, passages: Sequence[Passage], k: int) -> np.ndarray:
    """Indices of the positive-score passages that can hold the top-k units.

    Take every passage scoring at least the m-th best score (ties included, so the
    unit-id tie-break stays exact). If those span at least k units, no unit outside
    can beat them: its best window scores no more than the threshold. Otherwise m
    doubles until they do or every positive passage is in."""
    positive = np.flatnonzero(scores > 0)
    m = max(4 * k, 64)
    while m < len(positive):
        threshold = np.partition(scores[positive], len(positive) - m)[len(positive) - m]
        chosen = positive[scores[positive] >= threshold]
        if len({passages[i].unit_id for i in chosen}) >= k:
            return chosen
        m *= 2
    return positive


#: The reciprocal-rank-fusion constant of every fusion in fagui (the one owner: the ask
#: pipeline, query rewrites and `Index.search` all fuse with `fuse` below). Tuned on STARD
#: (../shared/eval/stard, `python -m eval.tune_fusion`): over c ∈ {10, 30, 60}, dense weight
#: ∈ {0.7 … 2.0} and depth ∈ {50, 100, 200}, c=10 with equal weights and depth 100 was best
#: on the even-numbered questions (R@10 0.513 vs 0.500 at c=60) and confirmed on the odd
#: ones (0.533 vs 0.516).
RRF_C = 10


def fuse(rankings: Mapping[str, Sequence[Hit]], k: int, c: int = RRF_C,
         weights: Mapping[str, float] | None = None) -> list[tuple[str, float]]:
    """Weighted reciprocal-rank fusion of unit rankings: Σ w / (c + rank) (Cormack et al. 2009).

    Takes `{retriever: [Hit…]}` and returns `[(unit_id, fused score)]`, best first, ties
    by unit id — deterministic, and needs no calibration between BM25 and cosine scores.
    A retriever missing from `weights` weighs 1.
    """
    weights = weights or {}
    scores: dict[str, float] = {}
    for name, hits in rankings.items():
        weight = weights.get(name, 1.0)
        for hit in hits:
            scores[hit.unit_id] = scores.get(hit.unit_id, 0.0) + weight / (c + hit.rank)
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:k]


def reciprocal_rank_fusion(hit_lists: Sequence[Sequence[Hit]], k: int = 10, c: int = RRF_C, name: str = "rrf") -> list[Hit]:
    """`fuse` with equal weights, as `Hit`s: the best-ranked window represents the unit."""
    representative: dict[str, Hit] = {}
    for hits in hit_lists:
        for hit in hits:
            if hit.unit_id not in representative or hit.rank < representative[hit.unit_id].rank:
                representative[hit.unit_id] = hit
    ranked = fuse({str(i): hits for i, hits in enumerate(hit_lists)}, k=k, c=c)
    return [
        Hit(representative[u].passage_id, u, representative[u].doc_id, score, rank, name)
        for rank, (u, score) in enumerate(ranked, start=1)
    ]
