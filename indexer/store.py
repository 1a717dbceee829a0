"""Index directories: build, update, load — atomically and without re-embedding.

An index is a directory:

    manifest.json     format_version, model (name, weights sha256, precision, window,
                      dim), segmentation settings + dictionary hash, collection hash,
                      FAISS kind, BM25 parameters, created time, config
    passages.jsonl    one Passage per line, in index order
    documents.jsonl   the indexed collection (Document.to_dict), so updates can rebuild
    user_dict.json    the segmentation dictionary (queries use exactly this one)
    bm25/             bm25s arrays (.npy, allow_pickle=False) + JSON vocab/params
    faiss.index       FAISS index, row i = passage i
    cache/            embedding cache chunks (see indexer.cache)

Safety. A build writes into a sibling `.<name>.build-<id>/`, marks it COMPLETE and
swaps it in with two renames (current → `.<name>.old-<id>`, build → current). If the
process dies between the renames, the next `load_index`/`build_index` finishes the
swap (or restores the old index), so readers always find a complete index. A killed
build leaves its build directory behind; the next build adopts its cache chunks
(resuming the embedding work) and then removes it.

Incremental. Vectors are cached by sha256(model vector key + embedded text). A
rebuild or `update_index` re-embeds only passages whose text is new; tokenising and
the FAISS/BM25 structures are rebuilt (seconds, not minutes).

BM25 first. Embedding is the slow part of a build (minutes for a large collection),
BM25 takes seconds. `build_index(..., vectors_later=True)` therefore writes and swaps
in a complete BM25-only index whose manifest says `dense.state = "pending"`, and
`add_vectors` later embeds it (through the cache, so text embedded before — also by a
killed run — is free) and swaps in the same index with vectors (`"complete"`). Both
steps are ordinary atomic builds; a reader of a pending index searches BM25 only.
"""
from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

import orjson

from corpus.config import model_override, query_backend
from corpus.errors import UsageError
from corpus.hashing import file_sha256
from corpus.records import Document
from indexer.bm25 import BM25Retriever
from indexer.cache import EmbeddingCache, text_key
from indexer.dense import ANN_THRESHOLD, DenseRetriever
from indexer.embedder import Embedder, resolve_precision
from indexer.hits import reciprocal_rank_fusion
from indexer.onnx_query import OnnxQueryEmbedder, QUERY_MODEL_FILE
from indexer.openvino_embedder import OpenVINOEmbedder, OpenVINOUnavailableError
from indexer.passages import WindowSettings, make_passages
from indexer.records import BuildReport, Hit, Passage
from indexer.segment import Segmenter, SegmenterSettings, UserDictionary, build_user_dictionary

if TYPE_CHECKING:  # annotations only: numpy is loaded by the retrievers that use it
    import numpy as np

FORMAT_VERSION = 2
#: Versions `read_manifest` accepts. Version 1 had no `dense` entry: its vectors are
#: complete when it names a model and off otherwise (see `dense_state`).
READABLE_VERSIONS = (1, 2)
COMPLETE_MARKER = "COMPLETE"
#: `manifest["dense"]["state"]`: vectors not wanted (`--bm25-only`), wanted but not
#: embedded yet (BM25-first build), or embedded and searchable.
DENSE_OFF, DENSE_PENDING, DENSE_COMPLETE = "off", "pending", "complete"
#: Index backends (`manifest["backend"]`, `IndexConfig.backend`); manifests without the
#: entry are the default backend's.
BACKENDS = ("faiss", "milvus")
DEFAULT_BACKEND = "faiss"
#: Files of an index that do not depend on its vectors (`add_vectors` links them over).
BM25_PART = ("bm25", "passages.jsonl", "documents.jsonl", "user_dict.json")


class IndexStoreError(Exception):
    """Base for index problems; the message names the directory and what to do."""


class IndexNotFoundError(IndexStoreError, FileNotFoundError):
    pass


class IndexFormatError(IndexStoreError):
    """The directory was written by another format version."""


class IndexMismatchError(IndexStoreError):
    """The index was built with another model or another segmentation."""


@dataclass
class IndexConfig:
    """Build settings; stored in the manifest so updates reuse them.

    `model_path` None means FAGUI_MODEL or the packaged m3e-small. `dense=False`
    builds a BM25-only index (no model needed). `statuses` selects which documents
    are searched (superseded versions and duplicates are kept out by default).
    """

    model_path: str | None = None
    precision: str = "auto"
    max_seq_length: int = 512
    overlap_chars: int = 64
    batch_tokens: int | None = None  # None: the embedder's default for its precision
    faiss_kind: str = "auto"
    ann_threshold: int = ANN_THRESHOLD
    segmentation_mode: str = "search"
    statuses: tuple[str, ...] = ("current",)
    dense: bool = True
    threads: int | None = None
    query_onnx: bool = True  # also write query.onnx (torch-free query embedding)
    backend: str = "faiss"  # one of BACKENDS: FAISS + bm25s files, or Milvus (indexer.milvus_backend)
    milvus_uri: str = ""  # "" = a Milvus Lite database under the index directory
    milvus_bm25: str = "own"  # sparse vectors from our segmentation, or "milvus" (its BM25 function)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["statuses"] = list(self.statuses)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "IndexConfig":
        values = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if "statuses" in values:
            values["statuses"] = tuple(values["statuses"])
        return cls(**values)

    def window_settings(self) -> WindowSettings:
        return WindowSettings(max_chars=self.max_seq_length - 2, overlap_chars=self.overlap_chars)


def make_embedder(config: IndexConfig):
    """The embedder for a build config: OpenVINO for `ov-bf16` (what `auto` picks on
    CPUs with AMX-BF16 when OpenVINO is installed), sentence-transformers otherwise."""
    cls = OpenVINOEmbedder if resolve_precision(config.precision) == "ov-bf16" else Embedder
    return cls(
        model_path=config.model_path,
        precision=config.precision,
        max_seq_length=config.max_seq_length,
        batch_tokens=config.batch_tokens,
        threads=config.threads,
    )


# ---------------------------------------------------------------- directory safety


def _siblings(index_dir: Path, tag: str) -> list[Path]:
    parent = index_dir.parent
    if not parent.is_dir():
        return []
    return sorted(parent.glob(f".{index_dir.name}.{tag}-*"), key=lambda p: p.stat().st_mtime, reverse=True)


def _sibling_caches(index_dir: Path, vector_key: str | None) -> list[Path]:
    """The embedding caches of the other built indexes beside `index_dir` whose vectors
    come from the same model (`vector_key`).

    WHY: collections share text — `national` is a subset of `default` — and a cache key
    is sha256(vector key + text), so a vector embedded for one collection is exactly the
    one another needs. Without this a second collection embedded everything again (70
    minutes for `national` after `default` on a 2-core AVX2 machine). Only complete
    indexes (`read_manifest` accepts them) with the same key are taken: other models' vectors
    could never match a key and would only be loaded for nothing. The cost: a build
    holds the adopted vectors in memory until it compacts (128 MB for `default`)."""
    parent = index_dir.parent
    if vector_key is None or not parent.is_dir():
        return []
    out = []
    for sibling in sorted(parent.iterdir()):
        if sibling == index_dir or sibling.name.startswith(".") or not (sibling / "cache").is_dir():
            continue
        try:
            manifest = read_manifest(sibling)
        except (IndexStoreError, OSError, ValueError):  # not an index, or one this fagui cannot read
            continue
        if (manifest.get("model") or {}).get("vector_key") == vector_key:
            out.append(sibling / "cache")
    return out


def recover_interrupted_swap(index_dir: Path) -> None:
    """If a swap died between its two renames, finish it (or put the old index back)."""
    index_dir = Path(index_dir)
    if (index_dir / "manifest.json").exists():
        return
    if index_dir.exists() and any(index_dir.iterdir()):
        return  # something else is there; load will report it
    for candidate in _siblings(index_dir, "build") + _siblings(index_dir, "old"):
        is_build = ".build-" in candidate.name
        if (candidate / "manifest.json").exists() and (not is_build or (candidate / COMPLETE_MARKER).exists()):
            if index_dir.exists():
                index_dir.rmdir()
            os.rename(candidate, index_dir)
            return


def _swap_into_place(build_dir: Path, index_dir: Path) -> None:
    """Two renames; between them `recover_interrupted_swap` can always repair."""
    old = index_dir.with_name(f".{index_dir.name}.old-{secrets.token_hex(4)}")
    if index_dir.exists():
        os.rename(index_dir, old)
    os.rename(build_dir, index_dir)
    shutil.rmtree(old, ignore_errors=True)


def _fsync_dir_tree(directory: Path) -> None:
    for path in directory.rglob("*"):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())


# ---------------------------------------------------------------- manifest


def collection_hash(documents: Sequence) -> str:
    """Changes iff the set of indexed documents or any of their searchable content does."""
    digest = hashlib.sha256()
    for doc in sorted(documents, key=lambda d: d.doc_id):
        digest.update(f"{doc.doc_id}\x1f{doc.title}\x1f{doc.part}\x1f{doc.content_hash}\x1e".encode("utf-8"))
    return digest.hexdigest()


def read_manifest(index_dir: Path) -> dict:
    """The manifest, after checking the format version."""
    path = Path(index_dir) / "manifest.json"
    if not path.exists():
        raise IndexNotFoundError(f"{index_dir}: no index here (manifest.json missing); build one with `fagui index`")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    version = manifest.get("format_version")
    if version not in READABLE_VERSIONS:
        raise IndexFormatError(
            f"{index_dir}: index format version {version} cannot be read by this fagui (reads versions "
            f"{', '.join(map(str, READABLE_VERSIONS))}); rebuild the index with `fagui index`"
        )
    return manifest


def manifest_backend(manifest: dict) -> str:
    """The backend that wrote an index (manifests before backends existed: the default)."""
    return manifest.get("backend") or DEFAULT_BACKEND


def check_backend(index_dir: Path, manifest: dict, backend: str) -> None:
    """Refuse to build or update an index with another backend than the one that wrote it
    (the two keep their data in different places; switching would silently orphan one)."""
    if backend not in BACKENDS:
        raise UsageError(f"unknown index backend {backend!r}; use one of {', '.join(BACKENDS)}")
    stored = manifest_backend(manifest)
    if stored != backend:
        raise IndexMismatchError(
            f"{index_dir}: this index was built with the {stored} backend, not {backend}; use "
            f"`--backend {stored}`, or delete {index_dir} first to rebuild it with the {backend} backend"
        )


def stored_documents_file(index_dir: Path, manifest: dict) -> Path:
    """documents.jsonl of the current index (a Milvus-backed index keeps it per generation)."""
    generation = (manifest.get("milvus") or {}).get("generation")
    return Path(index_dir) / generation / "documents.jsonl" if generation else Path(index_dir) / "documents.jsonl"


def dense_state(manifest: dict) -> str:
    """`off`, `pending` or `complete` (see DENSE_*); version-1 manifests have no entry,
    their vectors exist exactly when a model is named."""
    state = (manifest.get("dense") or {}).get("state")
    if state in (DENSE_OFF, DENSE_PENDING, DENSE_COMPLETE):
        return state
    return DENSE_COMPLETE if manifest.get("model") else DENSE_OFF


# ---------------------------------------------------------------- build


def _write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def _read_jsonl(path: Path) -> list[dict]:
    """Rows of a JSONL file. orjson parses them 2–3x faster than json (passages.jsonl and
    documents.jsonl are ~45 MB each and read on every start); a line it refuses (json.dumps
    may write NaN, which strict RFC 8259 JSON has not) is read by json instead."""
    with open(path, "rb") as handle:
        return [_json_row(line) for line in handle if line.strip()]


def _json_row(line: bytes):
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return json.loads(line)


def _check_unique_ids(documents: Sequence) -> None:
    seen: set[str] = set()
    for doc in documents:
        if doc.doc_id in seen:
            raise UsageError(f"document id {doc.doc_id} ({doc.source_path}) occurs twice in the collection")
        seen.add(doc.doc_id)


@dataclass
class BM25Part:
    """The backend-independent part of a build: what every index holds besides vectors."""

    searched: list  # the documents searched (their status is in `config.statuses`)
    passages: list[Passage]
    dictionary: UserDictionary
    segmenter: Segmenter
    bm25: BM25Retriever


@dataclass
class DenseOutcome:
    """What the vector step of a build leaves for the manifest (nothing when dense is off)."""

    state: str = DENSE_OFF
    model: dict = field(default_factory=dict)
    faiss_kind: str = ""
    write_seconds: float = 0.0


def bm25_stage(documents: Sequence, config: IndexConfig, progress: bool, timings: dict) -> BM25Part:
    """The backend-independent part of a build (searched documents, passages, user
    dictionary, segmenter, BM25 index), timing the passages / segment / bm25 stages."""
    start = time.perf_counter()
    searched = [d for d in documents if d.status in config.statuses]
    passages = make_passages(searched, config.window_settings())
    dictionary = build_user_dictionary(searched)
    segmenter = Segmenter(dictionary, SegmenterSettings(mode=config.segmentation_mode))
    timings["passages"] = round(time.perf_counter() - start, 3)

    start = time.perf_counter()
    tokens = segmenter.tokenize_many((p.indexed_text for p in passages), progress=progress)
    timings["segment"] = round(time.perf_counter() - start, 3)
    start = time.perf_counter()
    bm25 = BM25Retriever(segmenter)
    bm25.index(passages, progress=progress, tokens=tokens)
    del tokens
    timings["bm25"] = round(time.perf_counter() - start, 3)
    return BM25Part(searched, passages, dictionary, segmenter, bm25)


def collection_entry(documents: Sequence, searched: Sequence, passages: Sequence[Passage]) -> dict:
    """The manifest's `collection` entry."""
    return {
        "sha256": collection_hash(searched),
        "documents": len(documents),
        "searched_documents": len(searched),
        "units": len({p.unit_id for p in passages}),
        "passages": len(passages),
    }


def _build_into(
    build_dir: Path,
    documents: Sequence,
    config: IndexConfig,
    progress: bool,
    embedder,
    seed_caches: Sequence[Path],
    report: BuildReport,
    index_dir: Path,
    vectors_later: bool = False,
) -> None:
    """Write a complete index into `build_dir` (everything but the swap): the BM25 part,
    the vectors (`_dense_step`), the remaining files and the manifest (`_write_rest`).

    `report.seconds` gets one entry per stage — passages (context lines, windows and the
    user dictionary), segment (jieba), bm25 (matrix), embedding, faiss, write (every
    file, fsynced) — so `fagui bench` can report units/s per stage."""
    part = bm25_stage(documents, config, progress, report.seconds)
    start = time.perf_counter()
    part.bm25.save(build_dir / "bm25")
    bm25_write = time.perf_counter() - start
    dense = _dense_step(build_dir, part.passages, config, embedder, seed_caches, report, index_dir, progress,
                        vectors_later)
    start = time.perf_counter()
    manifest = _write_rest(build_dir, documents, config, part, dense)
    report.seconds["write"] = round(bm25_write + dense.write_seconds + time.perf_counter() - start, 3)
    _fill_report(report, part, manifest, dense)


def _dense_step(build_dir: Path, passages: Sequence[Passage], config: IndexConfig, embedder,
                seed_caches: Sequence[Path], report: BuildReport, index_dir: Path, progress: bool,
                vectors_later: bool) -> DenseOutcome:
    """The vectors of a build: none (`config.dense` off); pending (`vectors_later`: only the
    seed caches are carried over, as hard links, so that `add_vectors` resumes from them);
    or embedded now (`_write_vectors`)."""
    if not config.dense:
        return DenseOutcome()
    if vectors_later:
        start = time.perf_counter()
        cache = EmbeddingCache(build_dir / "cache")
        for seed in seed_caches:
            cache.adopt_chunks_from(seed)
        return DenseOutcome(DENSE_PENDING, write_seconds=time.perf_counter() - start)
    model, faiss_kind, write_seconds = _write_vectors(build_dir, passages, config, embedder, seed_caches, report,
                                                      index_dir, progress)
    return DenseOutcome(DENSE_COMPLETE, model, faiss_kind, write_seconds)


def _write_rest(build_dir: Path, documents: Sequence, config: IndexConfig, part: BM25Part,
                dense: DenseOutcome) -> dict:
    """passages.jsonl, documents.jsonl, user_dict.json and the manifest (the directory is
    COMPLETE afterwards) → the manifest."""
    _write_jsonl(build_dir / "passages.jsonl", (p.to_dict() for p in part.passages))
    _write_jsonl(build_dir / "documents.jsonl", (d.to_dict() for d in documents))
    (build_dir / "user_dict.json").write_text(json.dumps(part.dictionary.to_dict(), ensure_ascii=False),
                                              encoding="utf-8")
    manifest = {
        "format_version": FORMAT_VERSION,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": dense.model,
        "segmentation": part.segmenter.fingerprint,
        "collection": collection_entry(documents, part.searched, part.passages),
        "faiss": {"kind": dense.faiss_kind},
        "dense": {"state": dense.state},
        "bm25": part.bm25.params,
        "config": config.to_dict(),
    }
    _finish_build_dir(build_dir, manifest)
    return manifest


def _fill_report(report: BuildReport, part: BM25Part, manifest: dict, dense: DenseOutcome) -> None:
    report.documents = len(part.searched)
    report.units = manifest["collection"]["units"]
    report.passages = len(part.passages)
    report.faiss_kind = dense.faiss_kind
    report.model = dense.model.get("name", "")
    report.precision = dense.model.get("precision", "")


def _finish_build_dir(build_dir: Path, manifest: dict) -> None:
    """Write the manifest, fsync every file, then mark the directory COMPLETE (only a
    COMPLETE build directory may be swapped in by `recover_interrupted_swap`)."""
    (build_dir / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    _fsync_dir_tree(build_dir)
    (build_dir / COMPLETE_MARKER).write_text(manifest["created"], encoding="utf-8")


def _write_vectors(build_dir: Path, passages: Sequence[Passage], config: IndexConfig, embedder,
                   seed_caches: Sequence[Path], report: BuildReport, index_dir: Path, progress: bool,
                   on_progress=None) -> tuple[dict, str, float]:
    """Embed the passages (cache first), write faiss.index, the compacted cache and
    query.onnx into `build_dir` → (manifest `model` entry, FAISS kind, write seconds).

    `on_progress(done, total)` is called as passages get their vectors (cached ones
    first); it may raise to stop the work — every chunk flushed so far stays in
    `build_dir/cache` for the next run."""
    timings = report.seconds
    start = time.perf_counter()
    cache = EmbeddingCache(build_dir / "cache")
    for seed in seed_caches:
        cache.adopt_chunks_from(seed)
    cache.load()
    dense = DenseRetriever(embedder, faiss_kind=config.faiss_kind, ann_threshold=config.ann_threshold)
    vectors = dense.embed_passages(passages, cache=cache, progress=progress, on_progress=on_progress)
    report.embedded, report.cached = dense.embedded, dense.cached
    timings["embedding"] = round(time.perf_counter() - start, 3)
    dim = int(vectors.shape[1]) if len(vectors) else None
    start = time.perf_counter()
    dense.index_vectors(passages, vectors, progress=progress)
    del vectors  # FAISS holds its own copy; each copy of `default`'s vectors is 130 MB
    timings["faiss"] = round(time.perf_counter() - start, 3)
    start = time.perf_counter()
    dense.save(build_dir / "faiss.index")
    faiss_kind = dense.index_kind
    del dense
    cache.compact(text_key(embedder.vector_key, p.indexed_text) for p in passages)
    write_seconds = time.perf_counter() - start
    start = time.perf_counter()
    query_model = _query_model(build_dir, index_dir, embedder) if config.query_onnx else {}
    timings["query_model"] = round(time.perf_counter() - start, 3)
    return model_entry(embedder, dim, query_model), faiss_kind, write_seconds


def model_entry(embedder, dim: int | None, query_model: dict) -> dict:
    """The manifest's `model` entry: which weights, precision and window made the vectors."""
    return {
        "name": embedder.name,
        "path": str(getattr(embedder, "model_path", "")),
        "weights_sha256": embedder.fingerprint,
        "precision": embedder.precision,
        "max_seq_length": embedder.max_seq_length,
        "vector_key": embedder.vector_key,
        "dim": dim,
        "query_model": query_model,
    }


def _query_model(build_dir: Path, index_dir: Path, embedder) -> dict:
    """`query.onnx` for torch-free query embedding (indexer.onnx_query): copied from the
    current index when that one was exported for the same vectors (same weights,
    precision, window) and is intact, else from the export cache (exported on first use)."""
    out = build_dir / QUERY_MODEL_FILE
    try:
        old = read_manifest(index_dir).get("model") or {}
    except (IndexStoreError, OSError, ValueError):
        old = {}
    entry = old.get("query_model") or {}
    old_file = index_dir / QUERY_MODEL_FILE
    if (entry.get("sha256") and old.get("vector_key") == embedder.vector_key and old_file.is_file()
            and file_sha256(old_file) == entry["sha256"]):
        shutil.copyfile(old_file, out)
        return entry
    return embedder.export_query_model(out)


def _runnable(embedder, config: IndexConfig, report: BuildReport):
    """`auto` chose OpenVINO but it cannot run this model (no openvino, or the model does
    not export to ONNX): embed with torch bf16 instead and say so in the report. An
    explicit `--precision ov-bf16` fails with the reason instead."""
    if config.precision != "auto" or not isinstance(embedder, OpenVINOEmbedder):
        return embedder
    try:
        embedder.model
    except OpenVINOUnavailableError as exc:
        report.warnings.append(f"{exc}; embedding with torch bf16 instead")
        return Embedder(model_path=config.model_path, precision="bf16", max_seq_length=config.max_seq_length,
                        batch_tokens=config.batch_tokens, threads=config.threads)
    return embedder


def build_index(
    documents: Iterable,
    index_dir: str | os.PathLike,
    config: IndexConfig | None = None,
    progress: bool = True,
    embedder=None,
    _report: BuildReport | None = None,
    vectors_later: bool = False,
) -> BuildReport:
    """Build (or rebuild) the index at `index_dir` from `documents`, atomically.

    Vectors already in the current index's cache (or left by an interrupted build)
    are reused; only new text is embedded. `embedder` overrides the one made from
    `config` (tests pass fakes; the CLI passes nothing). `vectors_later` writes the
    BM25 part only (dense state `pending`, no model loaded); `add_vectors` completes it.
    """
    index_dir = Path(index_dir).resolve()
    config = config or IndexConfig()
    documents = list(documents)
    _check_unique_ids(documents)
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    recover_interrupted_swap(index_dir)
    previous = read_manifest(index_dir) if (index_dir / "manifest.json").exists() else None
    if previous is not None:
        check_backend(index_dir, previous, config.backend)
    if config.backend == "milvus":
        from indexer import milvus_backend  # builds on this module (the known cycle in tests/test_layers.py); Milvus indexes only

        # Vectors are written with the rows (`vectors_later` does not apply: there is no
        # BM25-only Milvus version); a failed build leaves the previous one queryable.
        return milvus_backend.build(documents, index_dir, config, progress, embedder,
                                    _report or BuildReport(index_dir=str(index_dir)), previous)
    if index_dir.exists() and not (index_dir / "manifest.json").exists() and any(index_dir.iterdir()):
        raise IndexStoreError(f"{index_dir}: exists and is not a fagui index; refusing to replace it")
    report = _report or BuildReport(index_dir=str(index_dir))
    if config.dense and embedder is None and not vectors_later:
        embedder = _runnable(make_embedder(config), config, report)
    leftovers = _siblings(index_dir, "build")
    build_dir = index_dir.with_name(f".{index_dir.name}.build-{os.getpid()}-{secrets.token_hex(3)}")
    build_dir.mkdir()
    started = time.perf_counter()
    _build_into(
        build_dir,
        documents,
        config,
        progress,
        embedder,
        seed_caches=[index_dir / "cache"] + [d / "cache" for d in leftovers]
        + _sibling_caches(index_dir, embedder.vector_key if embedder is not None else None),
        report=report,
        index_dir=index_dir,
        vectors_later=vectors_later,
    )
    _swap_into_place(build_dir, index_dir)
    for leftover in leftovers + _siblings(index_dir, "old"):
        shutil.rmtree(leftover, ignore_errors=True)
    report.seconds["total"] = round(time.perf_counter() - started, 3)
    return report


def update_index(
    index_dir: str | os.PathLike,
    add: Iterable = (),
    remove: Iterable[str] = (),
    config: IndexConfig | None = None,
    progress: bool = True,
    embedder=None,
    vectors_later: bool = False,
) -> BuildReport:
    """Add documents, replace documents (same doc_id) and remove doc_ids, atomically.

    Uses the stored collection and config (unless `config` is given); only text that
    was not embedded before is sent through the model (see BuildReport.embedded).
    `vectors_later` as in `build_index`.
    """
    index_dir = Path(index_dir).resolve()
    recover_interrupted_swap(index_dir)

    report = BuildReport(index_dir=str(index_dir))
    if (index_dir / "manifest.json").exists():
        manifest = read_manifest(index_dir)
        stored = [Document.from_dict(row) for row in _read_jsonl(stored_documents_file(index_dir, manifest))]
        config = config or IndexConfig.from_dict(manifest.get("config", {}))
    else:
        stored = []
        config = config or IndexConfig()
    by_id = {d.doc_id: d for d in stored}
    for doc_id in remove:
        if by_id.pop(doc_id, None) is None:
            report.warnings.append(f"remove: no document {doc_id} in the index")
        else:
            report.removed_documents += 1
    for doc in add:
        if doc.doc_id in by_id:
            report.replaced_documents += 1
        else:
            report.added_documents += 1
        by_id[doc.doc_id] = doc
    return build_index(list(by_id.values()), index_dir, config, progress=progress, embedder=embedder, _report=report,
                       vectors_later=vectors_later)


def _link_tree(source: Path, target: Path) -> None:
    """Hard-link a file or directory tree (copy where links are impossible). Index files
    are never modified after their build, so sharing them between indexes is safe."""
    if source.is_dir():
        shutil.copytree(source, target, copy_function=_link_or_copy)
    else:
        _link_or_copy(source, target)


def _link_or_copy(source, target) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def add_vectors(
    index_dir: str | os.PathLike,
    progress: bool = True,
    embedder=None,
    on_progress=None,
) -> BuildReport:
    """Second step of a BM25-first build: embed a `pending` index and swap it in complete.

    The BM25 part is linked over unchanged; passages are embedded through the index's
    cache and those of interrupted runs (only text never embedded goes through the
    model). `on_progress(done, total)` reports passages with vectors and may raise to
    stop (the flushed chunks stay for the next run). Does nothing for an index whose
    vectors are complete or off. Refuses to swap if the index changed meanwhile.
    """
    index_dir = Path(index_dir).resolve()
    recover_interrupted_swap(index_dir)
    manifest = read_manifest(index_dir)
    report = BuildReport(index_dir=str(index_dir))
    if dense_state(manifest) != DENSE_PENDING:
        return report
    config = IndexConfig.from_dict(manifest.get("config", {}))
    if embedder is None:
        embedder = _runnable(make_embedder(config), config, report)
    leftovers = _siblings(index_dir, "build")
    build_dir = index_dir.with_name(f".{index_dir.name}.build-{os.getpid()}-{secrets.token_hex(3)}")
    build_dir.mkdir()
    started = time.perf_counter()
    for name in BM25_PART:
        _link_tree(index_dir / name, build_dir / name)
    passages = [Passage.from_dict(row) for row in _read_jsonl(build_dir / "passages.jsonl")]
    model_info, faiss_kind, _ = _write_vectors(
        build_dir, passages, config, embedder,
        [index_dir / "cache"] + [d / "cache" for d in leftovers] + _sibling_caches(index_dir, embedder.vector_key),
        report, index_dir, progress, on_progress=on_progress)
    if read_manifest(index_dir).get("created") != manifest.get("created"):
        raise IndexStoreError(f"{index_dir}: the index was rebuilt while its vectors were embedded; "
                              "run add_vectors again (the new vectors are cached)")
    done = dict(manifest, created=datetime.now(timezone.utc).isoformat(timespec="seconds"), model=model_info,
                faiss={"kind": faiss_kind}, dense={"state": DENSE_COMPLETE})
    done["format_version"] = FORMAT_VERSION
    _finish_build_dir(build_dir, done)
    _swap_into_place(build_dir, index_dir)
    for leftover in leftovers + _siblings(index_dir, "old"):
        shutil.rmtree(leftover, ignore_errors=True)
    collection = manifest.get("collection", {})
    report.documents = collection.get("searched_documents", 0)
    report.units = collection.get("units", 0)
    report.passages = len(passages)
    report.faiss_kind = faiss_kind
    report.model = model_info.get("name", "")
    report.precision = model_info.get("precision", "")
    report.seconds["total"] = round(time.perf_counter() - started, 3)
    return report


# ---------------------------------------------------------------- load


class _LazyQueryEmbedder:
    """Creates the model on the first query only, and refuses a model whose weights
    differ from the ones the index was built with."""

    def __init__(self, manifest: dict, index_dir: Path, model_path: str | None):
        self.manifest_model = manifest["model"]
        self.index_dir = index_dir
        self.model_path = model_path
        self._embedder = None
        self._lock = threading.Lock()  # `fagui serve` answers concurrent first queries

    def _get(self):
        """The model folder's identity is checked either way; with `query.onnx` in the
        index (and FAGUI_QUERY_BACKEND not `embedder`) queries then run on ONNX Runtime."""
        with self._lock:
            if self._embedder is None:
                config = IndexConfig.from_dict(self.manifest_model_config())
                embedder = make_embedder(config)
                check_model(embedder, self.manifest_model, self.index_dir)
                onnx_file = self.index_dir / QUERY_MODEL_FILE
                exported = (self.manifest_model.get("query_model") or {}).get("file")
                if exported and onnx_file.is_file() and query_backend() == "onnx":
                    embedder = OnnxQueryEmbedder(onnx_file, embedder.model_path, embedder.max_seq_length)
                self._embedder = embedder
            return self._embedder

    def manifest_model_config(self) -> dict:
        built_with = self.manifest_model.get("path")
        model_path = self.model_path
        if not model_path and not model_override() and built_with and Path(built_with).is_dir():
            model_path = built_with
        return {
            "model_path": model_path,
            "precision": self.manifest_model.get("precision", "auto"),
            "max_seq_length": self.manifest_model.get("max_seq_length", 512),
        }

    def encode_query(self, query: str):
        return self._get().encode_query(query)


def check_model(embedder, manifest_model: dict, index_dir: Path) -> None:
    """Refuse to mix vectors of two models (different weights)."""
    expected = manifest_model.get("weights_sha256")
    actual = embedder.fingerprint
    if expected and actual != expected:
        raise IndexMismatchError(
            f"{index_dir}: the index was built with model {manifest_model.get('name')!r} "
            f"(weights sha256 {expected[:12]}…) but the model given is {embedder.name!r} "
            f"(weights sha256 {actual[:12]}…); use the same model (FAGUI_MODEL / --model) "
            "or rebuild the index with `fagui index`"
        )


class Index:
    """A loaded index: passages, BM25 and (if built) dense retrieval.

    Nothing is tokenised or embedded on load; the dense retriever needs the model
    only to embed queries.
    """

    def __init__(self, directory: Path, manifest: dict, passages: list[Passage], bm25: BM25Retriever, dense: DenseRetriever | None):
        self.directory = directory
        self.manifest = manifest
        self.dense_state = dense_state(manifest)
        self.passages = passages
        self.bm25 = bm25
        self.dense = dense
        self._by_passage = {p.passage_id: p for p in passages}

    @property
    def segmenter(self) -> Segmenter:
        return self.bm25.segmenter

    def close(self) -> None:
        """Nothing to release (the Milvus backend's index releases its connection)."""

    def passage(self, passage_id: str) -> Passage:
        return self._by_passage[passage_id]

    def documents(self) -> list:
        """The stored collection (read on demand; it can be large)."""
        return [Document.from_dict(row) for row in _read_jsonl(self.directory / "documents.jsonl")]

    def search_bm25(self, query: str, k: int = 10) -> list[Hit]:
        return self.bm25.search(query, k)

    def search_bm25_tokens(self, tokens: Sequence[str], k: int = 10) -> list[Hit]:
        """BM25 for a query already segmented with `self.segmenter`."""
        return self.bm25.search_tokens(tokens, k)

    def search_dense(self, query: str, k: int = 10) -> list[Hit]:
        return self._dense_or_raise().search(query, k)

    def embed_query(self, query: str) -> np.ndarray:
        """The query vector, shape (1, dim); the pipeline times this apart from FAISS."""
        return self._dense_or_raise().embed_query(query)

    def search_dense_vector(self, query_vector: np.ndarray, k: int = 10) -> list[Hit]:
        return self._dense_or_raise().search_vector(query_vector, k)

    def _dense_or_raise(self) -> DenseRetriever:
        if self.dense is None:
            if self.dense_state == DENSE_PENDING:
                raise IndexStoreError(f"{self.directory}: the vectors of this index are not embedded yet (BM25 only)")
            raise IndexStoreError(f"{self.directory}: this index was built without dense vectors (BM25 only)")
        return self.dense

    def search(self, query: str, k: int = 10, depth: int = 50) -> list[Hit]:
        """Hybrid: reciprocal rank fusion of BM25 and dense (BM25 alone without vectors)."""
        lists = [self.search_bm25(query, depth)]
        if self.dense is not None:
            lists.append(self.search_dense(query, depth))
        return reciprocal_rank_fusion(lists, k=k)


def stored_segmenter(index_dir: Path, user_dict_file: Path, manifest: dict) -> Segmenter:
    """The segmenter an index was tokenised with, after checking that this code would
    tokenise the same way (dictionary, stopwords, segmenter version)."""
    dictionary = UserDictionary.from_dict(json.loads(Path(user_dict_file).read_text(encoding="utf-8")))
    seg_manifest = manifest["segmentation"]
    segmenter = Segmenter(dictionary, SegmenterSettings.from_dict(seg_manifest))
    current = segmenter.fingerprint
    for key in ("version", "dictionary_sha256", "stopwords_sha256"):
        if seg_manifest.get(key) != current.get(key):
            raise IndexMismatchError(
                f"{index_dir}: the index was tokenised with different segmentation ({key} differs); "
                "rebuild it with `fagui index`"
            )
    return segmenter


def query_embedder(manifest: dict, index_dir: Path, files_dir: Path, model_path: str | None, embedder):
    """What embeds queries: `embedder` checked against the index's model now, or a lazy
    one (model loaded, and checked, on the first dense query; query.onnx from `files_dir`)."""
    if embedder is not None:
        check_model(embedder, manifest["model"], index_dir)
        return embedder
    return _LazyQueryEmbedder(manifest, files_dir, model_path)


def load_index(index_dir: str | os.PathLike, model_path: str | None = None, embedder=None) -> Index:
    """Open an index directory for searching.

    Checks the format version and the segmentation (dictionary, stopwords, settings);
    checks the model fingerprint now if `embedder` is given, otherwise on the first
    dense query (`model_path`, else FAGUI_MODEL, else the default model).
    """
    index_dir = Path(index_dir).resolve()
    recover_interrupted_swap(index_dir)
    manifest = read_manifest(index_dir)
    if manifest_backend(manifest) == "milvus":
        from indexer import milvus_backend  # builds on this module (the known cycle in tests/test_layers.py); Milvus indexes only

        return milvus_backend.load(index_dir, manifest, model_path=model_path, embedder=embedder)
    segmenter = stored_segmenter(index_dir, index_dir / "user_dict.json", manifest)
    passages = [Passage.from_dict(row) for row in _read_jsonl(index_dir / "passages.jsonl")]
    bm25 = BM25Retriever(segmenter, **manifest.get("bm25", {}))
    bm25.load(index_dir / "bm25", passages)
    dense = None
    if dense_state(manifest) == DENSE_COMPLETE:
        dense = DenseRetriever(query_embedder(manifest, index_dir, index_dir, model_path, embedder))
        dense.load(index_dir / "faiss.index", passages, manifest["faiss"]["kind"])
    return Index(index_dir, manifest, passages, bm25, dense)
