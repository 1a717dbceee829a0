"""Dense retrieval: normalised sentence embeddings in a FAISS inner-product index.

Vectors are L2-normalised, so inner product = cosine. `faiss_kind`:

* `flat` — IndexFlatIP, exact; the default.
* `hnsw` — IndexHNSWFlat (inner product), approximate, sub-linear queries.
* `auto` — flat up to `ANN_THRESHOLD` vectors, HNSW above.

`ANN_THRESHOLD` is measured, not guessed: `python -m eval.speed --faiss` times
exact single-query search on this 2-core machine for growing numbers of real m3e
vectors and picks the largest size whose latency stays under 20 ms (see eval/reports/SPEED.md).
Below that size an exact search is fast enough that approximation buys nothing.

Embeddings go through the `EmbeddingCache`: only texts whose key is missing are
sent to the model, and they are written to the cache in chunks as they are produced.
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Sequence

import numpy as np

from corpus.errors import UsageError
from indexer.cache import EmbeddingCache, text_key
from indexer.hits import unit_level_hits
from indexer.records import Hit, Passage

FAISS_KINDS = ("auto", "flat", "hnsw")
#: Largest collection searched exactly under `auto` (measured, see module docstring).
ANN_THRESHOLD = 100_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128
#: Flush new vectors to the cache at least every this many passages.
CACHE_FLUSH_EVERY = 256


@contextmanager
def single_threaded_faiss():
    """One FAISS thread for one query: on this 2-core machine a multi-threaded search
    of a single vector is several times slower (thread start-up and contention with
    torch's OpenMP pool), measured by `python -m eval.speed --faiss`."""
    # faiss takes ~0.7 s to import: only where vectors are built or searched
    import faiss

    previous = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(previous)


def choose_faiss_kind(kind: str, n_vectors: int, threshold: int = ANN_THRESHOLD) -> str:
    if kind not in FAISS_KINDS:
        raise UsageError(f"unknown faiss index kind {kind!r}; choose one of {', '.join(FAISS_KINDS)}")
    if kind == "auto":
        return "hnsw" if n_vectors > threshold else "flat"
    return kind


def build_faiss_index(vectors: np.ndarray, kind: str, progress: bool = False):
    """A FAISS index over `vectors` (already normalised), added in chunks with a bar."""
    # faiss takes ~0.7 s to import: only where vectors are built or searched
    import faiss

    from corpus.progress import progress_bar  # tqdm costs ~0.2 s to import: only where a bar is drawn

    dim = vectors.shape[1]
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    else:
        raise ValueError(f"unknown faiss index kind {kind!r}")
    step = 4096
    with progress_bar(total=len(vectors), desc=f"faiss ({kind})", unit="vector", disable=not progress) as bar:
        for start in range(0, len(vectors), step):
            chunk = np.ascontiguousarray(vectors[start : start + step], dtype=np.float32)
            index.add(chunk)
            bar.update(len(chunk))
    return index


class DenseRetriever:
    """`index(passages)` then `search(query, k) -> list[Hit]` (unit-level, best window).

    `embedder` needs `vector_key`, `iter_encode(texts, progress)` and `encode_query`;
    it is used at search time only to embed the query.
    """

    name = "dense"

    def __init__(self, embedder, faiss_kind: str = "auto", ann_threshold: int = ANN_THRESHOLD):
        self.embedder = embedder
        self.faiss_kind = faiss_kind
        self.ann_threshold = ann_threshold
        self.passages: list[Passage] = []
        self.index_kind = ""
        self._faiss = None
        self.embedded = 0
        self.cached = 0

    def embed_passages(self, passages: Sequence[Passage], cache: EmbeddingCache | None = None, progress: bool = False,
                       on_progress=None) -> np.ndarray:
        """Vectors for the passages, embedding only texts the cache does not have.

        Sets `embedded` / `cached` (counted in passages). New vectors are appended to
        the cache every CACHE_FLUSH_EVERY passages, so an interrupted run resumes.
        `on_progress(done, total)` (passages with a vector so far) is called after the
        cache lookup and after every batch; if it raises, what was embedded is flushed
        to the cache first (a cancelled background build loses no work).
        """
        vector_key = self.embedder.vector_key
        keys = [text_key(vector_key, p.indexed_text) for p in passages]
        missing: dict[bytes, str] = {}
        for key, passage in zip(keys, passages):
            if (cache is None or cache.get(key) is None) and key not in missing:
                missing[key] = passage.indexed_text
        missing_keys = list(missing)
        texts = list(missing.values())
        fresh: dict[bytes, np.ndarray] = {}
        pending_keys: list[bytes] = []
        pending_vectors: list[np.ndarray] = []

        def flush() -> None:
            if pending_keys and cache is not None:
                cache.append(pending_keys, np.stack(pending_vectors))
            pending_keys.clear()
            pending_vectors.clear()

        # Passages whose text is missing, per distinct text (repeated texts count each time).
        missing_passages: dict[bytes, int] = {}
        for key in keys:
            if key in missing:
                missing_passages[key] = missing_passages.get(key, 0) + 1
        done = len(keys) - sum(missing_passages.values())
        try:
            if on_progress is not None:
                on_progress(done, len(keys))
            for batch, vectors in self.embedder.iter_encode(texts, progress=progress):
                for index, vector in zip(batch, vectors):
                    fresh[missing_keys[index]] = vector
                    pending_keys.append(missing_keys[index])
                    pending_vectors.append(vector)
                    done += missing_passages[missing_keys[index]]
                if len(pending_keys) >= CACHE_FLUSH_EVERY:
                    flush()
                if on_progress is not None:
                    on_progress(done, len(keys))
        finally:
            flush()
        self.embedded = sum(1 for key in keys if key in fresh)
        self.cached = len(keys) - self.embedded
        if not passages:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([fresh[key] if key in fresh else cache.get(key) for key in keys]).astype(np.float32, copy=False)

    def index(self, passages: Sequence[Passage], cache: EmbeddingCache | None = None, progress: bool = False) -> None:
        vectors = self.embed_passages(passages, cache=cache, progress=progress)
        self.index_vectors(passages, vectors, progress=progress)

    def index_vectors(self, passages: Sequence[Passage], vectors: np.ndarray, progress: bool = False) -> None:
        """Build the FAISS index from precomputed vectors (row i = passage i)."""
        if len(vectors) != len(passages):
            raise ValueError(f"{len(vectors)} vectors for {len(passages)} passages")
        self.passages = list(passages)
        self.index_kind = choose_faiss_kind(self.faiss_kind, len(vectors), self.ann_threshold)
        self._faiss = build_faiss_index(vectors, self.index_kind, progress=progress) if len(vectors) else None

    def search(self, query: str, k: int = 10) -> list[Hit]:
        if not self.passages or self._faiss is None:
            return []
        return self.search_vector(self.embed_query(query), k)

    def embed_query(self, query: str) -> np.ndarray:
        """The query's normalised vector, shape (1, dim) (loads the model on first use)."""
        return np.asarray(self.embedder.encode_query(query), dtype=np.float32).reshape(1, -1)

    def search_vector(self, query_vector: np.ndarray, k: int = 10) -> list[Hit]:
        """Search with an already-embedded (normalised) query vector."""
        if not self.passages or self._faiss is None:
            return []
        # Several windows of one unit can fill the top; over-fetch, then collapse.
        depth = min(len(self.passages), max(4 * k, k + 50))
        with single_threaded_faiss():
            scores, indices = self._faiss.search(np.ascontiguousarray(query_vector, dtype=np.float32).reshape(1, -1), depth)
        fetched = indices[0][indices[0] >= 0]
        dense_scores = np.zeros(len(self.passages), dtype=np.float32)
        dense_scores[fetched] = scores[0][: len(fetched)]
        return unit_level_hits(dense_scores, self.passages, k, self.name, candidates=fetched)

    def save(self, path: Path) -> None:
        # faiss takes ~0.7 s to import: only where vectors are built or searched
        import faiss

        if self._faiss is not None:
            faiss.write_index(self._faiss, str(path))

    def load(self, path: Path, passages: Sequence[Passage], index_kind: str) -> None:
        """Read faiss.index for these passages (same order as saved); embeds nothing."""
        # faiss takes ~0.7 s to import: only where vectors are built or searched
        import faiss

        self.passages = list(passages)
        self.index_kind = index_kind
        self._faiss = faiss.read_index(str(path)) if self.passages else None
        if self._faiss is not None and self._faiss.ntotal != len(self.passages):
            raise ValueError(f"{path}: FAISS index holds {self._faiss.ntotal} vectors but the index has {len(self.passages)} passages")
        if self._faiss is not None and index_kind == "hnsw":
            faiss.downcast_index(self._faiss).hnsw.efSearch = HNSW_EF_SEARCH

