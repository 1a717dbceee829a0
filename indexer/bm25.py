"""Sparse retrieval: BM25 over jieba tokens, computed by bm25s (scipy sparse, no loops).

Variant: bm25s `lucene` (the default, also Elasticsearch's):
idf(t) = ln(1 + (N - df + 0.5) / (df + 0.5)),
tf part = tf / (tf + k1 · (1 - b + b · |d| / avgdl)), k1 = 1.5, b = 0.75,
summed over the query tokens (a repeated query token counts again). tests/test_bm25.py
checks this against a slow pure-Python implementation of the same formula.

On disk bm25s writes .npy arrays with allow_pickle=False plus JSON vocabulary and
parameters; we load with allow_pickle=False as well, so nothing is unpickled.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from indexer.hits import unit_level_hits
from indexer.records import Hit, Passage
from indexer.segment import Segmenter


class BM25Retriever:
    """`index(passages)` then `search(query, k) -> list[Hit]` (unit-level, best window)."""

    name = "bm25"

    def __init__(self, segmenter: Segmenter, k1: float = 1.5, b: float = 0.75, method: str = "lucene"):
        self.segmenter = segmenter
        self.k1, self.b, self.method = k1, b, method
        self.passages: list[Passage] = []
        self._bm25 = None

    @property
    def params(self) -> dict:
        return {"k1": self.k1, "b": self.b, "method": self.method}

    def index(self, passages: Sequence[Passage], progress: bool = False, tokens: list[list[str]] | None = None) -> None:
        """Tokenise the passages' indexed text (context + window) and build the matrix.

        `tokens` may be given when the caller already tokenised the same passages.
        """
        # bm25s (scipy) takes ~0.4 s to import: only when a BM25 index is built or loaded
        import bm25s

        self.passages = list(passages)
        if tokens is None:
            tokens = self.segmenter.tokenize_many((p.indexed_text for p in self.passages), progress=progress)
        if len(tokens) != len(self.passages):
            raise ValueError(f"{len(tokens)} token lists for {len(self.passages)} passages")
        model = bm25s.BM25(k1=self.k1, b=self.b, method=self.method)
        if self.passages:
            model.index(tokens, show_progress=progress)
        self._bm25 = model

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every passage for `query` (zeros when no query token is known)."""
        return self.scores_for_tokens(self.segmenter.tokenize(query))

    def scores_for_tokens(self, tokens: Sequence[str]) -> np.ndarray:
        """BM25 score of every passage for an already segmented query (the pipeline
        times segmentation and scoring separately)."""
        if self._bm25 is None:
            raise RuntimeError("BM25Retriever.search called before index() or load()")
        if not self.passages:
            return np.zeros(0, dtype=np.float32)
        known = [t for t in tokens if t and t in self._bm25.vocab_dict]
        if not known:
            return np.zeros(len(self.passages), dtype=np.float32)
        return np.asarray(self._bm25.get_scores(known), dtype=np.float32)

    def document_frequency(self, token: str) -> int:
        """How many passages contain `token` (0 when unknown): with `len(self.passages)`
        this tells how typical a word is of the collection (question understanding)."""
        if self._bm25 is None:
            return 0
        token_id = self._bm25.vocab_dict.get(token)
        if token_id is None:
            return 0
        indptr = self._bm25.scores["indptr"]
        return int(indptr[token_id + 1] - indptr[token_id])

    def search(self, query: str, k: int = 10) -> list[Hit]:
        return self.search_tokens(self.segmenter.tokenize(query), k)

    def search_tokens(self, tokens: Sequence[str], k: int = 10) -> list[Hit]:
        return unit_level_hits(self.scores_for_tokens(tokens), self.passages, k, self.name)

    def save(self, directory: Path) -> None:
        """bm25s arrays (.npy, allow_pickle=False) + JSON vocab/params into `directory`."""
        directory.mkdir(parents=True, exist_ok=True)
        if self._bm25 is not None and self.passages:
            self._bm25.save(str(directory), allow_pickle=False)

    def load(self, directory: Path, passages: Sequence[Passage]) -> None:
        """Load saved arrays for these passages (same order as when saved); no tokenising."""
        # bm25s (scipy) takes ~0.4 s to import: only when a BM25 index is built or loaded
        import bm25s

        self.passages = list(passages)
        if not self.passages:
            self._bm25 = bm25s.BM25(k1=self.k1, b=self.b, method=self.method)
            return
        self._bm25 = bm25s.BM25.load(str(directory), load_corpus=False, allow_pickle=False)
        num_docs = self._bm25.scores.get("num_docs")
        if num_docs != len(self.passages):
            raise ValueError(f"{directory}: BM25 arrays cover {num_docs} passages but the index has {len(self.passages)}")
