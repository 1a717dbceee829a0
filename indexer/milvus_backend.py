"""Milvus backend: the same index (passages, BM25, vectors) kept in Milvus instead of FAISS/bm25s.

`fagui index --collection NAME --backend milvus [--milvus-uri URI]` builds it. Without a
URI the data lives in a Milvus Lite database under the index directory
(`<index dir>/milvus.db`, no server needed); with `--milvus-uri http://host:19530` the
same code writes to a Milvus standalone or distributed deployment.

Layout of an index directory with this backend:

    manifest.json   as for the default backend, plus `backend: "milvus"` and a `milvus`
                    entry (uri, Milvus collection, generation, index type, BM25 source);
                    replaced atomically (os.replace) — it is the switch between versions
    gen-<id>/       what Milvus does not hold, per version: documents.jsonl, user_dict.json,
                    terms.json (BM25 term ids and document frequencies), query.onnx
    cache/          the embedding cache (indexer.cache), shared by every version
    milvus.db/      the Milvus Lite database (only without --milvus-uri)

One Milvus row per passage: ids (passage, unit, document), the citation fields (law
title, article number, unit kind) and the document metadata filters run on (doc_type,
region, status, version_date) as scalar fields, the dense vector, and a sparse BM25
vector. The sparse vector holds, per term of our own segmentation (indexer.segment with
the legal dictionary), exactly the weight bm25s gives that term in that passage, and a
query vector counts its terms, so the inner product IS the default backend's BM25 score.
(Milvus's own BM25 function with its jieba analyzer, `milvus_bm25="milvus"`, was measured
against it on STARD and fell short; see README_milvus / the module's `BM25_SOURCES`.)

Safety: every build or update writes a NEW Milvus collection (`fagui_<name>_<id>`) and a
new `gen-<id>/`, then replaces manifest.json; only after that are the old collection and
generation dropped. A build that fails midway drops what it wrote and leaves the previous
version queryable. Updates re-embed nothing: vectors come from the embedding cache.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import numpy as np

from corpus.errors import UsageError
from corpus.records import Document
from indexer.bm25 import BM25Retriever
from indexer.cache import EmbeddingCache, text_key
from indexer.dense import HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH, HNSW_M, DenseRetriever, choose_faiss_kind
from indexer.hits import reciprocal_rank_fusion
from indexer.records import BuildReport, Hit, Passage
from indexer.segment import Segmenter, UserDictionary
from indexer.store import (
    DENSE_COMPLETE,
    DENSE_OFF,
    FORMAT_VERSION,
    IndexStoreError,
    _fsync_dir_tree,
    _query_model,
    _runnable,
    _write_jsonl,
    bm25_stage,
    collection_entry,
    dense_state,
    make_embedder,
    model_entry,
    query_embedder,
    stored_segmenter,
)

MILVUS_BACKEND = "milvus"
LITE_DIR = "milvus.db"  # Milvus Lite database under the index directory
GENERATION_PREFIX = "gen-"
TERMS_FILE = "terms.json"
#: Where the sparse BM25 vectors come from: our segmentation + bm25s weights (`own`, the
#: default, chosen by STARD Recall@10) or Milvus's BM25 function with its jieba analyzer.
BM25_SOURCES = ("own", "milvus")
#: FAISS kind (indexer.dense.choose_faiss_kind) → Milvus index type and build parameters.
#: The same graph settings as the default backend's FAISS HNSW (indexer.dense).
MILVUS_INDEX = {
    "flat": ("FLAT", {}),
    "hnsw": ("HNSW", {"M": HNSW_M, "efConstruction": HNSW_EF_CONSTRUCTION}),
}
MILVUS_SEARCH_PARAMS = {"FLAT": {}, "HNSW": {"ef": HNSW_EF_SEARCH}}
INSERT_BATCH = 1000
MAX_TOPK = 16384  # Milvus's largest search limit
MAX_TEXT = 65535  # Milvus VARCHAR limit (bytes); passage windows are far shorter
#: Scalar fields copied from the passage's document, so filters run inside Milvus.
DOCUMENT_FIELDS = ("doc_type", "region", "status", "version_date")


class MilvusUnavailableError(IndexStoreError):
    """pymilvus (and milvus-lite for a local file) are an optional extra."""


def _client_class():
    try:
        # the optional `milvus` extra: only for --backend milvus
        from pymilvus import MilvusClient
    except ImportError as exc:
        raise MilvusUnavailableError(
            "the milvus backend needs the optional extra: pip install -e '.[milvus]' (pymilvus, milvus-lite)"
        ) from exc
    return MilvusClient


_CLIENTS: dict[str, object] = {}
_CLIENTS_LOCK = threading.Lock()


def client_for(uri: str):
    """One MilvusClient per URI and process (a Milvus Lite file is served by one in-process
    server per path; gRPC clients are thread-safe, so `fagui serve` shares it)."""
    with _CLIENTS_LOCK:
        if uri not in _CLIENTS:
            client_class = _client_class()
            try:
                _CLIENTS[uri] = client_class(uri)
            except Exception as exc:  # noqa: BLE001 - pymilvus raises several kinds; all mean "cannot open"
                raise IndexStoreError(_open_failure(uri, exc)) from exc
        return _CLIENTS[uri]


def release(uri: str) -> None:
    """Close this process's client for `uri` and, for a Milvus Lite file, stop its in-process
    server, so another process can open the file (`fagui bench` runs `fagui serve` after
    measuring in its own process)."""
    with _CLIENTS_LOCK:
        client = _CLIENTS.pop(uri, None)
    if client is None:
        return
    client.close()
    if not _is_server_uri(uri):
        # the optional `milvus` extra: only for --backend milvus
        from milvus_lite.server_manager import server_manager_instance

        server_manager_instance.release_server(uri)


def _is_server_uri(uri: str) -> bool:
    return uri.startswith(("http://", "https://", "tcp://", "unix:", "grpc://"))


def _open_failure(uri: str, exc: Exception) -> str:
    """Why a Milvus URI could not be opened, and what to do."""
    if _is_server_uri(uri):
        return f"cannot connect to Milvus at {uri}: {exc}"
    return (f"{uri}: cannot open the Milvus Lite database ({exc}). Milvus Lite serves a file to one process "
            "at a time: stop the other fagui process using this collection (e.g. `fagui serve`), or run a Milvus "
            "server (`milvus-lite server --data-dir DIR`, or Milvus standalone) and index with --milvus-uri")


def resolve_uri(index_dir: Path, uri: str) -> str:
    """The URI to connect to: the given server URI, or the Milvus Lite database of this
    index directory (stored as "" in the manifest, so a moved FAGUI_HOME still works)."""
    return uri or str(Path(index_dir) / LITE_DIR)


def milvus_collection_name(collection: str, generation: str) -> str:
    """Milvus names allow letters, digits and '_' only; collection names may hold '-'."""
    return f"fagui_{re.sub(r'[^A-Za-z0-9_]', '_', collection)}_{generation}"


# ---------------------------------------------------------------- sparse BM25 (own segmentation)


@dataclass
class TermTable:
    """Term → (sparse dimension, document frequency) of one index version.

    The dimension is bm25s's vocabulary id, so a passage's sparse vector is its column of
    the bm25s score matrix; the frequencies serve question understanding (how typical a
    word is of the collection) as `BM25Retriever.document_frequency` does."""

    ids: dict[str, int]
    df: list[int]
    passages: int

    def document_frequency(self, token: str) -> int:
        index = self.ids.get(token)
        return 0 if index is None else self.df[index]

    def query_vector(self, tokens: Sequence[str]) -> dict[int, float]:
        """Known terms counted (a repeated query term counts again, as in bm25s)."""
        counts = Counter(self.ids[t] for t in tokens if t and t in self.ids)
        return {index: float(count) for index, count in counts.items()}

    def to_dict(self) -> dict:
        return {"ids": self.ids, "df": self.df, "passages": self.passages}

    @classmethod
    def from_dict(cls, data: dict) -> "TermTable":
        return cls(ids=dict(data["ids"]), df=list(data["df"]), passages=int(data["passages"]))


class PassageCount:
    """Stands for the passage list where only its length is read (the pipeline's
    vocabulary statistics); the passages themselves live in Milvus."""

    def __init__(self, count: int):
        self.count = count

    def __len__(self) -> int:
        return self.count


class SparseStats:
    """The `index.bm25` surface the pipeline reads: `document_frequency`, `passages`."""

    def __init__(self, terms: TermTable):
        self.terms = terms
        self.passages = PassageCount(terms.passages)

    def document_frequency(self, token: str) -> int:
        return self.terms.document_frequency(token)


def sparse_rows(bm25: BM25Retriever, n_passages: int) -> tuple[list[dict[int, float]], TermTable]:
    """Per passage the bm25s weights of its terms, plus the term table.

    bm25s precomputes each (term, passage) contribution in a CSC matrix (one column per
    term); transposed, row p is passage p's sparse vector, and Σ over the query's terms of
    row p is exactly bm25s's score of p."""
    # scipy only for Milvus's sparse BM25 field
    from scipy.sparse import csc_matrix

    model = bm25._bm25
    scores = model.scores
    columns = len(scores["indptr"]) - 1  # bm25s also lists "" in its vocabulary, without a column
    vocab = {token: index for token, index in model.vocab_dict.items() if token and index < columns}
    matrix = csc_matrix((scores["data"], scores["indices"], scores["indptr"]), shape=(n_passages, columns))
    rows = matrix.tocsr()
    out = [
        {int(j): float(v) for j, v in zip(rows.indices[rows.indptr[i]:rows.indptr[i + 1]],
                                          rows.data[rows.indptr[i]:rows.indptr[i + 1]]) if v > 0}
        for i in range(n_passages)
    ]
    df = np.diff(scores["indptr"]).astype(int).tolist()
    return out, TermTable(ids={str(t): int(i) for t, i in vocab.items()}, df=df, passages=n_passages)


# ---------------------------------------------------------------- schema


def make_schema(client, dim: int | None, bm25_source: str, dictionary: UserDictionary):
    """Passage rows: ids, citation fields, document metadata, dense and sparse vectors."""
    # the optional `milvus` extra: only for --backend milvus
    from pymilvus import DataType, Function, FunctionType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("passage_id", DataType.VARCHAR, is_primary=True, max_length=512)
    for name in ("unit_id", "doc_id"):
        schema.add_field(name, DataType.VARCHAR, max_length=512)
    schema.add_field("law", DataType.VARCHAR, max_length=1024)
    schema.add_field("article", DataType.VARCHAR, max_length=128)
    schema.add_field("kind", DataType.VARCHAR, max_length=64)
    for name in DOCUMENT_FIELDS:
        schema.add_field(name, DataType.VARCHAR, max_length=256)
    if bm25_source == "milvus":
        analyzer = {"tokenizer": {"type": "jieba", "mode": "search", "dict": ["_default_", *dictionary.words]}}
        schema.add_field("text", DataType.VARCHAR, max_length=MAX_TEXT, enable_analyzer=True, analyzer_params=analyzer)
        schema.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                                     input_field_names=["text"], output_field_names=["sparse"]))
    else:
        schema.add_field("text", DataType.VARCHAR, max_length=MAX_TEXT)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    if dim:
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    return schema


def make_index_params(client, dense_kind: str, bm25_source: str, has_vectors: bool):
    params = client.prepare_index_params()
    params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25" if bm25_source == "milvus" else "IP")
    if has_vectors:
        index_type, build = MILVUS_INDEX[dense_kind]
        params.add_index("vector", index_type=index_type, metric_type="IP", params=build)
    for name in ("doc_id", *DOCUMENT_FIELDS):
        params.add_index(name, index_type="INVERTED")
    return params


def passage_row(passage: Passage, doc, sparse: dict[int, float] | None, vector: np.ndarray | None) -> dict:
    row = {
        "passage_id": passage.passage_id,
        "unit_id": passage.unit_id,
        "doc_id": passage.doc_id,
        "law": passage.title or doc.title,
        "article": passage.number,
        "kind": passage.kind,
        "text": passage.indexed_text,
    }
    for name in DOCUMENT_FIELDS:
        row[name] = getattr(doc, name) or ""
    if sparse is not None:
        row["sparse"] = sparse
    if vector is not None:
        row["vector"] = vector.tolist()
    return row


# ---------------------------------------------------------------- filters


def _quote(value: str) -> str:
    """A Milvus string literal (backslash and double quote escaped)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _like_infix(value: str) -> str | None:
    """`"%value%"`, or None when `value` holds LIKE's own wildcards (Milvus Lite cannot
    escape them): that clause is then left to the pipeline's post-filter."""
    if "%" in value or "_" in value:
        return None
    return '"%' + value.replace("\\", "\\\\").replace('"', '\\"') + '%"'


def filter_expression(doc_type: Sequence[str] = (), region: str = "", status: Sequence[str] = (), title: str = "") -> str:
    """The Milvus boolean expression of the pipeline's Filters (same semantics as
    `Filters.admits`: doc_type/status one of, region/title contained); "" = no filter. A
    region/title holding `%` or `_` is not expressed (the pipeline's post-filter applies it)."""
    parts = []
    if doc_type:
        parts.append(f"doc_type in [{', '.join(_quote(t) for t in doc_type)}]")
    if region and _like_infix(region):
        parts.append(f"region like {_like_infix(region)}")
    if status:
        parts.append(f"status in [{', '.join(_quote(s) for s in status)}]")
    if title and _like_infix(title):
        parts.append(f"law like {_like_infix(title)}")
    return " and ".join(parts)


# ---------------------------------------------------------------- build


def _write_json_atomic(path: Path, data: dict) -> None:
    part = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    with open(part, "w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False, indent=2)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(part, path)


def _embed(passages: Sequence[Passage], index_dir: Path, embedder, report: BuildReport, progress: bool,
           on_progress=None) -> np.ndarray:
    """Vectors through the index's embedding cache (only new text goes through the model)."""
    cache = EmbeddingCache(index_dir / "cache")
    cache.load()
    dense = DenseRetriever(embedder)
    vectors = dense.embed_passages(passages, cache=cache, progress=progress, on_progress=on_progress)
    report.embedded, report.cached = dense.embedded, dense.cached
    return vectors


def _insert(client, name: str, passages: Sequence[Passage], by_doc: dict, sparse: list | None,
            vectors: np.ndarray | None, progress: bool) -> None:
    from corpus.progress import progress_bar  # tqdm costs ~0.2 s to import: only where a bar is drawn

    starts = range(0, len(passages), INSERT_BATCH)
    for start in progress_bar(starts, desc="milvus insert", unit="batch", disable=not progress):
        end = start + INSERT_BATCH
        rows = [
            passage_row(p, by_doc[p.doc_id], sparse[start + i] if sparse is not None else None,
                        vectors[start + i] if vectors is not None else None)
            for i, p in enumerate(passages[start:end])
        ]
        client.insert(name, rows)


def build(documents: Sequence, index_dir: Path, config, progress: bool, embedder, report: BuildReport,
          previous: dict | None) -> BuildReport:
    """Build a new version of the index in Milvus and switch the manifest to it.

    `previous` is the current manifest (or None); its Milvus collection and generation
    are dropped only after the switch. On any failure the new collection and generation
    are removed and the previous version stays as it was."""
    if config.milvus_bm25 not in BM25_SOURCES:
        raise UsageError(f"milvus_bm25 must be one of {', '.join(BM25_SOURCES)}, not {config.milvus_bm25!r}")
    timings = report.seconds
    started_all = time.perf_counter()
    index_dir.mkdir(parents=True, exist_ok=True)
    uri = resolve_uri(index_dir, config.milvus_uri)
    generation = f"{int(time.time())}_{secrets.token_hex(3)}"
    name = milvus_collection_name(index_dir.name, generation)
    gen_dir = index_dir / f"{GENERATION_PREFIX}{generation}"

    part = bm25_stage(documents, config, progress, timings)
    searched, passages, bm25 = part.searched, part.passages, part.bm25
    dictionary, segmenter = part.dictionary, part.segmenter
    by_doc = {d.doc_id: d for d in searched}
    start = time.perf_counter()
    if passages:
        sparse, terms = sparse_rows(bm25, len(passages))
    else:
        sparse, terms = [], TermTable(ids={}, df=[], passages=0)
    if config.milvus_bm25 == "milvus":
        sparse = None  # computed by Milvus's BM25 function from the text field
    timings["sparse"] = round(time.perf_counter() - start, 3)

    vectors = None
    model_info: dict = {}
    dense_kind = ""
    if config.dense:
        dense_kind = choose_faiss_kind(config.faiss_kind, len(passages), config.ann_threshold)
        if dense_kind not in MILVUS_INDEX:
            raise UsageError(f"the milvus backend builds {' or '.join(MILVUS_INDEX)} vector indexes, not {dense_kind!r}")
        if embedder is None:
            embedder = _runnable(make_embedder(config), config, report)
        start = time.perf_counter()
        vectors = _embed(passages, index_dir, embedder, report, progress)
        timings["embedding"] = round(time.perf_counter() - start, 3)

    # Connect only now: segmenting forks worker processes, which must not inherit gRPC threads.
    client = client_for(uri)
    gen_dir.mkdir()
    try:
        start = time.perf_counter()
        dim = int(vectors.shape[1]) if vectors is not None and len(vectors) else None
        schema = make_schema(client, dim, config.milvus_bm25, dictionary)
        client.create_collection(name, schema=schema)
        _insert(client, name, passages, by_doc, sparse, vectors, progress)
        client.flush(name)
        # Milvus Lite builds segment indexes at flush and lacks the timestamp call pymilvus
        # uses to wait for an index; a server is waited for.
        client.create_index(name, make_index_params(client, dense_kind or "flat", config.milvus_bm25, bool(dim)),
                            sync=_is_server_uri(uri))
        client.load_collection(name)
        timings["milvus"] = round(time.perf_counter() - start, 3)

        start = time.perf_counter()
        _write_jsonl(gen_dir / "documents.jsonl", (d.to_dict() for d in documents))
        (gen_dir / "user_dict.json").write_text(json.dumps(dictionary.to_dict(), ensure_ascii=False), encoding="utf-8")
        (gen_dir / TERMS_FILE).write_text(json.dumps(terms.to_dict(), ensure_ascii=False), encoding="utf-8")
        if config.dense:
            query_model = _query_model(gen_dir, gen_dir, embedder) if config.query_onnx else {}
            model_info = model_entry(embedder, dim, query_model)
        _fsync_dir_tree(gen_dir)
        index_type = MILVUS_INDEX[dense_kind][0] if dense_kind else ""
        manifest = {
            "format_version": FORMAT_VERSION,
            "backend": MILVUS_BACKEND,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "model": model_info,
            "segmentation": segmenter.fingerprint,
            "collection": collection_entry(documents, searched, passages),
            "faiss": {"kind": ""},
            "milvus": {"uri": config.milvus_uri, "collection": name, "generation": gen_dir.name,
                       "index_type": index_type, "bm25": config.milvus_bm25},
            "dense": {"state": DENSE_COMPLETE if dim else DENSE_OFF},
            "bm25": bm25.params,
            "config": config.to_dict(),
        }
        _write_json_atomic(index_dir / "manifest.json", manifest)
        timings["write"] = round(time.perf_counter() - start, 3)
    except BaseException:
        _drop_quietly(client, name)
        shutil.rmtree(gen_dir, ignore_errors=True)
        raise
    _drop_previous(client, index_dir, previous, keep=(name, gen_dir.name))
    if vectors is not None:
        EmbeddingCache(index_dir / "cache").load().compact(text_key(embedder.vector_key, p.indexed_text) for p in passages)
    report.documents = len(searched)
    report.units = manifest["collection"]["units"]
    report.passages = len(passages)
    report.faiss_kind = f"milvus {index_type}".strip() if index_type else "milvus"
    report.model = model_info.get("name", "")
    report.precision = model_info.get("precision", "")
    timings["total"] = round(time.perf_counter() - started_all, 3)
    return report


def _drop_quietly(client, name: str) -> None:
    try:
        if client.has_collection(name):
            client.drop_collection(name)
    except Exception:  # noqa: BLE001 - cleaning up after a failure must not hide it
        pass


def _drop_previous(client, index_dir: Path, previous: dict | None, keep: tuple[str, str]) -> None:
    """After the switch: drop the previous version's Milvus collection and generation, and
    leftovers of failed builds of this index (same name prefix, never the current one)."""
    name, generation = keep
    prefix = milvus_collection_name(index_dir.name, "")
    stale = set()
    if previous and (previous.get("milvus") or {}).get("collection"):
        stale.add(previous["milvus"]["collection"])
    try:
        stale.update(c for c in client.list_collections() if c.startswith(prefix))
    except Exception:  # noqa: BLE001 - a listing failure only leaves leftovers behind
        pass
    for old in stale - {name}:
        _drop_quietly(client, old)
    for path in index_dir.glob(f"{GENERATION_PREFIX}*"):
        if path.name != generation:
            shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------- load and search


class MilvusIndex:
    """A loaded Milvus-backed index with the surface of `indexer.store.Index`.

    `directory` is the current generation (documents.jsonl, query.onnx live there);
    `index_dir` the index directory itself. `scope(filters)` turns pipeline filters into
    a Milvus expression that every search method accepts as `where`."""

    def __init__(self, index_dir: Path, manifest: dict, segmenter: Segmenter, terms: TermTable, dense: DenseRetriever | None):
        self.index_dir = index_dir
        entry = manifest["milvus"]
        self.directory = index_dir / entry["generation"]
        self.manifest = manifest
        self.dense_state = dense_state(manifest)
        self.segmenter = segmenter
        self.terms = terms
        self.bm25 = SparseStats(terms)
        self.dense = dense
        self.collection = entry["collection"]
        self.bm25_source = entry.get("bm25", "own")
        self.index_type = entry.get("index_type", "")
        self.client = client_for(resolve_uri(index_dir, entry.get("uri", "")))

    def close(self) -> None:
        """Release the Milvus connection (and a Milvus Lite file, for other processes)."""
        release(resolve_uri(self.index_dir, self.manifest["milvus"].get("uri", "")))

    # -- records
    def passage(self, passage_id: str) -> Passage:
        rows = self.client.query(self.collection, filter=f"passage_id == {_quote(passage_id)}",
                                 output_fields=["passage_id", "unit_id", "doc_id", "text", "law", "article", "kind"])
        if not rows:
            raise KeyError(passage_id)
        row = rows[0]
        return Passage(passage_id=row["passage_id"], unit_id=row["unit_id"], doc_id=row["doc_id"], text=row["text"],
                       context="", title=row["law"], number=row["article"], kind=row["kind"])

    def documents(self) -> list:
        with open(self.directory / "documents.jsonl", encoding="utf-8") as handle:
            return [Document.from_dict(json.loads(line)) for line in handle if line.strip()]

    @staticmethod
    def scope(filters) -> str:
        """Milvus expression for a `Filters` (doc_type, region, status, title)."""
        return filter_expression(filters.doc_type, filters.region, filters.status, filters.title)

    # -- search
    def _search(self, data: list, field: str, k: int, retriever: str, where: str, params: dict) -> list[Hit]:
        """Unit-level hits (a unit's score is its best window's), exact like
        `indexer.hits.unit_level_hits`: over-fetch passages, keep each unit's first (best)
        row, fetch deeper while fewer than k units came back; ties by unit id. (Milvus's
        own group-by search gives the same ranking but took twice as long on Milvus Lite.)"""
        limit = min(MAX_TOPK, max(2 * k, k + 50))
        while True:
            results = self.client.search(self.collection, data=data, anns_field=field, limit=limit, filter=where or "",
                                         output_fields=["unit_id", "doc_id"], search_params=params)
            rows = results[0] if results else []
            best: dict[str, tuple[int, dict]] = {}
            first_of_score: dict[float, int] = {}
            for position, row in enumerate(rows):
                first_of_score.setdefault(float(row["distance"]), position)
                best.setdefault(row["entity"]["unit_id"], (first_of_score[float(row["distance"])], row))
            if len(best) >= k or len(rows) < limit or limit >= MAX_TOPK:
                break
            limit = min(MAX_TOPK, limit * 4)
        ranked = sorted(best.items(), key=lambda item: (item[1][0], item[0]))[:k]
        return [Hit(passage_id=str(row.get("passage_id", row.get("id"))), unit_id=unit_id, doc_id=row["entity"]["doc_id"],
                    score=float(row["distance"]), rank=rank, retriever=retriever)
                for rank, (unit_id, (_, row)) in enumerate(ranked, start=1)]

    def search_bm25(self, query: str, k: int = 10, where: str = "") -> list[Hit]:
        if self.bm25_source == "milvus":
            return self._search([query], "sparse", k, "bm25", where, {"metric_type": "BM25"})
        return self.search_bm25_tokens(self.segmenter.tokenize(query), k, where)

    def search_bm25_tokens(self, tokens: Sequence[str], k: int = 10, where: str = "") -> list[Hit]:
        """BM25 for a query segmented with `self.segmenter` (Milvus's analyzer segments the
        joined tokens itself when the index uses Milvus's BM25 function)."""
        if self.bm25_source == "milvus":
            text = " ".join(tokens)
            return self._search([text], "sparse", k, "bm25", where, {"metric_type": "BM25"}) if text.strip() else []
        vector = self.terms.query_vector(tokens)
        if not vector:
            return []
        return self._search([vector], "sparse", k, "bm25", where, {"metric_type": "IP"})

    def _dense_or_raise(self) -> DenseRetriever:
        if self.dense is None:
            raise IndexStoreError(f"{self.index_dir}: this index was built without dense vectors (BM25 only)")
        return self.dense

    def embed_query(self, query: str) -> np.ndarray:
        return self._dense_or_raise().embed_query(query)

    def search_dense(self, query: str, k: int = 10, where: str = "") -> list[Hit]:
        return self.search_dense_vector(self.embed_query(query), k, where)

    def search_dense_vector(self, query_vector: np.ndarray, k: int = 10, where: str = "") -> list[Hit]:
        self._dense_or_raise()
        params = {"metric_type": "IP", "params": MILVUS_SEARCH_PARAMS.get(self.index_type, {})}
        vector = np.asarray(query_vector, dtype=np.float32).reshape(-1).tolist()
        return self._search([vector], "vector", k, "dense", where, params)

    def search(self, query: str, k: int = 10, depth: int = 50) -> list[Hit]:
        """Hybrid: reciprocal rank fusion of BM25 and dense (BM25 alone without vectors)."""
        lists = [self.search_bm25(query, depth)]
        if self.dense is not None:
            lists.append(self.search_dense(query, depth))
        return reciprocal_rank_fusion(lists, k=k)


def load(index_dir: Path, manifest: dict, model_path: str | None = None, embedder=None) -> MilvusIndex:
    """Open a Milvus-backed index: the generation's dictionary and term table, the query
    embedder (checked against the manifest's model as for the default backend), and the
    Milvus collection (loaded for search)."""
    entry = manifest.get("milvus") or {}
    gen_dir = index_dir / entry.get("generation", "")
    if not entry.get("collection") or not gen_dir.is_dir():
        raise IndexStoreError(f"{index_dir}: the milvus manifest names no collection or its generation "
                              f"{entry.get('generation')!r} is missing; rebuild with `fagui index --backend milvus`")
    segmenter = stored_segmenter(index_dir, gen_dir / "user_dict.json", manifest)
    terms = TermTable.from_dict(json.loads((gen_dir / TERMS_FILE).read_text(encoding="utf-8")))
    dense = None
    if dense_state(manifest) == DENSE_COMPLETE:
        dense = DenseRetriever(query_embedder(manifest, index_dir, gen_dir, model_path, embedder))
    index = MilvusIndex(index_dir, manifest, segmenter, terms, dense)
    if not index.client.has_collection(index.collection):
        raise IndexStoreError(f"{index_dir}: Milvus collection {index.collection!r} is missing at "
                              f"{resolve_uri(index_dir, entry.get('uri', ''))}; rebuild with `fagui index --backend milvus`")
    index.client.load_collection(index.collection)
    return index
