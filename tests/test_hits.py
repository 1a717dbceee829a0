"""Unit-level top-k from passage scores: the fast cut (`top_passages`) must give
exactly what the plain loop over every positive passage gives, ties included."""
from __future__ import annotations

import numpy as np
import pytest

from indexer.hits import RRF_C, fuse, reciprocal_rank_fusion, top_passages, unit_level_hits
from indexer.records import Hit, Passage


def make_passages(windows_per_unit: list[int]) -> list[Passage]:
    passages = []
    for u, windows in enumerate(windows_per_unit):
        for w in range(windows):
            passages.append(Passage(f"u{u:04d}#{w}", f"u{u:04d}", "d", "text", "", window=w, n_windows=windows))
    return passages


def reference_hits(scores: np.ndarray, passages: list[Passage], k: int) -> list[tuple[str, float, str]]:
    """The slow definition: best window per unit over all positive passages, sorted
    by (-score, unit id)."""
    best: dict[str, tuple[float, str]] = {}
    for i, p in enumerate(passages):
        s = float(scores[i])
        if s > 0 and (p.unit_id not in best or s > best[p.unit_id][0]):
            best[p.unit_id] = (s, p.passage_id)
    ranked = sorted(best.items(), key=lambda item: (-item[1][0], item[0]))[:k]
    return [(u, s, pid) for u, (s, pid) in ranked]


@pytest.mark.parametrize("seed", range(12))
def test_fast_unit_top_k_equals_reference(seed):
    rng = np.random.default_rng(seed)
    passages = make_passages(list(rng.integers(1, 6, size=800)))
    # Coarse scores (many ties) and many zeros, like BM25 on a common query word;
    # some seeds crowd the top with the windows of a few long units.
    scores = rng.integers(0, 8, size=len(passages)).astype(np.float32) * (rng.random(len(passages)) < 0.7)
    if seed % 3 == 0:
        scores[: 200] += 20
    for k in (1, 10, 50, 300):
        fast = [(h.unit_id, h.score, h.passage_id) for h in unit_level_hits(scores, passages, k, "bm25")]
        assert fast == reference_hits(scores, passages, k)


def test_top_passages_cuts_a_common_word_down():
    passages = make_passages([1] * 5000)
    scores = np.linspace(1.0, 2.0, 5000, dtype=np.float32)
    chosen = top_passages(scores, passages, 10)
    assert 10 <= len(chosen) <= 64 and set(chosen) == set(range(5000 - len(chosen), 5000))


def test_no_positive_score_gives_no_hits():
    passages = make_passages([2, 3])
    assert unit_level_hits(np.zeros(5, dtype=np.float32), passages, 3, "bm25") == []


def test_index_fusion_is_the_pipeline_fusion_with_its_constant():
    """`Index.search`'s fusion is `fuse` (the ask pipeline's) at the tuned c=10, with the
    unit's best-ranked window as its passage."""
    bm25 = [Hit("u1#0", "u1", "d", 9.0, 1, "bm25"), Hit("u2#1", "u2", "d", 8.0, 2, "bm25"), Hit("u3#0", "u3", "d", 7.0, 3, "bm25")]
    dense = [Hit("u2#0", "u2", "d", 0.9, 1, "dense"), Hit("u4#0", "u4", "d", 0.8, 2, "dense")]
    fused = reciprocal_rank_fusion([bm25, dense], k=3)
    assert RRF_C == 10
    assert [(h.unit_id, h.score) for h in fused] == fuse({"bm25": bm25, "dense": dense}, k=3)
    assert [h.unit_id for h in fused] == ["u2", "u1", "u4"] and [h.rank for h in fused] == [1, 2, 3]
    assert fused[0].passage_id == "u2#0" and fused[0].score == pytest.approx(1 / 11 + 1 / 12)
